"""Editor pages: the content library, the item editor with its share
preview, Open Graph prefill and duplicate check, and the audit log.

Open to editors and admins only (``role_required("editor")`` on every view).
"""

import re
import secrets
import unicodedata
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN, IntegrityError

from digest.alerts import mark_share_now
from intranet_plugin import models
from intranet_plugin.content import opengraph, suggestions
from intranet_plugin.content.sharing import (
    MAX_CAPTION,
    NETWORKS,
    X_LINK_LENGTH,
    caption_length,
    is_http_url,
)
from intranet_plugin.content.urls import normalize_url, port_in_range
from intranet_plugin.forms.content import (
    CONTENT_LANGUAGES,
    STATE_FILTERS,
    SUMMARY_MAX,
    TITLE_MAX,
    AuditFilterForm,
    DuplicatesForm,
    ItemForm,
    LibraryFilterForm,
    NewItemArgsForm,
    ReviewForm,
    clean_hashtags,
)
from intranet_plugin.models import (
    KINDS,
    AuditLog,
    Campaign,
    Item,
    Person,
    Suggestion,
    db,
)
from intranet_plugin.security import safe_next
from intranet_plugin.views import fragment_or_page
from sso import role_required

bp = Blueprint("editor", __name__, url_prefix="/editor")

PAGE = 25
# The networks whose counter is shown under the default text, as on the
# share page's card.
DEFAULT_COUNTERS = ("x", "linkedin", "xing")
# What an item's audit entries compare, in the order the editor shows them.
TRACKED_FIELDS = ("kind", "title", "url", "summary", "image_url", "caption", "captions", "hashtags",
                  "language", "campaign", "status", "publish_at", "expires_at", "pinned")


# -- time: typed in the configured zone, stored as naive UTC ---------------

def same_minute(a, b):
    return a is not None and b is not None and a.replace(second=0, microsecond=0) == b.replace(
        second=0, microsecond=0)


# -- labels and states ------------------------------------------------------

def kind_labels():
    return {"news": _("News"), "vacancy": _("Vacancy"), "blog": _("Blog")}


def state_labels():
    return {"draft": _("Draft"), "review": _("In review"), "scheduled": _("Scheduled"),
            "published": _("Published"), "expired": _("Expired"), "archived": _("Archived")}


def action_labels():
    return {"create": _("Created"), "change": _("Changed"), "publish": _("Published"),
            "schedule": _("Scheduled"), "pin": _("Pinned"), "unpin": _("Unpinned"),
            "archive": _("Archived"), "restore": _("Restored"), "expire": _("Expired")}


def language_names(current=None):
    """Content languages by their names in the reader's language; an item's
    own language stays choosable even when it is not one of ours (feeds)."""
    locale = get_locale() or Locale("en")
    codes = list(CONTENT_LANGUAGES)
    if current and current not in codes:
        codes.append(current)
    names = {}
    for code in codes:
        try:
            names[code] = Locale.parse(code).get_display_name(locale).capitalize()
        except (ValueError, LookupError):
            names[code] = code
    return names


def item_state(item, now):
    """What an item is for the people on the share page right now."""
    if item.status != "published":
        return item.status
    if item.publish_at > now:
        return "scheduled"
    if item.expires_at is not None and item.expires_at <= now:
        return "expired"
    return "published"


def items_in_state(state, now):
    """Items in one of STATE_FILTERS; every state but archived by default."""
    published = Item.status == "published"
    conditions = {
        "draft": Item.status == "draft",
        "review": Item.status == "review",
        "scheduled": published & (Item.publish_at > now),
        "published": published & (Item.publish_at <= now)
        & (Item.expires_at.is_null() | (Item.expires_at > now)),
        "expired": published & (Item.publish_at <= now) & (Item.expires_at <= now),
        "archived": Item.status == "archived",
    }
    query = Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER)
    return query.where(conditions.get(state, Item.status != "archived"))


def item_actions(item, now):
    """(action, label) of what can be done to an item in its state now."""
    state = item_state(item, now)
    actions = []
    if state in ("draft", "review", "scheduled"):
        actions.append(("publish", _("Publish now")))
    if state == "published":
        actions.append(("expire", _("Expire now")))
    if state != "archived":
        actions.append(("unpin", _("Unpin")) if item.pinned else ("pin", _("Pin")))
        actions.append(("archive", _("Archive")))
    else:
        actions.append(("restore", _("Restore")))
    return actions


def link_host(url):
    """The host a link card names: without "www.", as the networks show it."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def post_text(item, network):
    """The suggested post for a network as the share button sends it: X gets
    the item's hashtags that the text does not already hold."""
    text = item.caption_for(network)
    if network == "x":
        text = " ".join([text, *[t for t in item.hashtag_list if t not in text]]).strip()
    return text


@bp.before_request
def load_fully():
    """Boosted navigation swaps only the body and runs no script tags (CSP),
    so the editor's own script would be missing: such a visit gets a full
    page load instead."""
    if request.method == "GET" and request.htmx and request.htmx.boosted:
        response = current_app.make_response(("", 200))
        response.headers["HX-Redirect"] = request.full_path if request.query_string else request.path
        return response
    return None


@bp.context_processor
def editor_helpers():
    """Labels, limits and state helpers for the editor's templates."""
    now = models.utcnow()
    return {"item_state": lambda item: item_state(item, now), "KIND_LABELS": kind_labels(),
            "STATE_LABELS": state_labels(), "NETWORKS": NETWORKS, "X_LINK_LENGTH": X_LINK_LENGTH,
            "DEFAULT_COUNTERS": DEFAULT_COUNTERS, "post_length": caption_length,
            "item_actions": lambda item: item_actions(item, now), "link_host": link_host,
            "post_text": post_text, "TIMEZONE": current_app.config["TIMEZONE"]}


# -- the item form -----------------------------------------------------------

def slugify(text, fallback="item"):
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or fallback


def unique_slug(model, text, fallback="item"):
    base = slugify(text, fallback)
    slug, n = base, 2
    while model.select().where(model.slug == slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def duplicates_of(url, item_id=None):
    """Other items whose normalised URL is the same as ``url``'s."""
    normalized = normalize_url(url)
    if not is_http_url(url) or not normalized:
        return []
    query = Item.select().where(Item.normalized_url == normalized)
    if item_id:
        query = query.where(Item.id != item_id)
    return list(query.order_by(Item.id).limit(5))


def snapshot(item):
    values = {name: getattr(item, name) for name in TRACKED_FIELDS if name != "campaign"}
    values["campaign"] = item.campaign_id
    values["captions"] = dict(item.captions or {})
    return values


def preview_item(form, item):
    """An unsaved item built leniently from what is typed, for the live
    preview: nothing here is validated or stored (a field that does not
    parse is left out)."""
    campaign = Campaign.get_or_none(Campaign.id == form.campaign.data) if form.campaign.data else None
    url, image = form.url.data or "", form.image_url.data or ""
    return Item(
        id=item.id if item else 0, kind=form.kind.data if form.kind.data in KINDS else "news",
        title=(form.title.data or "")[:TITLE_MAX] or _("(no title yet)"),
        summary=(form.summary.data or "")[:SUMMARY_MAX],
        url=url if is_http_url(url) and port_in_range(url) else "",
        image_url=image if is_http_url(image) and port_in_range(image) else "",
        caption=form.caption.data or "", captions=form.captions.variants(),
        hashtags=" ".join(clean_hashtags(form.hashtags.data)[0]), campaign=campaign,
        pinned=item.pinned if item else False, publish_at=form.publish_at.data or models.utcnow(),
        expires_at=None, status="draft")


def apply(form, item, now):
    """Put the form's cleaned values on ``item``; returns the names of the
    fields that changed."""
    before = snapshot(item)
    c = form.cleaned
    for name in ("kind", "title", "url", "summary", "image_url", "caption", "captions", "hashtags",
                 "language", "campaign", "status"):
        setattr(item, name, c[name])
    was_published = before["status"] == "published" and item.id is not None
    publish_at = c["publish_at"]
    if publish_at is None:
        # Empty: now when it goes out, otherwise the date it already has.
        if item.status == "published" and not was_published:
            publish_at = now
        elif item.id is not None and item.publish_at is not None and item.publish_at <= now:
            publish_at = item.publish_at
        else:
            publish_at = now
    # Inputs have minutes only: an untouched field keeps its seconds.
    if not same_minute(publish_at, item.publish_at):
        item.publish_at = publish_at
    if not same_minute(c["expires_at"], item.expires_at):
        item.expires_at = c["expires_at"]
    after = snapshot(item)
    return [name for name in TRACKED_FIELDS if before[name] != after[name]]


# -- audit -------------------------------------------------------------------

def audit(action, target, changed, **detail):
    summary = getattr(target, "title", None) or getattr(target, "name", "")
    AuditLog.record(current_user.id, action, target, summary, changed=changed, **detail)


def audit_item_save(item, changed, created, now):
    """The audit entries of one save: what was changed, and separately the
    publication or scheduling it brought."""
    publication = [f for f in changed if f in ("status", "publish_at")]
    goes_out = item.status == "published" and (created or publication)
    if created:
        audit("create", item, changed=[], status=item.status)
        publication = ["status", "publish_at"]
    else:
        content = [f for f in changed if not (goes_out and f in publication)]
        if content:
            audit("change", item, changed=content)
    if goes_out:
        action = "schedule" if item.publish_at > now else "publish"
        audit(action, item, changed=publication, publish_at=item.publish_at.isoformat(timespec="minutes"))


# -- pages -------------------------------------------------------------------

def _paged(query, page):
    total = query.count()
    pages = max(1, -(-total // PAGE))
    page = min(page, pages)
    return list(query.paginate(page, PAGE)), page, pages, total


@bp.route("/")
@role_required("editor")
def index():
    """The content library: filter by state and kind, search, page."""
    filters = LibraryFilterForm(request.args)
    state, kind, q = filters.value("state"), filters.value("kind"), filters.value("q")
    now = models.utcnow()

    def matching(in_state):
        query = items_in_state(in_state, now)
        if kind:
            query = query.where(Item.kind == kind)
        if q:
            query = query.where(Item.title.contains(q) | Item.summary.contains(q)
                                | Item.hashtags.contains(q) | Item.url.contains(q))
        return query

    labels = state_labels()
    tabs = [("", _("All"), matching("").count())]
    tabs += [(s, labels[s], matching(s).count()) for s in STATE_FILTERS]
    query = matching(state).order_by(Item.publish_at.desc(), Item.id.desc())
    items, page, pages, total = _paged(query, filters.page_number())
    return fragment_or_page("editor/items.html", "results", items=items, state=state, kind=kind, q=q,
                             page=page, pages=pages, total=total, tabs=tabs,
                             page_url=lambda n: editor_list_url(state, kind, q, n),
                             next_url=request.full_path)


@bp.app_template_global()
def editor_list_url(state="", kind="", q="", page=1):
    """The content library with these filters (empty ones left out)."""
    return url_for("editor.index", state=state or None, kind=kind or None, q=q or None,
                   page=page if page > 1 else None)


def _campaigns():
    return list(Campaign.select().order_by(Campaign.name))


def _edit_page(form, item, status=200, prefill_error=None, prefilled=False):
    context = _edit_context(form, item, prefill_error, prefilled)
    return render_template("editor/edit.html", **context), status


def _edit_context(form, item, prefill_error=None, prefilled=False):
    return {"form": form, "item": item, "campaigns": _campaigns(),
            "languages": language_names(item.language if item else None),
            "preview": preview_item(form, item), "prefill_error": prefill_error, "prefilled": prefilled,
            "next_url": url_for("editor.edit", item_id=item.id) if item else None}


@bp.route("/items/new", methods=["GET", "POST"])
@role_required("editor")
def new():
    """A new item: the empty form (optionally of a kind or a campaign), and
    saving it."""
    if request.method == "POST":
        return _save(ItemForm(), None)
    args = NewItemArgsForm(request.args)
    campaign = Campaign.get_or_none(Campaign.slug == args.value("campaign")) if args.value("campaign") else None
    return _edit_page(ItemForm.blank(args.value("kind"), campaign), None)


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@role_required("editor")
def edit(item_id):
    """One item's editor, and saving it."""
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    if request.method == "POST":
        return _save(ItemForm(item=item), item)
    form = ItemForm.for_item(item, models.utcnow())
    form.duplicates = duplicates_of(item.url, item.id)
    return _edit_page(form, item)


def _save(form, item):
    if form.add_variant.data:
        # Without JavaScript, "add a variant" comes here: show one more field.
        form.add_slot(form.add_variant.data)
        return _edit_page(form, item)
    now = models.utcnow()
    valid = form.check(now)
    # The duplicate check is the library's (duplicates_of), after the
    # address itself is valid.
    form.duplicates = duplicates_of(form.url.data, item.id if item else None) if not form.url.errors else []
    unchanged = item is not None and normalize_url(form.url.data) == item.normalized_url
    if form.duplicates and not unchanged and not form.wants_duplicate():
        form.refuse("duplicate", _("Another item already links to this page. Check it, or tick "
                                   "“Save anyway” to keep both."))
        valid = False
    if not valid:
        return _edit_page(form, item, status=400)
    created = item is None
    if created:
        item = Item(created_by=current_user.id, created_at=now)
    with db.atomic():
        changed = apply(form, item, now)
        if not created and not changed:
            flash(_("Nothing changed."))
            return redirect(url_for("editor.edit", item_id=item.id))
        item.updated_by = current_user.id
        item.updated_at = now
        if created:
            _insert_with_slug(item)
        else:
            item.save()
        audit_item_save(item, changed, created, now)
    flash(_("Saved: “%(title)s”.", title=item.title))
    return redirect(url_for("editor.edit", item_id=item.id))


def _insert_with_slug(item):
    item.slug = unique_slug(Item, item.title)
    try:
        with db.atomic():
            item.save()
    except IntegrityError:
        # Someone took the slug in the meantime.
        item.slug = f"{slugify(item.title)[:50]}-{secrets.token_hex(3)}"
        item.save()


@bp.route("/items/prefill", methods=["POST"])
@role_required("editor")
def prefill():
    """Title, description and image from the page at the typed address (its
    Open Graph and meta tags). htmx gets the form's first fieldset back; a
    page that cannot be read leaves every field as it was."""
    form = ItemForm()
    item = _form_item(form)
    url = form.url.data or ""
    error = None
    if not is_http_url(url) or not port_in_range(url):
        error = _("Enter the full address of the page, starting with https:// or http://.")
    else:
        try:
            found = opengraph.from_url(url)
        except opengraph.PrefillError as exc:
            error = str(exc)
        else:
            for name, value in (("title", found["title"]), ("summary", found["description"]),
                                ("image_url", found["image"]),
                                ("language", found["language"] if found["language"] in CONTENT_LANGUAGES else "")):
                if value:
                    form[name].data, form[name].raw_data = value, None
    form.duplicates = duplicates_of(url, item.id if item else None)
    context = _edit_context(form, item, prefill_error=error, prefilled=error is None)
    response = fragment_or_page("editor/edit.html", "basics", **context)
    if request.htmx and not request.htmx.boosted:
        # After the swap, so that the preview reads the new values.
        response.headers["HX-Trigger-After-Swap"] = "ambassador:refresh-preview"
    return response


def _form_item(form):
    """The item the editor's form belongs to (its hidden ``item_id``)."""
    if form.item_id.errors or form.item_id.process_errors:
        abort(400)
    return Item.get_or_none(Item.id == form.item_id.data) if form.item_id.data is not None else None


@bp.route("/items/preview", methods=["POST"])
@role_required("editor")
def live_preview():
    """The share preview of what is typed, not saved (the edit page asks
    for it while the editor types)."""
    form = ItemForm()
    item = _form_item(form)
    return render_template("editor/_preview.html", preview=preview_item(form, item))


@bp.route("/items/duplicates", methods=["POST"])
@role_required("editor")
def duplicates():
    """Other items with the same page address (checked as it is typed)."""
    form = DuplicatesForm()
    item = _form_item(form)
    return render_template("editor/_duplicates.html",
                           duplicates=duplicates_of(form.url.data, item.id if item else None))


@bp.route("/captions/<network>/variant")
@role_required("editor")
def caption_variant(network):
    """One more empty text field for a network's variants."""
    if network not in NETWORKS:
        abort(404)
    return render_template("editor/_variant.html", net=network, text="", key=secrets.token_hex(4))


@bp.route("/items/<int:item_id>/preview")
@role_required("editor")
def preview(item_id):
    """How a saved item looks on the share page and when shared."""
    item = (Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER)
            .where(Item.id == item_id).first()) or abort(404)
    return render_template("editor/preview.html", item=item, preview=item)


@bp.route("/items/<int:item_id>/<any(pin, unpin, publish, expire, archive, restore):action>",
          methods=["POST"])
@role_required("editor")
def item_action(item_id, action):
    """Pin, unpin, publish now, expire now, archive or restore an item.

    From the library htmx swaps the item's row; otherwise back to where the
    editor was. An action that does not apply changes nothing.
    """
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    now = models.utcnow()
    state = item_state(item, now)
    changed = []
    with db.atomic():
        if action == "pin" and not item.pinned:
            item.pinned, changed = True, ["pinned"]
        elif action == "unpin" and item.pinned:
            item.pinned, changed = False, ["pinned"]
        elif action == "publish" and state in ("draft", "review", "scheduled"):
            item.status, item.publish_at = "published", now
            changed = ["status", "publish_at"] if state != "scheduled" else ["publish_at"]
        elif action == "expire" and state == "published":
            item.expires_at, changed = now, ["expires_at"]
        elif action == "archive" and state != "archived":
            item.status, changed = "archived", ["status"]
        elif action == "restore" and state == "archived":
            # Back as a draft: an editor decides again whether it goes out.
            item.status, changed = "draft", ["status"]
        if changed:
            item.updated_by, item.updated_at = current_user.id, now
            item.save()
            audit(action, item, changed=changed)
    next_url = safe_next(request.form.get("next")) or url_for("editor.index")
    if request.htmx and not request.htmx.boosted:
        item = Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER).where(Item.id == item.id).get()
        return render_template("editor/_row.html", item=item, next_url=next_url)
    if changed:
        flash(action_message(action, item))
    return redirect(next_url)


def action_message(action, item):
    messages = {
        "pin": _("Pinned: “%(title)s” now shows first on the share page."),
        "unpin": _("Unpinned: “%(title)s”."),
        "publish": _("Published: “%(title)s” is on the share page now."),
        "expire": _("Expired: “%(title)s” has left the share page."),
        "archive": _("Archived: “%(title)s”."),
        "restore": _("Restored as a draft: “%(title)s”."),
    }
    return messages[action] % {"title": item.title}


@bp.route("/audit")
@role_required("editor")
def audit_log():
    """Who created, changed, published or archived what: newest first,
    filtered by item, action or words in the title."""
    filters = AuditFilterForm(request.args)
    item_id = filters.value("item")
    item = Item.get_or_none(Item.id == item_id) if item_id is not None else None
    action, q = filters.value("action"), filters.value("q")
    query = (AuditLog.select(AuditLog, Person).join(Person, JOIN.LEFT_OUTER)
             .order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    if item is not None:
        query = query.where((AuditLog.target_type == "item") & (AuditLog.target_id == item.id))
    if action:
        query = query.where(AuditLog.action == action)
    if q:
        query = query.where(AuditLog.summary.contains(q))
    entries, page, pages, total = _paged(query, filters.page_number())
    campaign_ids = {e.target_id for e in entries if e.target_type == "campaign"}
    campaign_slugs = dict(Campaign.select(Campaign.id, Campaign.slug)
                          .where(Campaign.id.in_(list(campaign_ids))).tuples()) if campaign_ids else {}
    actions = sorted({a for (a,) in AuditLog.select(AuditLog.action).distinct().tuples()} | set(action_labels()))
    return fragment_or_page("editor/audit.html", "results", entries=entries, item=item, action=action,
                             q=q, page=page, pages=pages, total=total, actions=actions,
                             campaign_slugs=campaign_slugs, ACTION_LABELS=action_labels(),
                             field_labels=field_labels(),
                             page_url=lambda n: audit_url(item, action, q, n))


@bp.app_template_global()
def audit_url(item=None, action="", q="", page=1):
    """The audit log with these filters (empty ones left out); ``item`` is
    an item or its id."""
    return url_for("editor.audit_log", item=getattr(item, "id", item) or None, action=action or None,
                   q=q or None, page=page if page > 1 else None)


def field_labels():
    return {"kind": _("kind"), "title": _("title"), "url": _("address"), "summary": _("summary"),
            "image_url": _("image"), "caption": _("text"), "captions": _("texts per network"),
            "hashtags": _("hashtags"), "language": _("language"), "campaign": _("campaign"),
            "status": _("status"), "publish_at": _("publication time"), "expires_at": _("expiry"),
            "pinned": _("pinned"), "name": _("name"), "slug": _("slug"), "hashtag": _("hashtag"),
            "description": _("description"), "starts_at": _("start"), "ends_at": _("end"),
            "goal": _("goal")}


# -- colleagues' suggestions ---------------------------------------------------

@bp.route("/suggestions")
@role_required("editor")
def review():
    """Colleagues' suggestions waiting for review, and the latest decisions."""
    return _review_page()


def _review_page(errors=None, values=None, status=200):
    """The review queue; ``errors`` and ``values`` of one refused decision
    by suggestion id."""
    pending, decided = suggestions.for_review()
    return render_template("editor/review.html", pending=pending, decided=decided,
                           errors=errors or {}, values=values or {}, kind_labels=kind_labels(),
                           max_caption=MAX_CAPTION), status


@bp.route("/suggestions/<int:suggestion_id>", methods=["POST"])
@role_required("editor")
def decide(suggestion_id):
    """Approve a suggestion (optionally edited) as a published item, or
    reject it with a note to the colleague."""
    suggestion = Suggestion.select(Suggestion, Person).join(Person).where(Suggestion.id == suggestion_id).first()
    if suggestion is None:
        abort(404)
    if suggestion.status != "pending":
        flash(_("This suggestion has already been reviewed."), "error")
        return redirect(url_for("editor.review"))
    review_form = ReviewForm()
    review_form.validate()
    form, decision = review_form.fields_as_typed(), review_form.decision.data
    errors = review_form.messages
    if len(form["review_note"]) > suggestions.MAX_NOTE:
        errors["review_note"] = _("The note is too long: at most %(n)d characters.", n=suggestions.MAX_NOTE)
    if decision == "approve":
        errors.update(suggestions.approval_errors(suggestion, form))
    elif decision == "reject" and not form["review_note"]:
        errors["review_note"] = _("Write a short note for %(name)s: why is this suggestion not taken up?",
                                  name=suggestion.person.display_name)
    if errors:
        return _review_page({suggestion.id: errors}, {suggestion.id: form}, 400)
    try:
        item = suggestions.decide(suggestion, decision, form, by=current_user._get_current_object())
    except suggestions.AlreadyReviewed:
        flash(_("This suggestion has already been reviewed."), "error")
        return redirect(url_for("editor.review"))
    if item is not None:
        flash(_("Approved: “%(title)s” is on the share page now.", title=item.title))
    else:
        flash(_("Rejected: %(name)s will see your note.", name=suggestion.person.display_name))
    return redirect(url_for("editor.review"))


# -- share now ------------------------------------------------------------------

@bp.post("/items/<int:item_id>/share-now")
@role_required("editor")
def share_now(item_id):
    """Mark an item "share now": members who asked for instant alerts get an
    e-mail about it (sent by the scheduler, once per person)."""
    item = Item.shareable().where(Item.id == item_id).first()
    if item is None:
        if Item.get_or_none(Item.id == item_id) is None:
            abort(404)
        flash(_("Only a published, unexpired item can be sent as an instant alert."), "error")
    elif mark_share_now(item, current_user.id):
        flash(_("“%(title)s” goes out as an instant alert to everyone who asked for them.", title=item.title))
    else:
        flash(_("“%(title)s” is already marked for an instant alert.", title=item.title))
    return redirect(safe_next(request.form.get("next")) or url_for("editor.index"), 303)
