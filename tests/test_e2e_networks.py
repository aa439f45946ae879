"""The new ways to share, in Chromium at 390 and 1280 px (nothing leaves the
machine: ``browser.OutsideWeb``): one share through each of Bluesky,
Threads, Mastodon (on the person's own server) and Telegram, each URL
checked; the phone's share sheet (a ``navigator.share`` stand-in) gets the
text and a tracked link of its own; the QR page shows the person's code."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from helpers import make_item, make_person
from helpers.browser import VIEWPORTS, share_page, site_with
from intranet_plugin.models import Person, ShareEvent, TrackedLink

TITLE = "Windpark Noordzee-Oost delivers its first power"
# The Web Share API as a phone has it: what it is handed is kept for the test.
SHARE_SHEET = "navigator.share = (data) => { window.sharedWith = data; return Promise.resolve(); };"


@pytest.fixture
def site(make_app):
    with site_with(make_app,
                   lambda: make_person("emma", display_name="Emma de Vries", mastodon_server="social.example.org",
                                       networks=["linkedin", "bluesky", "threads", "mastodon", "telegram"]),
                   lambda: make_item(TITLE, caption="Proud of our first offshore power", hashtags="#wind")) as site:
        yield site


def signed_in(browser, base, share_sheet, viewport="desktop"):
    return share_page(browser, base, "Emma de Vries", viewport, init_script=SHARE_SHEET if share_sheet else None)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_one_share_through_each_new_network(chromium, site, viewport):
    base, app, item_id = site
    context, web, console, page = signed_in(chromium, base, share_sheet=False, viewport=viewport)
    card = page.locator(f"#item-{item_id}")
    text = card.locator("textarea").first.input_value()
    assert text == "Proud of our first offshore power #wind"
    link = re.escape(base) + r"/s/[\w-]{12}"

    def share(network, host):
        with context.expect_page() as popup:
            card.locator(f'a[data-share-network="{network}"]').click()
        expect(popup.value).to_have_title("Share dialog")
        url = urlsplit(web.urls(host)[-1])
        popup.value.close()
        return url.path, parse_qs(url.query)

    path, query = share("bluesky", "bsky.app")
    assert path == "/intent/compose" and re.fullmatch(re.escape(text + " ") + link, query["text"][0])
    path, query = share("threads", "www.threads.com")
    assert path == "/intent/post" and query["text"] == [text] and re.fullmatch(link, query["url"][0])
    path, query = share("mastodon", "social.example.org")
    assert path == "/share" and re.fullmatch(re.escape(text + " ") + link, query["text"][0])
    path, query = share("telegram", "t.me")
    assert path == "/share/url" and query["text"] == [text] and re.fullmatch(link, query["url"][0])

    # The share sheet needs a browser that has one: not this one.
    expect(card.locator('a[data-share-network="device"]')).to_be_hidden()
    with app.app_context():
        assert sorted(s.network for s in ShareEvent.select()) == ["bluesky", "mastodon", "telegram", "threads"]
        assert sorted(link.network for link in TrackedLink.select()) == ["bluesky", "mastodon", "telegram",
                                                                          "threads"]
    assert console.messages == []
    context.close()


def test_the_phone_share_sheet_gets_the_text_and_its_own_link(chromium, site):
    base, app, item_id = site
    context, web, console, page = signed_in(chromium, base, share_sheet=True)
    card = page.locator(f"#item-{item_id}")
    card.locator("textarea").first.fill("Look at this!")
    button = card.get_by_role("link", name="Share…")
    expect(button).to_be_visible()
    button.click()
    page.wait_for_function("() => window.sharedWith")
    shared = page.evaluate("window.sharedWith")
    assert shared["text"] == "Look at this!"
    code = re.fullmatch(re.escape(base) + r"/s/([\w-]{12})", shared["url"]).group(1)
    with app.app_context():
        link = TrackedLink.get(code=code)
        assert (link.network, link.person.username) == ("device", "emma")
        assert [(s.network, s.link_id) for s in ShareEvent.select()] == [("device", link.id)]
    expect(card.get_by_text("You shared this")).to_be_visible()
    assert console.messages == []
    context.close()


def test_the_mastodon_button_asks_for_a_server_first(chromium, site):
    base, app, item_id = site
    with app.app_context():
        Person.update(mastodon_server="").execute()
    context, web, console, page = signed_in(chromium, base, share_sheet=False)
    page.locator(f"#item-{item_id}").get_by_role("link", name="Mastodon: give your server").click()
    page.get_by_label("Your Mastodon server").fill("https://social.example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="Mastodon server")).to_be_visible()
    page.get_by_label("Your Mastodon server").fill("social.example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
    with app.app_context():
        assert Person.get().mastodon_server == "social.example.org"
    assert [m for m in console.messages if "status of 400" not in m] == []  # the refusal's own 400
    context.close()
