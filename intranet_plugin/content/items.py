"""Items and their state machine.

An item's state (draft, review, scheduled, published, expired, archived)
follows from its status and times: ``Item.state`` and ``Item.in_state``,
the rule the share page goes by too. Editors change it through the
transitions here. Each one either applies and says truly what it did, or is
refused with the reason and changes nothing; what the editor is offered is
exactly what would be accepted (``offered``).
"""

from flask_babel import gettext as _
from peewee import JOIN

from intranet_plugin.labels import STATE_LABELS
from intranet_plugin.models import ITEM_STATES, AuditLog, Campaign, Item, db

# The editor's actions on one item, in the order its buttons show them;
# "share-now" (an instant alert, digest.alerts) is checked here and carried
# out by its own page after a confirmation.
ACTIONS = ("publish", "expire", "pin", "unpin", "archive", "restore")
SHARE_NOW = "share-now"


class Refused(Exception):
    """A transition that does not apply to the item as it is now; the
    message says why, for the editor."""


def items_in_state(state, now):
    """Items (with their campaign) in one of ITEM_STATES; every state but
    archived when ``state`` is none of them."""
    query = Item.select(Item, Campaign).join(Campaign, JOIN.LEFT_OUTER)
    return query.where(Item.in_state(state, now) if state in ITEM_STATES else Item.status != "archived")


def shareable_ids(item_ids, now, viewer=None):
    """Which of these items are on the share page now (of ``viewer``, when
    given: see ``content.audiences``), in one query."""
    if not item_ids:
        return set()
    condition = Item.id.in_(list(item_ids)) & Item.in_state("published", now)
    if viewer is not None:
        condition &= Item.meant_for(viewer)
    return {i for (i,) in Item.select(Item.id).where(condition).tuples()}


# -- why an action does not apply ------------------------------------------------

def _archived(item):
    return _("“%(title)s” is archived: restore it first.", title=item.title)


def _why_not_publish(item, state, now):
    if state == "published":
        return _("“%(title)s” is already on the share page.", title=item.title)
    if state == "expired":
        return _("“%(title)s” has expired. To share it again, give it a later expiry in the editor.",
                 title=item.title)
    if state == "archived":
        return _archived(item)
    if item.expires_at is not None and item.expires_at <= now:
        # It would be expired the moment it went out.
        return _("“%(title)s” cannot be published: its expiry has passed. Change or clear the expiry "
                 "in the editor first.", title=item.title)
    return None


def _why_not_expire(item, state, now):
    if state != "published":
        return _("“%(title)s” is not on the share page (%(state)s), so there is nothing to expire.",
                 title=item.title, state=STATE_LABELS[state])
    return None


def _why_not_pin(item, state, now):
    if state == "archived":
        return _archived(item)
    if item.pinned:
        return _("“%(title)s” is already pinned.", title=item.title)
    return None


def _why_not_unpin(item, state, now):
    if state == "archived":
        return _archived(item)
    if not item.pinned:
        return _("“%(title)s” is not pinned.", title=item.title)
    return None


def _why_not_archive(item, state, now):
    if state == "archived":
        return _("“%(title)s” is already archived.", title=item.title)
    return None


def _why_not_restore(item, state, now):
    if state != "archived":
        return _("Only an archived item can be restored; “%(title)s” is not archived.", title=item.title)
    return None


def _why_not_share_now(item, state, now):
    if state != "published":
        return _("Only a published, unexpired item can be sent as an instant alert.")
    if item.share_now_at is not None:
        return _("“%(title)s” is already marked for an instant alert.", title=item.title)
    return None


REFUSALS = {"publish": _why_not_publish, "expire": _why_not_expire, "pin": _why_not_pin,
            "unpin": _why_not_unpin, "archive": _why_not_archive, "restore": _why_not_restore,
            SHARE_NOW: _why_not_share_now}


def refusal(item, action, now):
    """Why ``action`` does not apply to ``item`` now, or None when it does."""
    return REFUSALS[action](item, item.state(now), now)


def check(item, action, now):
    """Raise Refused unless ``action`` applies to ``item`` now."""
    reason = refusal(item, action, now)
    if reason is not None:
        raise Refused(reason)


def offered(item, now):
    """The actions (ACTIONS and SHARE_NOW) that apply to ``item`` now."""
    return [action for action in (*ACTIONS, SHARE_NOW) if refusal(item, action, now) is None]


# -- what an action does ------------------------------------------------------------

def _publish(item, state, now):
    item.status, item.publish_at = "published", now
    return ["publish_at"] if state == "scheduled" else ["status", "publish_at"]


def _expire(item, state, now):
    item.expires_at = now
    return ["expires_at"]


def _pin(item, state, now):
    item.pinned = True
    return ["pinned"]


def _unpin(item, state, now):
    item.pinned = False
    return ["pinned"]


def _archive(item, state, now):
    item.status = "archived"
    return ["status"]


def _restore(item, state, now):
    # Back as a draft: an editor decides again whether it goes out. An
    # expiry that has passed goes: kept, it would make the item expired the
    # moment it is published again.
    item.status = "draft"
    if item.expires_at is not None and item.expires_at <= now:
        item.expires_at = None
        return ["status", "expires_at"]
    return ["status"]


EFFECTS = {"publish": _publish, "expire": _expire, "pin": _pin, "unpin": _unpin, "archive": _archive,
           "restore": _restore}


def _message(action, item, changed, before):
    title = item.title
    if action == "publish":
        return _("Published: “%(title)s” is on the share page now.", title=title)
    if action == "expire":
        return _("Expired: “%(title)s” has left the share page.", title=title)
    if action == "pin":
        if before == "published":
            return _("Pinned: “%(title)s” now shows first on the share page.", title=title)
        return _("Pinned: “%(title)s” will show first while it is on the share page.", title=title)
    if action == "unpin":
        return _("Unpinned: “%(title)s”.", title=title)
    if action == "archive":
        return _("Archived: “%(title)s”.", title=title)
    if "expires_at" in changed:
        return _("Restored as a draft: “%(title)s”. Its expiry had passed and is cleared.", title=title)
    return _("Restored as a draft: “%(title)s”.", title=title)


def perform(item, action, actor, now):
    """Carry out one of ACTIONS on ``item`` for ``actor`` (a person's id),
    with its audit entry; returns the message for the editor. Raises
    Refused, changing nothing, when the action does not apply."""
    if action not in EFFECTS:
        raise Refused(_("There is no such action."))
    check(item, action, now)
    before = item.state(now)
    with db.atomic():
        changed = EFFECTS[action](item, before, now)
        item.updated_by, item.updated_at = actor, now
        item.save()
        AuditLog.record(actor, action, item, item.title, changed=changed)
    return _message(action, item, changed, before)
