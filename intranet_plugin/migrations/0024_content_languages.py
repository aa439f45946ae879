"""The content languages each person shares in (a JSON list of language
codes; empty: the default, their own language and the company's)."""
from peewee import TextField


def up(migrator, db):
    migrator.migrate(migrator.add_column("person", "content_languages", TextField(default="[]")))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("person", "content_languages"))
