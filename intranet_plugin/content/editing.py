"""Saving an item from the editor: what the form's values change on it,
the duplicate check, and the audit entries a save writes. (Which actions
apply to an item is ``content.items``.)"""

from flask_login import current_user

from intranet_plugin.content.audiences import audience_of
from intranet_plugin.content.urls import web_address
from intranet_plugin.models import Audience, AuditLog, Item, normalize_url

# What an item's audit entries compare, in the order the editor shows them.
TRACKED_FIELDS = ("kind", "title", "url", "summary", "image_url", "caption", "captions", "hashtags",
                  "language", "campaign", "status", "publish_at", "expires_at", "pinned")


def same_minute(a, b):
    return a is not None and b is not None and a.replace(second=0, microsecond=0) == b.replace(
        second=0, microsecond=0)


def duplicates_of(url, item_id=None):
    """Other items whose normalised URL is the same as ``url``'s."""
    normalized = normalize_url(url)
    if web_address(url) is None or not normalized:
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




def apply(cleaned, item, now):
    """Put a form's ``cleaned`` values on ``item``; returns the names of
    the fields that changed."""
    before = snapshot(item)
    c = cleaned
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


def audience_changed(item, audience):
    """Does saving ``audience`` change whom the item is meant for?"""
    before = audience_of([item.id])[item.id] if item.id is not None else Audience()
    return before != audience


def audit(action, target, changed, **detail):
    """An audit entry by the signed-in editor about an item or campaign."""
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
