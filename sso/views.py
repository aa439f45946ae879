"""Login and logout: the LDAP form, the trusted proxy header, the demo picker."""

import ipaddress
import logging
import math
import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from intranet_plugin.forms.auth import DemoLoginForm, LoginForm
from intranet_plugin.models import Person, utcnow
from intranet_plugin.security import safe_next
from sso import sessions
from sso.directory import DirectoryUnavailable, InvalidCredentials, UnusableUsername, normalize_username, username_key
from sso.models import LoginAttempt, Throttled
from sso.sync import directory, find_person, upsert_person

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# Routes that never sign anyone in from the proxy header: the public
# redirect, health checks and static files.
HEADERLESS_ENDPOINTS = {"static", "system.healthz"}
HEADERLESS_BLUEPRINTS = {"assets"}


def _after_login(next_url):
    return redirect(next_url or url_for("share.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in: the LDAP form, the proxy's sign-in, or (AUTH=dev) the demo
    picker."""
    next_url = safe_next(request.values.get("next"))
    auth = current_app.config["AUTH"]
    if auth == "dev":
        return _dev_login(next_url)
    if current_user.is_authenticated and request.method == "GET":
        return _after_login(next_url)
    if auth == "header":
        return _header_login_page()
    return _ldap_login(next_url)


def _dev_login(next_url):
    if request.method == "POST":
        form = DemoLoginForm()
        try:
            person = find_person(normalize_username(form.username.data or ""))
        except UnusableUsername:
            person = None
        if person is None or not person.is_active:
            flash(_("Choose one of the demo people."), "error")
        else:
            sessions.start(person)
            return _after_login(next_url)
    people = Person.active().order_by(Person.role.desc(), Person.display_name)
    return render_template("auth/dev_login.html", people=people, next_url=next_url)


def _login_form(next_url, username="", error=None, status=200, headers=None):
    response = current_app.make_response(
        (render_template("auth/login.html", next_url=next_url, username=username, error=error), status))
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(headers or {})
    return response


def _ldap_login(next_url):
    if request.method == "GET":
        return _login_form(next_url)
    form = LoginForm()
    try:
        username = normalize_username(form.username.data or "")
    except UnusableUsername:
        return _login_form(next_url, "", _("A user name cannot contain control or invisible characters."), 400)
    password = form.password.data or ""
    # Refused before the directory is asked: an empty password would be an
    # "unauthenticated bind", which many directories let succeed.
    if not form.validate() or not username:
        return _login_form(next_url, username, _("Enter your user name and your password."), 400)
    config = current_app.config
    limits = (config["LOGIN_THROTTLE_ACCOUNT"], config["LOGIN_THROTTLE_ADDRESS"],
              config["LOGIN_THROTTLE_MINUTES"])
    started = time.monotonic()
    try:
        attempt = LoginAttempt.begin(config["SECRET_KEY"], username, request.remote_addr, limits)
        # The person the directory finds counts as well, before the password is tried.
        entry = directory().authenticate(username, password, before_bind=attempt.also_as)
    except Throttled as exc:
        minutes = max(1, math.ceil(exc.retry_after / 60))
        return _login_form(next_url, username, ngettext(
            "Too many failed sign-ins. For your account's safety, try again in %(num)d minute.",
            "Too many failed sign-ins. For your account's safety, try again in %(num)d minutes.",
            minutes), 429, {"Retry-After": str(exc.retry_after)})
    except InvalidCredentials:
        # Unknown user and wrong password answer alike, in similar time.
        delay = config.get("LOGIN_FAILURE_SECONDS", 0.5) - (time.monotonic() - started)
        if delay > 0:
            time.sleep(delay)
        log.info("sign-in refused")
        return _login_form(next_url, username, _("The user name or password is not correct."), 401)
    except DirectoryUnavailable as exc:
        attempt.abandoned()
        log.warning("sign-in unavailable: the directory did not answer (%s)", exc)
        return _login_form(next_url, username, _unavailable_message(), 503, {"Retry-After": "60"})
    attempt.succeeded()
    sessions.start(upsert_person(entry, checked_at=utcnow()))
    log.info("signed in: %s", entry.username)
    return _after_login(next_url)


def _unavailable_message():
    return _("Sign-in is unavailable at the moment: the company directory does not answer. "
             "Please try again in a few minutes. People who are already signed in can keep working.")


# -- trusted reverse-proxy header -----------------------------------------

def _direct_peer():
    """The address of whoever opened the connection: the proxy, not the
    client it forwards for (TrustedProxyFix keeps the original)."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR", "")


def _from_trusted_proxy():
    try:
        peer = ipaddress.ip_address(_direct_peer())
    except ValueError:
        return False
    return any(peer in net for net in current_app.config["TRUSTED_PROXIES"])


class BadHeader(Exception):
    pass


def header_username():
    """The user name the trusted proxy sends, None without one.

    Raises ``BadHeader`` for a value that is not exactly one user name: a
    comma means two headers were merged (a client smuggling its own next
    to the proxy's), so neither can be trusted.
    """
    if not _from_trusted_proxy():
        return None
    key = "HTTP_" + current_app.config["SSO_HEADER"].upper().replace("-", "_")
    raw = request.environ.get(key)
    if raw is None:
        return None
    value = raw.strip()
    if not value:
        return None  # the proxy says: nobody signed in
    if "," in value:
        raise BadHeader(raw)
    try:
        return normalize_username(value)
    except UnusableUsername:
        raise BadHeader(raw) from None


def sign_in_from_header():
    """Before every request in header mode: the proxy's user is the one
    signed in. A new or different user is looked up in the directory."""
    if request.endpoint is None or request.endpoint in HEADERLESS_ENDPOINTS \
            or request.blueprint in HEADERLESS_BLUEPRINTS:
        return None
    try:
        username = header_username()
    except BadHeader:
        log.warning("refused a malformed %s header from the proxy", current_app.config["SSO_HEADER"])
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        return _page(400, _("Sign-in failed"),
                     _("The intranet's sign-in information could not be read. Please open "
                       "Ambassador again from the intranet."))
    if username is None:
        return None
    if current_user.is_authenticated and username_key(current_user.username) == username_key(username):
        return None
    try:
        entry = directory().lookup(username)
    except DirectoryUnavailable as exc:
        log.warning("header sign-in: the directory did not answer (%s)", exc)
        # The proxy has authenticated them; someone Ambassador already
        # knows keeps working with the details of the last sync.
        person = find_person(username)
        if person is None or not person.is_active:
            return _page(503, _("Sign-in unavailable"), _unavailable_message())
    else:
        if entry is None:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            return _page(403, _("No access"),
                         _("Your account was not found in the company directory that Ambassador "
                           "uses. Please contact the IT service desk."))
        person = upsert_person(entry, checked_at=utcnow())
    sessions.start(person)
    return None


def _header_login_page():
    """Reached only without a valid proxy sign-in: explain, never ask for a
    password."""
    return _page(403, _("Sign in through the intranet"),
                 _("Ambassador signs you in with your intranet account. Please open it through "
                   "the intranet's address, where you are already signed in."))


def _page(status, title, message):
    response = current_app.make_response(
        (render_template("errors/error.html", title=title, message=message), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out: this session and every other one of the person's, on any
    device, end on the server (a cookie copied before no longer works)."""
    sessions.end_everywhere(current_user._get_current_object())
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
