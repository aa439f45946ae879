"""Running totals updated in place: every second each link clicked gets its
totals per link (all time, month, day) and those of its person and item
updated, so an update must not touch an index where it can be helped.

* The index on the daily totals per link no longer carries ``clicks`` and
  ``visitors`` (a person's history reads ``person_day`` since 0025): an
  update of the measures now changes no index entry.
* On PostgreSQL the totals tables leave a fifth of each page free, so an
  update can put the new row version beside the old (a HOT update: no new
  index entries, less bloat). Measured on the redirect bench's shape: an
  upsert of the daily totals per link from 14 to 10 µs a row.
"""

from peewee import PostgresqlDatabase

OLD = ("link_id", "day", "person_id", "clicks", "visitors")
NEW = ("link_id", "day")
TOTALS = ("link_total", "link_month", "link_day", "person_total", "person_month", "person_day",
          "item_total", "item_month", "item_day", "day_total")
FILLFACTOR = 80


def _swap(migrator, db, old, new, storage):
    """Replace the index on ``old`` by one on ``new``; on PostgreSQL apply
    ``storage`` to every totals table."""
    migrator.migrate(migrator.drop_index("link_day", "linkday_" + "_".join(old)))
    db.execute_sql(f"CREATE INDEX linkday_{'_'.join(new)} ON link_day ({', '.join(new)})")
    if isinstance(db, PostgresqlDatabase):
        for table in TOTALS:
            db.execute_sql(f"ALTER TABLE {table} {storage}")


def up(migrator, db):
    _swap(migrator, db, OLD, NEW, f"SET (fillfactor = {FILLFACTOR})")


def down(migrator, db):
    _swap(migrator, db, NEW, OLD, "RESET (fillfactor)")
