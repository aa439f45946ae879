"""The weekly digest's ledger, instant alerts, and the scheduler's job leases.

Frozen copies of the models as they were, independent of models.py.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class Item(Model):
        class Meta:
            database = db
            table_name = 'item'

    class DigestLedger(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        week = CharField(max_length=8)
        status = CharField(index=True, default='claimed')
        attempts = IntegerField(default=0)
        error = TextField(default='')
        claimed_at = DateTimeField()
        claimed_by = CharField(default='')
        sent_at = DateTimeField(null=True)
        message_id = CharField(default='')

        class Meta:
            database = db
            table_name = 'digest_ledger'
            indexes = ((('person', 'week'), True),)

    class AlertLedger(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        item = ForeignKeyField(Item, on_delete='CASCADE')
        status = CharField(default='claimed')
        error = TextField(default='')
        claimed_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'alert_ledger'
            indexes = ((('person', 'item'), True),)

    class JobLease(Model):
        name = CharField(primary_key=True)
        holder = CharField(default='')
        expires_at = DateTimeField()
        last_started_at = DateTimeField(null=True)
        last_finished_at = DateTimeField(null=True)
        last_error = TextField(default='')

        class Meta:
            database = db
            table_name = 'job_lease'

    db.create_tables([DigestLedger, AlertLedger, JobLease])
    migrator.migrate(migrator.add_column('item', 'share_now_at', DateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('item', 'share_now_at'),
        migrator.drop_table('job_lease'),
        migrator.drop_table('alert_ledger'),
        migrator.drop_table('digest_ledger'),
    )
