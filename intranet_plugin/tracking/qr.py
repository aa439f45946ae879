"""A person's QR code for an item: their own tracked link for the network
"qr" (utm_source=qr), drawn as SVG on the server. A scan is a click on
that link like any other, counted under the source "QR code"."""

import io

import segno

from intranet_plugin.content.sharing import QR
from intranet_plugin.models import TrackedLink
from intranet_plugin.tracking.links import tracked_url


def qr_link(person, item):
    """The person's tracked link for the item's QR code (made on first use)."""
    return tracked_url(TrackedLink.for_share(person, item, QR).code)


def qr_svg(url):
    """The QR code of ``url`` as a standalone SVG document: error correction
    M (survives a smudged print), a quiet zone of four modules, black on
    white whatever the page's colours."""
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff",
                                         title="QR code", xmldecl=False)
    return out.getvalue()
