"""Login and logout."""

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from intranet_plugin.models import Person

bp = Blueprint("auth", __name__)


def safe_next(target):
    """Only same-origin relative paths: never an open redirect."""
    if not target:
        return None
    target = target.replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _start_session(person):
    # A fresh session at login, so nothing planted before it survives.
    session.clear()
    login_user(person)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in. With AMBASSADOR_AUTH=dev this is the demo picker."""
    if current_app.config["AUTH"] != "dev":
        abort(501)
    next_url = safe_next(request.values.get("next"))
    if request.method == "POST":
        person = Person.get_or_none((Person.username == request.form.get("username", ""))
                                    & (Person.is_active == True))  # noqa: E712
        if person is None:
            flash(_("Choose one of the demo people."), "error")
        else:
            _start_session(person)
            return redirect(next_url or url_for("share.index"))
    people = Person.active().order_by(Person.role.desc(), Person.display_name)
    return render_template("auth/dev_login.html", people=people, next_url=next_url)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
