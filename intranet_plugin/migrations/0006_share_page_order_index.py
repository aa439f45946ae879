"""An index matching the share page's filter and order, so the page does
not sort every published item on each request."""


def up(migrator, db):
    migrator.migrate(migrator.add_index("item", ("status", "pinned", "publish_at", "id"), False))


def down(migrator, db):
    migrator.migrate(migrator.drop_index("item", "item_status_pinned_publish_at_id"))
