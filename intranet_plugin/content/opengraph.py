"""Title, description and image of a web page, from its Open Graph, Twitter
card and plain HTML meta tags, for prefilling an item."""

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

from flask import current_app
from flask_babel import gettext as _

from intranet_plugin.content.fetch import FetchError, fetch
from intranet_plugin.content.urls import web_address

# The head is all we read; a page that puts its meta tags further down than
# this is not worth waiting for.
MAX_HTML = 1_000_000
TITLE_MAX = 255
DESCRIPTION_MAX = 2000
URL_MAX = 2000

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Most specific first: the first tag a page has wins.
TITLE_KEYS = ("og:title", "twitter:title")
DESCRIPTION_KEYS = ("og:description", "twitter:description", "description")
IMAGE_KEYS = ("og:image:secure_url", "og:image:url", "og:image", "twitter:image", "twitter:image:src")


class PrefillError(Exception):
    """The page could not be read; the message says why, for the editor."""


class _MetaParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta = {}
        self.title = None
        self.base = None
        self.lang = None
        self._in_title = False
        self._title_parts = []

    def handle_starttag(self, tag, attrs):
        attrs = {k.lower(): (v or "") for k, v in attrs}
        if tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
            if key and "content" in attrs:
                self.meta.setdefault(key, attrs["content"])
        elif tag == "title" and self.title is None:
            self._in_title = True
        elif tag == "base" and self.base is None and attrs.get("href"):
            self.base = attrs["href"].strip()
        elif tag == "html" and attrs.get("lang"):
            self.lang = attrs["lang"]

    def handle_data(self, data):
        if self._in_title:
            self._title_parts.append(data)

    def handle_endtag(self, tag):
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts)


def _clean(text, limit):
    text = " ".join(CONTROL.sub(" ", text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse(html, page_url):
    """{"title", "description", "image", "language"} found in ``html`` (a
    str), each "" when the page has none. A relative image is resolved
    against the page (or its <base>); anything but an http(s) image is
    dropped. The language is the primary subtag of og:locale or <html lang>,
    e.g. "nl"."""
    parser = _MetaParser()
    try:
        parser.feed(html[:MAX_HTML])
        parser.close()
    except (AssertionError, ValueError):
        pass  # what was found before the markup broke down is still good

    meta = parser.meta

    def first(keys):
        return next((meta[k] for k in keys if meta.get(k, "").strip()), "")

    image = first(IMAGE_KEYS).strip()
    if image:
        base = urljoin(page_url, parser.base) if parser.base else page_url
        image = urljoin(base, image)
        if web_address(image, max_length=URL_MAX) is None:
            image = ""
    return {
        "title": _clean(first(TITLE_KEYS) or parser.title, TITLE_MAX),
        "description": _clean(first(DESCRIPTION_KEYS), DESCRIPTION_MAX),
        "image": image,
        "language": re.split(r"[-_]", (meta.get("og:locale") or parser.lang or "").strip())[0].lower()[:8],
    }


def from_url(url):
    """Read the page at ``url`` through the safe fetcher and parse it.

    Raises ``PrefillError`` with a message for the editor when the page
    cannot be fetched, answers with an error, or is not HTML.
    """
    try:
        response = fetch(url, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"},
                         max_bytes=current_app.config.get("FETCH_MAX_BYTES", 5_000_000),
                         timeout=current_app.config.get("FETCH_TIMEOUT", 10))
    except FetchError as exc:
        raise PrefillError(_("Could not read that page: %(reason)s", reason=str(exc))) from None
    if not 200 <= response.status < 300:
        raise PrefillError(_("Could not read that page: it answered with HTTP status %(status)d.",
                             status=response.status))
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in ("text/html", "application/xhtml+xml"):
        raise PrefillError(_("That address is not a web page (it is %(type)s).", type=content_type))
    found = parse(response.text, response.url or url)
    if not (found["title"] or found["description"] or found["image"]):
        raise PrefillError(_("The page has no title, description or image to take over."))
    return found
