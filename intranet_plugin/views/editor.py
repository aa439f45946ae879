"""Editor pages: the content library, the item editor with its share
preview, Open Graph prefill and duplicate check, and the audit log.

Open to editors and admins only (``role_required("editor")`` on every view).
"""

import secrets
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN
from werkzeug.datastructures import MultiDict

from digest.alerts import mark_share_now
from intranet_plugin import models
from intranet_plugin.content import editing, opengraph, suggestions
from intranet_plugin.content import items as content_items
from intranet_plugin.content.audiences import audience_of, group_name, set_audience
from intranet_plugin.content.sharing import (
    MAX_CAPTION,
    NETWORKS,
    X_LINK_LENGTH,
    caption_length,
    post_text,
)
from intranet_plugin.content.slugs import insert_with_slug
from intranet_plugin.content.urls import web_address
from intranet_plugin.forms.content import (
    CONTENT_LANGUAGES,
    SUMMARY_MAX,
    TITLE_MAX,
    AuditFilterForm,
    DuplicatesForm,
    EditArgsForm,
    ItemForm,
    LibraryFilterForm,
    NewItemArgsForm,
    ReviewForm,
    clean_hashtags,
)
from intranet_plugin.i18n import language_names
from intranet_plugin.labels import ACTION_LABELS, AUDIT_LABELS, KIND_LABELS, STATE_LABELS
from intranet_plugin.models import (
    ITEM_STATES,
    KINDS,
    AuditLog,
    Campaign,
    Item,
    Person,
    Suggestion,
    db,
    normalize_url,
)
from intranet_plugin.security import safe_next
from intranet_plugin.views import fragment_or_page
from sso import role_required

bp = Blueprint("editor", __name__, url_prefix="/editor")

PAGE = 25
# The networks whose counter is shown under the default text, as on the
# share page's card.
DEFAULT_COUNTERS = ("x", "linkedin", "xing")



# -- time: typed in the configured zone, stored as naive UTC ---------------

# -- labels and states ------------------------------------------------------

@bp.app_template_global()
def audience_text(audience):
    """Whom an item is meant for, in words: "Everyone", or its departments,
    groups and languages."""
    if audience is None or audience.everyone:
        return _("Everyone")
    names = language_names()
    parts = [*audience.departments, *(group_name(g) for g in audience.groups),
             *(names.get(code, code) for code in audience.languages)]
    return ", ".join(parts)


def item_actions(item, now):
    """(action, label) of the buttons for what can be done to an item now."""
    return [(action, ACTION_LABELS[action]) for action in content_items.offered(item, now)
            if action != content_items.SHARE_NOW]


def link_host(url):
    """The host a link card names: without "www.", as the networks show it."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


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
    return {"item_state": lambda item: item.state(now), "NETWORKS": NETWORKS, "X_LINK_LENGTH": X_LINK_LENGTH,
            "DEFAULT_COUNTERS": DEFAULT_COUNTERS, "post_length": caption_length,
            "item_actions": lambda item: item_actions(item, now),
            "may_share_now": lambda item: content_items.refusal(item, content_items.SHARE_NOW, now) is None,
            "link_host": link_host, "post_text": post_text, "TIMEZONE": current_app.config["TIMEZONE"]}


# -- the item form -----------------------------------------------------------

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
        url=web_address(url) or "", image_url=web_address(image) or "",
        caption=form.caption.data or "", captions=form.captions.variants(),
        hashtags=" ".join(clean_hashtags(form.hashtags.data)[0]), campaign=campaign,
        pinned=item.pinned if item else False, publish_at=form.publish_at.data or models.utcnow(),
        expires_at=None, status="draft")


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
    query = _matching(state, kind, q, now).order_by(Item.publish_at.desc(), Item.id.desc())
    items, page, pages, total = _paged(query, filters.page_number())
    return fragment_or_page("editor/items.html", "results", items=items, state=state, kind=kind, q=q,
                            audiences=audience_of([i.id for i in items]),
                             page=page, pages=pages, total=total, tabs=_tabs(kind, q, now),
                             page_url=lambda n: editor_list_url(state, kind, q, n),
                             next_url=request.full_path)


def _matching(state, kind, q, now):
    """The library's items in a state (tab), of a kind, matching the search."""
    query = content_items.items_in_state(state, now)
    if kind:
        query = query.where(Item.kind == kind)
    if q:
        query = query.where(Item.title.contains(q) | Item.summary.contains(q)
                            | Item.hashtags.contains(q) | Item.url.contains(q))
    return query


def _tabs(kind, q, now):
    """(state, label, how many items) of the library's tabs."""
    tabs = [("", _("All"), _matching("", kind, q, now).count())]
    return tabs + [(s, STATE_LABELS[s], _matching(s, kind, q, now).count()) for s in ITEM_STATES]


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
    """One item's editor, and saving it. ``?prefill=1`` (an approved
    suggestion's new draft) fills the blank fields from the item's page, as
    "Fill in from the page" does; nothing is stored until the editor saves."""
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    if request.method == "POST":
        return _save(ItemForm(item=item), item)
    form = ItemForm.for_item(item, models.utcnow())
    form.duplicates = editing.duplicates_of(item.url, item.id)
    if EditArgsForm(request.args).value("prefill") and item.status == "draft":
        error = fill_from_page(form, item.url, only_blank=True)
        return _edit_page(form, item, prefill_error=error, prefilled="blank" if error is None else False)
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
    form.duplicates = editing.duplicates_of(form.url.data, item.id if item else None) if not form.url.errors else []
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
        changed = editing.apply(form.cleaned, item, now)
        if editing.audience_changed(item, form.cleaned["audience"]):
            changed.append("audience")
        if not created and not changed:
            flash(_("Nothing changed."))
            return redirect(url_for("editor.edit", item_id=item.id))
        item.updated_by = current_user.id
        item.updated_at = now
        if created:
            insert_with_slug(item, item.title)
        else:
            item.save()
        if "audience" in changed:
            set_audience(item, form.cleaned["audience"])
        editing.audit_item_save(item, changed, created, now)
    flash(_("Saved: “%(title)s”.", title=item.title))
    return redirect(url_for("editor.edit", item_id=item.id))


@bp.route("/items/prefill", methods=["POST"])
@role_required("editor")
def prefill():
    """Title, description and image from the page at the typed address (its
    Open Graph and meta tags). htmx gets the form's first fieldset back; a
    page that cannot be read leaves every field as it was."""
    form = ItemForm()
    item = _form_item(form)
    url = form.url.data or ""
    error = fill_from_page(form, url)
    form.duplicates = editing.duplicates_of(url, item.id if item else None)
    context = _edit_context(form, item, prefill_error=error, prefilled=error is None)
    response = fragment_or_page("editor/edit.html", "basics", **context)
    if request.htmx and not request.htmx.boosted:
        # After the swap, so that the preview reads the new values.
        response.headers["HX-Trigger-After-Swap"] = "ambassador:refresh-preview"
    return response


def fill_from_page(form, url, only_blank=False):
    """Put the title, summary, image and language found on the page at
    ``url`` into the form (only into blank fields with ``only_blank``; the
    language always, as a new item's language is a default, not a choice).
    Returns why the page could not be read, or None."""
    if web_address(url) is None:
        return _("Enter the full address of the page, starting with https:// or http://.")
    try:
        found = opengraph.from_url(url)
    except opengraph.PrefillError as exc:
        return str(exc)
    for name, value in (("title", found["title"]), ("summary", found["description"]),
                        ("image_url", found["image"]),
                        ("language", found["language"] if found["language"] in CONTENT_LANGUAGES else "")):
        if value and not (only_blank and name != "language" and form[name].data):
            form[name].data, form[name].raw_data = value, None
    return None


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
                           duplicates=editing.duplicates_of(form.url.data, item.id if item else None))


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
    editor was, with what was done. An action that does not apply changes
    nothing and answers 409 with the reason (in the row for htmx).
    """
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    next_url = safe_next(request.form.get("next")) or url_for("editor.index")
    try:
        message = content_items.perform(item, action, current_user.id, models.utcnow())
    except content_items.Refused as refused:
        return _refused(item, str(refused), next_url)
    if request.htmx and not request.htmx.boosted:
        return _row(item, next_url, message=message)
    flash(message)
    return redirect(next_url)


def _row(item, next_url, refusal=None, status=200, message=None):
    """The item's row for htmx, with the library's status message and its
    tabs' counts (out of band) for the filters the library was showing."""
    item = Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER).where(Item.id == item.id).get()
    shown = LibraryFilterForm(MultiDict(parse_qsl(urlsplit(next_url).query)))
    state, kind, q = shown.value("state"), shown.value("kind"), shown.value("q")
    return render_template("editor/_row.html", item=item, next_url=next_url, refusal=refusal,
                           audiences=audience_of([item.id]),
                           message=message, tabs=_tabs(kind, q, models.utcnow()),
                           state=state, kind=kind, q=q, oob=True), status


def _refused(item, reason, next_url):
    """409 with the reason: the item's row for htmx (app.js swaps it in),
    otherwise a page that links back."""
    if request.htmx and not request.htmx.boosted:
        return _row(item, next_url, refusal=reason, status=409)
    return render_template("editor/refused.html", item=item, reason=reason, next_url=next_url), 409


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
    actions = sorted({a for (a,) in AuditLog.select(AuditLog.action).distinct().tuples()} | set(AUDIT_LABELS))
    return fragment_or_page("editor/audit.html", "results", entries=entries, item=item, action=action,
                             q=q, page=page, pages=pages, total=total, actions=actions,
                             campaign_slugs=campaign_slugs,
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
                           errors=errors or {}, values=values or {}, kind_labels=KIND_LABELS,
                           max_caption=MAX_CAPTION), status


@bp.route("/suggestions/<int:suggestion_id>", methods=["POST"])
@role_required("editor")
def decide(suggestion_id):
    """Approve a suggestion (optionally edited) as a draft and open it in
    the item editor, filled in from its page, to finish and publish; or
    reject it with a note to the colleague."""
    suggestion = Suggestion.select(Suggestion, Person).join(Person).where(Suggestion.id == suggestion_id).first()
    if suggestion is None:
        abort(404)
    if suggestion.status != "pending":
        flash(_("This suggestion has already been reviewed."), "error")
        return redirect(url_for("editor.review"))
    review_form = ReviewForm(suggester=suggestion.person.display_name)
    review_form.validate()
    form, decision = review_form.fields_as_typed(), review_form.decision.data
    errors = review_form.messages
    duplicate = suggestions.duplicate_of_item(suggestion) if decision == "approve" else None
    if duplicate:
        errors["url"] = duplicate
    if errors:
        return _review_page({suggestion.id: errors}, {suggestion.id: form}, 400)
    try:
        item = suggestions.decide(suggestion, decision, form, by=current_user._get_current_object())
    except suggestions.AlreadyReviewed:
        flash(_("This suggestion has already been reviewed."), "error")
        return redirect(url_for("editor.review"))
    if item is None:
        flash(_("Rejected: %(name)s will see your note.", name=suggestion.person.display_name))
        return redirect(url_for("editor.review"))
    flash(_("Approved: “%(title)s” is a draft now. Finish it here and publish it when it is ready.",
            title=item.title))
    target = url_for("editor.edit", item_id=item.id, prefill=1)
    if request.htmx:
        response = current_app.make_response(("", 204))
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


# -- share now ------------------------------------------------------------------

@bp.route("/items/<int:item_id>/share-now", methods=["GET", "POST"])
@role_required("editor")
def share_now(item_id):
    """Mark an item "share now": members who asked for instant alerts get an
    e-mail about it (sent by the scheduler, once per person). Only for a
    published, unexpired item, and only once the editor confirms: the GET
    (or a POST without the confirmation) asks first."""
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    next_url = safe_next(request.values.get("next")) or url_for("editor.edit", item_id=item.id)
    now = models.utcnow()
    try:
        content_items.check(item, content_items.SHARE_NOW, now)
        if request.method == "GET" or request.form.get("confirm") != "yes":
            return render_template("editor/share_now.html", item=item, next_url=next_url)
        if not mark_share_now(item, current_user.id, now):  # another editor was first
            raise content_items.Refused(_("“%(title)s” is already marked for an instant alert.", title=item.title))
    except content_items.Refused as refused:
        return render_template("editor/refused.html", item=item, reason=str(refused), next_url=next_url), 409
    flash(_("“%(title)s” goes out as an instant alert to everyone who asked for them.", title=item.title))
    return redirect(next_url, 303)
