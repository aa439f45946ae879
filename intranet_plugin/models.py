"""The data model, with the query helpers that belong to each model.

The database is declared unbound here and bound by ``db.init_app``, so the
same models serve SQLite and PostgreSQL, tests and production.
"""

import datetime
import json
import secrets
from typing import NamedTuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from peewee import (
    JOIN,
    SQL,
    BooleanField,
    CharField,
    CompositeKey,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
)

db = DatabaseProxy()

KINDS = ("news", "vacancy", "blog")
ROLES = ("employee", "editor", "admin")
# "review": imported from a feed that needs an editor's approval.
STATUSES = ("draft", "review", "published", "archived")
# What an item is at a moment, from its status and times (see Item.state).
ITEM_STATES = ("draft", "review", "scheduled", "published", "expired", "archived")
DIGEST_CHOICES = ("weekly", "off")
# The networks a share button exists for; "link" is the copy-link button.
# "device": the phone's share sheet; "qr": the person's QR code.
SHARE_NETWORKS = ("linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon", "telegram",
                  "whatsapp", "email", "link", "device", "qr")
CLICK_KINDS = ("human", "crawler", "head", "empty")
# Whom an item is meant for: departments and directory groups (who), and
# content languages (the person's language). See Item.meant_for.
AUDIENCE_DIMENSIONS = ("department", "group", "language")
# The languages an item's content can be in (Item.language), in the order
# they are offered; a person shares in some of them (Person.content_languages).
CONTENT_LANGUAGES = ("nl", "en", "de", "sl", "fr", "es", "it", "pl")


def utcnow():
    """Naive UTC now: every timestamp in the database is naive UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def new_code(nbytes=9):
    """An unguessable URL-safe code (9 random bytes = 12 characters)."""
    return secrets.token_urlsafe(nbytes)


# Query parameters that only say where a visitor came from: two URLs that
# differ only in these point at the same content.
TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "_hsenc", "_hsmi")


def normalize_url(url):
    """A canonical form of a URL for spotting duplicates: lower-case scheme
    and host, no default port, no fragment, no tracking parameters, sorted
    query, no trailing slash."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return (url or "").strip()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError:  # no such port (99999, -1, abc): no port to keep
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith(TRACKING_PARAMS))
    path = parts.path.rstrip("/") or ""
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


class JSONField(TextField):
    """JSON in a text column: portable between SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class Viewer(NamedTuple):
    """A person as an item's audience sees them."""

    department: str
    groups: tuple
    language: str


class Audience(NamedTuple):
    """Whom an item (or a feed's items) is meant for; all empty: everyone.

    A person is in it when they are in one of its departments or groups
    (or none are chosen) and their language is one of its languages (or
    none are chosen). ``admits`` and ``Item.meant_for`` say the same thing,
    in Python and in SQL.
    """

    departments: tuple = ()
    groups: tuple = ()
    languages: tuple = ()

    @classmethod
    def of(cls, data):
        """From stored data (a dict of lists, or rows of ``(dimension, value)``)."""
        if isinstance(data, dict):
            return cls(*(tuple(sorted(data.get(k + "s") or ())) for k in AUDIENCE_DIMENSIONS))
        values = {k: [] for k in AUDIENCE_DIMENSIONS}
        for dimension, value in data:
            values[dimension].append(value)
        return cls(*(tuple(sorted(values[k])) for k in AUDIENCE_DIMENSIONS))

    def as_dict(self):
        return {"departments": list(self.departments), "groups": list(self.groups),
                "languages": list(self.languages)}

    @property
    def everyone(self):
        return not (self.departments or self.groups or self.languages)

    def rows(self):
        return [(dimension, value) for dimension, values in zip(AUDIENCE_DIMENSIONS, self, strict=True)
                for value in values]

    def admits(self, viewer):
        who = (not (self.departments or self.groups) or viewer.department in self.departments
               or any(g in self.groups for g in viewer.groups))
        return who and (not self.languages or viewer.language in self.languages)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class Person(BaseModel):
    username = CharField(unique=True)
    display_name = CharField()
    email = CharField(default="")
    department = CharField(default="")
    role = CharField(default="employee", choices=[(r, r) for r in ROLES])
    locale = CharField(null=True)
    is_active = BooleanField(default=True)
    joined_at = DateTimeField(null=True)
    left_at = DateTimeField(null=True)
    show_on_leaderboard = BooleanField(default=False)
    # Preferences chosen when joining: networks shown and kinds followed in
    # the digest (an empty list means all), digest frequency, instant alerts
    # for urgent items.
    networks = JSONField(default=list)
    kinds = JSONField(default=list)
    digest = CharField(default="weekly", choices=[(d, d) for d in DIGEST_CHOICES])
    instant_alerts = BooleanField(default=False)
    # A monthly reminder after 30 days without a share (opt-in).
    reminders = BooleanField(default=False)
    # The host name of the person's Mastodon server ("" until they give it):
    # its share page opens from their Mastodon button. Never fetched.
    mastodon_server = CharField(default="")
    # The content languages the person shares in (CONTENT_LANGUAGES codes):
    # the share page shows items in these unless they ask for all. An empty
    # list: the default, their own language and the company's
    # (content.audiences.content_languages).
    content_languages = JSONField(default=list)
    # The pseudonymous reference put in utm_content: random, never derived
    # from the name, so analytics on the company website cannot identify
    # anyone.
    ref = CharField(unique=True, default=lambda: new_code(6))
    created_at = DateTimeField(default=utcnow)
    # Raised when the person signs out: every session started before ends
    # (sso.sessions).
    session_generation = IntegerField(default=0)
    # In the member group of a pilot (AMBASSADOR_LDAP_MEMBER_GROUP), as the
    # directory said at sign-in or at the last sync; people.membership says
    # what it means.
    eligible = BooleanField(default=True)
    eligible_checked_at = DateTimeField(null=True)
    # The configured directory groups (audience groups and the lead group)
    # the person is in, as configured, from the last sign-in or sync.
    groups = JSONField(default=list)
    # The department the programme lead named this person team lead of.
    lead_of = CharField(default="")

    # flask-login protocol
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return str(self.id)

    @property
    def is_editor(self):
        return self.role in ("editor", "admin")

    @property
    def is_admin(self):
        return self.role == "admin"

    @property
    def has_joined(self):
        return self.joined_at is not None

    @classmethod
    def members(cls):
        """Active people who joined the programme: the only ones Ambassador
        ever e-mails."""
        return cls.active().where(cls.joined_at.is_null(False))

    @classmethod
    def active(cls):
        return cls.select().where(cls.is_active == True)  # noqa: E712

    def viewer(self, default_language):
        """Who the person is for an item's audience (``Viewer``)."""
        return Viewer(self.department, tuple(self.groups or ()), self.locale or default_language)

    def shared_item_ids(self, item_ids):
        """Which of these items this person has shared (one query)."""
        if not item_ids:
            return set()
        query = (ShareEvent.counted().select(ShareEvent.item).distinct()
                 .where((ShareEvent.person == self) & ShareEvent.item.in_(list(item_ids))))
        return {row.item_id for row in query}


class Campaign(BaseModel):
    slug = CharField(unique=True)
    name = CharField()
    hashtag = CharField(default="")
    description = TextField(default="")
    starts_at = DateTimeField(null=True)
    ends_at = DateTimeField(null=True)
    goal = CharField(default="")
    created_at = DateTimeField(default=utcnow)


class Feed(BaseModel):
    """An RSS or Atom source polled for new items."""

    url = TextField(unique=True)
    title = CharField(default="")
    kind = CharField(choices=[(k, k) for k in KINDS])
    # Whom its items are meant for (``Audience.as_dict``), copied to each
    # item it imports; empty: everyone.
    audience = JSONField(default=dict)
    campaign = ForeignKeyField(Campaign, null=True, backref="feeds", on_delete="SET NULL")
    needs_review = BooleanField(default=False)
    active = BooleanField(default=True)
    # Conditional requests: what the server sent last time.
    etag = CharField(null=True)
    last_modified = CharField(null=True)
    last_polled_at = DateTimeField(null=True)
    last_success_at = DateTimeField(null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)


class Item(BaseModel):
    kind = CharField(choices=[(k, k) for k in KINDS], index=True)
    slug = CharField(unique=True)
    title = CharField()
    summary = TextField(default="")
    url = TextField()
    image_url = TextField(default="")
    # The default suggested caption, and per-network variants:
    # {"x": ["short one", "another"], "linkedin": ["longer ..."]}
    caption = TextField(default="")
    captions = JSONField(default=dict)
    hashtags = CharField(default="")
    language = CharField(default="en")
    campaign = ForeignKeyField(Campaign, null=True, backref="items", on_delete="SET NULL")
    status = CharField(default="published", choices=[(s, s) for s in STATUSES], index=True)
    pinned = BooleanField(default=False)
    # "Share now": an urgent item; people who asked for instant alerts get
    # one e-mail about it (once, see MailLedger).
    share_now_at = DateTimeField(null=True)
    # Where it came from, for dedupe and for expiring vacancies that leave
    # their feed. normalized_url: see normalize_url above.
    normalized_url = TextField(default="", index=True)
    feed = ForeignKeyField(Feed, null=True, backref="items", on_delete="SET NULL")
    guid = CharField(null=True, index=True)
    suggested_by = ForeignKeyField(Person, null=True, backref="suggested_items", on_delete="SET NULL")
    created_by = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="created_items")
    updated_by = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="updated_items")
    publish_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("status", "pinned", "publish_at", "id"), False),)

    def save(self, *args, **kwargs):
        self.normalized_url = normalize_url(self.url)
        return super().save(*args, **kwargs)

    @property
    def hashtag_list(self):
        return [t if t.startswith("#") else "#" + t for t in self.hashtags.split() if t.strip("#")]

    # -- states: the one rule of what is on the share page ------------------
    # ``state`` (one item) and ``in_state`` (a query condition) say the same
    # thing, side by side; the share page, the editor's tabs and badges and
    # the editor's actions (content.items) all go by them.

    def state(self, now=None):
        """What the item is for the people on the share page at ``now``: one
        of ITEM_STATES; "published" means shareable."""
        now = now or utcnow()
        if self.status != "published":
            return self.status
        if self.publish_at > now:
            return "scheduled"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "published"

    @classmethod
    def in_state(cls, state, now=None):
        """The condition of items in ``state`` at ``now`` (as ``state``)."""
        now = now or utcnow()
        published = cls.status == "published"
        if state == "scheduled":
            return published & (cls.publish_at > now)
        if state == "published":
            return published & (cls.publish_at <= now) & (cls.expires_at.is_null() | (cls.expires_at > now))
        if state == "expired":
            return published & (cls.publish_at <= now) & (cls.expires_at <= now)
        return cls.status == state

    @classmethod
    def meant_for(cls, viewer):
        """The condition of items meant for ``viewer`` (as ``Audience.admits``)."""
        rows = ItemAudience.alias()

        def some(condition):
            return fn.EXISTS(rows.select(SQL("1")).where((rows.item == cls.id) & condition))

        who = rows.dimension.in_(("department", "group"))
        mine = (rows.dimension == "department") & (rows.value == viewer.department)
        if viewer.groups:
            mine |= (rows.dimension == "group") & rows.value.in_(list(viewer.groups))
        language = rows.dimension == "language"
        return ((~some(who) | some(mine))
                & (~some(language) | some(language & (rows.value == viewer.language))))

    @classmethod
    def in_languages(cls, languages):
        """The condition of items in one of the content ``languages``: the
        share page's language filter."""
        return cls.language.in_(list(languages))

    @classmethod
    def for_audience(cls, dimension, value, everyone=False):
        """The condition of the items an audience's figures count: those
        whose audience names ``value`` among its ``dimension`` (department,
        group or language) and, with ``everyone``, also those meant for
        everyone (no audience at all). An item meant for other departments
        or only restricted by another dimension is never counted."""
        rows = ItemAudience.alias()
        named = fn.EXISTS(rows.select(SQL("1")).where(
            (rows.item == cls.id) & (rows.dimension == dimension) & (rows.value == value)))
        if not everyone:
            return named
        return named | ~fn.EXISTS(rows.select(SQL("1")).where(rows.item == cls.id))

    @classmethod
    def shareable(cls, now=None, viewer=None):
        """Published, already public and not expired: what the share page
        lists; with a ``viewer``, only what is meant for them."""
        query = (cls.select(cls, Campaign)
                 .join(Campaign, JOIN.LEFT_OUTER)
                 .where(cls.in_state("published", now)))
        return query if viewer is None else query.where(cls.meant_for(viewer))

    @classmethod
    def for_share_page(cls, kind=None, q=None, campaign=None, now=None, viewer=None, languages=None):
        """What the share page, its widget and the API list: shareable items
        (meant for ``viewer``), filtered, pinned and newest first;
        ``languages``: the content languages asked for (None: all)."""
        query = cls.shareable(now, viewer)
        if languages:
            query = query.where(cls.in_languages(languages))
        if kind:
            query = query.where(cls.kind == kind)
        if campaign:
            query = query.where(Campaign.slug == campaign)
        if q:
            # contains() is a case-insensitive LIKE with % and _ escaped.
            query = query.where(cls.title.contains(q) | cls.summary.contains(q)
                                | cls.hashtags.contains(q))
        return query.order_by(cls.pinned.desc(), cls.publish_at.desc(), cls.id.desc())


class ItemAudience(BaseModel):
    """One department, group or language an item is meant for; an item
    without rows is meant for everyone (see ``Audience``)."""

    item = ForeignKeyField(Item, backref="audience_rows", on_delete="CASCADE")
    dimension = CharField(choices=[(d, d) for d in AUDIENCE_DIMENSIONS])
    value = CharField()

    class Meta:
        indexes = ((("item", "dimension", "value"), True),)


class TrackedLink(BaseModel):
    """One personal link per (person, item, network): /s/<code>."""

    code = CharField(unique=True, max_length=16)
    person = ForeignKeyField(Person, backref="links", on_delete="CASCADE")
    item = ForeignKeyField(Item, backref="links", on_delete="CASCADE")
    network = CharField(choices=[(n, n) for n in SHARE_NETWORKS])
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("person", "item", "network"), True),)

    @classmethod
    def for_share(cls, person, item, network):
        """The person's link for this item and network, created on first use.

        Safe under concurrency: a second creator loses on the unique index and
        reads the winner's row.
        """
        existing = cls.get_or_none(person=person, item=item, network=network)
        if existing:
            return existing
        (cls.insert(code=new_code(), person=person, item=item, network=network,
                               created_at=utcnow())
                    .on_conflict_ignore().execute())
        return cls.get(person=person, item=item, network=network)


class ShareEvent(BaseModel):
    """A press on a share button (web, e-mail or widget).

    It proves intent only: points come from clicks on the link. One press
    per person, item, network and (UTC) day counts as a share; later ones
    that day are kept as repeats (``is_repeat``) and count nowhere (a
    unique index on the counted ones; see ``content.sharing.record_share``).
    """

    person = ForeignKeyField(Person, backref="shares", on_delete="CASCADE", index=False)
    item = ForeignKeyField(Item, backref="shares", on_delete="CASCADE", index=False)
    link = ForeignKeyField(TrackedLink, backref="shares", on_delete="CASCADE")
    network = CharField()
    source = CharField(default="web")
    # The sharer's own keyed visitor hash of that day, so that their own
    # clicks on the link can be told apart without storing their address.
    visitor = CharField(null=True)
    day = DateField()
    created_at = DateTimeField(default=utcnow, index=True)
    is_repeat = BooleanField(default=False)
    # The id of the share token that recorded it: a token records once.
    token = CharField(null=True, unique=True, max_length=32)

    class Meta:
        # The share figures read these indexes alone (migration 0026);
        # storing clicks finds the day's sharers by the last (0027).
        indexes = ((("person", "item"), False),
                   (("person", "is_repeat", "created_at"), False),
                   (("item", "is_repeat", "created_at"), False),
                   (("is_repeat", "created_at", "person", "item", "network"), False),
                   (("day", "visitor"), False))

    @classmethod
    def counted(cls):
        """Shares that count: the first press of a person on an item and
        network in a day. Every share figure reads these."""
        return cls.select().where(cls.is_repeat == False)  # noqa: E712


class Click(BaseModel):
    """One request on a tracked link, human or not."""

    # The journal's id of the event, which makes ingesting idempotent.
    event_id = CharField(unique=True, max_length=48)
    # Indexed by the (link, day, visitor) index below, not on its own.
    link = ForeignKeyField(TrackedLink, backref="clicks", on_delete="CASCADE", index=False)
    at = DateTimeField(index=True)
    day = DateField()
    kind = CharField(choices=[(k, k) for k in CLICK_KINDS])
    visitor = CharField(max_length=32)
    referrer_host = CharField(default="", max_length=255)
    is_self = BooleanField(default=False)
    # Keyed hash of the visitor's network (/24 or /48), with the same daily
    # key as ``visitor``: one network adds only a few visitors to a link a
    # day (see ``tracking.totals``).
    net = CharField(max_length=32, default="")

    class Meta:
        # A link's clicks of some days (figures), and how many visitors a
        # network has added to a link that day (running totals).
        indexes = ((("link", "day", "net", "visitor"), False),)

    @classmethod
    def counted(cls):
        """Clicks that count: human, and not the sharer's own."""
        return cls.select().where((cls.kind == "human") & (cls.is_self == False))  # noqa: E712


class VisitorSalt(BaseModel):
    """The random key of one day for hashing visitors; old keys are deleted,
    after which nobody can link a hash to an address."""

    day = DateField(primary_key=True)
    salt = CharField()


class Suggestion(BaseModel):
    """A colleague's proposal of a link to share, reviewed by an editor."""

    person = ForeignKeyField(Person, backref="suggestions", on_delete="CASCADE")
    url = TextField()
    title = CharField(default="")
    caption = TextField(default="")
    kind = CharField(default="news", choices=[(k, k) for k in KINDS])
    note = TextField(default="")
    status = CharField(default="pending", index=True,
                       choices=[(s, s) for s in ("pending", "approved", "rejected")])
    item = ForeignKeyField(Item, null=True, backref="suggestions", on_delete="SET NULL")
    reviewer = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="reviewed_suggestions")
    review_note = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    reviewed_at = DateTimeField(null=True)
    # When the suggester saw the outcome (they are told once).
    seen_at = DateTimeField(null=True)


class AuditLog(BaseModel):
    """Who created, changed, published or archived what, and when."""

    at = DateTimeField(default=utcnow, index=True)
    actor = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="audit_entries")
    action = CharField()
    target_type = CharField()
    target_id = IntegerField(null=True)
    summary = TextField(default="")
    detail = JSONField(default=dict)

    @classmethod
    def record(cls, actor, action, target, summary="", **detail):
        return cls.create(actor=actor, action=action, target_type=type(target).__name__.lower(),
                          target_id=getattr(target, "id", None), summary=summary, detail=detail)


class Setting(BaseModel):
    """Programme-wide settings edited by admins (guidelines text, contact)."""

    key = CharField(primary_key=True)
    value = TextField(default="")
    updated_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")

    @classmethod
    def get_value(cls, key, default=""):
        row = cls.get_or_none(cls.key == key)
        return row.value if row else default

    @classmethod
    def set_value(cls, key, value, by=None):
        (cls.insert(key=key, value=value, updated_at=utcnow(), updated_by=by)
         .on_conflict(conflict_target=[cls.key],
                      update={cls.value: value, cls.updated_at: utcnow(), cls.updated_by: by})
         .execute())


class ClickDaily(BaseModel):
    """Daily totals of clicks per link, kind and self-flag: raw click rows
    older than the retention period are rolled up into these and deleted.
    ``visitors`` is the number of distinct visitor hashes of that day on
    that link (hashes rotate daily, so a visitor is unique per link and day).
    """

    day = DateField()
    link = ForeignKeyField(TrackedLink, backref="daily", on_delete="CASCADE")
    kind = CharField(choices=[(k, k) for k in CLICK_KINDS])
    is_self = BooleanField(default=False)
    clicks = IntegerField(default=0)
    visitors = IntegerField(default=0)
    # Visitors beyond the cap of their network (not in ``visitors``).
    repeated = IntegerField(default=0)

    class Meta:
        indexes = ((("link", "day", "kind", "is_self"), True), (("day",), False))


# The click figures kept as running totals, one column each: counted clicks
# and their visitors, the sharers' own clicks, the hits and visitors of
# each kind of robot, and the counted clicks' visitors beyond the cap of
# their network ("repeated from one network"). Visitors are summed per
# (link, day), as they are counted everywhere (see analytics).
MEASURES = ("clicks", "visitors", "self_clicks", "crawler_hits", "crawler_visitors", "head_hits",
            "head_visitors", "empty_hits", "empty_visitors", "repeated_visitors")


class Measures(BaseModel):
    """The columns of ``MEASURES``; a base for the totals tables, no table
    of its own."""

    clicks = IntegerField(default=0)
    visitors = IntegerField(default=0)
    self_clicks = IntegerField(default=0)
    crawler_hits = IntegerField(default=0)
    crawler_visitors = IntegerField(default=0)
    head_hits = IntegerField(default=0)
    head_visitors = IntegerField(default=0)
    empty_hits = IntegerField(default=0)
    empty_visitors = IntegerField(default=0)
    repeated_visitors = IntegerField(default=0)


class LinkMeasures(Measures):
    """Measures of one link, with the link's person, item and network
    copied in (they never change), so that figures per person, item or
    network are summed without a join; no table of its own."""

    person_id = IntegerField()
    item_id = IntegerField()
    network = CharField()


class LinkTotal(LinkMeasures):
    """All-time click totals of one link, kept up to date as clicks are
    stored (``totals``): at most one row per link, whatever the clicks."""

    link = ForeignKeyField(TrackedLink, primary_key=True, backref="total", on_delete="CASCADE")


class LinkMonth(LinkMeasures):
    """Click totals of one link in one calendar month (``month``: its first
    day), kept up to date as clicks are stored."""

    link = ForeignKeyField(TrackedLink, backref="months", on_delete="CASCADE")
    month = DateField()

    class Meta:
        # Stored in month order on SQLite (the migration makes it a table
        # without rowid, the key is the table): a month's rows are read in
        # one sweep.
        primary_key = CompositeKey("month", "link")


class LinkDay(LinkMeasures):
    """Click totals of one link on one UTC day, kept up to date as clicks
    are stored: the days of a month a period covers in part are read from
    here, never from raw clicks."""

    link = ForeignKeyField(TrackedLink, backref="days", on_delete="CASCADE", index=False)
    day = DateField()

    class Meta:
        # In day order (without rowid on SQLite, as ``LinkMonth``): a range
        # of days is one sweep; some links' days are found by the index on
        # (link, day). It holds no measure, so that adding clicks to a row
        # changes no index entry (migration 0028).
        primary_key = CompositeKey("day", "link")
        indexes = ((("link", "day"), False),)


# The counted clicks of each network, one column each, in the totals per
# person and per item: their links span networks, and the earned media value
# is each network's clicks times its cost per click, worked out when read.
NETWORK_CLICKS = tuple(f"{network}_clicks" for network in SHARE_NETWORKS)


class GroupMeasures(Measures):
    """``MEASURES`` summed over the links of one person or one item, with
    the counted clicks per network (``NETWORK_CLICKS``); no table of its
    own. Figures per person, team, item or campaign read these, a row per
    person or item, where the totals per link have a row per link."""

    linkedin_clicks = IntegerField(default=0)
    x_clicks = IntegerField(default=0)
    facebook_clicks = IntegerField(default=0)
    xing_clicks = IntegerField(default=0)
    bluesky_clicks = IntegerField(default=0)
    threads_clicks = IntegerField(default=0)
    mastodon_clicks = IntegerField(default=0)
    telegram_clicks = IntegerField(default=0)
    whatsapp_clicks = IntegerField(default=0)
    email_clicks = IntegerField(default=0)
    link_clicks = IntegerField(default=0)
    device_clicks = IntegerField(default=0)
    qr_clicks = IntegerField(default=0)


class PersonTotal(GroupMeasures):
    """All-time click totals of one person's links."""

    person_id = IntegerField(primary_key=True)


class PersonMonth(GroupMeasures):
    """Click totals of one person's links in one calendar month."""

    month = DateField()
    person_id = IntegerField()

    class Meta:
        # In month order (without rowid on SQLite): a month is one sweep.
        primary_key = CompositeKey("month", "person_id")


class PersonDay(GroupMeasures):
    """Click totals of one person's links on one UTC day: the days of a
    month a period covers in part, and a person's history (chart, streak,
    milestones, best week), a row a day however many links they shared."""

    person_id = IntegerField()
    day = DateField()

    class Meta:
        # In (person, day) order (without rowid on SQLite): one person's
        # history is one sweep; a range of days is read through the index.
        primary_key = CompositeKey("person_id", "day")
        indexes = ((("day", "person_id"), False),)


class ItemTotal(GroupMeasures):
    """All-time click totals of the links to one item."""

    item_id = IntegerField(primary_key=True)


class ItemMonth(GroupMeasures):
    """Click totals of the links to one item in one calendar month."""

    month = DateField()
    item_id = IntegerField()

    class Meta:
        primary_key = CompositeKey("month", "item_id")


class ItemDay(GroupMeasures):
    """Click totals of the links to one item on one UTC day."""

    day = DateField()
    item_id = IntegerField()

    class Meta:
        primary_key = CompositeKey("day", "item_id")


class DayTotal(Measures):
    """Click totals of the whole programme per day and network, kept up to
    date as clicks are stored: the programme's figures and trends read
    these few rows only."""

    day = DateField()
    network = CharField()

    class Meta:
        primary_key = CompositeKey("day", "network")


class Conversion(BaseModel):
    """An application or lead reported by the careers site or applicant
    tracking system for a visitor who came through a tracked link."""

    link = ForeignKeyField(TrackedLink, backref="conversions", on_delete="CASCADE")
    kind = CharField(default="application")  # application, lead
    external_id = CharField()  # the reporter's own id: reporting twice counts once
    at = DateTimeField(default=utcnow, index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("external_id", "kind"), True),)


class ApiKey(BaseModel):
    """A key for machine clients (the careers site reporting conversions).
    Only a hash is stored; the key itself is shown once."""

    name = CharField()
    key_hash = CharField(unique=True)
    scope = CharField(default="conversions")
    created_at = DateTimeField(default=utcnow)
    created_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class PrizeDraw(BaseModel):
    """An auditable prize draw among a campaign's participants: the seed and
    the participant list are recorded with the result, so anyone can redo
    it. Participants are published only by pseudonyms of this draw
    (``analytics.draws``); their ids stay on the server."""

    campaign = ForeignKeyField(Campaign, backref="draws", on_delete="CASCADE")
    seed = CharField()
    participants = JSONField(default=list)  # person ids in the order drawn from
    winners = JSONField(default=list)  # person ids
    # The participants as published, in the same order: one pseudonym each,
    # different in every draw (empty for draws from before pseudonyms).
    pseudonyms = JSONField(default=list)
    method = TextField(default="")
    drawn_by = ForeignKeyField(Person, null=True, on_delete="SET NULL")
    drawn_at = DateTimeField(default=utcnow)


class MailLedger(BaseModel):
    """The exactly-once ledger of mail that goes out in rounds: one row per
    recipient and round, written when the message is handed to the mail
    server (see intranet_plugin.mail.ledger). A round is the weekly digest of an ISO
    week, the instant alert of an item, or the monthly report of a month;
    each kind has its unique index, so one sender wins each claim.
    """

    kind = CharField()  # "digest", "alert", "report", "reminder"
    period = CharField(default="")  # digest: ISO week ("2026-W47"); report, reminder: month ("2026-04")
    person = ForeignKeyField(Person, null=True, backref="mails", on_delete="CASCADE")  # digest, alert
    item = ForeignKeyField(Item, null=True, backref="alerts", on_delete="CASCADE")  # alert
    address = CharField(default="")  # report: the recipient's address, lower case
    status = CharField(default="sending")  # sending (fate unknown until settled), sent, skipped, failed
    attempts = IntegerField(default=0)
    error = TextField(default="")
    claimed_at = DateTimeField(default=utcnow)
    claimed_by = CharField(default="")
    sent_at = DateTimeField(null=True)
    message_id = CharField(default="")


class Invitation(BaseModel):
    """A personal invitation to join, sent by the programme lead
    (people.invitations). ``round`` is the mail ledger's period of the
    sending; ``nonce`` goes into the signed join link."""

    person = ForeignKeyField(Person, backref="invitations", on_delete="CASCADE")
    invited_by = ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="invitations_sent")
    round = CharField()
    nonce = CharField(default=new_code)
    created_at = DateTimeField(default=utcnow, index=True)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("person", "round"), True),)


# What makes a row unique, per kind: the round, then the recipient.
LEDGER_KEYS = {"digest": ("period", "person"), "alert": ("item", "person"), "report": ("period", "address"),
               "invitation": ("period", "person"), "reminder": ("period", "person")}
for kind, (round_field, recipient_field) in LEDGER_KEYS.items():
    MailLedger.add_index(MailLedger.index(getattr(MailLedger, round_field), getattr(MailLedger, recipient_field),
                                          unique=True, name=f"mail_ledger_{kind}")
                         .where(MailLedger.kind == kind))
del kind, round_field, recipient_field

# One counted share per person, item, network and day; repeats are free.
ShareEvent.add_index(ShareEvent.index(ShareEvent.person, ShareEvent.item, ShareEvent.network, ShareEvent.day,
                                      unique=True, name="share_event_counted")
                     .where(ShareEvent.is_repeat == False))  # noqa: E712


class Milestone(BaseModel):
    """A milestone a person reached (see ``analytics.milestones``): kept so
    that the digest announces each one once."""

    person = ForeignKeyField(Person, backref="milestones", on_delete="CASCADE")
    key = CharField(max_length=32)
    reached_at = DateField()
    announced_in_digest_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("person", "key"), True),)


class JobLease(BaseModel):
    """A timed job's lease: the scheduler holding it runs the job; a lease
    that expires (its holder died) can be taken over."""

    name = CharField(primary_key=True)
    holder = CharField(default="")
    expires_at = DateTimeField()
    last_started_at = DateTimeField(null=True)
    last_finished_at = DateTimeField(null=True)
    last_error = TextField(default="")


MODELS = [Person, Campaign, Feed, Item, ItemAudience, TrackedLink, ShareEvent, Click, VisitorSalt,
          Suggestion, AuditLog, Setting, MailLedger, JobLease,
          ClickDaily, Conversion, ApiKey, PrizeDraw, LinkTotal, LinkMonth, LinkDay, PersonTotal, PersonMonth,
          PersonDay, ItemTotal, ItemMonth, ItemDay, DayTotal, Invitation, Milestone]
