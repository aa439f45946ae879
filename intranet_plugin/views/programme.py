"""The programme as each person meets it: its guidelines, joining and
leaving it, personal preferences, and suggesting links to share. Admins
write the guidelines."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from intranet_plugin.content import guidelines as programme_guidelines
from intranet_plugin.content import suggestions
from intranet_plugin.content.guidelines import (
    MAX_CONTACT,
    MAX_GUIDELINES,
    builtin_guidelines,
    guidelines_context,
    render_contact,
    render_markdown,
)
from intranet_plugin.content.sharing import MAX_CAPTION, NETWORKS
from intranet_plugin.forms.programme import (
    DigestTestForm,
    GuidelinesForm,
    GuidelinesLanguageForm,
    InvitationForm,
    JoinForm,
    PreferencesForm,
    SuggestForm,
)
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.labels import KIND_LABELS, KIND_PLURAL_LABELS
from intranet_plugin.mail.smtp import MailError
from intranet_plugin.people import invitations, membership
from intranet_plugin.tracking import totals
from intranet_plugin.views import pilot_page
from sso import role_required
from sso.directory import DirectoryUnavailable, IncompleteRead
from sso.sync import group_usernames

bp = Blueprint("programme", __name__)


def _me():
    return current_user._get_current_object()


# -- guidelines ---------------------------------------------------------------

@bp.route("/guidelines")
@login_required
def guidelines():
    """The programme's guidelines: policy, brand rules, do's and don'ts, contact."""
    return render_template("programme/guidelines.html", visitor_cap=totals.visitor_cap(),
                           rules=programme_guidelines.text_rules(), **guidelines_context())


@bp.route("/admin/guidelines", methods=["GET", "POST"])
@role_required("admin")
def edit_guidelines():
    """Admins write the guidelines of each language, and the contact, in
    Markdown, and set the disclosure and the words to avoid that the share
    page checks texts for (one setting for every language)."""
    if request.method == "GET":
        language = GuidelinesLanguageForm(request.args).value("language")
        rules = programme_guidelines.text_rules()
        return _guidelines_form(language, programme_guidelines.guidelines_markdown(language),
                                programme_guidelines.contact_markdown(),
                                disclosure=rules.disclosure, avoid="\n".join(rules.avoid))
    form = GuidelinesForm()
    text, contact = form.guidelines.data or "", form.contact.data or ""
    disclosure, avoid = form.disclosure.data or "", form.avoid.data or ""
    if not form.validate():
        language = form.language.data if form.language.data in LANGUAGES else get_locale().language
        return _guidelines_form(language, text, contact, form.messages, 400, disclosure=disclosure, avoid=avoid)
    programme_guidelines.save(text, contact, by=_me(),
                              language=form.language.data or current_app.config["DEFAULT_LANGUAGE"],
                              disclosure=disclosure, avoid=avoid)
    flash(_("The guidelines are saved."))
    return redirect(url_for("programme.guidelines"))


@bp.route("/admin/guidelines/preview", methods=["POST"])
@role_required("admin")
def preview_guidelines():
    """The live preview beside the editor (an htmx fragment)."""
    # What is typed, cut at the limits: a preview refuses nothing.
    form = GuidelinesForm()
    text, contact = (form.guidelines.data or "")[:MAX_GUIDELINES], (form.contact.data or "")[:MAX_CONTACT]
    language = form.language.data if form.language.data in LANGUAGES else get_locale().language
    return render_block("programme/edit_guidelines.html", "preview", language=language,
                        preview=render_markdown(text or builtin_guidelines(language)),
                        preview_contact=render_contact(contact))


def _guidelines_form(language, text, contact, errors=None, status=200, disclosure="", avoid=""):
    own = programme_guidelines.own_guidelines(language).strip()
    return render_template("programme/edit_guidelines.html", language=language, own=bool(own),
                           text=text, contact=contact, disclosure=disclosure, avoid=avoid,
                           errors=errors or {},
                           preview=render_markdown(text or builtin_guidelines(language)),
                           preview_contact=render_contact(contact)), status


# -- joining, preferences, leaving -------------------------------------------

def _prefs_page(template, prefs, errors=None, status=200, **extra):
    return render_template(template, prefs=prefs, errors=errors or {}, networks=NETWORKS,
                           kind_labels=KIND_PLURAL_LABELS, **extra), status


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    """Join the programme after reading the guidelines, with one's choices."""
    me = _me()
    if me.has_joined and membership.may_share(me):
        return redirect(url_for("programme.preferences"))
    if not membership.is_eligible(me):
        return pilot_page(200 if request.method == "GET" else 403)
    if request.method == "GET":
        prefs = membership.preferences_of(me, get_locale().language)
        prefs["digest"] = "weekly"
        return _prefs_page("programme/join.html", prefs, **guidelines_context())
    form = JoinForm()
    if not form.validate():
        return _prefs_page("programme/join.html", form.prefs(), form.messages, 400, **guidelines_context())
    membership.join(me, form.prefs())
    flash(_("Welcome to the programme! Pick something below and share it with one click."))
    return redirect(url_for("share.index"))


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    """Change one's choices at any time, or leave the programme."""
    me = _me()
    if not me.has_joined:
        return redirect(url_for("programme.join"))
    if request.method == "GET":
        return _prefs_page("programme/preferences.html", membership.preferences_of(me, get_locale().language))
    form = PreferencesForm()
    if not form.validate():
        return _prefs_page("programme/preferences.html", form.prefs(), form.messages, 400)
    membership.save_preferences(me, form.prefs())
    flash(_("Your preferences are saved."))
    return redirect(url_for("programme.preferences"))


@bp.route("/leave", methods=["POST"])
@login_required
def leave():
    """Leave the programme: no more e-mails, off the leaderboard. Past
    shares and clicks stay in the programme's totals."""
    if membership.leave(_me()):
        flash(_("You have left the programme and will receive no more e-mails from Ambassador. "
                "You are welcome back at any time."))
    return redirect(url_for("share.index"))


# -- invitations ------------------------------------------------------------------

BAD_LINK = {
    "invalid": (400, _l("This invitation link is not valid. Please use the link from your e-mail as it is, "
                        "or simply join from the share page.")),
    "expired": (410, _l("This invitation link has expired. You can still join from the share page at any "
                        "time.")),
    "foreign": (403, _l("This invitation link belongs to someone else: it is personal. You can join "
                        "yourself from the share page.")),
}


@bp.route("/join/invited/<token>")
@login_required
def join_invited(token):
    """The one-click join link of an invitation: the guidelines and the join
    form, nothing ticked in advance. Signed, personal and expiring."""
    me = _me()
    try:
        invitation = invitations.read_join_token(token, me)
    except invitations.BadLink as exc:
        status, message = BAD_LINK[exc.reason]
        return render_template("programme/invitation_link.html", message=message), status
    if not membership.is_eligible(me):
        return pilot_page()
    if membership.may_share(me):
        flash(_("You are a member already. Here are your choices."))
        return redirect(url_for("programme.preferences"))
    prefs = {"networks": [], "kinds": [], "digest": "", "instant_alerts": False,
             "locale": membership.preferences_of(me, get_locale().language)["locale"],
             "show_on_leaderboard": False}
    return _prefs_page("programme/join.html", prefs, invited_by=invitation.invited_by, **guidelines_context())


def _departments():
    return invitations.departments()


def _invitations_page(values=None, errors=None, status=200, **extra):
    config = current_app.config
    context = {
        "pilot": membership.pilot_group(),
        "overview": invitations.eligibility_overview(),
        "departments": _departments(),
        "values": values or {},
        "errors": errors or {},
        "groups_enabled": config["AUTH"] in ("ldap", "header"),
        "reasons": invitations.reason_labels(),
        "again_days": invitations.INVITE_AGAIN_AFTER.days,
    }
    context.update(extra)
    return render_template("programme/invitations.html", **context), status


@bp.get("/admin/invitations")
@role_required("admin")
def invitations_page():
    """Who may take part (the pilot group), and inviting them."""
    return _invitations_page()


def _selection(form, round_id=""):
    """The people the form names, or (None, error message) when the
    directory group cannot be read."""
    choice = form.choice()
    group = None
    if choice["group"]:
        if current_app.config["AUTH"] not in ("ldap", "header"):
            return None, _("Groups come from the company directory, which this installation does not use.")
        try:
            group = group_usernames(choice["group"])
        except IncompleteRead:
            return None, _("The group “%(group)s” could not be read from the directory. Check its name "
                           "(the full DN, e.g. cn=marketing,ou=groups,dc=example,dc=com).", group=choice["group"])
        except DirectoryUnavailable:
            return None, _("The company directory does not answer at the moment. Please try again in a few "
                           "minutes.")
    return invitations.select(choice["department"], group, invitations.parse_names(choice["usernames"]),
                              choice["asked"], round_id), None


@bp.post("/admin/invitations/preview")
@role_required("admin")
def preview_invitations():
    """Who would be invited (and who not, and why), and the e-mail they
    would get. Nothing is sent."""
    form = InvitationForm(departments=_departments())
    if not form.validate():
        return _invitations_page(form.values, form.messages, 400)
    selection, error = _selection(form)
    if selection is None:
        return _invitations_page(form.values, {"group": error}, 400 if "DN" in error else 503)
    app = current_app._get_current_object()
    subject, _html, text = invitations.preview(app, selection.invite[0] if selection.invite else _me(), _me())
    return _invitations_page(form.values, selection=selection, subject=subject, text=text,
                             round=invitations.new_round())


@bp.post("/admin/invitations/test")
@role_required("admin")
def test_invitation():
    """Send the invitation to oneself, marked as a test; nothing is recorded."""
    form = DigestTestForm()
    if not form.validate():
        flash(next(iter(form.messages.values())), "error")
        return redirect(url_for(".invitations_page"), 303)
    me = _me()
    try:
        subject = invitations.send_test(current_app._get_current_object(), me)
    except invitations.NoAddress as exc:
        flash(str(exc), "error")
    except MailError as exc:
        flash(_("The test could not be sent: %(error)s", error=str(exc)), "error")
    else:
        flash(_("Test sent to %(email)s: “%(subject)s”.", email=me.email, subject=subject))
    return redirect(url_for(".invitations_page"), 303)


@bp.post("/admin/invitations/send")
@role_required("admin")
def send_invitations():
    """Send the invitations the preview showed, through the mail ledger:
    pressing twice invites nobody twice."""
    form = InvitationForm(departments=_departments())
    if not form.validate() or not invitations.valid_round(form.round.data):
        errors = form.messages or {"department": _("Show the preview first, then send from there.")}
        return _invitations_page(form.values, errors, 400)
    selection, error = _selection(form, form.round.data)
    if selection is None:
        return _invitations_page(form.values, {"group": error}, 400 if "DN" in error else 503)
    report = invitations.send(current_app._get_current_object(), selection.invite, _me(), form.round.data)
    if report.error:
        flash(_("Sending stopped: %(error)s. Press send again to continue; nobody gets two.",
                error=report.error), "error")
    flash(ngettext("%(num)d invitation sent.", "%(num)d invitations sent.", report.sent)
          + (" " + ngettext("%(num)d had been sent before.", "%(num)d had been sent before.", report.earlier)
             if report.earlier else "")
          + (" " + ngettext("%(num)d could not be sent.", "%(num)d could not be sent.",
                            report.failed + report.deferred) if report.failed + report.deferred else ""))
    return redirect(url_for(".invitations_page"), 303)


# -- suggestions ----------------------------------------------------------------

@bp.route("/suggest", methods=["GET", "POST"])
@login_required
def suggest():
    """Any colleague proposes a link to share, with their own caption."""
    if request.method == "GET":
        return _suggest_form({"kind": "news"})
    form = SuggestForm()
    if not form.validate():
        return _suggest_form(form.as_dict(), form.messages, 400)
    suggestions.create(_me(), **form.as_dict())
    flash(_("Thank you! An editor will look at your suggestion; you will see the outcome here "
            "and on the share page."))
    return redirect(url_for("programme.my_suggestions"))


def _suggest_form(form, errors=None, status=200):
    return render_template("programme/suggest.html", form=form, errors=errors or {},
                           kind_labels=KIND_LABELS, max_caption=MAX_CAPTION), status


@bp.route("/suggestions")
@login_required
def my_suggestions():
    """The colleague's own suggestions and what became of them."""
    return render_template("programme/suggestions.html", suggestions=suggestions.of_person(current_user.id),
                           kind_labels=KIND_LABELS)
