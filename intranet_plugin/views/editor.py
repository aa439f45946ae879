"""Editor pages: the content library, the item editor with its share
preview, Open Graph prefill and duplicate check, and the audit log.

Open to editors and admins only (``role_required("editor")`` on every view).
"""

import datetime
import re
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from peewee import JOIN

from digest.alerts import mark_share_now
from intranet_plugin import models
from intranet_plugin.content import items as content_items
from intranet_plugin.content import opengraph, suggestions
from intranet_plugin.content.sharing import (
    MAX_CAPTION,
    NETWORKS,
    X_LINK_LENGTH,
    caption_length,
)
from intranet_plugin.content.slugs import insert_with_slug
from intranet_plugin.content.urls import is_http_url
from intranet_plugin.labels import ACTION_LABELS, AUDIT_LABELS, KIND_LABELS, NETWORK_LABELS, STATE_LABELS
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
# Statuses an editor picks in the form; archiving is its own action.
FORM_STATUSES = ("draft", "review", "published")
CONTENT_LANGUAGES = ("nl", "en", "de", "fr", "es", "it", "pl")
# The networks whose counter is shown under the default text, as on the
# share page's card.
DEFAULT_COUNTERS = ("x", "linkedin", "xing")
TITLE_MAX = 255
SUMMARY_MAX = 2000
URL_MAX = 2000
HASHTAGS_MAX = 255
# What an item's audit entries compare, in the order the editor shows them.
TRACKED_FIELDS = ("kind", "title", "url", "summary", "image_url", "caption", "captions", "hashtags",
                  "language", "campaign", "status", "publish_at", "expires_at", "pinned")
INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


# -- time: typed in the configured zone, stored as naive UTC ---------------

def zone():
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_input(value):
    """A naive UTC datetime as a datetime-local input value in the zone."""
    if value is None:
        return ""
    return value.replace(tzinfo=datetime.UTC).astimezone(zone()).strftime("%Y-%m-%dT%H:%M")


def parse_local(text):
    """Naive UTC from a date and time typed in the configured zone; None for
    an empty field. Raises ValueError with a message for the editor."""
    text = (text or "").strip()
    if not text:
        return None
    for fmt in INPUT_FORMATS:
        try:
            naive = datetime.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise ValueError(_("Enter a date and time like 2026-05-04 09:30."))
    if not 2000 <= naive.year <= 2100:
        raise ValueError(_("Enter a date between the years 2000 and 2100."))
    tz = zone()
    utc = naive.replace(tzinfo=tz).astimezone(datetime.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        raise ValueError(_("%(time)s does not exist in %(zone)s: the clocks move forward then.",
                           time=naive.strftime("%H:%M"), zone=tz.key))
    return utc.replace(tzinfo=None)


def same_minute(a, b):
    return a is not None and b is not None and a.replace(second=0, microsecond=0) == b.replace(
        second=0, microsecond=0)


# -- labels and states ------------------------------------------------------

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
    return {"item_state": lambda item: item.state(now), "NETWORKS": NETWORKS, "X_LINK_LENGTH": X_LINK_LENGTH,
            "DEFAULT_COUNTERS": DEFAULT_COUNTERS, "post_length": caption_length,
            "item_actions": lambda item: item_actions(item, now),
            "may_share_now": lambda item: content_items.refusal(item, content_items.SHARE_NOW, now) is None,
            "link_host": link_host, "post_text": post_text, "TIMEZONE": current_app.config["TIMEZONE"]}


# -- the item form -----------------------------------------------------------

def clean_hashtags(text):
    """(["#tag", ...], [refused words]) from tags typed with or without #,
    separated by spaces or commas; duplicates dropped."""
    tags, refused, seen = [], [], set()
    for word in re.split(r"[\s,]+", text or ""):
        if not word:
            continue
        match = re.fullmatch(r"#*(\w+)", word)
        if not match:
            refused.append(word)
            continue
        tag = "#" + match.group(1)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags, refused


def duplicates_of(url, item_id=None):
    """Other items whose normalised URL is the same as ``url``'s."""
    normalized = normalize_url(url)
    if not is_http_url(url) or not normalized:
        return []
    query = Item.select().where(Item.normalized_url == normalized)
    if item_id:
        query = query.where(Item.id != item_id)
    return list(query.order_by(Item.id).limit(5))


def _text(value):
    # PostgreSQL refuses NUL in text; no browser sends one on purpose.
    return value.replace("\x00", "")


class ItemForm:
    """The item editor's fields as typed, their checks, and how they land on
    an item. ``values`` hold strings as the browser sends them, so a form
    with errors is shown again exactly as the editor left it."""

    FIELDS = ("kind", "title", "url", "summary", "image_url", "caption", "hashtags", "language",
              "campaign", "status", "publish_at", "expires_at")

    def __init__(self, values, captions, item=None):
        self.values = values
        self.captions = captions
        self.item = item
        self.errors = {}
        self.cleaned = {}
        self.duplicates = []
        self.confirm_duplicate = False

    @classmethod
    def defaults(cls):
        language = current_app.config["DEFAULT_LANGUAGE"]
        return {**dict.fromkeys(cls.FIELDS, ""), "kind": "news", "status": "draft",
                "language": language if language in CONTENT_LANGUAGES else "en"}

    @classmethod
    def blank(cls, kind=None, campaign=None):
        values = cls.defaults()
        if kind in KINDS:
            values["kind"] = kind
        values["campaign"] = str(campaign.id) if campaign else ""
        return cls(values, {net: [""] for net in NETWORKS})

    @classmethod
    def for_item(cls, item, now):
        values = {
            "kind": item.kind, "title": item.title, "url": item.url, "summary": item.summary,
            "image_url": item.image_url, "caption": item.caption, "hashtags": item.hashtags,
            "language": item.language, "campaign": str(item.campaign_id or ""),
            "status": item.status,
            # A draft's date only matters once it is planned: an empty field
            # means "when it is published".
            "publish_at": local_input(item.publish_at)
            if item.status == "published" or item.publish_at > now else "",
            "expires_at": local_input(item.expires_at),
        }
        captions = {net: list((item.captions or {}).get(net) or []) or [""] for net in NETWORKS}
        form = cls(values, captions, item)
        form.duplicates = duplicates_of(item.url, item.id)
        return form

    @classmethod
    def from_request(cls, data, item=None):
        # Fields a form did not send (the library's "new item from a page")
        # start as on a blank form.
        defaults = cls.defaults()
        values = {name: _text(data.get(name, defaults[name])) for name in cls.FIELDS}
        captions = {net: [_text(t) for t in data.getlist(f"captions-{net}")] or [""] for net in NETWORKS}
        form = cls(values, captions, item)
        form.confirm_duplicate = data.get("confirm_duplicate") == "1"
        return form

    def add_slot(self, network):
        if network in NETWORKS:
            self.captions[network].append("")

    def caption_variants(self):
        """{network: [non-empty variants]} for saving."""
        variants = {}
        for net, texts in self.captions.items():
            kept = [t.strip().replace("\r\n", "\n") for t in texts if t.strip()]
            if kept:
                variants[net] = kept
        return variants

    def validate(self, now):
        v, errors, cleaned = self.values, {}, {}
        if v["kind"] not in KINDS:
            errors["kind"] = _("Choose what kind of content this is.")
        cleaned["kind"] = v["kind"]

        title = " ".join(v["title"].split())
        if not title:
            errors["title"] = _("Enter a title.")
        elif len(title) > TITLE_MAX:
            errors["title"] = _("The title is too long: at most %(max)d characters.", max=TITLE_MAX)
        cleaned["title"] = title

        url = v["url"].strip()
        if not is_http_url(url) or len(url) > URL_MAX:
            errors["url"] = _("Enter the full address of the page, starting with https:// or http://.")
        cleaned["url"] = url

        image = v["image_url"].strip()
        if image and (not is_http_url(image) or len(image) > URL_MAX):
            errors["image_url"] = _("The image address must start with https:// or http://.")
        cleaned["image_url"] = image

        summary = v["summary"].strip().replace("\r\n", "\n")
        if len(summary) > SUMMARY_MAX:
            errors["summary"] = _("The summary is too long: at most %(max)d characters.", max=SUMMARY_MAX)
        cleaned["summary"] = summary

        tags, refused = clean_hashtags(v["hashtags"])
        hashtags = " ".join(tags)
        if refused:
            errors["hashtags"] = _("Hashtags may contain only letters, digits and _: %(tags)s",
                                   tags=", ".join(refused))
        elif len(hashtags) > HASHTAGS_MAX:
            errors["hashtags"] = _("Too many hashtags: at most %(max)d characters in all.", max=HASHTAGS_MAX)
        cleaned["hashtags"] = hashtags

        if v["language"] not in CONTENT_LANGUAGES and not (self.item and v["language"] == self.item.language):
            errors["language"] = _("Choose the language of the content.")
        cleaned["language"] = v["language"]

        cleaned["campaign"] = None
        if v["campaign"]:
            campaign = Campaign.get_or_none(Campaign.id == int(v["campaign"])) if v["campaign"].isdigit() else None
            if campaign is None:
                errors["campaign"] = _("That campaign does not exist any more: choose another one.")
            cleaned["campaign"] = campaign

        archived = self.item is not None and self.item.status == "archived"
        if archived:
            cleaned["status"] = "archived"  # restoring is its own action
        elif v["status"] not in FORM_STATUSES:
            errors["status"] = _("Choose a status.")
        else:
            cleaned["status"] = v["status"]

        for name in ("publish_at", "expires_at"):
            try:
                cleaned[name] = parse_local(v[name])
            except ValueError as exc:
                errors[name] = str(exc)
                cleaned[name] = None
        publish_at = cleaned["publish_at"] or now
        if cleaned["expires_at"] and "publish_at" not in errors and cleaned["expires_at"] <= publish_at:
            errors["expires_at"] = _("The expiry must be after the publication time.")

        caption = v["caption"].strip().replace("\r\n", "\n")
        variants = self.caption_variants()
        self._check_captions(caption, variants, errors)
        cleaned["caption"], cleaned["captions"] = caption, variants

        item_id = self.item.id if self.item else None
        self.duplicates = duplicates_of(url, item_id) if "url" not in errors else []
        unchanged = self.item is not None and normalize_url(url) == self.item.normalized_url
        if self.duplicates and not unchanged and not self.confirm_duplicate:
            errors["duplicate"] = _("Another item already links to this page. Check it, or tick "
                                    "“Save anyway” to keep both.")

        self.errors, self.cleaned = errors, cleaned
        return not errors

    def _check_captions(self, caption, variants, errors):
        if len(caption) > MAX_CAPTION:
            errors["caption"] = _("The text is too long: at most %(max)d characters.", max=MAX_CAPTION)
        else:
            # The default text goes to every network without a text of its own.
            for net, spec in NETWORKS.items():
                used = caption_length(net, caption)
                if net not in variants and used > spec["limit"]:
                    errors["caption"] = _(
                        "On %(network)s this text counts %(used)d characters, more than the %(limit)d "
                        "allowed. Shorten it, or write a shorter text for %(network)s.",
                        network=NETWORK_LABELS[net], used=used, limit=spec["limit"])
                    break
        for net, texts in variants.items():
            spec = NETWORKS[net]
            for n, text in enumerate(texts, 1):
                used = caption_length(net, text)
                if used > spec["limit"] or len(text) > MAX_CAPTION:
                    errors[f"captions-{net}"] = _(
                        "%(network)s, variant %(n)d counts %(used)d characters, more than the %(limit)d "
                        "allowed.", network=NETWORK_LABELS[net], n=n, used=used, limit=spec["limit"])
                    break

    def apply(self, item, now):
        """Put the cleaned values on ``item``; returns the names of the
        fields that changed."""
        before = snapshot(item)
        c = self.cleaned
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


def snapshot(item):
    values = {name: getattr(item, name) for name in TRACKED_FIELDS if name != "campaign"}
    values["campaign"] = item.campaign_id
    values["captions"] = dict(item.captions or {})
    return values


def preview_item(form, item):
    """An unsaved item built leniently from what is typed, for the live
    preview: nothing here is validated or stored."""
    v = form.values
    campaign = None
    if v.get("campaign", "").isdigit():
        campaign = Campaign.get_or_none(Campaign.id == int(v["campaign"]))
    try:
        publish_at = parse_local(v.get("publish_at"))
    except ValueError:
        publish_at = None
    url = v.get("url", "").strip()
    image = v.get("image_url", "").strip()
    return Item(
        id=item.id if item else 0, kind=v.get("kind") if v.get("kind") in KINDS else "news",
        title=" ".join(v.get("title", "").split())[:TITLE_MAX] or _("(no title yet)"),
        summary=v.get("summary", "").strip()[:SUMMARY_MAX],
        url=url if is_http_url(url) else "", image_url=image if is_http_url(image) else "",
        caption=v.get("caption", "").strip(), captions=form.caption_variants(),
        hashtags=" ".join(clean_hashtags(v.get("hashtags", ""))[0]), campaign=campaign,
        pinned=item.pinned if item else False, publish_at=publish_at or models.utcnow(),
        expires_at=None, status="draft")


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

def _page_number():
    try:
        return max(1, min(int(request.args.get("page", 1)), 100_000))
    except ValueError:
        return 1


def _paged(query, page):
    total = query.count()
    pages = max(1, -(-total // PAGE))
    page = min(page, pages)
    return list(query.paginate(page, PAGE)), page, pages, total


@bp.route("/")
@role_required("editor")
def index():
    """The content library: filter by state and kind, search, page."""
    state = request.args.get("state", "")
    state = state if state in ITEM_STATES else ""
    kind = request.args.get("kind", "")
    kind = kind if kind in KINDS else ""
    q = request.args.get("q", "").strip()[:100]
    now = models.utcnow()

    def matching(in_state):
        query = content_items.items_in_state(in_state, now)
        if kind:
            query = query.where(Item.kind == kind)
        if q:
            query = query.where(Item.title.contains(q) | Item.summary.contains(q)
                                | Item.hashtags.contains(q) | Item.url.contains(q))
        return query

    tabs = [("", _("All"), matching("").count())]
    tabs += [(s, STATE_LABELS[s], matching(s).count()) for s in ITEM_STATES]
    query = matching(state).order_by(Item.publish_at.desc(), Item.id.desc())
    items, page, pages, total = _paged(query, _page_number())
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
        return _save(ItemForm.from_request(request.form), None)
    campaign = Campaign.get_or_none(Campaign.slug == request.args.get("campaign", ""))
    return _edit_page(ItemForm.blank(request.args.get("kind"), campaign), None)


@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
@role_required("editor")
def edit(item_id):
    """One item's editor, and saving it."""
    item = Item.get_or_none(Item.id == item_id) or abort(404)
    if request.method == "POST":
        return _save(ItemForm.from_request(request.form, item), item)
    return _edit_page(ItemForm.for_item(item, models.utcnow()), item)


def _save(form, item):
    if request.form.get("add_variant"):
        # Without JavaScript, "add a variant" comes here: show one more field.
        form.add_slot(request.form["add_variant"])
        return _edit_page(form, item)
    now = models.utcnow()
    if not form.validate(now):
        return _edit_page(form, item, status=400)
    created = item is None
    if created:
        item = Item(created_by=current_user.id, created_at=now)
    with db.atomic():
        changed = form.apply(item, now)
        if not created and not changed:
            flash(_("Nothing changed."))
            return redirect(url_for("editor.edit", item_id=item.id))
        item.updated_by = current_user.id
        item.updated_at = now
        if created:
            insert_with_slug(item, item.title)
        else:
            item.save()
        audit_item_save(item, changed, created, now)
    flash(_("Saved: “%(title)s”.", title=item.title))
    return redirect(url_for("editor.edit", item_id=item.id))


@bp.route("/items/prefill", methods=["POST"])
@role_required("editor")
def prefill():
    """Title, description and image from the page at the typed address (its
    Open Graph and meta tags). htmx gets the form's first fieldset back; a
    page that cannot be read leaves every field as it was."""
    item = _form_item()
    form = ItemForm.from_request(request.form, item)
    url = form.values["url"].strip()
    error = None
    if not is_http_url(url):
        error = _("Enter the full address of the page, starting with https:// or http://.")
    else:
        try:
            found = opengraph.from_url(url)
        except opengraph.PrefillError as exc:
            error = str(exc)
        else:
            form.values.update({key: value for key, value in (
                ("title", found["title"]), ("summary", found["description"]),
                ("image_url", found["image"]),
                ("language", found["language"] if found["language"] in CONTENT_LANGUAGES else "")) if value})
    form.duplicates = duplicates_of(url, item.id if item else None)
    context = _edit_context(form, item, prefill_error=error, prefilled=error is None)
    response = fragment_or_page("editor/edit.html", "basics", **context)
    if request.htmx and not request.htmx.boosted:
        # After the swap, so that the preview reads the new values.
        response.headers["HX-Trigger-After-Swap"] = "ambassador:refresh-preview"
    return response


def _form_item():
    item_id = request.form.get("item_id", "")
    if not item_id:
        return None
    return Item.get_or_none(Item.id == int(item_id)) if item_id.isdigit() else abort(400)


@bp.route("/items/preview", methods=["POST"])
@role_required("editor")
def live_preview():
    """The share preview of what is typed, not saved (the edit page asks
    for it while the editor types)."""
    item = _form_item()
    form = ItemForm.from_request(request.form, item)
    return render_template("editor/_preview.html", preview=preview_item(form, item))


@bp.route("/items/duplicates", methods=["POST"])
@role_required("editor")
def duplicates():
    """Other items with the same page address (checked as it is typed)."""
    item = _form_item()
    return render_template("editor/_duplicates.html",
                           duplicates=duplicates_of(request.form.get("url", "").strip(),
                                                    item.id if item else None))


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
        return _row(item, next_url)
    flash(message)
    return redirect(next_url)


def _row(item, next_url, refusal=None, status=200):
    item = Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER).where(Item.id == item.id).get()
    return render_template("editor/_row.html", item=item, next_url=next_url, refusal=refusal), status


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
    item_id = request.args.get("item", "")
    item = Item.get_or_none(Item.id == int(item_id)) if item_id.isdigit() else None
    action = request.args.get("action", "")
    q = request.args.get("q", "").strip()[:100]
    query = (AuditLog.select(AuditLog, Person).join(Person, JOIN.LEFT_OUTER)
             .order_by(AuditLog.at.desc(), AuditLog.id.desc()))
    if item is not None:
        query = query.where((AuditLog.target_type == "item") & (AuditLog.target_id == item.id))
    if action:
        query = query.where(AuditLog.action == action)
    if q:
        query = query.where(AuditLog.summary.contains(q))
    entries, page, pages, total = _paged(query, _page_number())
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
    pending, decided = suggestions.for_review()
    return render_template("editor/review.html", pending=pending, decided=decided,
                           errors=errors or {}, values=values or {}, kind_labels=KIND_LABELS,
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
    form = {key: request.form.get(key, "").strip()
            for key in ("title", "summary", "caption", "kind", "hashtags", "review_note")}
    decision = request.form.get("decision")
    errors = {}
    if len(form["review_note"]) > suggestions.MAX_NOTE:
        errors["review_note"] = _("The note is too long: at most %(n)d characters.", n=suggestions.MAX_NOTE)
    if decision == "approve":
        errors.update(suggestions.approval_errors(suggestion, form))
    elif decision == "reject":
        if not form["review_note"]:
            errors["review_note"] = _("Write a short note for %(name)s: why is this suggestion not taken up?",
                                      name=suggestion.person.display_name)
    else:
        errors["decision"] = _("Choose to approve or to reject.")
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
