"""Every page an employee, an editor and an admin can open passes axe-core
(WCAG 2.0 and 2.1, levels A and AA: contrast, labels, landmarks, names,
language) in English and in Dutch, in Chromium. The pages are taken from
``app.url_map`` (a new page is checked without touching this file) and
filled with the demo's content, a suggestion, a feed, an API key and a
digest in the outbox.

On a phone (390 x 844) the key pages also pass with the menu open, never
scroll sideways, and the first share button is on the first screen.

axe-core comes bundled with axe-playwright-python: nothing is fetched at
test time.
"""

import os
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from helpers import login
from helpers.browser import DESKTOP_CHROME, serve
from intranet_plugin import demo
from intranet_plugin.models import ApiKey, Feed, Item, Person, Suggestion

AXE = Axe()
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
               "resultTypes": ["violations"],
               # A framed page (the digest in its preview) is checked as a page of its own.
               "iframes": False}
ROLES = {"employee": "emma", "editor": "joris", "admin": "anouk"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# What the phone checks visit, when the role may.
KEY_PAGES = ("share.index", "impact.me", "impact.leaderboard", "dashboard.index", "editor.index")
# Pages each role must have had checked: proof that the walk reached them.
MUST_SEE = {
    "employee": {"share.index", "impact.me", "impact.leaderboard", "campaigns.index", "campaigns.show",
                 "programme.guidelines", "programme.preferences", "programme.suggest"},
    "editor": {"editor.index", "editor.edit", "editor.new", "editor.review", "editor.audit_log",
               "dashboard.index", "campaigns.edit"},
    "admin": {"feeds.index", "mail.preview", "mail.outbox_index", "mail.outbox_message",
              "programme.edit_guidelines", "api_keys.index"},
}
SKIPPED = {"static", "assets.vendor"}
# E-mails shown as pages: in their recipient's language, not the reader's.
MESSAGES = {"mail.preview_message", "mail.outbox_html"}


@pytest.fixture
def site(make_app, tmp_path):
    outbox = tmp_path / "outbox"

    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, AUTH="dev", MAIL_OUTBOX=str(outbox))

    with serve(build) as (base, app):
        with app.app_context():
            demo.build()
            emma = Person.get(username="emma")
            anouk = Person.get(username="anouk")
            Suggestion.create(person=emma, url="https://www.example.com/open-day", title="Open day in Eemshaven",
                              kind="news", caption="Come and see the turbines.", note="Our team runs it.")
            feed = Feed.create(url="http://127.0.0.1:9/feed.xml", kind="news")
            key = ApiKey.create(name="Careers site", key_hash="0" * 64, created_by=anouk)
            from digest.send import send_weekly

            assert send_weekly(app).sent > 0
            mail = sorted(n for n in os.listdir(outbox) if n.endswith(".eml"))[0]
            world = {"item_id": Item.select().first().id, "slug": "offshore-2027", "feed_id": feed.id,
                     "key_id": key.id, "network": "linkedin", "name": mail, "table": "items",
                     "token": "not-a-token", "suggestion_id": 1, "action": "pin"}
        yield base, app, world


def pages(app, world):
    """(endpoint, path) of every GET route, with the world's values."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in SKIPPED:
            continue
        path = rule.build({name: world[name] for name in rule.arguments})[1]
        if rule.endpoint.startswith("mail.preview"):
            path += "?user=emma"
        yield rule.endpoint, path


def violations(page):
    """axe's violations on the page as it is now, one readable line each."""
    found = AXE.run(page, options=AXE_OPTIONS).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at " + ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            for v in found]


def sign_in(chromium, base, username, language):
    with_person(username, language)
    # The e-mails shown as pages are sandboxed without scripts by their
    # Content-Security-Policy; axe is a script, so CSP is bypassed here
    # (the browser tests of each page check CSP itself).
    context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, viewport=DESKTOP,
                                   locale="en-GB", bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login")
    page.locator(f'button[name="username"][value="{username}"]').click()
    page.wait_for_url(re.compile(r"/$"))
    return context, page


def with_person(username, language):
    Person.update(locale=language).where(Person.username == username).execute()


def html_pages(app, world, username):
    """(endpoint, path) of the routes that answer ``username`` with a whole
    HTML page (not a redirect, a refusal, a fragment, a file or JSON); asked
    in-process, which is quicker than the browser."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = DESKTOP_CHROME
    login(client, username)
    for endpoint, path in pages(app, world):
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html" \
                and "<html" in response.get_data(as_text=True)[:400]:
            yield endpoint, path


# The pages are the same HTML on either database: the walk (the slowest
# browser test, about a second of axe per page) runs on the SQLite pass.
@pytest.mark.skipif(os.environ.get("AMBASSADOR_TEST_DATABASE", "sqlite") != "sqlite",
                    reason="page markup does not depend on the database; checked on the SQLite run")
@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_passes_axe(chromium, site, role, language):
    base, app, world = site
    username = ROLES[role]
    with app.app_context():
        context, page = sign_in(chromium, base, username, language)
    problems = {}
    try:
        checked = list(html_pages(app, world, username))
        for endpoint, path in checked:
            page.goto(path)
            if endpoint not in MESSAGES:
                expect(page.locator("html")).to_have_attribute("lang", language)
            if found := violations(page):
                problems[path] = found
        page.set_viewport_size(PHONE)
        for endpoint, path in checked:
            if endpoint not in KEY_PAGES:
                continue
            page.goto(path)
            where = f"{path} at 390 px"
            if found := violations(page):
                problems[where] = found
            if page.evaluate("document.documentElement.scrollWidth > innerWidth"):
                problems.setdefault(where, []).append("the page scrolls sideways")
            if endpoint == "share.index":
                page.get_by_role("button", name=re.compile("Menu")).click()
                if found := violations(page):
                    problems[where + ", menu open"] = found
    finally:
        context.close()
    seen = {endpoint for endpoint, _path in checked}
    expected = set().union(*(MUST_SEE[r] for r in list(ROLES)[:list(ROLES).index(role) + 1]))
    assert expected <= seen, sorted(expected - seen)
    assert problems == {}


@pytest.fixture
def small_site(make_app):
    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, AUTH="dev")

    with serve(build) as (base, app):
        with app.app_context():
            demo.build()
        yield base, app


def test_on_a_phone_the_menu_folds_and_the_first_share_button_is_on_the_first_screen(chromium, small_site):
    base, app = small_site
    with app.app_context():
        context, page = sign_in(chromium, base, "anouk", "en")  # an admin: the longest menu
    try:
        page.set_viewport_size(PHONE)
        page.goto("/")
        menu = page.get_by_role("button", name="Menu")
        library = page.get_by_role("navigation", name="Main").get_by_role("link", name="Library")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(library).to_be_hidden()
        assert page.locator("header").bounding_box()["height"] < 80
        first_share = page.locator("[data-share-network]").first.bounding_box()
        assert first_share["y"] + first_share["height"] <= PHONE["height"]

        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(library).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        page.keyboard.press("Escape")
        expect(library).to_be_hidden()
        expect(menu).to_be_focused()

        page.keyboard.press("Enter")  # the button works from the keyboard
        expect(library).to_be_visible()
        library.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Content")
        expect(page.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")

        page.set_viewport_size(DESKTOP)  # wide: no button, the menu in the bar
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(library).to_be_visible()
    finally:
        context.close()


def test_without_javascript_the_phone_menu_stays_open(chromium, small_site):
    base, app = small_site
    context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, viewport=PHONE,
                                   java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login")
        page.locator('button[name="username"][value="emma"]').click()
        page.wait_for_url(re.compile(r"/$"))
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
        expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Leaderboard")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    finally:
        context.close()


def test_the_leaderboard_shows_whole_points_on_a_phone(chromium, small_site):
    base, app = small_site
    for width in (360, 390, 430):
        for language in ("en", "nl"):
            with app.app_context():
                context, page = sign_in(chromium, base, "emma", language)
            try:
                page.set_viewport_size({"width": width, "height": 844})
                page.goto("/leaderboard")
                points = page.locator("table.board").first.locator("thead th").nth(3)
                box = points.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, language, box)
                assert points.evaluate("th => th.scrollWidth <= th.clientWidth")  # not cut off
                assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), (width, language)
            finally:
                context.close()


def test_the_language_menu_needs_a_deliberate_choice_and_lang_follows(chromium, small_site):
    base, app = small_site
    with app.app_context():
        context, page = sign_in(chromium, base, "emma", "en")
    try:
        select = page.get_by_label("Language")
        select.focus()
        page.keyboard.press("ArrowDown")  # browsing the choices changes nothing
        page.wait_for_timeout(300)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_have_text("Share what we are proud of")
        with app.app_context():
            assert Person.get(username="emma").locale == "en"

        select.select_option("nl")
        page.get_by_role("button", name="Change").click()
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        expect(page.get_by_role("heading", level=1)).not_to_have_text("Share what we are proud of")

        # Changed elsewhere (another tab): the next page htmx swaps in
        # brings the language along, and <html lang> follows it.
        with app.app_context():
            with_person("emma", "en")
        page.locator("header nav").get_by_role("link", name="Ranglijst").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Leaderboard")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    finally:
        context.close()
