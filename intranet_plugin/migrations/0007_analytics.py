"""Analytics: daily click totals (retention roll-up), conversions reported
by the careers site, API keys, and auditable prize draws.

Frozen copies of the models as they were, independent of models.py.
"""
from peewee import BooleanField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class Campaign(Model):
        class Meta:
            database = db
            table_name = 'campaign'

    class TrackedLink(Model):
        class Meta:
            database = db
            table_name = 'tracked_link'

    class ClickDaily(Model):
        day = DateField()
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE')
        kind = CharField()
        is_self = BooleanField(default=False)
        clicks = IntegerField(default=0)
        visitors = IntegerField(default=0)

        class Meta:
            database = db
            table_name = 'click_daily'
            indexes = ((('link', 'day', 'kind', 'is_self'), True), (('day',), False))

    class Conversion(Model):
        link = ForeignKeyField(TrackedLink, on_delete='CASCADE')
        kind = CharField(default='application')
        external_id = CharField()
        at = DateTimeField(index=True)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'conversion'
            indexes = ((('external_id', 'kind'), True),)

    class ApiKey(Model):
        name = CharField()
        key_hash = CharField(unique=True)
        scope = CharField(default='conversions')
        created_at = DateTimeField()
        created_by = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'api_key'

    class PrizeDraw(Model):
        campaign = ForeignKeyField(Campaign, on_delete='CASCADE')
        seed = CharField()
        participants = TextField(default='[]')
        winners = TextField(default='[]')
        method = TextField(default='')
        drawn_by = ForeignKeyField(Person, null=True, on_delete='SET NULL')
        drawn_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'prize_draw'

    db.create_tables([ClickDaily, Conversion, ApiKey, PrizeDraw])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table('prize_draw'),
        migrator.drop_table('api_key'),
        migrator.drop_table('conversion'),
        migrator.drop_table('click_daily'),
    )
