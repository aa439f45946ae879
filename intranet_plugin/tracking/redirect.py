"""The tracked redirect, /s/<code>: the only public route.

Every public click goes through here, so the happy path is served by a thin
WSGI layer in front of Flask (``TrackedRedirects``): one cached lookup, one
``write()`` to the click journal, one 302. Anything else (a malformed or
unknown code, another method) falls through to Flask and its error pages.
"""

import contextlib
import re
import time

from peewee import InterfaceError, OperationalError
from werkzeug.http import parse_cookie
from werkzeug.urls import iri_to_uri

from intranet_plugin.models import db
from intranet_plugin.ops.metrics import REDIRECT_SECONDS
from intranet_plugin.tracking.clicks import record
from intranet_plugin.tracking.links import resolve
from sso import sessions

# Where a lookup that failed on the database leaves its error for Flask,
# which answers with its "unavailable" page (views.system).
DATABASE_ERROR = "ambassador.database_error"

CODE = re.compile(r"[A-Za-z0-9_-]{8,16}")
SAMPLE = 16  # one redirect in SAMPLE has its latency measured


class TrackedRedirects:
    """WSGI middleware: record the visit, then 302 to the item with our UTM
    parameters.

    Always 302, never 301: a cached permanent redirect would hide every
    later click. Nothing in the request influences the destination.
    """

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.config = app.config
        self.targets = app.extensions["ambassador.targets"]
        self.journal = app.extensions["ambassador.journal"]
        self.cookie_name = app.config["SESSION_COOKIE_NAME"]
        self._sessions = None
        self._seen = 0
        self.headers = [
            ("Cache-Control", "no-store"),
            ("Referrer-Policy", "no-referrer"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ("Content-Length", "0"),
        ]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path.startswith("/s/") and method in ("GET", "HEAD") and CODE.fullmatch(path[3:]):
            # The latency of one redirect in SAMPLE is measured: a histogram
            # observation costs more than a tenth of the redirect itself
            # (measured). The journal counts every click, off this path.
            self._seen += 1
            started = time.perf_counter() if self._seen % SAMPLE == 0 else None
            try:
                target = self.targets.get(path[3:], self._load)
            except (OperationalError, InterfaceError) as exc:
                environ[DATABASE_ERROR] = exc
                return self.wsgi_app(environ, start_response)
            if target is not None:
                record(self.journal, target, method, environ.get("HTTP_USER_AGENT", ""),
                       environ.get("REMOTE_ADDR"), environ.get("HTTP_REFERER", ""),
                       self._signed_in_user(environ))
                start_response("302 Found", [("Location", target.url), *self.headers])
                if started is not None:
                    REDIRECT_SECONDS.observe(time.perf_counter() - started)
                return [b""]
        return self.wsgi_app(environ, start_response)

    def _load(self, code):
        try:
            target = resolve(code, self.config)
        except (OperationalError, InterfaceError):
            # The worker keeps its connection between redirects; after a
            # database restart it is dead. One more try on a new one.
            with contextlib.suppress(Exception):
                db.close()
            target = resolve(code, self.config)
        return target._replace(url=iri_to_uri(target.url)) if target else None

    def _signed_in_user(self, environ):
        """The signed-in person's id from the session cookie, if any: the
        sharer following their own link does not count for themselves. The
        session must be current by the rules of every signed-in request
        (``sso.sessions``): a cookie kept after signing out is nobody's."""
        cookie = environ.get("HTTP_COOKIE")
        if not cookie or self.cookie_name not in cookie:
            return None
        value = parse_cookie(cookie).get(self.cookie_name)
        if self._sessions is None:
            self._sessions = self.app.session_interface.get_signing_serializer(self.app)
        try:
            data = self._sessions.loads(value, max_age=int(self.app.permanent_session_lifetime.total_seconds()))
        except Exception:  # tampered or expired: simply not signed in
            return None
        if not isinstance(data, dict) or "_user_id" not in data:
            return None
        try:
            with self.app.app_context():
                person = sessions.person_of(data["_user_id"], data)
        except (OperationalError, InterfaceError):
            # The database is out of reach: the click is journaled all the
            # same, and a signed, unexpired cookie marks it as the person's
            # own (not counted), so an outage never counts a self-click.
            try:
                return int(data["_user_id"])
            except (TypeError, ValueError):
                return None
        return person.id if person is not None else None
