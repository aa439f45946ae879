"""The first schema: people, campaigns, items, tracked links, shares, clicks.

Frozen copies of the models as they were, independent of models.py.
"""
from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Campaign(Model):
        slug = CharField(unique=True)
        name = CharField()
        hashtag = CharField(default='')
        description = TextField(default='')
        starts_at = DateTimeField(null=True)
        ends_at = DateTimeField(null=True)
        goal = CharField(default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'campaign'
    db.create_tables([Campaign])

    class Person(Model):
        username = CharField(unique=True)
        display_name = CharField()
        email = CharField(default='')
        department = CharField(default='')
        role = CharField(default='employee')
        locale = CharField(null=True)
        is_active = BooleanField(default=True)
        joined_at = DateTimeField(null=True)
        show_on_leaderboard = BooleanField(default=False)
        ref = CharField(unique=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'person'
    db.create_tables([Person])

    class Item(Model):
        kind = CharField(index=True)
        slug = CharField(unique=True)
        title = CharField()
        summary = TextField(default='')
        url = TextField()
        image_url = TextField(default='')
        caption = TextField(default='')
        captions = TextField(default='{}')
        hashtags = CharField(default='')
        language = CharField(default='en')
        campaign = ForeignKeyField(Campaign, null=True, on_delete='SET NULL')
        status = CharField(index=True, default='published')
        pinned = BooleanField(default=False)
        publish_at = DateTimeField(index=True)
        expires_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'item'
    db.create_tables([Item])

    class TrackedLink(Model):
        code = CharField(unique=True, max_length=16)
        person = ForeignKeyField(Person, on_delete='CASCADE')
        item = ForeignKeyField(Item, on_delete='CASCADE')
        network = CharField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'tracked_link'
            indexes = ((('person', 'item', 'network'), True),)
    db.create_tables([TrackedLink])

    class Click(Model):
        event_id = CharField(unique=True, max_length=48)
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE')
        at = DateTimeField(index=True)
        day = DateField()
        kind = CharField()
        visitor = CharField(max_length=32)
        referrer_host = CharField(default='')
        is_self = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'click'
    db.create_tables([Click])

    class ShareEvent(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        item = ForeignKeyField(Item, on_delete='CASCADE')
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE')
        network = CharField()
        source = CharField(default='web')
        visitor = CharField(null=True)
        day = DateField()
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'share_event'
    db.create_tables([ShareEvent])

    class VisitorSalt(Model):
        day = DateField(primary_key=True)
        salt = CharField()
        class Meta:
            database = db
            table_name = 'visitor_salt'
    db.create_tables([VisitorSalt])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('visitor_salt'))
    migrator.migrate(migrator.drop_table('share_event'))
    migrator.migrate(migrator.drop_table('click'))
    migrator.migrate(migrator.drop_table('tracked_link'))
    migrator.migrate(migrator.drop_table('item'))
    migrator.migrate(migrator.drop_table('person'))
    migrator.migrate(migrator.drop_table('campaign'))
