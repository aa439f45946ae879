"""One exactly-once ledger for every mail sent in rounds: the weekly digest's
``digest_ledger``, the instant alerts' ``alert_ledger`` and the monthly
report's claims (``setting`` rows keyed ``monthly_report:<month>:<address>``)
move into ``mail_ledger``, every row kept (who got what, when, in which
state); the old tables and rows go.

Frozen copies of the models, independent of models.py.
"""
import datetime
import json

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, Table, TextField

REPORT_PREFIX = "monthly_report:"
LEDGER_KEYS = {"digest": ("period", "person"), "alert": ("item", "person"), "report": ("period", "address")}


def _referenced(db):
    class Person(Model):
        class Meta:
            database = db
            table_name = 'person'

    class Item(Model):
        class Meta:
            database = db
            table_name = 'item'

    return Person, Item


def _models(db):
    Person, Item = _referenced(db)

    class MailLedger(Model):
        kind = CharField()
        period = CharField(default='')
        person = ForeignKeyField(Person, null=True, on_delete='CASCADE')
        item = ForeignKeyField(Item, null=True, on_delete='CASCADE')
        address = CharField(default='')
        status = CharField(default='claimed')
        attempts = IntegerField(default=0)
        error = TextField(default='')
        claimed_at = DateTimeField()
        claimed_by = CharField(default='')
        sent_at = DateTimeField(null=True)
        message_id = CharField(default='')

        class Meta:
            database = db
            table_name = 'mail_ledger'

    for kind, (round_name, recipient_name) in LEDGER_KEYS.items():
        MailLedger.add_index(MailLedger.index(getattr(MailLedger, round_name), getattr(MailLedger, recipient_name),
                                              unique=True, name=f'mail_ledger_{kind}')
                             .where(MailLedger.kind == kind))
    return MailLedger


def _moment(text):
    return datetime.datetime.fromisoformat(text) if text else None


def up(migrator, db):
    MailLedger = _models(db)
    db.create_tables([MailLedger])
    columns = "status, attempts, error, claimed_at, claimed_by, sent_at, message_id"
    db.execute_sql(f"INSERT INTO mail_ledger (kind, period, person_id, address, {columns}) "
                   f"SELECT 'digest', week, person_id, '', {columns} FROM digest_ledger")
    db.execute_sql("INSERT INTO mail_ledger (kind, period, person_id, item_id, address, status, attempts, error, "
                   "claimed_at, claimed_by, sent_at, message_id) "
                   "SELECT 'alert', '', person_id, item_id, '', status, 0, error, claimed_at, '', sent_at, '' "
                   "FROM alert_ledger")
    setting = Table('setting', ('key', 'value', 'updated_at')).bind(db)
    reports = setting.select(setting.key, setting.value, setting.updated_at).where(
        setting.key.startswith(REPORT_PREFIX))
    rows = []
    for key, value, updated_at in reports.tuples():
        month, _, address = key[len(REPORT_PREFIX):].partition(":")
        state = json.loads(value or "{}")
        at = _moment(state.get("at")) or updated_at
        rows.append({"kind": "report", "period": month, "address": address, "status": state.get("status", "claimed"),
                     "error": state.get("error", ""), "claimed_at": at, "claimed_by": state.get("by", ""),
                     "sent_at": at if state.get("status") == "sent" else None,
                     "message_id": state.get("message_id", ""), "attempts": 1 if state.get("status") == "sent" else 0})
    if rows:
        MailLedger.insert_many(rows).execute()
    setting.delete().where(setting.key.startswith(REPORT_PREFIX)).execute()
    migrator.migrate(
        migrator.drop_table('alert_ledger'),
        migrator.drop_table('digest_ledger'),
    )


def down(migrator, db):
    Person, Item = _referenced(db)

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

    db.create_tables([DigestLedger, AlertLedger])
    MailLedger = _models(db)
    columns = "status, attempts, error, claimed_at, claimed_by, sent_at, message_id"
    db.execute_sql(f"INSERT INTO digest_ledger (week, person_id, {columns}) "
                   f"SELECT period, person_id, {columns} FROM mail_ledger WHERE kind = 'digest'")
    db.execute_sql("INSERT INTO alert_ledger (person_id, item_id, status, error, claimed_at, sent_at) "
                   "SELECT person_id, item_id, status, error, claimed_at, sent_at FROM mail_ledger "
                   "WHERE kind = 'alert'")
    setting = Table('setting', ('key', 'value', 'updated_at')).bind(db)
    for row in MailLedger.select().where(MailLedger.kind == 'report'):
        state = {"status": row.status, "at": (row.sent_at or row.claimed_at).isoformat(), "by": row.claimed_by}
        state.update({name: getattr(row, name) for name in ("error", "message_id") if getattr(row, name)})
        setting.insert(key=f"{REPORT_PREFIX}{row.period}:{row.address}", value=json.dumps(state),
                       updated_at=row.sent_at or row.claimed_at).execute()
    migrator.migrate(migrator.drop_table('mail_ledger'))
