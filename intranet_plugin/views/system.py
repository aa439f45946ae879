"""Health check and error pages."""

from flask import Blueprint, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from intranet_plugin.models import Person, db

bp = Blueprint("system", __name__)


@bp.route("/healthz")
def healthz():
    """For load balancers and monitoring: 200 when the database answers."""
    try:
        Person.select().limit(1).count()
    except Exception as exc:  # any database failure means "not healthy"
        db.close()
        return jsonify(status="error", database=type(exc).__name__), 503
    return jsonify(status="ok")


def _error(status, title, message):
    if request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("errors/error.html", title=title, message=message), status


@bp.app_errorhandler(400)
def bad_request(exc):
    return _error(400, _("Bad request"), _("The request could not be understood."))


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


@bp.app_errorhandler(500)
def server_error(exc):
    return _error(500, _("Something went wrong"),
                  _("The error has been logged. Please try again in a moment."))
