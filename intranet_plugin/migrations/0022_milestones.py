"""Milestones a person reached (first share, first click, 10/100/1,000
points, first applicant, streaks of 4 and 12 weeks), kept so that the digest
announces each one once.

Frozen copy of the model, independent of models.py.
"""
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, Model


def _model(db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class Milestone(Model):
        person = ForeignKeyField(Person, on_delete='CASCADE')
        key = CharField(max_length=32)
        reached_at = DateField()
        announced_in_digest_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = 'milestone'
            indexes = ((('person', 'key'), True),)

    return Milestone


def up(migrator, db):
    db.create_tables([_model(db)])


def down(migrator, db):
    db.drop_tables([_model(db)])
