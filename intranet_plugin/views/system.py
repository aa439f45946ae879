"""Health, readiness, metrics and error pages."""

import hmac
import ipaddress
import logging

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import BadRequest

from intranet_plugin.models import db
from intranet_plugin.ops import health, metrics
from intranet_plugin.tracking.redirect import DATABASE_ERROR

log = logging.getLogger(__name__)

bp = Blueprint("system", __name__)


@bp.route("/healthz")
def healthz():
    """Liveness, for the process supervisor and load balancers: 200 when
    this process serves requests and its database answers."""
    try:
        db.execute_sql("SELECT 1")
    except Exception as exc:  # any database failure means "not healthy"
        db.close()
        return jsonify(status="error", database=type(exc).__name__), 503
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    """Readiness, for load balancers and monitoring: 200 when every check
    passes, 503 otherwise, each check with its detail (ops.health)."""
    ready, checks = health.readiness(current_app.config)
    if not ready:
        db.close()  # a failed query may have left the connection unusable
    response = jsonify(status="ready" if ready else "not ready", checks=checks)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if ready else 503


@bp.route("/metrics")
def prometheus_metrics():
    """Prometheus metrics, for the addresses in AMBASSADOR_TRUSTED_PROXIES
    (Prometheus scraping the app server directly) or a bearer token
    (AMBASSADOR_METRICS_TOKEN)."""
    if not _may_scrape():
        return Response("Metrics are for a trusted address or a bearer token (AMBASSADOR_METRICS_TOKEN).\n",
                        403, mimetype="text/plain", headers={"WWW-Authenticate": "Bearer"})
    body = metrics.exposition(health.DatabaseCollector(current_app.config))
    return Response(body, 200, headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})


def _may_scrape():
    token = current_app.config["METRICS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].strip().encode(), token.encode()):
        return True
    try:
        # The client's address as the trusted-proxy fix left it: through
        # the proxy that is the visitor, not the proxy.
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in current_app.config["TRUSTED_PROXIES"])


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on their own (often with their default
    user agent, not the page's): the icon itself, answered without reading
    the session, so that request never meets the session protection (a 404
    page read it and ended the person's session)."""
    return current_app.send_static_file("favicon.svg")


def _error(status, title, message, headers=None):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status, headers or {}
    return render_template("errors/error.html", title=title, message=message), status, headers or {}


@bp.before_app_request
def redirect_lookup_failed():
    """A tracked redirect whose link could not be read (the middleware in
    tracking.redirect left the error here): the page below, not a 404."""
    exc = request.environ.get(DATABASE_ERROR)
    if exc is not None:
        raise exc


@bp.app_errorhandler(400)
def bad_request(exc):
    # What ``abort(400, message)`` says was wrong, when a view said it.
    given = getattr(exc, "description", None)
    if given == BadRequest.description:
        given = None
    return _error(400, _("Bad request"), given or _("The request could not be understood."))


@bp.app_errorhandler(CSRFError)
def csrf_error(exc):
    return _error(400, _("Session expired"),
                  _("The form was too old or came from another site. Reload the page and try again."))


@bp.app_errorhandler(403)
def forbidden(exc):
    return _error(403, _("Not allowed"), _("You do not have access to this page."))


@bp.app_errorhandler(404)
def not_found(exc):
    return _error(404, _("Not found"), _("There is nothing at this address."))


@bp.app_errorhandler(OperationalError)
@bp.app_errorhandler(InterfaceError)
def database_unavailable(exc):
    """The database cannot be reached (restarting, locked too long): a
    503 that asks to try again. The connection is closed at the end of the
    request (db.init_app), so the next one opens a new one."""
    log.warning("database unavailable: %s", exc)
    # Shown as to someone signed out: finding out who is signed in needs
    # the database (flask-login keeps the user it loaded in g).
    g._login_user = current_app.login_manager.anonymous_user()
    return _error(503, _("Temporarily unavailable"),
                  _("Ambassador cannot reach its database at the moment. Please try again in a minute."),
                  {"Retry-After": "30"})


@bp.app_errorhandler(500)
def server_error(exc):
    return _error(500, _("Something went wrong"),
                  _("The error has been logged. Please try again in a moment."))
