"""The programme as each person meets it: its guidelines, joining and
leaving it, personal preferences, and suggesting links to share. Admins
write the guidelines."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block

from intranet_plugin.content import guidelines as programme_guidelines
from intranet_plugin.content import suggestions
from intranet_plugin.content.guidelines import MAX_CONTACT, MAX_GUIDELINES, default_guidelines, render_markdown
from intranet_plugin.content.sharing import MAX_CAPTION, NETWORKS
from intranet_plugin.forms.programme import GuidelinesForm, JoinForm, PreferencesForm, SuggestForm
from intranet_plugin.labels import KIND_LABELS, KIND_PLURAL_LABELS
from intranet_plugin.people import membership
from intranet_plugin.tracking import totals
from sso import role_required

bp = Blueprint("programme", __name__)


def guidelines_context():
    """The rendered guidelines and contact, for every page that shows them."""
    contact = programme_guidelines.contact_markdown()
    return {"guidelines": render_markdown(programme_guidelines.guidelines_markdown()),
            "contact": render_markdown(contact) if contact.strip() else None}


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
    """Admins write the guidelines and the contact in Markdown, and set the
    disclosure and the words to avoid that the share page checks texts for."""
    if request.method == "GET":
        rules = programme_guidelines.text_rules()
        return _guidelines_form(programme_guidelines.guidelines_markdown(), programme_guidelines.contact_markdown(),
                                disclosure=rules.disclosure, avoid="\n".join(rules.avoid))
    form = GuidelinesForm()
    text, contact = form.guidelines.data or "", form.contact.data or ""
    disclosure, avoid = form.disclosure.data or "", form.avoid.data or ""
    if not form.validate():
        return _guidelines_form(text, contact, form.messages, 400, disclosure=disclosure, avoid=avoid)
    programme_guidelines.save(text, contact, by=_me(), disclosure=disclosure, avoid=avoid)
    flash(_("The guidelines are saved."))
    return redirect(url_for("programme.guidelines"))


@bp.route("/admin/guidelines/preview", methods=["POST"])
@role_required("admin")
def preview_guidelines():
    """The live preview beside the editor (an htmx fragment)."""
    # What is typed, cut at the limits: a preview refuses nothing.
    form = GuidelinesForm()
    text, contact = (form.guidelines.data or "")[:MAX_GUIDELINES], (form.contact.data or "")[:MAX_CONTACT]
    return render_block("programme/edit_guidelines.html", "preview",
                        preview=render_markdown(text or default_guidelines()),
                        preview_contact=render_markdown(contact) if contact.strip() else None)


def _guidelines_form(text, contact, errors=None, status=200, disclosure="", avoid=""):
    return render_template("programme/edit_guidelines.html", text=text, contact=contact,
                           disclosure=disclosure, avoid=avoid,
                           errors=errors or {}, preview=render_markdown(text or default_guidelines()),
                           preview_contact=render_markdown(contact) if contact.strip() else None), status


# -- joining, preferences, leaving -------------------------------------------

def _prefs_page(template, prefs, errors=None, status=200, **extra):
    return render_template(template, prefs=prefs, errors=errors or {}, networks=NETWORKS,
                           kind_labels=KIND_PLURAL_LABELS, **extra), status


@bp.route("/join", methods=["GET", "POST"])
@login_required
def join():
    """Join the programme after reading the guidelines, with one's choices."""
    me = _me()
    if me.has_joined:
        return redirect(url_for("programme.preferences"))
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
