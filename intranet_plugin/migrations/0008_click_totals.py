"""Running click totals per link, per link and month, and per day and
network (see intranet_plugin/totals.py), filled from the raw and rolled-up
clicks already stored; the click index on (link, day) gains the visitor.

Frozen copies of the models and plain SQL, independent of models.py.
"""
from peewee import CharField, CompositeKey, DateField, ForeignKeyField, IntegerField, Model, PostgresqlDatabase

MEASURES = ("clicks", "visitors", "self_clicks", "crawler_hits", "crawler_visitors", "head_hits",
            "head_visitors", "empty_hits", "empty_visitors")

# Every raw and rolled-up click group as the measure columns.
SOURCE = """
SELECT c.link_id, c.day,
  CASE WHEN c.kind = 'human' AND NOT c.is_self THEN c.clicks ELSE 0 END AS clicks,
  CASE WHEN c.kind = 'human' AND NOT c.is_self THEN c.visitors ELSE 0 END AS visitors,
  CASE WHEN c.kind = 'human' AND c.is_self THEN c.clicks ELSE 0 END AS self_clicks,
  CASE WHEN c.kind = 'crawler' THEN c.clicks ELSE 0 END AS crawler_hits,
  CASE WHEN c.kind = 'crawler' THEN c.visitors ELSE 0 END AS crawler_visitors,
  CASE WHEN c.kind = 'head' THEN c.clicks ELSE 0 END AS head_hits,
  CASE WHEN c.kind = 'head' THEN c.visitors ELSE 0 END AS head_visitors,
  CASE WHEN c.kind = 'empty' THEN c.clicks ELSE 0 END AS empty_hits,
  CASE WHEN c.kind = 'empty' THEN c.visitors ELSE 0 END AS empty_visitors
FROM (SELECT link_id, day, kind, is_self, COUNT(*) AS clicks, COUNT(DISTINCT visitor) AS visitors
      FROM click GROUP BY link_id, day, kind, is_self
      UNION ALL
      SELECT link_id, day, kind, is_self, clicks, visitors FROM click_daily) AS c
"""


def up(migrator, db):
    postgres = isinstance(db, PostgresqlDatabase)

    class TrackedLink(Model):
        class Meta:
            database = db
            table_name = 'tracked_link'

    class Measures(Model):
        clicks = IntegerField(default=0)
        visitors = IntegerField(default=0)
        self_clicks = IntegerField(default=0)
        crawler_hits = IntegerField(default=0)
        crawler_visitors = IntegerField(default=0)
        head_hits = IntegerField(default=0)
        head_visitors = IntegerField(default=0)
        empty_hits = IntegerField(default=0)
        empty_visitors = IntegerField(default=0)

        class Meta:
            database = db

    class LinkMeasures(Measures):
        person_id = IntegerField()
        item_id = IntegerField()
        network = CharField()

    class LinkTotal(LinkMeasures):
        link = ForeignKeyField(TrackedLink, primary_key=True, on_delete='CASCADE')

        class Meta:
            table_name = 'link_total'

    class LinkMonth(LinkMeasures):
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE')
        month = DateField()

        class Meta:
            table_name = 'link_month'
            primary_key = CompositeKey('month', 'link')
            without_rowid = not postgres  # SQLite: stored in key order

    class DayTotal(Measures):
        day = DateField()
        network = CharField()

        class Meta:
            table_name = 'day_total'
            primary_key = CompositeKey('day', 'network')
            without_rowid = not postgres

    db.create_tables([LinkTotal, LinkMonth, DayTotal])
    # Whether a visitor is new on a link that day is one index lookup, also
    # on a link clicked thousands of times a day. The index also serves every
    # lookup by link, so the link's own index goes: one index less to write
    # per click, and the planner cannot pick it for a range of days.
    migrator.migrate(
        migrator.drop_index("click", "click_link_id_day"),
        migrator.drop_index("click", "click_link_id"),
        migrator.add_index("click", ("link_id", "day", "visitor"), False),
    )

    month = ("date_trunc('month', s.day)::date" if postgres
             else "date(s.day, 'start of month')")
    columns = ", ".join(MEASURES)
    sums = ", ".join(f"SUM(s.{m})" for m in MEASURES)
    link = "l.person_id, l.item_id, l.network"
    db.execute_sql(f"INSERT INTO link_total (link_id, person_id, item_id, network, {columns}) "
                   f"SELECT s.link_id, {link}, {sums} FROM ({SOURCE}) AS s "
                   f"JOIN tracked_link AS l ON l.id = s.link_id GROUP BY s.link_id, {link}")
    db.execute_sql(f"INSERT INTO link_month (link_id, month, person_id, item_id, network, {columns}) "
                   f"SELECT s.link_id, {month}, {link}, {sums} FROM ({SOURCE}) AS s "
                   f"JOIN tracked_link AS l ON l.id = s.link_id GROUP BY s.link_id, {month}, {link}")
    db.execute_sql(f"INSERT INTO day_total (day, network, {columns}) "
                   f"SELECT s.day, l.network, {sums} FROM ({SOURCE}) AS s "
                   f"JOIN tracked_link AS l ON l.id = s.link_id GROUP BY s.day, l.network")


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("click", "click_link_id_day_visitor"),
        migrator.add_index("click", ("link_id",), False),
        migrator.add_index("click", ("link_id", "day"), False),
        migrator.drop_table('day_total'),
        migrator.drop_table('link_month'),
        migrator.drop_table('link_total'),
    )
