"""Helpers for the browser tests: the app as a real HTTP server on a loopback
port, Debian's Chromium through Playwright, stand-ins for the outside web,
and a record of what the browser console said.
"""

import html
import re
import threading
from collections import namedtuple
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 # Nothing leaves the machine, even a request no stub expects.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]

# Chromium's headless user agent says "HeadlessChrome", which crawler
# detection rightly takes for a bot: people get ordinary browsers.
DESKTOP_CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/130.0.0.0 Safari/537.36")
VISITOR_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}

SHARE_DIALOG_HOSTS = ("www.linkedin.com", "x.com", "www.facebook.com", "www.xing.com", "wa.me", "bsky.app",
                      "www.threads.com", "t.me", "social.example.org")


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class _Handler:
    """The server's WSGI callable; the app is set once the port is known
    (PUBLIC_URL and BASE_URL need it)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@contextmanager
def serve(build_app):
    """Serve ``build_app(base_url)`` on a free loopback port; yields
    ``(base_url, app)``."""
    handler = _Handler()
    server = make_server("127.0.0.1", 0, handler, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    handler.app = build_app(base)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="live-server", daemon=True)
    thread.start()
    try:
        yield base, handler.app
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


Redirect = namedtuple("Redirect", "url status location headers")


class OutsideWeb:
    """Stands in for everything outside the app: the networks' share dialogs
    and the company website answer with a small stub page, and every request
    to them is remembered, so a test sees where the browser was sent.

    Playwright routes only the first request of a redirect chain, never the
    hop a redirect leads to (microsoft/playwright#3993, as designed), so the
    app's own redirects off-site (``bridged`` paths: the share action and
    the tracked link) are fetched without following, remembered, and then
    continued by a page that refreshes to the same address. That second
    navigation is an ordinary one, which the stub answers.
    """

    def __init__(self, base, bridged=("/share/", "/s/")):
        self.base = base
        self.bridged = tuple(base + path for path in bridged)
        self.requests = []  # requests that reached the outside web
        self.redirects = []  # the app's redirects off-site, as it sent them

    def install(self, context):
        context.route(self._outside, self._stub)
        context.route(lambda url: url.startswith(self.bridged), self._bridge)
        return self

    def _outside(self, url):
        return not url.startswith(self.base + "/")

    def _stub(self, route):
        request = route.request
        self.requests.append(request)
        host = urlsplit(request.url).hostname
        title = "Share dialog" if host in SHARE_DIALOG_HOSTS else "Company website"
        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                      body=f"<!doctype html><title>{title}</title><h1>{title} ({host})</h1>")

    def _bridge(self, route):
        response = route.fetch(max_redirects=0)
        location = urljoin(route.request.url, response.headers.get("location", ""))
        if not (300 <= response.status < 400 and self._outside(location)):
            route.fulfill(response=response)
            return
        self.redirects.append(Redirect(route.request.url, response.status, location, response.headers))
        refresh = html.escape(f"0; url={location}")
        route.fulfill(status=200, content_type="text/html; charset=utf-8",
                      body=f'<!doctype html><meta http-equiv="refresh" content="{refresh}">')

    def urls(self, host):
        return [r.url for r in self.requests if urlsplit(r.url).hostname == host]


class ConsoleLog:
    """Console errors and warnings and uncaught exceptions of every page in a
    context. Chromium reports Content-Security-Policy violations as console
    errors; the listener installed on every document records them as well."""

    CSP_LISTENER = """
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", function (e) {
            window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
        });
    """

    def __init__(self, context):
        self.messages = []
        context.on("console", self._console)
        context.on("weberror", lambda error: self.messages.append(f"uncaught: {error.error}"))
        context.add_init_script(self.CSP_LISTENER)

    def _console(self, message):
        if message.type in ("error", "warning"):
            self.messages.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    @staticmethod
    def csp_violations(page):
        return page.evaluate("window.__cspViolations || []")


def signed_in_page(browser, base, display_name, *, init_script=None, **options):
    """A new context of ``browser`` on the app at ``base``, signed in as
    ``display_name`` through the demo login: (context, page, console).
    ``init_script`` runs in every document; ``options`` go to the context."""
    context = browser.new_context(base_url=base, user_agent=DESKTOP_CHROME, locale="en-GB", **options)
    context.set_default_timeout(10_000)
    if init_script:
        context.add_init_script(init_script)
    console = ConsoleLog(context)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("button", name=re.compile(re.escape(display_name))).click()
    page.wait_for_url(re.compile(r"/$"))
    return context, page, console


@contextmanager
def site_with(make_app, person, item, **config):
    """The app served on a loopback port (its own tracked links and e-mail
    links), holding one person and one item, made by ``person()`` and
    ``item()`` in its context: yields ``(base, app, item_id)``."""
    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base, **config)) as (base, app):
        with app.app_context():
            person()
            item_id = item().id
        yield base, app, item_id


def share_page(browser, base, display_name, viewport="desktop", **options):
    """``signed_in_page`` at one of VIEWPORTS, the outside web stubbed
    (``OutsideWeb``), once the share page's scripts run (htmx is deferred:
    a live search typed before would send nothing): (context, web,
    console, page)."""
    context, page, console = signed_in_page(browser, base, display_name, viewport=VIEWPORTS[viewport], **options)
    web = OutsideWeb(base).install(context)
    page.wait_for_load_state("load")
    page.wait_for_function("window.htmx !== undefined")
    return context, web, console, page
