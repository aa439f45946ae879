"""The programme: its guidelines, joining and leaving it, personal
preferences, and colleagues' suggestions with their review by editors."""


import markdown
import nh3
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from peewee import JOIN

from intranet_plugin.content.sharing import MAX_CAPTION, NETWORKS
from intranet_plugin.content.slugs import unique_slug
from intranet_plugin.content.urls import is_http_url, normalize_url
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.labels import KIND_LABELS, KIND_PLURAL_LABELS
from intranet_plugin.models import (
    DIGEST_CHOICES,
    KINDS,
    AuditLog,
    Item,
    Person,
    Setting,
    Suggestion,
    db,
    utcnow,
)
from sso import role_required

bp = Blueprint("programme", __name__)

GUIDELINES_KEY = "guidelines_markdown"
CONTACT_KEY = "programme_contact"
MAX_GUIDELINES = 50_000
MAX_CONTACT = 500
MAX_URL = 2000
MAX_TITLE = 200
MAX_SUMMARY = 5000
MAX_NOTE = 2000
MAX_HASHTAGS = 200

# What admins' Markdown may become; everything else is removed.
ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i",
                "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "del",
                "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text):
    """Markdown to HTML that cannot run anything: raw HTML, event handlers
    and javascript: links are removed by the sanitiser, whatever the
    Markdown produced."""
    html = markdown.markdown(text or "", extensions=["sane_lists", "tables"], output_format="html")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            clean_content_tags={"script", "style"}, url_schemes=URL_SCHEMES,
                            link_rel="noopener noreferrer"))


def default_guidelines():
    """The built-in guidelines in the reader's language, shown until an admin
    writes the company's own."""
    sections = [
        (_("Our social-media policy"), [
            _("You share as yourself, on your own accounts. Taking part is voluntary: nobody has to "
              "share, and you can leave the programme at any moment."),
        ], [
            _("Share what is on the share page, or what the company has already made public."),
            _("Make clear that you work here when you share company news, for example “my employer”."),
            _("Keep confidential information and the details of customers and colleagues out of your posts."),
        ]),
        (_("Brand rules"), [], [
            _("Write the company name as it appears on the share page, and use the hashtags that come "
              "with each item."),
            _("Do not change the logo or the images, and do not open accounts or pages in the company's name."),
        ]),
        (_("Do"), [], [
            _("Add your own words: why does this matter to you?"),
            _("Share vacancies with people who could be a good fit."),
            _("Be friendly and honest, also when you disagree."),
        ]),
        (_("Don't"), [], [
            _("Do not speak on behalf of the company or make promises for it."),
            _("Do not answer criticism, complaints or questions from journalists yourself: pass them on "
              "to the programme contact."),
            _("Do not share anything you do not feel comfortable with."),
        ]),
    ]
    parts = []
    for heading, paragraphs, bullets in sections:
        parts.append("## " + heading)
        parts.extend(paragraphs)
        if bullets:
            parts.append("\n".join("- " + b for b in bullets))
    return "\n\n".join(parts)


def guidelines_markdown():
    return Setting.get_value(GUIDELINES_KEY) or default_guidelines()


def guidelines_context():
    """The rendered guidelines and contact, for every page that shows them."""
    contact = Setting.get_value(CONTACT_KEY)
    return {"guidelines": render_markdown(guidelines_markdown()),
            "contact": render_markdown(contact) if contact.strip() else None}


def _me():
    return current_user._get_current_object()


# -- guidelines ---------------------------------------------------------------

@bp.route("/guidelines")
@login_required
def guidelines():
    """The programme's guidelines: policy, brand rules, do's and don'ts, contact."""
    return render_template("programme/guidelines.html", **guidelines_context())


@bp.route("/admin/guidelines", methods=["GET", "POST"])
@role_required("admin")
def edit_guidelines():
    """Admins write the guidelines and the contact in Markdown."""
    if request.method == "GET":
        return _guidelines_form(guidelines_markdown(), Setting.get_value(CONTACT_KEY))
    text = request.form.get("guidelines", "").replace("\r\n", "\n").strip()
    contact = request.form.get("contact", "").strip()
    errors = {}
    if len(text) > MAX_GUIDELINES:
        errors["guidelines"] = _("The guidelines are too long: at most %(n)d characters.", n=MAX_GUIDELINES)
    if len(contact) > MAX_CONTACT:
        errors["contact"] = _("The contact is too long: at most %(n)d characters.", n=MAX_CONTACT)
    if errors:
        return _guidelines_form(text, contact, errors, 400)
    if text == default_guidelines().strip():
        # Unchanged built-in text stays unsaved, so every reader keeps
        # getting it in their own language.
        text = ""
    me = _me()
    with db.atomic():
        Setting.set_value(GUIDELINES_KEY, text, by=me)
        Setting.set_value(CONTACT_KEY, contact, by=me)
        AuditLog.record(me, "update", Setting.get_by_id(GUIDELINES_KEY), summary="guidelines",
                        characters=len(text), contact=contact)
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

def _prefs_of(person):
    """A person's choices as the form shows them (an empty list means all)."""
    return {
        "networks": list(person.networks or NETWORKS),
        "kinds": list(person.kinds or KINDS),
        "digest": person.digest if person.digest in DIGEST_CHOICES else "weekly",
        "instant_alerts": person.instant_alerts,
        "locale": person.locale if person.locale in LANGUAGES else get_locale().language,
        "show_on_leaderboard": person.show_on_leaderboard,
    }


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


def _stored(prefs):
    """Person fields for these choices. Everything chosen is stored as an
    empty list (all), so a network or kind added later is included too."""
    return {
        "networks": [] if len(prefs["networks"]) == len(NETWORKS) else prefs["networks"],
        "kinds": [] if len(prefs["kinds"]) == len(KINDS) else prefs["kinds"],
        "digest": prefs["digest"],
        "instant_alerts": prefs["instant_alerts"],
        "locale": prefs["locale"],
        "show_on_leaderboard": prefs["show_on_leaderboard"],
    }


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
        prefs = _prefs_of(me)
        prefs["digest"] = "weekly"
        return _prefs_page("programme/join.html", prefs, **guidelines_context())
    prefs, errors = _read_prefs(request.form)
    if request.form.get("agree") != "yes":
        errors["agree"] = _("Please confirm that you have read the guidelines and will follow them.")
    if errors:
        return _prefs_page("programme/join.html", prefs, errors, 400, **guidelines_context())
    fields = _stored(prefs)
    with db.atomic():
        Person.update(joined_at=utcnow(), left_at=None, **fields).where(Person.id == me.id).execute()
        AuditLog.record(me, "join", me, summary=me.display_name, **fields)
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
        return _prefs_page("programme/preferences.html", _prefs_of(me))
    prefs, errors = _read_prefs(request.form)
    if errors:
        return _prefs_page("programme/preferences.html", prefs, errors, 400)
    fields = _stored(prefs)
    with db.atomic():
        Person.update(**fields).where(Person.id == me.id).execute()
        AuditLog.record(me, "preferences", me, summary=me.display_name, **fields)
    flash(_("Your preferences are saved."))
    return redirect(url_for("programme.preferences"))


@bp.route("/leave", methods=["POST"])
@login_required
def leave():
    """Leave the programme: no more e-mails, off the leaderboard. Past
    shares and clicks stay in the programme's totals."""
    me = _me()
    if me.has_joined:
        with db.atomic():
            Person.update(joined_at=None, left_at=utcnow(), digest="off", instant_alerts=False,
                          show_on_leaderboard=False).where(Person.id == me.id).execute()
            AuditLog.record(me, "leave", me, summary=me.display_name)
        flash(_("You have left the programme and will receive no more e-mails from Ambassador. "
                "You are welcome back at any time."))
    return redirect(url_for("share.index"))


# -- suggestions ----------------------------------------------------------------

def _duplicate_error(url):
    """Why this link cannot be suggested again, or None."""
    normalized = normalize_url(url)
    existing = Item.select(Item.id, Item.title).where(Item.normalized_url == normalized).first()
    if existing:
        return _("This link is already in the library: “%(title)s”.", title=existing.title)
    pending = Suggestion.select(Suggestion.url).where(Suggestion.status == "pending")
    if any(normalize_url(s.url) == normalized for s in pending):
        return _("This link has already been suggested and is waiting for an editor's review.")
    return None


@bp.route("/suggest", methods=["GET", "POST"])
@login_required
def suggest():
    """Any colleague proposes a link to share, with their own caption."""
    if request.method == "GET":
        return _suggest_form({"kind": "news"})
    form = {key: request.form.get(key, "").strip() for key in ("url", "title", "kind", "caption", "note")}
    errors = {}
    if not is_http_url(form["url"]) or len(form["url"]) > MAX_URL:
        errors["url"] = _("Enter a web address that starts with http:// or https://.")
    else:
        duplicate = _duplicate_error(form["url"])
        if duplicate:
            errors["url"] = duplicate
    if not form["title"]:
        errors["title"] = _("Give the link a title.")
    elif len(form["title"]) > MAX_TITLE:
        errors["title"] = _("The title is too long: at most %(n)d characters.", n=MAX_TITLE)
    if form["kind"] not in KINDS:
        errors["kind"] = _("Choose the kind of content.")
    if len(form["caption"]) > MAX_CAPTION:
        errors["caption"] = _("The text is too long: at most %(n)d characters.", n=MAX_CAPTION)
    if len(form["note"]) > MAX_NOTE:
        errors["note"] = _("The note is too long: at most %(n)d characters.", n=MAX_NOTE)
    if errors:
        return _suggest_form(form, errors, 400)
    me = _me()
    with db.atomic():
        suggestion = Suggestion.create(person=me, url=form["url"], title=form["title"], kind=form["kind"],
                                       caption=form["caption"], note=form["note"])
        AuditLog.record(me, "suggest", suggestion, summary=form["title"], url=form["url"])
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
    Reviewer = Person.alias()
    rows = (Suggestion.select(Suggestion, Item, Reviewer)
            .join(Item, JOIN.LEFT_OUTER).switch(Suggestion)
            .join(Reviewer, JOIN.LEFT_OUTER, on=(Suggestion.reviewer == Reviewer.id), attr="reviewer")
            .where(Suggestion.person == current_user.id)
            .order_by(Suggestion.created_at.desc(), Suggestion.id.desc()))
    return render_template("programme/suggestions.html", suggestions=list(rows), kind_labels=KIND_LABELS)


def suggestion_outcomes(person):
    """Reviewed suggestions the person has not been told about yet, marked
    as told: the share page shows each outcome once."""
    Reviewer = Person.alias()
    rows = list(Suggestion.select(Suggestion, Item, Reviewer)
                .join(Item, JOIN.LEFT_OUTER).switch(Suggestion)
                .join(Reviewer, JOIN.LEFT_OUTER, on=(Suggestion.reviewer == Reviewer.id), attr="reviewer")
                .where((Suggestion.person == person.id) & (Suggestion.status != "pending")
                       & Suggestion.seen_at.is_null())
                .order_by(Suggestion.reviewed_at, Suggestion.id))
    if rows:
        Suggestion.update(seen_at=utcnow()).where(Suggestion.id.in_([s.id for s in rows])).execute()
    return rows


def suggester_names(items):
    """person id -> name of whoever suggested these items (one query)."""
    ids = {i.suggested_by_id for i in items if i.suggested_by_id}
    if not ids:
        return {}
    return {p.id: p.display_name
            for p in Person.select(Person.id, Person.display_name).where(Person.id.in_(list(ids)))}


# -- review by editors ----------------------------------------------------------

@bp.route("/editor/suggestions")
@role_required("editor")
def review():
    """Colleagues' suggestions waiting for review, and the latest decisions."""
    return _review_page()


def _review_page(errors=None, values=None, status=200):
    Reviewer = Person.alias()
    pending = (Suggestion.select(Suggestion, Person).join(Person)
               .where(Suggestion.status == "pending")
               .order_by(Suggestion.created_at, Suggestion.id))
    decided = (Suggestion.select(Suggestion, Person, Reviewer, Item).join(Person).switch(Suggestion)
               .join(Reviewer, JOIN.LEFT_OUTER, on=(Suggestion.reviewer == Reviewer.id), attr="reviewer")
               .switch(Suggestion).join(Item, JOIN.LEFT_OUTER)
               .where(Suggestion.status != "pending")
               .order_by(Suggestion.reviewed_at.desc(), Suggestion.id.desc()).limit(20))
    return render_template("programme/review.html", pending=list(pending), decided=list(decided),
                           errors=errors or {}, values=values or {}, kind_labels=KIND_LABELS,
                           max_caption=MAX_CAPTION), status


@bp.route("/editor/suggestions/<int:suggestion_id>", methods=["POST"])
@role_required("editor")
def decide(suggestion_id):
    """Approve a suggestion (optionally edited) as a published item, or
    reject it with a note to the colleague."""
    suggestion = Suggestion.select(Suggestion, Person).join(Person).where(Suggestion.id == suggestion_id).first()
    if suggestion is None:
        abort(404)
    if suggestion.status != "pending":
        flash(_("This suggestion has already been reviewed."), "error")
        return redirect(url_for("programme.review"))
    form = {key: request.form.get(key, "").strip()
            for key in ("title", "summary", "caption", "kind", "hashtags", "review_note")}
    decision = request.form.get("decision")
    errors = {}
    if len(form["review_note"]) > MAX_NOTE:
        errors["review_note"] = _("The note is too long: at most %(n)d characters.", n=MAX_NOTE)
    if decision == "approve":
        errors.update(_approval_errors(suggestion, form))
    elif decision == "reject":
        if not form["review_note"]:
            errors["review_note"] = _("Write a short note for %(name)s: why is this suggestion not taken up?",
                                      name=suggestion.person.display_name)
    else:
        errors["decision"] = _("Choose to approve or to reject.")
    if errors:
        return _review_page({suggestion.id: errors}, {suggestion.id: form}, 400)

    me = _me()
    now = utcnow()
    with db.atomic():
        # Only the first of two editors deciding at once wins.
        claimed = (Suggestion.update(status="approved" if decision == "approve" else "rejected",
                                     reviewer=me, reviewed_at=now, review_note=form["review_note"], seen_at=None)
                   .where((Suggestion.id == suggestion.id) & (Suggestion.status == "pending")).execute())
        if not claimed:
            flash(_("This suggestion has already been reviewed."), "error")
            return redirect(url_for("programme.review"))
        if decision == "approve":
            item = Item.create(kind=form["kind"], slug=unique_slug(Item, form["title"]), title=form["title"],
                               summary=form["summary"], url=suggestion.url, caption=form["caption"],
                               hashtags=form["hashtags"], status="published", publish_at=now,
                               suggested_by=suggestion.person, created_by=me, updated_by=me,
                               created_at=now, updated_at=now)
            Suggestion.update(item=item).where(Suggestion.id == suggestion.id).execute()
            AuditLog.record(me, "create", item, summary=item.title, status="published",
                            suggestion=suggestion.id)
            AuditLog.record(me, "approve", suggestion, summary=item.title, item=item.id)
            flash(_("Approved: “%(title)s” is on the share page now.", title=item.title))
        else:
            AuditLog.record(me, "reject", suggestion, summary=suggestion.title, note=form["review_note"])
            flash(_("Rejected: %(name)s will see your note.", name=suggestion.person.display_name))
    return redirect(url_for("programme.review"))


def _approval_errors(suggestion, form):
    errors = {}
    if not form["title"]:
        errors["title"] = _("Give the item a title.")
    elif len(form["title"]) > MAX_TITLE:
        errors["title"] = _("The title is too long: at most %(n)d characters.", n=MAX_TITLE)
    if form["kind"] not in KINDS:
        errors["kind"] = _("Choose the kind of content.")
    if len(form["summary"]) > MAX_SUMMARY:
        errors["summary"] = _("The summary is too long: at most %(n)d characters.", n=MAX_SUMMARY)
    if len(form["caption"]) > MAX_CAPTION:
        errors["caption"] = _("The text is too long: at most %(n)d characters.", n=MAX_CAPTION)
    if len(form["hashtags"]) > MAX_HASHTAGS:
        errors["hashtags"] = _("Too many hashtags: at most %(n)d characters.", n=MAX_HASHTAGS)
    existing = (Item.select(Item.title)
                .where(Item.normalized_url == normalize_url(suggestion.url)).first())
    if existing:
        errors["url"] = _("This link is already in the library: “%(title)s”. Reject this suggestion "
                          "with a note, or edit that item.", title=existing.title)
    return errors
