"""A pilot and invitations: whether each person is in the member group
(``AMBASSADOR_LDAP_MEMBER_GROUP``) as the directory last said, the
programme lead's personal invitations, and the mail ledger's unique index
for them (one invitation mail per person and sending).

Everyone stored before this upgrade is eligible: without a member group
the programme is open to all, and a pilot's sign-in or sync sets the flag.

Frozen copies of the models, independent of models.py.
"""
import secrets

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, Model


def _invitation(db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class Invitation(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        invited_by = ForeignKeyField(Person, null=True, on_delete='SET NULL', backref='invitations_sent')
        round = CharField()
        nonce = CharField(default=lambda: secrets.token_urlsafe(9))
        created_at = DateTimeField(index=True)
        sent_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'invitation'
            indexes = ((('person', 'round'), True),)

    return Invitation


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("person", "eligible", BooleanField(default=True)),
        migrator.add_column("person", "eligible_checked_at", DateTimeField(null=True)),
    )
    db.create_tables([_invitation(db)])
    db.execute_sql("CREATE UNIQUE INDEX mail_ledger_invitation ON mail_ledger (period, person_id) "
                   "WHERE kind = 'invitation'")


def down(migrator, db):
    db.execute_sql("DROP INDEX mail_ledger_invitation")
    db.drop_tables([_invitation(db)])
    migrator.migrate(
        migrator.drop_column("person", "eligible_checked_at"),
        migrator.drop_column("person", "eligible"),
    )
