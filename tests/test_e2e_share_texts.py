"""What you see is what you share, in a real browser (Chromium), on a phone
(390 px) and a desktop (1280 px): for every network, the text that reaches
the network's share URL — or the clipboard, for Facebook and XING, whose
posts open empty — is the text the card shows; a variant chosen and the
person's own edit go along; X is refused over its limit; the digest's
landing page does the same two steps. Nothing leaves the machine
(``browser.OutsideWeb``).
"""

import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from playwright.sync_api import expect

from helpers import make_campaign, make_item, make_person
from helpers.browser import VIEWPORTS, ConsoleLog, share_page, site_with
from intranet_plugin.content.sharing import share_token
from intranet_plugin.models import Person, ShareEvent

TITLE = "Windpark Noordzee-Oost delivers its first power"


@pytest.fixture
def site(make_app):
    with site_with(make_app, lambda: make_person("emma", display_name="Emma de Vries"),
                   lambda: make_item(TITLE, caption="Proud of our first offshore power", hashtags="#wind energy",
                                     captions={"linkedin": ["Our wind farm is live", "A milestone for the North Sea"],
                                               "x": ["First power from Noordzee-Oost"]}),
                   PAGE_SIZE=2) as site:
        yield site


def open_share_page(browser, base, viewport):
    context, web, console, page = share_page(browser, base, "Emma de Vries", viewport)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    return context, web, console, page


def box(card, network):
    """The text box whose buttons include ``network``'s."""
    return card.locator("[data-post]").filter(has=card.page.locator(f'a[data-share-network="{network}"]'))


def shared_text(context, web, card, network, host):
    """Press the network's button; the text its share URL carries."""
    with context.expect_page() as popup:
        box(card, network).locator(f'a[data-share-network="{network}"]').click()
    expect(popup.value).to_have_title("Share dialog")
    query = parse_qs(urlsplit(web.urls(host)[-1]).query)
    popup.value.close()
    return query


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_network_receives_the_text_the_card_shows(chromium, site, viewport):
    base, app, item_id = site
    context, web, console, page = open_share_page(chromium, base, viewport)
    card = page.locator(f"#item-{item_id}")

    def shown(network):
        return box(card, network).locator("textarea").input_value()

    # Each network's text is on the card, hashtags included.
    assert shown("linkedin") == "Our wind farm is live #wind #energy"
    assert shown("x") == "First power from Noordzee-Oost #wind #energy"
    assert shown("whatsapp") == shown("facebook") == "Proud of our first offshore power #wind #energy"

    # E-mail (this tab goes to the mail program): the body is the text shown.
    email_text = shown("email")
    card.locator('a[data-share-network="email"]').click()
    page.wait_for_url(re.compile(r"/share/"))
    mail = next(r.location for r in web.redirects if r.location.startswith("mailto:"))
    assert unquote(parse_qs(urlsplit(mail).query)["body"][0]).startswith(email_text + "\n\n" + base)
    page.goto("/")

    # X, WhatsApp and LinkedIn: the text shown, with the tracked link.
    query = shared_text(context, web, card, "x", "x.com")
    assert query["text"] == [shown("x")]
    link = query["url"][0]
    assert re.fullmatch(re.escape(base) + r"/s/[\w-]+", link)
    assert shared_text(context, web, card, "whatsapp", "wa.me")["text"][0].startswith(shown("whatsapp") + "\n")
    # The editor's second LinkedIn text, chosen on the card.
    box(card, "linkedin").get_by_label("Suggested texts").select_option(label="Suggestion 2 of 2")
    assert shown("linkedin") == "A milestone for the North Sea #wind #energy"
    text = shared_text(context, web, card, "linkedin", "www.linkedin.com")["text"][0]
    assert re.fullmatch(re.escape(shown("linkedin") + "\n\n" + base) + r"/s/[\w-]+", text)

    # Facebook: the text is copied and the dialog says so before Facebook opens.
    card.locator('a[data-share-network="facebook"]').click()
    dialog = page.get_by_role("dialog", name="Text copied")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Paste it with Ctrl+V (on a phone: long-press, then Paste) in the post that opens.")
    assert page.evaluate("navigator.clipboard.readText()") == shown("facebook")
    open_facebook = dialog.get_by_role("link", name="Open Facebook")
    expect(open_facebook).to_be_focused()
    with context.expect_page() as popup:
        open_facebook.click()
    expect(popup.value).to_have_title("Share dialog")
    assert urlsplit(web.urls("www.facebook.com")[-1]).path == "/sharer/sharer.php"
    expect(dialog).to_be_hidden()

    # Her own words go to every network; XING gets them on the clipboard.
    own = "Proud of my colleagues at sea!"
    box(card, "xing").locator("textarea").fill(own)
    assert shown("linkedin") == shown("x") == shown("xing") == own
    card.locator('a[data-share-network="xing"]').click()
    expect(page.get_by_role("dialog", name="Text copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == own
    page.keyboard.press("Escape")  # not now: back to the button, nothing opened
    expect(card.locator('a[data-share-network="xing"]')).to_be_focused()
    assert shared_text(context, web, card, "x", "x.com")["text"] == [own]

    # X over its limit: refused on the card, with the reason.
    box(card, "x").locator("textarea").fill("w" * 300)
    x_button = card.locator('a[data-share-network="x"]')
    expect(x_button).to_have_attribute("aria-disabled", "true")
    expect(x_button).to_have_accessible_description(
        "Too long for X: 324 of 280 characters. Shorten the text to share it there.")
    x_shares = len(web.urls("x.com"))
    x_button.click(force=True)  # Playwright will not press what is aria-disabled; a person can
    expect(box(card, "x").locator("textarea")).to_be_focused()
    # LinkedIn takes it (a later popup proves the X click opened none).
    assert shared_text(context, web, card, "linkedin", "www.linkedin.com")["text"][0].startswith("w" * 300)
    assert len(web.urls("x.com")) == x_shares

    with app.app_context():
        networks = [e.network for e in ShareEvent.counted().order_by(ShareEvent.id)]
    # Each network once (XING was not opened): pressing X and LinkedIn again
    # the same day is not another share.
    assert networks == ["email", "x", "whatsapp", "linkedin", "facebook"]
    assert console.messages == []
    assert ConsoleLog.csp_violations(page) == []
    context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_digest_landing_page_gives_the_same_two_steps(chromium, site, viewport):
    base, app, item_id = site
    context, web, console, page = open_share_page(chromium, base, viewport)
    with app.app_context():
        emma = Person.get(username="emma")
        token = share_token(emma.id, item_id, "facebook", source="digest")
    page.goto(f"/share/{token}")
    expect(page.get_by_role("heading", name="Share on Facebook")).to_be_visible()
    expect(page.get_by_label("Copy the text:")).to_have_value("Proud of our first offshore power #wind #energy")
    page.get_by_role("button", name="Copy the text").click()
    expect(page.locator("[data-copy-status]")).to_have_text("Text copied.")
    assert page.evaluate("navigator.clipboard.readText()") == "Proud of our first offshore power #wind #energy"
    page.get_by_role("link", name="Open Facebook").click()
    expect(page).to_have_title("Share dialog")
    assert urlsplit(page.url).hostname == "www.facebook.com"
    assert console.messages == []
    context.close()


def test_tabs_keep_the_search_and_show_more_moves_the_address_and_focus(chromium, site):
    base, app, item_id = site
    with app.app_context():
        spring = make_campaign("spring", name="Spring")
        for n in range(3):
            make_item(f"Wind news {n}", campaign=spring)
    context, web, console, page = open_share_page(chromium, base, "desktop")
    page.get_by_label("Search", exact=True).fill("wind news")
    expect(page.locator("#results-status")).to_have_text("3 items found.")
    expect(page.locator("#results article.card")).to_have_count(2)
    # The tabs now carry the search.
    expect(page.locator("nav.tabs").get_by_role("link", name="News")).to_have_attribute(
        "href", "/?kind=news&q=wind+news")
    page.get_by_role("link", name="Show more").click()
    expect(page.locator("#results article.card")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"/\?q=wind\+news&page=2$"))
    expect(page.locator("#results article.card").nth(2).locator("h2 a")).to_be_focused()
    assert console.messages == []
    context.close()
