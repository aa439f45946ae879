"""Shares that hold up against gaming: a press of a share button counts
once per person, item, network and (UTC) day, later presses that day are
kept as repeats; a share token records once (its id on the share it
recorded).

Shares stored before this upgrade are counted by the same rule: of several
presses on one item and network in one day, the first counts and the rest
become repeats, so share figures of the past may go down.

Prize draws publish their participants by pseudonyms of that draw: the
column keeps them as published (draws from before get theirs computed).
"""
from peewee import BooleanField, CharField, TextField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("share_event", "is_repeat", BooleanField(default=False)),
        migrator.add_column("share_event", "token", CharField(null=True, max_length=32)),
        migrator.add_column("prize_draw", "pseudonyms", TextField(default="[]")),
    )
    db.execute_sql(f"UPDATE share_event SET is_repeat = {db.param} WHERE id NOT IN "
                   "(SELECT MIN(id) FROM share_event GROUP BY person_id, item_id, network, day)", (True,))
    migrator.migrate(migrator.add_index("share_event", ("token",), True))
    # Partial: any number of repeats, one counted share (NOT reads alike in
    # SQLite, where a boolean is 0 or 1, and PostgreSQL).
    db.execute_sql("CREATE UNIQUE INDEX share_event_counted ON share_event (person_id, item_id, network, day) "
                   "WHERE NOT is_repeat")


def down(migrator, db):
    db.execute_sql("DROP INDEX share_event_counted")
    migrator.migrate(
        migrator.drop_column("prize_draw", "pseudonyms"),
        migrator.drop_index("share_event", "share_event_token"),
        migrator.drop_column("share_event", "token"),
        migrator.drop_column("share_event", "is_repeat"),
    )
