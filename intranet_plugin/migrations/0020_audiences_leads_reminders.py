"""Audiences, team leads and reminders: the departments, directory groups and content
languages an item is meant for (``item_audience``; no rows: everyone), a
feed's audience for the items it imports, each person's configured
directory groups and the department the programme lead named them team
lead of; the opt-in to monthly reminders (off), and the reminders' round
in the mail ledger (one per person and month). Nothing existing changes:
every item stays meant for everyone.

Frozen copies of the models, independent of models.py.
"""
from peewee import BooleanField, CharField, ForeignKeyField, Model, TextField


def _models(db):
    class Item(Model):
        class Meta:
            database = db
            table_name = "item"

    class ItemAudience(Model):
        item = ForeignKeyField(Item, on_delete="CASCADE")
        dimension = CharField()
        value = CharField()

        class Meta:
            database = db
            table_name = "item_audience"
            indexes = ((("item", "dimension", "value"), True),)

    return ItemAudience


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("person", "groups", TextField(default="[]")),
        migrator.add_column("person", "lead_of", CharField(default="")),
        migrator.add_column("feed", "audience", TextField(default="{}")),
        migrator.add_column("person", "reminders", BooleanField(default=False)),
    )
    db.create_tables([_models(db)])
    db.execute_sql("CREATE UNIQUE INDEX mail_ledger_reminder ON mail_ledger (period, person_id) "
                   "WHERE kind = 'reminder'")


def down(migrator, db):
    db.execute_sql("DELETE FROM mail_ledger WHERE kind = 'reminder'")
    db.execute_sql("DROP INDEX mail_ledger_reminder")
    db.drop_tables([_models(db)])
    migrator.migrate(
        migrator.drop_column("person", "reminders"),
        migrator.drop_column("feed", "audience"),
        migrator.drop_column("person", "lead_of"),
        migrator.drop_column("person", "groups"),
    )
