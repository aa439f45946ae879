"""Slugs: the readable names of items and campaigns in URLs and in the
``utm_campaign`` of tracked links."""

import re
import secrets
import unicodedata

from peewee import IntegrityError

from intranet_plugin.models import db

SLUG_MAX = 60


def slugify(text, fallback="item"):
    """Lower-case ASCII letters and digits joined by single hyphens, at
    most SLUG_MAX characters: "Café Noordzee!" becomes "cafe-noordzee"."""
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:SLUG_MAX].strip("-") or fallback


def unique_slug(model, text, fallback="item"):
    """The slug of ``text`` that no row of ``model`` has yet: numbered from
    -2 on when it is taken."""
    base = slugify(text, fallback)
    slug, n = base, 2
    while model.select().where(model.slug == slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def insert_with_slug(row, text, fallback="item"):
    """Insert the new ``row`` under a unique slug made from ``text``; when
    someone takes that slug in the meantime, under a random suffix."""
    row.slug = unique_slug(type(row), text, fallback)
    try:
        with db.atomic():
            row.save()
    except IntegrityError:
        row.slug = f"{slugify(text, fallback)[:SLUG_MAX - 7]}-{secrets.token_hex(3)}"
        row.save()
    return row
