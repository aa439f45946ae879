"""Running click totals per link and day (``link_day``), filled from the raw
and rolled-up clicks already stored, each network's visitors capped as the
running totals cap them: a period that covers a month in part reads these
instead of raw clicks.

Frozen copy of the model and plain SQL, independent of models.py.
"""
from flask import current_app, has_app_context
from peewee import CharField, CompositeKey, DateField, ForeignKeyField, IntegerField, Model, PostgresqlDatabase

MEASURES = ("clicks", "visitors", "self_clicks", "crawler_hits", "crawler_visitors", "head_hits",
            "head_visitors", "empty_hits", "empty_visitors", "repeated_visitors")

# Raw clicks per network first (visitors capped per network), then per link,
# day, kind and self-flag, and the rolled-up rows beside them.
SOURCE = """
SELECT n.link_id, n.day, n.kind, n.is_self, SUM(n.hits) AS clicks,
       SUM(CASE WHEN n.n > {cap} THEN {cap} ELSE n.n END) AS visitors,
       SUM(n.n - CASE WHEN n.n > {cap} THEN {cap} ELSE n.n END) AS repeated
FROM (SELECT link_id, day, kind, is_self, COUNT(*) AS hits, COUNT(DISTINCT visitor) AS n
      FROM click GROUP BY link_id, day, kind, is_self, net) AS n
GROUP BY n.link_id, n.day, n.kind, n.is_self
UNION ALL
SELECT link_id, day, kind, is_self, clicks, visitors, repeated FROM click_daily
"""

# Each group as the measure columns.
COLUMNS = """
CASE WHEN c.kind = 'human' AND NOT c.is_self THEN c.clicks ELSE 0 END AS clicks,
CASE WHEN c.kind = 'human' AND NOT c.is_self THEN c.visitors ELSE 0 END AS visitors,
CASE WHEN c.kind = 'human' AND c.is_self THEN c.clicks ELSE 0 END AS self_clicks,
CASE WHEN c.kind = 'crawler' THEN c.clicks ELSE 0 END AS crawler_hits,
CASE WHEN c.kind = 'crawler' THEN c.visitors ELSE 0 END AS crawler_visitors,
CASE WHEN c.kind = 'head' THEN c.clicks ELSE 0 END AS head_hits,
CASE WHEN c.kind = 'head' THEN c.visitors ELSE 0 END AS head_visitors,
CASE WHEN c.kind = 'empty' THEN c.clicks ELSE 0 END AS empty_hits,
CASE WHEN c.kind = 'empty' THEN c.visitors ELSE 0 END AS empty_visitors,
CASE WHEN c.kind = 'human' AND NOT c.is_self THEN c.repeated ELSE 0 END AS repeated_visitors
"""


def _model(db):
    postgres = isinstance(db, PostgresqlDatabase)

    class TrackedLink(Model):
        class Meta:
            database = db
            table_name = 'tracked_link'

    class LinkDay(Model):
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE', index=False)
        day = DateField()
        person_id = IntegerField()
        item_id = IntegerField()
        network = CharField()
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

        class Meta:
            database = db
            table_name = 'link_day'
            primary_key = CompositeKey('day', 'link')
            indexes = ((('link', 'day', 'person_id', 'clicks', 'visitors'), False),)
            without_rowid = not postgres  # SQLite: stored in key order

    return LinkDay


def up(migrator, db):
    db.create_tables([_model(db)])
    # The cap on visitors per network and day the running totals use.
    cap = int(current_app.config.get("VISITORS_PER_NETWORK", 3)) if has_app_context() else 3
    columns = ", ".join(MEASURES)
    sums = ", ".join(f"SUM(s.{m})" for m in MEASURES)
    link = "l.person_id, l.item_id, l.network"
    db.execute_sql(f"INSERT INTO link_day (link_id, day, person_id, item_id, network, {columns}) "
                   f"SELECT s.link_id, s.day, {link}, {sums} "
                   f"FROM (SELECT c.link_id, c.day, {COLUMNS} FROM ({SOURCE.format(cap=cap)}) AS c) AS s "
                   f"JOIN tracked_link AS l ON l.id = s.link_id GROUP BY s.link_id, s.day, {link}")


def down(migrator, db):
    db.drop_tables([_model(db)])
