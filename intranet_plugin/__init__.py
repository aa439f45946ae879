"""Ambassador: employee advocacy inside the company intranet.

``create_app()`` builds the standalone application; ``init_app(host_app,
url_prefix=...)`` mounts it inside an existing Flask intranet.
"""

import datetime
import os

from flask import Flask
from htmx_flask import Htmx
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.routing import IntegerConverter, UnicodeConverter

from intranet_plugin import db, i18n, ops, security
from intranet_plugin.config import load_config
from intranet_plugin.tracking import totals
from intranet_plugin.tracking.clicks import ClickJournal
from intranet_plugin.tracking.links import TargetCache

htmx = Htmx()


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits (no "٣") up to the largest
    id a database stores (2^63 - 1). Anything beyond names no row: 404,
    before a view asks the database."""

    regex = r"[0-9]+"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """``<…>`` and ``<string:…>`` in every route: a part of the path
    without control characters (NUL, CR, LF…), which no code, slug or name
    holds and PostgreSQL refuses in a query: 404."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f-\x9f]", 1)


def create_app(config=None):
    """Application factory: defaults, then settings, then extensions and
    blueprints, in that order.

    ``config`` overrides the ``AMBASSADOR_*`` environment (tests, host
    intranets); every value goes through the same validation.
    """
    app = Flask(__name__, instance_path=os.environ.get("AMBASSADOR_INSTANCE_PATH") or None,
                instance_relative_config=True)
    app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter)
    settings = load_config(app.instance_path, overrides=config)
    app.config.update(settings)
    production = app.config["ENV"] == "production"
    app.config.update(
        SESSION_COOKIE_NAME="ambassador_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=production or app.config["COOKIE_SAMESITE"] == "None",
        SESSION_COOKIE_SAMESITE=app.config["COOKIE_SAMESITE"],
        PERMANENT_SESSION_LIFETIME=datetime.timedelta(hours=app.config["SESSION_HOURS"]),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=production,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        MAX_CONTENT_LENGTH=1 << 20,
        PREFERRED_URL_SCHEME="https" if production else "http",
    )
    os.makedirs(app.instance_path, exist_ok=True)
    ops.init_app(app)

    db.init_app(app)
    htmx.init_app(app)
    i18n.init_app(app)

    totals.init_app(app)
    journal_dir = app.config["CLICK_JOURNAL_DIR"]
    app.extensions["ambassador.journal"] = (ClickJournal(journal_dir, app.config["CLICK_JOURNAL_FSYNC"])
                                            if journal_dir != "off" else None)
    app.extensions["ambassador.targets"] = TargetCache()
    from intranet_plugin.tracking.redirect import TrackedRedirects

    # Inside the proxy fix (added by security), so REMOTE_ADDR is the client's.
    app.wsgi_app = TrackedRedirects(app, app.wsgi_app)
    security.init_app(app)

    from sso import init_app as init_sso

    init_sso(app)

    from intranet_plugin.views import (
        api,
        api_keys,
        assets,
        campaigns,
        dashboard,
        editor,
        feeds,
        impact,
        mail,
        programme,
        share,
        system,
        team,
    )

    for module in (assets, share, system, programme, feeds, editor, campaigns, mail, api_keys, dashboard,
                   impact, api, team):
        app.register_blueprint(module.bp)

    from intranet_plugin.cli import register

    register(app)
    return app


def init_app(host_app, url_prefix="/ambassador", config=None):
    """Mount Ambassador inside an existing Flask intranet at ``url_prefix``.

    Ambassador runs as its own WSGI application under the prefix rather than
    as blueprints merged into the host: its login, session cookie, CSRF,
    error pages and security headers then cannot collide with the host's,
    and every URL it builds carries the prefix (SCRIPT_NAME). Returns the
    Ambassador application.
    """
    if not url_prefix.startswith("/") or url_prefix.endswith("/"):
        raise ValueError("url_prefix must start with '/' and not end with one, e.g. '/ambassador'")
    config = dict(config or {})
    config.setdefault("SECRET_KEY", host_app.config.get("SECRET_KEY") or None)
    if config["SECRET_KEY"] is None:
        del config["SECRET_KEY"]
    ambassador = create_app(config)
    ambassador.config["SESSION_COOKIE_PATH"] = url_prefix
    host_app.wsgi_app = DispatcherMiddleware(host_app.wsgi_app, {url_prefix: ambassador.wsgi_app})
    host_app.extensions["ambassador"] = ambassador
    return ambassador
