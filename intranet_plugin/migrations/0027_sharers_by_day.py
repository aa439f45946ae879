"""An index on the shares' day and visitor hash: each batch of clicks
stored looks up which visitors shared on its days, to tell the sharers' own
clicks apart (``tracking.clicks``), instead of searching every share of
every clicked link's sharer, click by click.
"""

COLUMNS = ("day", "visitor")


def up(migrator, db):
    migrator.migrate(migrator.add_index("share_event", COLUMNS, False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("share_event", "share_event_" + "_".join(COLUMNS)))
