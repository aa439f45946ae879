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
from intranet_plugin.content.urls import is_http_url
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.labels import KIND_LABELS, KIND_PLURAL_LABELS
from intranet_plugin.models import DIGEST_CHOICES, KINDS
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
    return render_template("programme/guidelines.html", visitor_cap=totals.visitor_cap(), **guidelines_context())


@bp.route("/admin/guidelines", methods=["GET", "POST"])
@role_required("admin")
def edit_guidelines():
    """Admins write the guidelines and the contact in Markdown."""
    if request.method == "GET":
        return _guidelines_form(programme_guidelines.guidelines_markdown(), programme_guidelines.contact_markdown())
    text = request.form.get("guidelines", "").replace("\r\n", "\n").strip()
    contact = request.form.get("contact", "").strip()
    errors = {}
    if len(text) > MAX_GUIDELINES:
        errors["guidelines"] = _("The guidelines are too long: at most %(n)d characters.", n=MAX_GUIDELINES)
    if len(contact) > MAX_CONTACT:
        errors["contact"] = _("The contact is too long: at most %(n)d characters.", n=MAX_CONTACT)
    if errors:
        return _guidelines_form(text, contact, errors, 400)
    programme_guidelines.save(text, contact, by=_me())
    flash(_("The guidelines are saved."))
    return redirect(url_for("programme.guidelines"))


@bp.route("/admin/guidelines/preview", methods=["POST"])
@role_required("admin")
def preview_guidelines():
    """The live preview beside the editor (an htmx fragment)."""
    text = request.form.get("guidelines", "")[:MAX_GUIDELINES]
    contact = request.form.get("contact", "")[:MAX_CONTACT]
    return render_block("programme/edit_guidelines.html", "preview",
                        preview=render_markdown(text or default_guidelines()),
                        preview_contact=render_markdown(contact) if contact.strip() else None)


def _guidelines_form(text, contact, errors=None, status=200):
    return render_template("programme/edit_guidelines.html", text=text, contact=contact,
                           errors=errors or {}, preview=render_markdown(text or default_guidelines()),
                           preview_contact=render_markdown(contact) if contact.strip() else None), status


# -- joining, preferences, leaving -------------------------------------------

def _read_prefs(form):
    """The choices sent by the join or preferences form: (prefs, errors)."""
    prefs = {
        "networks": [n for n in NETWORKS if n in form.getlist("networks")],
        "kinds": [k for k in KINDS if k in form.getlist("kinds")],
        "digest": form.get("digest", ""),
        "instant_alerts": "instant_alerts" in form,
        "locale": form.get("language", ""),
        "show_on_leaderboard": "show_on_leaderboard" in form,
    }
    errors = {}
    if not prefs["networks"]:
        errors["networks"] = _("Choose at least one network.")
    if not prefs["kinds"]:
        errors["kinds"] = _("Choose at least one kind of content.")
    if prefs["digest"] not in DIGEST_CHOICES:
        errors["digest"] = _("Choose whether you want the weekly digest.")
    if prefs["locale"] not in LANGUAGES:
        errors["language"] = _("Choose a language.")
    return prefs, errors


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
    prefs, errors = _read_prefs(request.form)
    if request.form.get("agree") != "yes":
        errors["agree"] = _("Please confirm that you have read the guidelines and will follow them.")
    if errors:
        return _prefs_page("programme/join.html", prefs, errors, 400, **guidelines_context())
    membership.join(me, prefs)
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
    prefs, errors = _read_prefs(request.form)
    if errors:
        return _prefs_page("programme/preferences.html", prefs, errors, 400)
    membership.save_preferences(me, prefs)
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
    form = {key: request.form.get(key, "").strip() for key in ("url", "title", "kind", "caption", "note")}
    errors = {}
    if not is_http_url(form["url"]) or len(form["url"]) > suggestions.MAX_URL:
        errors["url"] = _("Enter a web address that starts with http:// or https://.")
    else:
        duplicate = suggestions.duplicate_error(form["url"])
        if duplicate:
            errors["url"] = duplicate
    if not form["title"]:
        errors["title"] = _("Give the link a title.")
    elif len(form["title"]) > suggestions.MAX_TITLE:
        errors["title"] = _("The title is too long: at most %(n)d characters.", n=suggestions.MAX_TITLE)
    if form["kind"] not in KINDS:
        errors["kind"] = _("Choose the kind of content.")
    if len(form["caption"]) > MAX_CAPTION:
        errors["caption"] = _("The text is too long: at most %(n)d characters.", n=MAX_CAPTION)
    if len(form["note"]) > suggestions.MAX_NOTE:
        errors["note"] = _("The note is too long: at most %(n)d characters.", n=suggestions.MAX_NOTE)
    if errors:
        return _suggest_form(form, errors, 400)
    suggestions.create(_me(), **form)
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
