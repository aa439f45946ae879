"""The login throttle's table (sso.models.LoginAttempt), shared by every
worker process. Frozen copy of the model as it was."""
from peewee import CharField, DateTimeField, Model


def up(migrator, db):
    class LoginAttempt(Model):
        account = CharField(max_length=40, index=True)
        address = CharField(max_length=40, index=True)
        at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'login_attempt'
    db.create_tables([LoginAttempt])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('login_attempt'))
