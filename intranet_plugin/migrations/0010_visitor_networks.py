"""Visitors per network: each click carries a keyed hash of its network
(/24 or /48), so that one network adds only a few visitors to a link a day;
visitors beyond that cap are kept apart as "repeated from one network".

Clicks stored before this upgrade have no network: each of their visitors
counts as a network of its own, so no figure of the past changes.
"""
from peewee import CharField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("click", "net", CharField(max_length=32, default="")),
        migrator.add_column("click_daily", "repeated", IntegerField(default=0)),
        migrator.add_column("link_total", "repeated_visitors", IntegerField(default=0)),
        migrator.add_column("link_month", "repeated_visitors", IntegerField(default=0)),
        migrator.add_column("day_total", "repeated_visitors", IntegerField(default=0)),
    )
    db.execute_sql("UPDATE click SET net = visitor")
    migrator.migrate(
        migrator.drop_index("click", "click_link_id_day_visitor"),
        migrator.add_index("click", ("link_id", "day", "net", "visitor"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("click", "click_link_id_day_net_visitor"),
        migrator.add_index("click", ("link_id", "day", "visitor"), False),
        migrator.drop_column("day_total", "repeated_visitors"),
        migrator.drop_column("link_month", "repeated_visitors"),
        migrator.drop_column("link_total", "repeated_visitors"),
        migrator.drop_column("click_daily", "repeated"),
        migrator.drop_column("click", "net"),
    )
