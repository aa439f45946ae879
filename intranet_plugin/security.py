"""Security headers on every response and CSRF on every state change."""

import ipaddress
from urllib.parse import urlsplit

from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()


def content_security_policy(frame_ancestors):
    # No inline script and no eval anywhere: htmx runs with allowEval off and
    # its inline indicator styles off (see base.html's htmx-config).
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


class TrustedProxyFix:
    """Honour X-Forwarded-For/-Proto/-Host/-Prefix only from a trusted proxy.

    werkzeug's ProxyFix trusts whoever connects; here the direct peer must
    be in AMBASSADOR_TRUSTED_PROXIES, otherwise the headers are ignored.
    """

    def __init__(self, wsgi_app, networks):
        self.plain = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
        self.networks = networks

    def __call__(self, environ, start_response):
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            peer = None
        if peer is not None and any(peer in net for net in self.networks):
            return self.fixed(environ, start_response)
        return self.plain(environ, start_response)


class MountedSessionInterface(SecureCookieSessionInterface):
    """The session cookie is sent only below where Ambassador is mounted:
    ``SESSION_COOKIE_PATH`` when set (``init_app`` sets the prefix),
    otherwise the request's script root (gunicorn's ``SCRIPT_NAME``, or a
    trusted proxy's ``X-Forwarded-Prefix``), so that another application
    on the same host never receives it."""

    def get_cookie_path(self, app):
        if app.config["SESSION_COOKIE_PATH"]:
            return app.config["SESSION_COOKIE_PATH"]
        if has_request_context() and request.script_root:
            return request.script_root
        return app.config["APPLICATION_ROOT"]


def init_app(app):
    csrf.init_app(app)
    app.session_interface = MountedSessionInterface()
    policy = content_security_policy(app.config["FRAME_ANCESTORS"])
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXIES"])

    @app.after_request
    def set_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if app.config["ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def safe_next(target):
    """Only same-origin relative paths: never an open redirect."""
    if not target or len(target) > 2000:
        return None
    # Browsers drop tabs and newlines inside URLs and read "\" as "/", so
    # "/\t/evil.example" and "/\evil.example" would leave the site.
    if any(ord(c) < 33 or ord(c) == 127 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
