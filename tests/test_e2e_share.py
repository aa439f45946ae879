"""The share page in a real browser (Debian's Chromium through Playwright)
against the app served over HTTP: signing in, tabs, live search and paging
without a page reload, the caption counters, sharing on LinkedIn with the
personal tracked link, an outside visitor's click being counted, the page
without JavaScript, and the keyboard.

The networks' share dialogs and the company website are stand-ins
(``browser.OutsideWeb``): nothing leaves the machine.
"""

import datetime
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from helpers import impact_of, make_campaign, make_item, make_person
from helpers.browser import DESKTOP_CHROME, VISITOR_FIREFOX, ConsoleLog, OutsideWeb, launch, serve
from intranet_plugin.models import (
    Click,
    Person,
    ShareEvent,
    TrackedLink,
    utcnow,
)

PAGE_SIZE = 2
COMPANY = "https://www.example.com"

# title, kind, days ago; the newest first on the page, the pinned one above all.
ITEMS = [
    ("Windpark Noordzee-Oost delivers its first power", "news", 9),
    ("Vacancy: Data engineer, forecasting team", "vacancy", 1),
    ("Our 2026 sustainability report", "news", 2),
    ("Vacancy: Service technician wind turbines", "vacancy", 3),
    ("A day at sea with the maintenance team", "blog", 4),
    ("Vacancy: Graduate programme engineering", "vacancy", 5),
]
PINNED = ITEMS[0][0]
VACANCIES = [title for title, kind, _ in ITEMS if kind == "vacancy"]


@pytest.fixture(scope="module")
def browser():
    expect.set_options(timeout=10_000)  # a busy CI machine is slow, not broken
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


class Site:
    """The running app, its address and its content."""

    def __init__(self, base, app):
        self.base, self.app = base, app
        self.items = {}  # title -> id

    def db(self):
        """An app context for reading the database from the test."""
        return self.app.app_context()

    def item_id(self, title):
        return self.items[title]


@pytest.fixture
def site(make_app, tmp_path):
    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, PAGE_SIZE=PAGE_SIZE,
                        CLICK_JOURNAL_DIR=str(tmp_path / "journal"), WTF_CSRF_ENABLED=True)

    with serve(build) as (base, app):
        site = Site(base, app)
        with app.app_context():
            make_person("emma", display_name="Emma de Vries", department="Engineering")
            make_person("joris", display_name="Joris van Dijk", role="editor")
            campaign = make_campaign("offshore-2027", name="Offshore 2027")
            now = utcnow()
            for title, kind, days in ITEMS:
                slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
                item = make_item(title, kind=kind, slug=slug, url=f"{COMPANY}/{kind}/{slug}",
                                 hashtags="#windenergy" if kind == "news" else "#hiring",
                                 publish_at=now - datetime.timedelta(days=days),
                                 pinned=title == PINNED,
                                 campaign=campaign if title == PINNED else None)
                site.items[title] = item.id
        yield site


def new_context(browser, site, **options):
    """A browser context whose outside web is stubbed and whose console is
    recorded."""
    options.setdefault("user_agent", DESKTOP_CHROME)
    options.setdefault("locale", "en-GB")  # the people here have no language set
    context = browser.new_context(base_url=site.base, viewport={"width": 1280, "height": 900},
                                  **options)
    context.set_default_timeout(10_000)
    web = OutsideWeb(site.base).install(context)
    console = ConsoleLog(context)
    return context, web, console


def sign_in(page, site, name="Emma de Vries"):
    """Through the demo login, as a person would: pick yourself, land on the
    share page."""
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in as a demo person")).to_be_visible()
    page.get_by_role("button", name=re.compile(name)).click()
    expect(page.get_by_role("heading", name="Share what we are proud of")).to_be_visible()
    expect(page).to_have_url(f"{site.base}/")
    expect(page.locator("header .who")).to_contain_text(name)


def query_of(url):
    return parse_qs(urlsplit(url).query)


def card_titles(page):
    return page.locator("#results article.card h2").all_inner_texts()


def card(page, site, title):
    return page.locator(f"#item-{site.item_id(title)}")


def test_browse_tabs_paging_and_live_search_without_reload(browser, site):
    context, _, console = new_context(browser, site)
    page = context.new_page()
    sign_in(page, site)
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]  # the CSP is on
    page.evaluate("window.__sameDocument = true")

    # Pinned first, then the newest; a page holds PAGE_SIZE items.
    expected_order = [PINNED] + [t for t, _, _ in sorted(ITEMS[1:], key=lambda i: i[2])]
    expect(page.locator("#results article.card")).to_have_count(PAGE_SIZE)
    assert card_titles(page) == expected_order[:2]
    expect(card(page, site, PINNED).locator(".badge", has_text="Pinned")).to_be_visible()

    # "Show more" appends the next page in place, until there is no more.
    page.locator("#results article.card").first.evaluate("el => el.dataset.seen = 'yes'")
    page.get_by_role("link", name="Show more").click()
    expect(page.locator("#results article.card")).to_have_count(4)
    expect(page.locator("#results article.card[data-seen]")).to_have_count(1)  # kept, not redrawn
    page.get_by_role("link", name="Show more").click()
    expect(page.locator("#results article.card")).to_have_count(6)
    expect(page.get_by_role("link", name="Show more")).to_have_count(0)
    assert card_titles(page) == expected_order

    # The Vacancies tab: only vacancies, with their own paging.
    page.locator("nav.tabs").get_by_role("link", name="Vacancies").click()
    expect(page).to_have_url(re.compile(r"/\?kind=vacancy$"))
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text("Vacancies")
    expect(page.locator("#results article.card")).to_have_count(PAGE_SIZE)
    page.get_by_role("link", name="Show more").click()
    expect(page.locator("#results article.card")).to_have_count(3)
    assert card_titles(page) == VACANCIES
    expect(page.locator("#results .kind")).to_have_text(["Vacancy"] * 3)

    # Live search narrows the results as one types, within the tab, and
    # the typing is never interrupted.
    search = page.get_by_label("Search", exact=True)
    search.press_sequentially("technician", delay=20)
    expect(page.locator("#results article.card")).to_have_count(1)
    expect(search).to_be_focused()
    expect(search).to_have_value("technician")
    assert card_titles(page) == ["Vacancy: Service technician wind turbines"]
    # The address follows the search, so it can be bookmarked or sent on.
    assert query_of(page.url) == {"kind": ["vacancy"], "q": ["technician"]}
    search.fill("windenergy")  # a news hashtag: no vacancy
    expect(page.locator("#results .empty")).to_have_text("Nothing matches “windenergy”.")
    page.locator("nav.tabs").get_by_role("link", name="All").click()
    expect(page.locator("#results article.card")).to_have_count(PAGE_SIZE)

    # All of it happened in one document: no full page load.
    assert page.evaluate("window.__sameDocument") is True
    assert console.messages == []
    assert ConsoleLog.csp_violations(page) == []
    context.close()


def test_share_on_linkedin_then_a_visitor_click_counts(browser, site):
    context, web, console = new_context(browser, site)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    page = context.new_page()
    sign_in(page, site)
    article = card(page, site, PINNED)

    # The counters follow the caption; X counts the link as 23 characters.
    caption = article.get_by_label("Your text (you may change it)")
    x_count = article.locator("[data-counter=x] b")
    linkedin_count = article.locator("[data-counter=linkedin] b")
    suggested = f"Look at this: {PINNED} #windenergy"  # the hashtags in the text sent
    expect(caption).to_have_value(suggested)
    expect(x_count).to_have_text(str(len(suggested) + 1 + 23))
    own_text = "Proud of my colleagues: our first offshore wind power!"
    caption.fill(own_text)
    expect(x_count).to_have_text(str(len(own_text) + 1 + 23))
    expect(linkedin_count).to_have_text(str(len(own_text)))
    expect(article.locator("[data-counter=x]")).not_to_have_class(re.compile("over"))
    caption.fill("w" * 257)  # 257 + space + 23 = 281 > 280
    expect(x_count).to_have_text("281")
    expect(article.locator("[data-counter=x]")).to_have_class(re.compile("over"))
    caption.fill(own_text)
    expect(article.locator(".state")).not_to_contain_text("You shared this")

    # LinkedIn's post composer opens in a new tab with her text and her
    # personal tracked link; the text is on the clipboard too, should
    # LinkedIn ever ignore it.
    with context.expect_page() as popup_info:
        article.locator('a[data-share-network="linkedin"]').click()
    popup = popup_info.value
    expect(popup).to_have_title("Share dialog")
    [dialog] = web.urls("www.linkedin.com")
    assert popup.url == dialog
    assert urlsplit(dialog).path == "/feed/"
    text, shared_url = query_of(dialog)["text"][0].split("\n\n")
    assert text == own_text
    code = re.fullmatch(re.escape(site.base) + r"/s/([A-Za-z0-9_-]{8,16})", shared_url).group(1)
    [share] = web.redirects
    assert (share.status, share.location) == (303, dialog)
    assert page.evaluate("navigator.clipboard.readText()") == own_text
    popup.close()

    with site.db():
        emma = Person.get(username="emma")
        link = TrackedLink.get(code=code)
        assert (link.person_id, link.item_id, link.network) == (emma.id, site.item_id(PINNED), "linkedin")
        [event] = ShareEvent.select()
        assert (event.person_id, event.item_id, event.link_id, event.network, event.source) == \
            (emma.id, site.item_id(PINNED), link.id, "linkedin", "web")

    # The card asks the server whether the share was recorded, then says so.
    expect(article.locator(".state")).to_have_text("✓ You shared this")
    page.reload()
    expect(card(page, site, PINNED).locator(".state")).to_have_text("✓ You shared this")
    expect(card(page, site, ITEMS[1][0]).locator(".state")).to_have_text("")
    assert console.messages == []
    assert ConsoleLog.csp_violations(page) == []

    # Someone on LinkedIn follows the link: another browser, no cookies.
    visitor, visitor_web, visitor_console = new_context(browser, site, user_agent=VISITOR_FIREFOX)
    visit = visitor.new_page()
    visit.goto(shared_url, referer="https://www.linkedin.com/")
    expect(visit).to_have_title("Company website")
    [redirect] = visitor_web.redirects
    assert redirect.status == 302
    assert redirect.headers["cache-control"] == "no-store"  # every visit reaches the app
    landing = urlsplit(visit.url)
    assert visit.url == redirect.location == visitor_web.urls("www.example.com")[0]
    assert f"{landing.scheme}://{landing.netloc}{landing.path}" == \
        f"{COMPANY}/news/windpark-noordzee-oost-delivers-its-first-power"
    with site.db():
        emma = Person.get(username="emma")
    assert query_of(visit.url) == {"utm_source": ["linkedin"], "utm_medium": ["employee_advocacy"],
                                   "utm_campaign": ["offshore-2027"], "utm_content": [emma.ref]}

    # The click journal moves the click to the database within moments.
    deadline = time.monotonic() + 10
    while True:
        with site.db():
            clicks = list(Click.counted())
        if clicks or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(clicks) == 1
    assert (clicks[0].link_id, clicks[0].referrer_host) == (link.id, "www.linkedin.com")
    with site.db():
        assert impact_of(Person.get(username="emma")) == {"shares": 1, "clicks": 1, "visitors": 1}
    assert visitor_console.messages == []
    visitor.close()
    context.close()


def test_share_page_works_without_javascript(browser, site):
    context, web, console = new_context(browser, site, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, site)  # a plain form POST, with its CSRF token

    page.locator("nav.tabs").get_by_role("link", name="Vacancies").click()
    expect(page).to_have_url(re.compile(r"/\?kind=vacancy$"))
    page.get_by_role("link", name="Show more").click()  # a plain link to page 2
    expect(page).to_have_url(re.compile(r"/\?kind=vacancy&page=2$"))
    assert card_titles(page) == VACANCIES[2:]
    page.get_by_label("Search", exact=True).fill("data")
    page.locator("form.filters").get_by_role("button", name="Search").click()
    assert query_of(page.url) == {"kind": ["vacancy"], "q": ["data"]}
    assert card_titles(page) == ["Vacancy: Data engineer, forecasting team"]

    # A share button is a plain link: the share is recorded and the browser
    # is sent on (303) to the network's dialog with the tracked link.
    with context.expect_page() as popup_info:
        page.locator('a[data-share-network="x"]').click()
    expect(popup_info.value).to_have_title("Share dialog")
    [share] = web.redirects
    [dialog] = web.urls("x.com")
    assert (share.status, share.location) == (303, dialog)
    query = query_of(dialog)
    with site.db():
        [event] = ShareEvent.select()
        link = TrackedLink.get_by_id(event.link_id)
        assert (event.item_id, event.network) == (site.item_id(VACANCIES[0]), "x")
    assert query["url"] == [f"{site.base}/s/{link.code}"]
    assert query["text"] == [f"Look at this: {VACANCIES[0]} #hiring"]
    page.reload()
    expect(page.locator("#results .state")).to_have_text("✓ You shared this")
    assert console.messages == []
    context.close()


def test_keyboard_reaches_and_follows_the_share_buttons(browser, site):
    context, web, console = new_context(browser, site)
    page = context.new_page()
    sign_in(page, site)
    linkedin = card(page, site, PINNED).locator('a[data-share-network="linkedin"]')
    page.evaluate("document.activeElement && document.activeElement.blur()")
    # The first Tab reaches "Skip to content", which jumps past the menu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    presses = 0
    while not linkedin.evaluate("el => el === document.activeElement"):
        presses += 1
        # Past the tabs, the search and the first card's text.
        assert presses < 20, "Tab does not reach the LinkedIn share button of the first card"
        page.keyboard.press("Tab")
    assert linkedin.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"  # focus is visible
    with context.expect_page() as popup_info:
        page.keyboard.press("Enter")
    expect(popup_info.value).to_have_title("Share dialog")
    [dialog] = web.urls("www.linkedin.com")
    with site.db():
        link = TrackedLink.get(network="linkedin")
        assert ShareEvent.select().count() == 1
    assert parse_qs(urlsplit(dialog).query)["text"][0].endswith(f"\n\n{site.base}/s/{link.code}")

    # Onwards to the next button, X, which Enter follows too.
    page.keyboard.press("Tab")
    expect(card(page, site, PINNED).locator('a[data-share-network="x"]')).to_be_focused()
    with context.expect_page() as popup_info:
        page.keyboard.press("Enter")
    expect(popup_info.value).to_have_title("Share dialog")
    assert len(web.urls("x.com")) == 1
    assert console.messages == []
    context.close()
