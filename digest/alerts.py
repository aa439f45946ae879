"""Instant alerts: an item an editor marks "share now" is e-mailed at once to
the members who asked for instant alerts, once per person and item.

``AlertLedger`` (unique on person and item) works like the digest's ledger
(see digest.send): a row is claimed before the message is built, a claim
left behind by a sender that stopped is never sent again, and a temporary
failure is tried again by the next run. The scheduler calls
``send_pending_alerts`` every few minutes; an item stops being alerted
``ALERT_WINDOW`` after it was marked, so that someone who turns alerts on
later is not sent old news.
"""

import datetime
import logging
import time

from peewee import JOIN

from digest.links import MailLinks, mail_context
from digest.render import alert_message, templates
from digest.send import (
    BATCH,
    CLAIM_LEASE,
    LISTED,
    TEMPORARY,
    Report,
)
from intranet_plugin.mail.smtp import (
    Mailer,
    MailError,
    MailServerUnavailable,
    PermanentFailure,
    TemporaryFailure,
)
from intranet_plugin.models import (
    AlertLedger,
    AuditLog,
    Item,
    Person,
    ShareEvent,
    utcnow,
)

log = logging.getLogger(__name__)

ALERT_WINDOW = datetime.timedelta(days=2)


def mark_share_now(item, actor, now=None):
    """Mark ``item`` for an instant alert; False when it already was."""
    now = now or utcnow()
    marked = (Item.update(share_now_at=now)
              .where((Item.id == item.id) & Item.share_now_at.is_null()).execute())
    if marked:
        item.share_now_at = now
        AuditLog.record(actor, "share-now", item, summary=item.title)
    return bool(marked)


def pending_items(now):
    return (Item.shareable(now)
            .where(Item.share_now_at.is_null(False) & (Item.share_now_at > now - ALERT_WINDOW))
            .order_by(Item.share_now_at, Item.id))


def _open(item):
    """Members who asked for alerts and have no settled row for ``item``."""
    return (Person.members()
            .select(Person, AlertLedger.status.alias("ledger_status"))
            .join(AlertLedger, JOIN.LEFT_OUTER,
                  on=(AlertLedger.person == Person.id) & (AlertLedger.item == item.id))
            .where((Person.instant_alerts == True) & (Person.email != "")  # noqa: E712
                   & (AlertLedger.id.is_null()
                      | ((AlertLedger.status == "failed") & AlertLedger.error.startswith(TEMPORARY)))))


def send_pending_alerts(app, *, mailer=None, now=None, batch_size=BATCH, lease=CLAIM_LEASE):
    """Send every alert still due; returns a Report. The mail server is only
    contacted when there is something to send."""
    started = time.monotonic()
    now = now or utcnow()
    report = Report("alerts")
    items = list(pending_items(now))
    if not items:
        return report
    with mail_context(app):
        run = _AlertRun(app, mailer, report)
        try:
            for item in items:
                run.item(item, now, batch_size, lease)
        except MailError as exc:
            report.error = str(exc)
            log.error("instant alerts stopped: %s", exc)
        finally:
            run.close()
    report.seconds = time.monotonic() - started
    return report


class _AlertRun:
    def __init__(self, app, mailer, report):
        self.config = app.config
        self.mailer, self.own_mailer = mailer, mailer is None
        self.report = report
        self.links = MailLinks()
        self.compiled = templates(app)

    def close(self):
        if self.own_mailer and self.mailer is not None:
            self.mailer.close()

    def item(self, item, now, batch_size, lease):
        report = self.report
        stale = AlertLedger.select().where((AlertLedger.item == item.id) & (AlertLedger.status == "claimed")
                                           & (AlertLedger.claimed_at < utcnow() - lease)).count()
        report.stale_count += stale
        last = 0
        while True:
            people = list(_open(item).where(Person.id > last).order_by(Person.id).limit(batch_size).objects())
            if not people:
                return
            last = people[-1].id
            shared = {pid for (pid,) in ShareEvent.select(ShareEvent.person).distinct().where(
                (ShareEvent.item == item.id) & ShareEvent.person.in_([p.id for p in people])).tuples()}
            for person in people:
                retry = person.ledger_status is not None
                if person.id in shared or (person.kinds and item.kind not in person.kinds):
                    self._settle(person, item, retry, status="skipped")
                    report.skipped += 1
                elif self._claim(person, item, retry):
                    self._deliver(person, item)
                else:
                    report.busy += 1

    def _row(self, person, item):
        return (AlertLedger.person == person.id) & (AlertLedger.item == item.id)

    def _claim(self, person, item, retry, status="claimed"):
        if retry:
            return bool(AlertLedger.update(status=status, claimed_at=utcnow(), error="")
                        .where(self._row(person, item) & (AlertLedger.status == "failed")).execute())
        return bool(AlertLedger.insert(person=person.id, item=item.id, status=status, claimed_at=utcnow())
                    .on_conflict_ignore().as_rowcount().execute())

    _settle = _claim

    def _record(self, person, item, **fields):
        AlertLedger.update(**fields).where(self._row(person, item) & (AlertLedger.status == "claimed")).execute()

    def _deliver(self, person, item):
        report = self.report
        try:
            message = alert_message(item, person, self.links, self.compiled, self.config)
        except Exception as exc:  # one broken message must not stop the others
            log.exception("alert for item %s to %s could not be built", item.id, person.username)
            self._record(person, item, status="failed", error=f"could not be built: {exc}")
            report.failed += 1
            report.note(person.username, f"could not be built: {exc}")
            return
        if self.mailer is None:
            self.mailer = Mailer.from_config(self.config)
        try:
            self.mailer.send(message)
        except PermanentFailure as exc:
            self._record(person, item, status="failed", error=str(exc))
            report.failed += 1
            report.note(person.username, str(exc))
        except TemporaryFailure as exc:
            self._record(person, item, status="failed", error=TEMPORARY + str(exc))
            report.deferred += 1
            report.note(person.username, TEMPORARY + str(exc))
        except MailServerUnavailable:
            AlertLedger.delete().where(self._row(person, item) & (AlertLedger.status == "claimed")).execute()
            raise
        else:
            self._record(person, item, status="sent", sent_at=utcnow())
            report.sent += 1


__all__ = ["send_pending_alerts", "mark_share_now", "ALERT_WINDOW", "LISTED"]
