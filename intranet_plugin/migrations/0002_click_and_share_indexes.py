"""Indexes for the per-link and per-person figures (impact, digest)."""


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("click", ("link_id", "day"), False),
        migrator.add_index("share_event", ("person_id", "item_id"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("click", "click_link_id_day"),
        migrator.drop_index("share_event", "share_event_person_id_item_id"),
    )
