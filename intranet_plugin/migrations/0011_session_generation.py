"""Sessions end on the server: each person's session generation, stored in
the session at sign-in and checked on every request (sso.sessions). Sessions
started before this upgrade carry no generation: everyone signs in once more.
"""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("person", "session_generation", IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("person", "session_generation"))
