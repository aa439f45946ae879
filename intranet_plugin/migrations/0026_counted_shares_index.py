"""Indexes holding what the share figures read of every share (counted or
repeat, when; who, which item, which network): their counts for the whole
programme, per person or team, per item or campaign read an index alone,
not the table. The indexes on the person and on the item get whether a
share counts and when beside them (measured on SQLite with 20,000 shares:
a third of the time per count).
"""

COVERING = ("is_repeat", "created_at", "person_id", "item_id", "network")


def up(migrator, db):
    migrator.migrate(migrator.drop_index("share_event", "shareevent_person_id"),
                     migrator.drop_index("share_event", "shareevent_item_id"))
    db.execute_sql("CREATE INDEX shareevent_person_id ON share_event (person_id, is_repeat, created_at)")
    db.execute_sql("CREATE INDEX shareevent_item_id ON share_event (item_id, is_repeat, created_at)")
    migrator.migrate(migrator.add_index("share_event", COVERING, False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("share_event", "share_event_" + "_".join(COVERING)),
                     migrator.drop_index("share_event", "shareevent_person_id"),
                     migrator.drop_index("share_event", "shareevent_item_id"))
    db.execute_sql("CREATE INDEX shareevent_person_id ON share_event (person_id)")
    db.execute_sql("CREATE INDEX shareevent_item_id ON share_event (item_id)")
