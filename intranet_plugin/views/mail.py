"""Ambassador's e-mail as pages: unsubscribing from a link in a mail (no
sign-in needed), the admin's preview of the weekly digest, and the demo
outbox."""

import os

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from digest.links import read_unsubscribe_token
from digest.send import preview as build_preview
from intranet_plugin.forms.programme import DigestPreviewForm
from intranet_plugin.mail import outbox
from intranet_plugin.models import Person
from intranet_plugin.people import membership
from intranet_plugin.security import csrf
from sso import role_required

bp = Blueprint("mail", __name__)

# E-mail HTML shown inside Ambassador's pages: in a sandbox (no scripts, no
# forms, an origin of its own), with images and inline styles as in a mail
# client; links may open in a new tab.
MAIL_CSP = ("sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
            "img-src http: https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'")


def _mail_page(html):
    # Links in a framed e-mail open in a tab of their own, like a mail client.
    html = html.replace("<head>", '<head><base target="_blank">', 1)
    response = current_app.response_class(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MAIL_CSP
    return response


# -- unsubscribe (RFC 8058) ---------------------------------------------------

LIST_NAMES = {"digest": lambda: _("the weekly digest"), "alerts": lambda: _("instant alerts")}


def _unsubscribe_target(token):
    data = read_unsubscribe_token(token)
    person = Person.get_or_none(Person.id == data[0]) if data else None
    return person, (data[1] if data else None)


def _invalid():
    return render_template("mail/unsubscribe.html", state="invalid"), 400


@bp.get("/unsubscribe/<token>")
def unsubscribe(token):
    """Ask to confirm: a link followed by a mail scanner must change nothing,
    so only the button (a POST) unsubscribes."""
    person, list_name = _unsubscribe_target(token)
    if person is None:
        return _invalid()
    return render_template("mail/unsubscribe.html", state="confirm", token=token,
                           list_label=LIST_NAMES[list_name]())


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_post(token):
    """Unsubscribe without signing in: the confirm button, or a mail
    client's one-click POST (``List-Unsubscribe=One-Click``, RFC 8058). The
    signed token is the protection, so this view takes no CSRF token."""
    person, list_name = _unsubscribe_target(token)
    if person is None:
        return _invalid()
    membership.unsubscribe(person, list_name)
    return render_template("mail/unsubscribe.html", state="done", list_label=LIST_NAMES[list_name]())


# -- admin preview -------------------------------------------------------------

def _preview_person():
    username = DigestPreviewForm(request.args).value("user")
    if not username:
        return "", None
    return username, Person.get_or_none(Person.username == username)


@bp.get("/admin/digest/preview")
@role_required("admin")
def preview():
    """The digest a person would get now, as it would arrive; a form to pick
    the person. Nothing is recorded or sent."""
    username, person = _preview_person()
    members = list(Person.members().select(Person.username, Person.display_name)
                   .order_by(Person.display_name).limit(500))
    context = {"username": username, "person": person, "members": members}
    if person is not None:
        subject, _html, text, digest = build_preview(current_app._get_current_object(), person)
        context.update(subject=subject, text=text, digest=digest,
                       would_send=person.is_active and person.has_joined and person.digest == "weekly"
                       and bool(person.email))
    status = 404 if username and person is None else 200
    return render_template("mail/preview.html", **context), status


@bp.get("/admin/digest/preview/message")
@role_required("admin")
def preview_message():
    """The HTML of the previewed digest, for the preview page's frame."""
    _username, person = _preview_person()
    if person is None:
        abort(404)
    _subject, html, _text, _digest = build_preview(current_app._get_current_object(), person)
    return _mail_page(html)


# -- demo outbox ------------------------------------------------------------------

def _outbox_dir():
    directory = current_app.config.get("MAIL_OUTBOX")
    if not directory:
        abort(404)
    return directory


@bp.get("/admin/outbox")
@role_required("admin")
def outbox_index():
    """The demo's sent mail, newest first (only when the outbox is on)."""
    directory = _outbox_dir()
    return render_template("mail/outbox.html", messages=outbox.messages(directory),
                           directory=os.path.abspath(directory))


@bp.get("/admin/outbox/<name>")
@role_required("admin")
def outbox_message(name):
    """One message: its headers, the HTML in a sandboxed frame, the text."""
    message = outbox.read(_outbox_dir(), name) or abort(404)
    headers = [(h, str(message[h])) for h in ("From", "To", "Subject", "Date", "Message-ID",
                                              "List-Unsubscribe", "List-Unsubscribe-Post") if message[h]]
    return render_template("mail/outbox_message.html", name=name, headers=headers,
                           text=outbox.body(message, "plain"),
                           has_html=bool(outbox.body(message, "html")))


@bp.get("/admin/outbox/<name>/html")
@role_required("admin")
def outbox_html(name):
    """The HTML part of one message, for the message page's frame."""
    message = outbox.read(_outbox_dir(), name) or abort(404)
    return _mail_page(outbox.body(message, "html"))
