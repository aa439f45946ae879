"""The programme lead's digest page in a real browser (Debian's Chromium
through Playwright) against the app served over HTTP and a real SMTP server
(aiosmtpd): finding a person by name, sending a test to oneself, sending to
everyone now; and the digest's share buttons, clickable over their whole
area."""

import re

import pytest
from playwright.sync_api import expect

from helpers import make_item, make_person
from helpers.browser import DESKTOP_CHROME, serve


@pytest.fixture
def site(make_app, smtp):
    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True,
                        MAIL_FROM="Ambassador <ambassador@example.com>")

    with serve(build) as (base, app):
        with app.app_context():
            make_person("anouk", display_name="Anouk Jansen", role="admin")
            make_person("emma", display_name="Emma de Vries", mastodon_server="mastodon.social")
            make_person("daan", display_name="Daan Smit")
            make_item("Windpark Noordzee-Oost delivers its first power")
        yield base, app


def signed_in_page(chromium, base, name):
    context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, locale="en-GB",
                                   viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("button", name=re.compile(name)).click()
    expect(page.locator("header .who")).to_contain_text(name)
    return context, page


def test_the_programme_lead_previews_by_name_sends_a_test_to_themself_and_sends_now(chromium, site, smtp):
    expect.set_options(timeout=10_000)
    base, _app = site
    context, page = signed_in_page(chromium, base, "Anouk Jansen")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Digest").click()
    expect(page.get_by_text(re.compile(r"Next weekly digest: Monday .*, 08:00 \(Europe/Amsterdam\)"))).to_be_visible()
    page.get_by_label("Person (name or user name)").fill("Emma de Vries")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_text("To: Emma de Vries (emma@example.com)")).to_be_visible()
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.get_by_text("Windpark Noordzee-Oost delivers its first power").first).to_be_visible()

    # The share buttons in the e-mail: the whole coloured area is the link.
    buttons = frame.locator("a[data-share-network]")
    expect(buttons).to_have_count(10)
    for i in range(10):
        link = buttons.nth(i)
        cell = link.locator("xpath=..")
        link_box, cell_box = link.bounding_box(), cell.bounding_box()
        assert link_box["height"] >= 36, link_box  # a finger's worth, not the text's 22 px
        for key in ("x", "y", "width", "height"):
            assert abs(link_box[key] - cell_box[key]) <= 1, (key, link_box, cell_box)
    share_page = frame.get_by_role("link", name="Open the share page")  # MJML's own button
    link_box, cell_box = share_page.bounding_box(), share_page.locator("xpath=..").bounding_box()
    assert link_box == cell_box

    page.get_by_role("button", name="Send a test to me").click()
    expect(page.get_by_text(re.compile(r"Test sent to anouk@example.com"))).to_be_visible()
    assert smtp.recipients() == {"anouk@example.com": 1}
    [message] = smtp.messages
    assert message["Subject"].startswith("[TEST] Your Ambassador week, ")
    assert "Hello Emma de Vries," in message.get_body(("plain",)).get_content()

    page.get_by_role("link", name="Send to everyone now…").click()
    expect(page.get_by_role("heading", name="Send this week's digest now?")).to_be_visible()
    page.get_by_role("button", name="Yes, send it now").click()
    # The page follows the run until it is done.
    expect(page.get_by_text(re.compile(r"This week: 3 sent, 0 skipped"))).to_be_visible(timeout=30_000)
    expect(page.get_by_role("link", name="Send to everyone now…")).to_be_visible()
    assert smtp.recipients() == {"anouk@example.com": 2, "emma@example.com": 1, "daan@example.com": 1}
    context.close()
