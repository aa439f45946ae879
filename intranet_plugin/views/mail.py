"""Ambassador's e-mail as pages: unsubscribing from a link in a mail (no
sign-in needed), the admin's preview of the weekly digest, and the demo
outbox."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from digest import manual
from digest.links import read_unsubscribe_token
from digest.send import preview as build_preview
from intranet_plugin.forms.programme import DigestPreviewForm, DigestSendNowForm, DigestTestForm, MailDoubtForm
from intranet_plugin.labels import MAIL_KIND_LABELS
from intranet_plugin.mail import ledger, outbox
from intranet_plugin.mail.smtp import MailError
from intranet_plugin.models import Person
from intranet_plugin.people import invitations, membership
from intranet_plugin.people.search import find_person
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

LIST_NAMES = {"digest": lambda: _("the weekly digest"), "alerts": lambda: _("instant alerts"),
              "reminders": lambda: _("monthly reminders")}


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


# -- the admin's digest page: preview, test, send now, schedule -------------------

def _preview_target(args):
    """The search text and what it found (``people.search.Found``)."""
    text = DigestPreviewForm(args).value("user")
    return text, find_person(text)


def _page(status=200, **context):
    text, found = context.pop("target", None) or _preview_target(request.args)
    person = found.person
    context.update(username=text, found=found, person=person,
                   schedule=manual.schedule(current_app._get_current_object()))
    if person is not None:
        subject, _html, body, digest = build_preview(current_app._get_current_object(), person)
        context.update(subject=subject, text=body, digest=digest,
                       would_send=membership.may_share(person) and person.digest == "weekly"
                       and bool(person.email))
    if text and person is None and not found.matches:
        status = 404
    return render_template("mail/preview.html", **context), status


@bp.get("/admin/digest/preview")
@role_required("admin")
def preview():
    """The digest page: when the next digest goes out and how this week's
    went; the digest a person would get now, as it would arrive (found by
    part of their name or user name); a test to oneself; sending now.
    Nothing is recorded or sent by looking."""
    return _page()


@bp.get("/admin/digest/preview/message")
@role_required("admin")
def preview_message():
    """The HTML of the previewed digest, for the preview page's frame."""
    _text, found = _preview_target(request.args)
    if found.person is None:
        abort(404)
    _subject, html, _body, _digest = build_preview(current_app._get_current_object(), found.person)
    return _mail_page(html)


@bp.get("/admin/invitations/message")
@role_required("admin")
def invitation_message():
    """The HTML of the invitation as the programme lead would get it, for
    the invitations preview's frame."""
    me = current_user._get_current_object()
    _subject, html, _text = invitations.preview(current_app._get_current_object(), me, me)
    return _mail_page(html)


@bp.get("/admin/digest/status")
@role_required("admin")
def digest_status():
    """The schedule and this week's sending, for the page to refresh while a
    run is under way."""
    return render_template("mail/_digest_status.html", schedule=manual.schedule(current_app._get_current_object()))


@bp.post("/admin/digest/test")
@role_required("admin")
def send_test():
    """Send a person's digest (or the admin's own) to the admin, marked as a
    test; the week's real digest still goes out."""
    form = DigestTestForm()
    admin = current_user._get_current_object()
    if not form.validate():
        flash(next(iter(form.messages.values())), "error")
        return redirect(url_for(".preview"), 303)
    person = Person.get_or_none(Person.username == form.user.data) if form.user.data else admin
    if person is None:
        flash(_("Nobody has the user name “%(name)s”.", name=form.user.data), "error")
        return redirect(url_for(".preview"), 303)
    try:
        subject = manual.send_test(current_app._get_current_object(), person, admin)
    except manual.NoAddress as exc:
        flash(str(exc), "error")
    except MailError as exc:
        flash(_("The test could not be sent: %(error)s", error=str(exc)), "error")
    else:
        flash(_("Test sent to %(email)s: “%(subject)s”.", email=admin.email, subject=subject))
    return redirect(url_for(".preview", user=person.username), 303)


@bp.get("/admin/digest/send-now")
@role_required("admin")
def send_now_confirm():
    """Ask before sending this week's digest to everyone now."""
    return render_template("mail/send_now.html", schedule=manual.schedule(current_app._get_current_object()))


@bp.post("/admin/digest/send-now")
@role_required("admin")
def send_now():
    """Send this week's digest now to everyone who has not had it, through
    the scheduler's send path and ledger (nobody gets two); the run goes on
    after the answer, and the digest page shows how far it got."""
    form = DigestSendNowForm()
    if not form.validate():
        return render_template("mail/send_now.html", schedule=manual.schedule(current_app._get_current_object()),
                               error=next(iter(form.messages.values()))), 400
    if manual.start_send_now(current_app._get_current_object(), current_user._get_current_object()):
        flash(_("Sending this week's digest. This page shows how far it got."))
    else:
        flash(_("This week's digest is being sent already; this page shows how far it got."), "error")
    return redirect(url_for(".preview"), 303)


# -- messages in doubt (as ``ambassador mail doubts|resolve``) ----------------------

def _doubts_page(status=200, error=None):
    return render_template("mail/doubts.html", rows=ledger.doubts(), kinds=MAIL_KIND_LABELS,
                           round_name=ledger.round_name, recipient_name=ledger.recipient_name, error=error), status


@bp.get("/admin/mail/doubts")
@role_required("admin")
def doubts():
    """Messages in doubt: their sender stopped while handing them to the
    mail server, so whether they went out is unknown and no run sends them
    again until an admin, after a look at the server's log, says."""
    return _doubts_page()


@bp.post("/admin/mail/doubts/<int:row_id>")
@role_required("admin")
def resolve_doubt(row_id):
    """Settle one message in doubt: recorded as sent, or left to the next
    run to send; written to the audit log."""
    form = MailDoubtForm()
    if not form.validate():
        return _doubts_page(400, next(iter(form.messages.values())))
    row = ledger.resolve_doubt(row_id, form.verdict.data == "sent", current_user._get_current_object())
    if row is None:
        return _doubts_page(409, _("That message is no longer in doubt: nothing changed."))
    name = ledger.recipient_name(row)
    flash(_("The message to %(name)s is recorded as sent.", name=name) if form.verdict.data == "sent"
          else _("The message to %(name)s will be sent by the next run.", name=name))
    return redirect(url_for(".doubts"), 303)


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
    return render_template("mail/outbox.html", messages=outbox.messages(directory))


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
