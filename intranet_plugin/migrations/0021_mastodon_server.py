"""Each person's Mastodon server (a host name, "" until given): the share
page of that server opens from their Mastodon button."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("person", "mastodon_server", CharField(default="")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("person", "mastodon_server"))
