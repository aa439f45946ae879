"""Conversions reported by the careers site or applicant tracking system
(an application or a lead that came through a tracked link), and the API
keys it reports with (only their hash is kept)."""

import hashlib
import hmac
import secrets

from peewee import JOIN, IntegrityError, Ordering, fn

from intranet_plugin.content.sharing import COPY
from intranet_plugin.models import (
    ApiKey,
    AuditLog,
    Campaign,
    Click,
    Conversion,
    Item,
    Person,
    TrackedLink,
    db,
    normalize_url,
    utcnow,
)

CONVERSION_KINDS = ("application", "lead")
SCOPE = "conversions"
KEY_PREFIX = "amb_"


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key():
    """A fresh key (shown once) and the hash that is stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_key(key)


def authenticate(header, scope=SCOPE):
    """The unrevoked key of an ``Authorization: Bearer`` header, or None."""
    kind, _sep, key = (header or "").partition(" ")
    key = key.strip()
    if kind.lower() != "bearer" or not key or len(key) > 200:
        return None
    digest = hash_key(key)
    row = ApiKey.get_or_none((ApiKey.key_hash == digest) & (ApiKey.scope == scope))
    # The lookup is by hash, which tells nothing about the key; the compare
    # in constant time is belt and braces.
    if row is None or not hmac.compare_digest(row.key_hash, digest) or row.revoked_at is not None:
        return None
    return row


def mark_used(key):
    ApiKey.update(last_used_at=utcnow()).where(ApiKey.id == key.id).execute()


def find_link(code=None, ref=None, source=None, campaign=None, item_url=None):
    """The tracked link a report names (by its ``code``, or by the
    ambassador's ``ref`` narrowed by network, campaign and landing page:
    the one clicked most recently wins), or None."""
    if code:
        return TrackedLink.get_or_none(TrackedLink.code == code)
    last_click = (Click.select(fn.MAX(Click.at)).where(Click.link == TrackedLink.id))
    query = (TrackedLink.select(TrackedLink)
             .join(Person).switch(TrackedLink).join(Item).join(Campaign, JOIN.LEFT_OUTER)
             .where(Person.ref == ref))
    if source:
        # The copy-link button's links carry utm_source=copy.
        query = query.where(TrackedLink.network == (COPY if source == "copy" else source))
    if item_url:
        query = query.where(Item.normalized_url == normalize_url(item_url))
    if campaign:
        query = query.where((Item.slug == campaign) | (Campaign.slug == campaign))
    return query.order_by(Ordering(last_click, "DESC", nulls="LAST"), TrackedLink.id.desc()).first()


def record(link, kind, external_id, at):
    """Record a conversion once: (conversion, True) when new, (the one
    recorded before, False) for an ``external_id`` and ``kind`` reported
    already (the unique index decides, also between two reports at once)."""
    try:
        with db.atomic():
            return Conversion.create(link=link, kind=kind, external_id=external_id, at=at,
                                     created_at=utcnow()), True
    except IntegrityError:
        conversion = Conversion.get_or_none((Conversion.external_id == external_id) & (Conversion.kind == kind))
        if conversion is None:
            raise
        return conversion, False


def as_json(conversion):
    return {"id": conversion.id, "code": conversion.link.code, "kind": conversion.kind,
            "external_id": conversion.external_id, "at": conversion.at.isoformat() + "Z"}


def keys():
    """Every key, live ones first, newest first, with who created it."""
    return list(ApiKey.select(ApiKey, Person).join(Person, JOIN.LEFT_OUTER)
                .order_by(ApiKey.revoked_at.is_null(False), ApiKey.created_at.desc()))


def create_key(name, by):
    """A new key: (the key, to show once; its row)."""
    key, digest = new_key()
    with db.atomic():
        row = ApiKey.create(name=name, key_hash=digest, scope=SCOPE, created_by=by)
        AuditLog.record(by, "create", row, summary=name)
    return key, row


def revoke_key(row, by):
    """Requests with this key are refused from now on."""
    if row.revoked_at is not None:
        return
    with db.atomic():
        ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == row.id).execute()
        AuditLog.record(by, "revoke", row, summary=row.name)
