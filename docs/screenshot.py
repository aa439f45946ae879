"""Take the README screenshot of the share page: docs/share-page.png.

Builds the demo in a throw-away instance directory, serves it on a free
loopback port, signs in as a demo person through the demo login and saves
the share page at 1280x900 with Debian's Chromium (Playwright).

    .venv/bin/python docs/screenshot.py [--user emma] [--output docs/share-page.png] [--top]
"""

import argparse
import logging
import os
import re
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


def screenshot(base, username, output, top=False):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=SIZE, locale="en-GB")
        page.goto(f"{base}/login")
        person = page.locator(f'button[name="username"][value="{username}"]')
        name = person.locator("strong").inner_text()
        person.click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.locator("header .who")).to_contain_text(name)
        if not top:
            # At 1280x900 the first cards' share buttons sit just below the
            # fold: start the picture at the tabs, so whole cards show.
            page.locator("nav.tabs").evaluate("el => window.scrollTo(0, el.offsetTop - 16)")
        page.wait_for_load_state("networkidle")
        # Every image in view has loaded (lazy ones further down need not).
        page.wait_for_function("""() => [...document.images]
            .filter(img => img.getBoundingClientRect().top < innerHeight)
            .every(img => img.complete && img.naturalWidth > 0)""")
        page.screenshot(path=str(output))
        browser.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="emma", help="demo person to sign in as (default: emma)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("share-page.png"))
    parser.add_argument("--top", action="store_true",
                        help="keep the page top (header, intro) instead of starting at the tabs")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z]+", args.user):
        parser.error("--user takes a demo username such as emma")

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    holder = _App()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    with tempfile.TemporaryDirectory(prefix="ambassador-screenshot-") as instance:
        holder.app = build_demo(instance, base)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        try:
            screenshot(base, args.user, args.output, args.top)
        finally:
            server.shutdown()
            server.server_close()
    print(f"saved {args.output} ({SIZE['width']}x{SIZE['height']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
