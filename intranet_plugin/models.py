"""The data model, with the query helpers that belong to each model.

The database is declared unbound here and bound by ``db.init_app``, so the
same models serve SQLite and PostgreSQL, tests and production.
"""

import datetime
import json
import secrets

from peewee import (
    JOIN,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    ForeignKeyField,
    Model,
    TextField,
    fn,
)

db = DatabaseProxy()

KINDS = ("news", "vacancy", "blog")
ROLES = ("employee", "editor", "admin")
STATUSES = ("draft", "published", "archived")
# The networks a share button exists for; "link" is the copy-link button.
SHARE_NETWORKS = ("linkedin", "x", "facebook", "xing", "whatsapp", "email", "link")
CLICK_KINDS = ("human", "crawler", "head", "empty")


def utcnow():
    """Naive UTC now: every timestamp in the database is naive UTC."""
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def new_code(nbytes=9):
    """An unguessable URL-safe code (9 random bytes = 12 characters)."""
    return secrets.token_urlsafe(nbytes)


class JSONField(TextField):
    """JSON in a text column: portable between SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        return None if value is None else json.loads(value)


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
    show_on_leaderboard = BooleanField(default=False)
    # The pseudonymous reference put in utm_content: random, never derived
    # from the name, so analytics on the company website cannot identify
    # anyone.
    ref = CharField(unique=True, default=lambda: new_code(6))
    created_at = DateTimeField(default=utcnow)

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

    @classmethod
    def active(cls):
        return cls.select().where(cls.is_active == True)  # noqa: E712

    def shared_item_ids(self, item_ids):
        """Which of these items this person has shared (one query)."""
        if not item_ids:
            return set()
        query = (ShareEvent.select(ShareEvent.item).distinct()
                 .where((ShareEvent.person == self) & ShareEvent.item.in_(list(item_ids))))
        return {row.item_id for row in query}

    def impact(self):
        """Shares, human clicks and unique visitors of this person, all time."""
        shares = ShareEvent.select().where(ShareEvent.person == self).count()
        clicks = Click.counted().join(TrackedLink).where(TrackedLink.person == self)
        row = clicks.select(
            fn.COUNT(Click.id).alias("clicks"),
            fn.COUNT(fn.DISTINCT(Click.visitor)).alias("visitors"),
        ).dicts().get()
        return {"shares": shares, "clicks": row["clicks"], "visitors": row["visitors"]}


class Campaign(BaseModel):
    slug = CharField(unique=True)
    name = CharField()
    hashtag = CharField(default="")
    description = TextField(default="")
    starts_at = DateTimeField(null=True)
    ends_at = DateTimeField(null=True)
    goal = CharField(default="")
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
    publish_at = DateTimeField(default=utcnow, index=True)
    expires_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    @property
    def hashtag_list(self):
        return [t if t.startswith("#") else "#" + t for t in self.hashtags.split() if t.strip("#")]

    def caption_for(self, network):
        """The first suggested caption for a network, else the default one."""
        variants = (self.captions or {}).get(network) or []
        return variants[0] if variants else self.caption

    @classmethod
    def shareable(cls, now=None):
        """Published, already public and not expired: what the share page lists."""
        now = now or utcnow()
        return (cls.select(cls, Campaign)
                .join(Campaign, JOIN.LEFT_OUTER)
                .where((cls.status == "published")
                       & (cls.publish_at <= now)
                       & (cls.expires_at.is_null() | (cls.expires_at > now))))

    @classmethod
    def for_share_page(cls, kind=None, q=None, campaign=None, now=None):
        query = cls.shareable(now)
        if kind:
            query = query.where(cls.kind == kind)
        if campaign:
            query = query.where(Campaign.slug == campaign)
        if q:
            # contains() is a case-insensitive LIKE with % and _ escaped.
            query = query.where(cls.title.contains(q) | cls.summary.contains(q)
                                | cls.hashtags.contains(q))
        return query.order_by(cls.pinned.desc(), cls.publish_at.desc(), cls.id.desc())


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

    It proves intent only: points come from clicks on the link.
    """

    person = ForeignKeyField(Person, backref="shares", on_delete="CASCADE")
    item = ForeignKeyField(Item, backref="shares", on_delete="CASCADE")
    link = ForeignKeyField(TrackedLink, backref="shares", on_delete="CASCADE")
    network = CharField()
    source = CharField(default="web")
    # The sharer's own keyed visitor hash of that day, so that their own
    # clicks on the link can be told apart without storing their address.
    visitor = CharField(null=True)
    day = DateField()
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("person", "item"), False),)


class Click(BaseModel):
    """One request on a tracked link, human or not."""

    # The journal's id of the event, which makes ingesting idempotent.
    event_id = CharField(unique=True, max_length=48)
    link = ForeignKeyField(TrackedLink, backref="clicks", on_delete="CASCADE")
    at = DateTimeField(index=True)
    day = DateField()
    kind = CharField(choices=[(k, k) for k in CLICK_KINDS])
    visitor = CharField(max_length=32)
    referrer_host = CharField(default="", max_length=255)
    is_self = BooleanField(default=False)

    class Meta:
        indexes = ((("link", "day"), False),)

    @classmethod
    def counted(cls):
        """Clicks that count: human, and not the sharer's own."""
        return cls.select().where((cls.kind == "human") & (cls.is_self == False))  # noqa: E712


class VisitorSalt(BaseModel):
    """The random key of one day for hashing visitors; old keys are deleted,
    after which nobody can link a hash to an address."""

    day = DateField(primary_key=True)
    salt = CharField()


MODELS = [Person, Campaign, Item, TrackedLink, ShareEvent, Click, VisitorSalt]
