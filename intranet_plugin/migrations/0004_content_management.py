"""Content management: feeds, colleagues' suggestions, the audit log,
programme settings, joining preferences, and where each item came from.

Frozen copies of the models as they were, independent of models.py.
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField

from intranet_plugin.models import normalize_url


def up(migrator, db):
    class Campaign(Model):
        class Meta:
            database = db
            table_name = 'campaign'

    class Item(Model):
        url = TextField()
        normalized_url = TextField(default='')  # added below

        class Meta:
            database = db
            table_name = 'item'

    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class AuditLog(Model):
        at = DateTimeField(index=True)
        actor = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        action = CharField()
        target_type = CharField()
        target_id = IntegerField(null=True)
        summary = TextField(default='')
        detail = TextField(default='{}')

        class Meta:
            database = db
            table_name = 'audit_log'
    db.create_tables([AuditLog])

    class Feed(Model):
        url = TextField(unique=True)
        title = CharField(default='')
        kind = CharField()
        campaign = ForeignKeyField(Campaign, null=True, on_delete='SET NULL')
        needs_review = BooleanField(default=False)
        active = BooleanField(default=True)
        etag = CharField(null=True)
        last_modified = CharField(null=True)
        last_polled_at = DateTimeField(null=True)
        last_success_at = DateTimeField(null=True)
        last_error = TextField(default='')
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'feed'
    db.create_tables([Feed])

    class Setting(Model):
        key = CharField(primary_key=True)
        value = TextField(default='')
        updated_at = DateTimeField()
        updated_by = ForeignKeyField(Person, null=True, on_delete='SET NULL')

        class Meta:
            database = db
            table_name = 'setting'
    db.create_tables([Setting])

    class Suggestion(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        url = TextField()
        title = CharField(default='')
        caption = TextField(default='')
        kind = CharField(default='news')
        note = TextField(default='')
        status = CharField(index=True, default='pending')
        item = ForeignKeyField(Item, null=True, on_delete='SET NULL')
        reviewer = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        review_note = TextField(default='')
        created_at = DateTimeField()
        reviewed_at = DateTimeField(null=True)
        seen_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'suggestion'
    db.create_tables([Suggestion])

    migrator.migrate(
        migrator.add_column('person', 'left_at', DateTimeField(null=True)),
        migrator.add_column('person', 'networks', TextField(default='[]')),
        migrator.add_column('person', 'kinds', TextField(default='[]')),
        migrator.add_column('person', 'digest', CharField(default='weekly')),
        migrator.add_column('person', 'instant_alerts', BooleanField(default=False)),
        migrator.add_column('item', 'normalized_url', TextField(index=True, default='')),
        migrator.add_column('item', 'feed_id', ForeignKeyField(Feed, field=Feed.id, null=True,
                                                               on_delete='SET NULL')),
        migrator.add_column('item', 'guid', CharField(index=True, null=True)),
        migrator.add_column('item', 'suggested_by_id', ForeignKeyField(Person, field=Person.id, null=True,
                                                                       on_delete='SET NULL')),
        migrator.add_column('item', 'created_by_id', ForeignKeyField(Person, field=Person.id, null=True,
                                                                     on_delete='SET NULL')),
        migrator.add_column('item', 'updated_by_id', ForeignKeyField(Person, field=Person.id, null=True,
                                                                     on_delete='SET NULL')),
    )
    # Existing items get their normalised URL, so duplicates of them are seen.
    for row in Item.select(Item.id, Item.url).tuples():
        Item.update(normalized_url=normalize_url(row[1])).where(Item.id == row[0]).execute()


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('item', 'updated_by_id'),
        migrator.drop_column('item', 'created_by_id'),
        migrator.drop_column('item', 'suggested_by_id'),
        migrator.drop_column('item', 'guid'),
        migrator.drop_column('item', 'feed_id'),
        migrator.drop_column('item', 'normalized_url'),
        migrator.drop_column('person', 'instant_alerts'),
        migrator.drop_column('person', 'digest'),
        migrator.drop_column('person', 'kinds'),
        migrator.drop_column('person', 'networks'),
        migrator.drop_column('person', 'left_at'),
        migrator.drop_table('suggestion'),
        migrator.drop_table('setting'),
        migrator.drop_table('feed'),
        migrator.drop_table('audit_log'),
    )
