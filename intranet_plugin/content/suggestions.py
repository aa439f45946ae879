"""Colleagues' suggestions: any signed-in person proposes a link, editors
approve it (optionally edited) as a draft item, which they finish and
publish in the item editor, or reject it with a note; the colleague sees the
outcome once."""

from flask_babel import gettext as _
from peewee import JOIN

from intranet_plugin.content.slugs import unique_slug
from intranet_plugin.models import AuditLog, Item, Person, Suggestion, db, normalize_url, utcnow

MAX_URL = 2000
MAX_TITLE = 200
MAX_SUMMARY = 5000
MAX_NOTE = 2000
RECENT_DECISIONS = 20


def duplicate_error(url):
    """Why this link cannot be suggested again, or None."""
    normalized = normalize_url(url)
    existing = Item.select(Item.id, Item.title).where(Item.normalized_url == normalized).first()
    if existing:
        return _("This link is already in the library: “%(title)s”.", title=existing.title)
    pending = Suggestion.select(Suggestion.url).where(Suggestion.status == "pending")
    if any(normalize_url(s.url) == normalized for s in pending):
        return _("This link has already been suggested and is waiting for an editor's review.")
    return None


def create(person, url, title, kind, caption, note):
    with db.atomic():
        suggestion = Suggestion.create(person=person, url=url, title=title, kind=kind, caption=caption, note=note)
        AuditLog.record(person, "suggest", suggestion, summary=title, url=url)
    return suggestion


def _with_reviewer(query_fields=()):
    Reviewer = Person.alias()
    return (Suggestion.select(Suggestion, Item, Reviewer, *query_fields)
            .join(Item, JOIN.LEFT_OUTER).switch(Suggestion)
            .join(Reviewer, JOIN.LEFT_OUTER, on=(Suggestion.reviewer == Reviewer.id), attr="reviewer"))


def of_person(person_id):
    """A colleague's own suggestions and what became of them, newest first."""
    return list(_with_reviewer().where(Suggestion.person == person_id)
                .order_by(Suggestion.created_at.desc(), Suggestion.id.desc()))


def suggestion_outcomes(person):
    """Reviewed suggestions the person has not been told about yet, marked
    as told: the share page shows each outcome once."""
    rows = list(_with_reviewer()
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


def for_review():
    """(pending suggestions, oldest first; the latest decisions)."""
    pending = (Suggestion.select(Suggestion, Person).join(Person)
               .where(Suggestion.status == "pending")
               .order_by(Suggestion.created_at, Suggestion.id))
    decided = (_with_reviewer((Person,)).switch(Suggestion).join(Person)
               .where(Suggestion.status != "pending")
               .order_by(Suggestion.reviewed_at.desc(), Suggestion.id.desc()).limit(RECENT_DECISIONS))
    return list(pending), list(decided)


def duplicate_of_item(suggestion):
    """Why the suggested link cannot become an item, or None: it is in the
    library already."""
    existing = (Item.select(Item.title)
                .where(Item.normalized_url == normalize_url(suggestion.url)).first())
    if existing:
        return _("This link is already in the library: “%(title)s”. Reject this suggestion "
                 "with a note, or edit that item.", title=existing.title)
    return None


class AlreadyReviewed(Exception):
    """Another editor decided first."""


def decide(suggestion, decision, form, by):
    """Approve (``form``: title, summary, caption, kind, hashtags,
    review_note) as a draft item, or reject with the note. The draft is not
    on the share page: the editor finishes it (image, campaign, language,
    texts per network, expiry) in the item editor and publishes it there.
    Only the first of two editors deciding at once wins: the other gets
    ``AlreadyReviewed``. Returns the new draft, or None for a rejection."""
    now = utcnow()
    with db.atomic():
        claimed = (Suggestion.update(status="approved" if decision == "approve" else "rejected",
                                     reviewer=by, reviewed_at=now, review_note=form["review_note"], seen_at=None)
                   .where((Suggestion.id == suggestion.id) & (Suggestion.status == "pending")).execute())
        if not claimed:
            raise AlreadyReviewed()
        if decision != "approve":
            AuditLog.record(by, "reject", suggestion, summary=suggestion.title, note=form["review_note"])
            return None
        item = Item.create(kind=form["kind"], slug=unique_slug(Item, form["title"]), title=form["title"],
                           summary=form["summary"], url=suggestion.url, caption=form["caption"],
                           hashtags=form["hashtags"], status="draft", publish_at=now,
                           suggested_by=suggestion.person, created_by=by, updated_by=by,
                           created_at=now, updated_at=now)
        Suggestion.update(item=item).where(Suggestion.id == suggestion.id).execute()
        AuditLog.record(by, "create", item, summary=item.title, status="draft", suggestion=suggestion.id)
        AuditLog.record(by, "approve", suggestion, summary=item.title, item=item.id)
        return item
