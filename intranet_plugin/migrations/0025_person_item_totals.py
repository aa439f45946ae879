"""Running click totals per person and per item, for all time, per month and
per day (``person_total``, ``person_month``, ``person_day``, ``item_total``,
``item_month``, ``item_day``), each with the counted clicks of every network,
filled from the totals per link: figures per person, team, item or campaign
read a row per person or item instead of a row per link.

Frozen copy of the models and plain SQL, independent of models.py.
"""
from peewee import CompositeKey, DateField, IntegerField, Model, PostgresqlDatabase

MEASURES = ("clicks", "visitors", "self_clicks", "crawler_hits", "crawler_visitors", "head_hits",
            "head_visitors", "empty_hits", "empty_visitors", "repeated_visitors")
NETWORKS = ("linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon", "telegram", "whatsapp",
            "email", "link", "device", "qr")


def _models(db):
    postgres = isinstance(db, PostgresqlDatabase)

    def model(name, key, primary_key=None, indexes=()):
        # The key's columns first: SQLite's integrity check (3.40) takes a
        # table without rowid whose key columns come later for a broken one.
        fields = {column: DateField() if column in ("month", "day") else IntegerField(primary_key=primary_key is None)
                  for column in key}
        fields.update((column, IntegerField(default=0)) for column in (*MEASURES, *(f"{n}_clicks" for n in NETWORKS)))
        meta = {"database": db, "table_name": name, "indexes": indexes}
        if primary_key is not None:
            meta.update(primary_key=CompositeKey(*primary_key), without_rowid=not postgres)
        return type(name, (Model,), {**fields, "Meta": type("Meta", (), meta)})

    return [model("person_total", ["person_id"]),
            model("person_month", ["month", "person_id"], ["month", "person_id"]),
            model("person_day", ["person_id", "day"], ["person_id", "day"], ((("day", "person_id"), False),)),
            model("item_total", ["item_id"]),
            model("item_month", ["month", "item_id"], ["month", "item_id"]),
            model("item_day", ["day", "item_id"], ["day", "item_id"])]


def up(migrator, db):
    db.create_tables(_models(db))
    columns = ", ".join((*MEASURES, *(f"{n}_clicks" for n in NETWORKS)))
    sums = ", ".join((*(f"SUM({m})" for m in MEASURES),
                      *(f"SUM(CASE WHEN network = '{n}' THEN clicks ELSE 0 END)" for n in NETWORKS)))
    for table, source, key in (("person_total", "link_total", "person_id"),
                               ("person_month", "link_month", "month, person_id"),
                               ("person_day", "link_day", "person_id, day"),
                               ("item_total", "link_total", "item_id"),
                               ("item_month", "link_month", "month, item_id"),
                               ("item_day", "link_day", "day, item_id")):
        db.execute_sql(f"INSERT INTO {table} ({key}, {columns}) SELECT {key}, {sums} FROM {source} GROUP BY {key}")


def down(migrator, db):
    db.drop_tables(_models(db))
