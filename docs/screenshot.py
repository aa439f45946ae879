"""Take the README's screenshots: docs/share-page.png, and in
docs/screenshots/ the share page, /me, the leaderboard, the dashboard, the
editor library and a digest e-mail, each at 390 px (a phone) and 1280 px.

Builds the demo in a throw-away instance directory, serves it on a free
loopback port, signs in as demo people through the demo login and saves
each page with Debian's Chromium (Playwright). One command:

    .venv/bin/python docs/screenshot.py [--only share-page,me,...]
"""

import argparse
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
SIZE = {"width": 1280, "height": 900}
WIDTHS = {390: 844, 1280: 900}  # a phone's first screen, a laptop's
HERE = Path(__file__).parent
SHOTS = HERE / "screenshots"
# name: (demo person, path, whole page?) — Emma is an employee, Sophie an
# editor, Anouk the admin whose preview shows Emma's digest; all read English.
PAGES = {
    "share-page": ("emma", "/", False),
    "me": ("emma", "/me", False),
    "leaderboard": ("emma", "/leaderboard", False),
    "dashboard": ("sophie", "/admin/dashboard", False),
    "editor-library": ("sophie", "/editor/", False),
    "digest-email": ("anouk", "/admin/digest/preview/message?user=emma", True),
}


class _App:
    """The server's WSGI callable; the app is built once the port is known,
    because its BASE_URL (where the demo images live) needs it."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def build_demo(instance, base):
    os.environ["AMBASSADOR_INSTANCE_PATH"] = instance
    from intranet_plugin import create_app, db, demo

    app = create_app({"DATABASE_URL": f"sqlite:///{instance}/ambassador.db", "AUTH": "dev",
                      "PUBLIC_URL": base, "BASE_URL": base, "CLICK_JOURNAL_DIR": "off"})
    with app.app_context():
        db.upgrade()
        demo.build()
    return app


def sign_in(browser, base, username, viewport):
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.goto(f"{base}/login")
    person = page.locator(f'button[name="username"][value="{username}"]')
    name = person.locator("strong").inner_text()
    person.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("header .who")).to_contain_text(name)
    # The demo's people read the language of their settings; these shots are English.
    page.evaluate("""() => {
        const form = document.querySelector('form.language');
        form.language.value = 'en';
        form.requestSubmit();
    }""")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    return context, page


def settle(page):
    page.wait_for_load_state("networkidle")
    # Every image in view has loaded (lazy ones further down need not).
    page.wait_for_function("""() => [...document.images]
        .filter(img => img.getBoundingClientRect().top < innerHeight)
        .every(img => img.complete && img.naturalWidth > 0)""")


def hero(browser, base, output):
    """The share page at 1280x900, starting at the tabs so that whole
    cards show (the first cards' share buttons sit just below the fold)."""
    context, page = sign_in(browser, base, "emma", SIZE)
    page.goto(f"{base}/")
    page.locator("nav.tabs").evaluate("el => window.scrollTo(0, el.offsetTop - 16)")
    settle(page)
    page.screenshot(path=str(output))
    context.close()


def shots(browser, base, names):
    """Each page of PAGES at each width: the first screen (a page) or the
    whole document (the e-mail)."""
    saved = []
    SHOTS.mkdir(exist_ok=True)
    for width, height in WIDTHS.items():
        contexts = {}
        for name in names:
            username, path, whole = PAGES[name]
            if username not in contexts:
                contexts[username] = sign_in(browser, base, username, {"width": width, "height": height})
            page = contexts[username][1]
            page.goto(base + path)
            settle(page)
            output = SHOTS / f"{name}-{width}.png"
            page.screenshot(path=str(output), full_page=whole)
            saved.append(output)
        for context, _page in contexts.values():
            context.close()
    return saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="",
                        help="comma-separated names of the shots to take: hero (docs/share-page.png), "
                             + ", ".join(PAGES))
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or ["hero", *PAGES]
    unknown = [n for n in names if n not in PAGES and n != "hero"]
    if unknown:
        parser.error(f"unknown shot: {', '.join(unknown)}")

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    holder = _App()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    saved = []
    with tempfile.TemporaryDirectory(prefix="ambassador-screenshot-") as instance:
        holder.app = build_demo(instance, base)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                if "hero" in names:
                    hero(browser, base, HERE / "share-page.png")
                    saved.append(HERE / "share-page.png")
                saved += shots(browser, base, [n for n in names if n in PAGES])
                browser.close()
        finally:
            server.shutdown()
            server.server_close()
    for output in saved:
        print(f"saved {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
