"""Personal QR codes: /items/<id>/qr.svg draws the signed-in person's own
tracked link for the item (network "qr", utm_source=qr), the printable
page shows it with the item's title, and a scan is a click like any other,
under the source "QR code". The code is read back from what Chromium shows
with a real decoder (zxing-cpp)."""

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from playwright.sync_api import expect

from helpers import BROWSER, login, make_item, make_person
from helpers.browser import serve, signed_in_page
from intranet_plugin import analytics
from intranet_plugin.labels import NETWORK_LABELS
from intranet_plugin.models import Click, ShareEvent, TrackedLink

TITLE = "Windpark Noordzee-Oost delivers its first power"

# The QR image as Chromium draws it, in grey levels (one byte a pixel).
PIXELS = """async () => {
    const img = document.querySelector("img.qr");
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let grey = "";
    for (let i = 0; i < rgba.length; i += 4) grey += String.fromCharCode(rgba[i]);
    return {width: canvas.width, height: canvas.height, grey: btoa(grey)};
}"""


def test_the_qr_code_is_the_persons_own_link(app, client):
    emma = make_person("emma")
    item = make_item(TITLE)
    login(client, "emma")
    response = client.get(f"/items/{item.id}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    link = TrackedLink.get()
    assert (link.person_id, link.item_id, link.network) == (emma.id, item.id, "qr")
    page = client.get(f"/items/{item.id}/qr").get_data(as_text=True)
    assert f"<h1>{TITLE}</h1>" in page and f"https://go.example.com/s/{link.code}" in page
    assert f'src="/items/{item.id}/qr.svg"' in page
    # The same link each time; a QR code is printed, not a share pressed.
    client.get(f"/items/{item.id}/qr.svg")
    assert TrackedLink.select().count() == 1 and ShareEvent.select().count() == 0
    assert f'href="/items/{item.id}/qr"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("who,path,status", [
    (None, "/items/{id}/qr.svg", 302),        # signed out: to the sign-in
    ("visitor", "/items/{id}/qr.svg", 403),   # not a member of the programme
    ("emma", "/items/999/qr.svg", 404),
    ("emma", "/items/999/qr", 404),
])
def test_qr_codes_are_for_members_and_shareable_items(client, who, path, status):
    make_person("emma")
    make_person("visitor", joined_at=None)
    item = make_item(TITLE)
    if who:
        login(client, who)
    assert client.get(path.format(id=item.id)).status_code == status
    assert TrackedLink.select().count() == 0


def test_a_scan_of_the_printed_code_counts_as_a_qr_click(make_app, chromium):
    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base)) as (base, app):
        with app.app_context():
            emma = make_person("emma", display_name="Emma de Vries")
            item = make_item(TITLE)
        context, page, console = signed_in_page(chromium, base, "Emma de Vries")
        page.locator(f"#item-{item.id}").get_by_role("link", name="QR code").click()
        expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
        expect(page.get_by_role("button", name="Print")).to_be_visible()
        shown = page.evaluate(PIXELS)
        grey = memoryview(base64.b64decode(shown["grey"])).cast("B", (shown["height"], shown["width"]))
        codes = zxingcpp.read_barcodes(grey)
        assert [c.format for c in codes] == [zxingcpp.BarcodeFormat.QRCode]
        scanned = codes[0].text
        assert re.fullmatch(re.escape(base) + r"/s/[\w-]{12}", scanned)
        assert page.get_by_text(scanned).is_visible()  # the link is printed under the code too
        assert console.messages == []
        context.close()

        # The phone that scans it follows the link: a click on Emma's QR link.
        client = app.test_client()
        location = client.get(urlsplit(scanned).path, headers={"User-Agent": BROWSER}).headers["Location"]
        assert parse_qs(urlsplit(location).query)["utm_source"] == ["qr"]
        with app.app_context():
            click = Click.get()
            assert (click.link.network, click.link.person_id, click.kind) == ("qr", emma.id, "human")
            rows = {r["network"]: r for r in analytics.by_network(analytics.all_time(), person_id=emma.id)}
            assert rows["qr"]["clicks"] == 1
            assert str(NETWORK_LABELS["qr"]) == "QR code"
