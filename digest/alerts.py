"""Instant alerts: an item an editor marks "share now" is e-mailed at once to
the members who asked for instant alerts, once per person and item.

The mail ledger (see intranet_plugin.mail.ledger) keeps it to one per person
and item: one sender at a time holds the alerts' send lease, a person's row
is written right before their message's data goes to the server, a message
left in doubt by a sender that stopped is never sent again by itself (it is
named in every run's summary), and a temporary failure is tried again by
the next run. The scheduler calls
``send_pending_alerts`` every few minutes; an item stops being alerted
``ALERT_WINDOW`` after it was marked, so that someone who turns alerts on
later is not sent old news.
"""

import datetime
import logging
import time

from digest.delivery import deliver
from digest.links import MailLinks
from digest.render import alert_message, alert_message_id, templates
from digest.send import BATCH, LISTED, Report
from intranet_plugin.content.audiences import audience_of, viewer
from intranet_plugin.mail.ledger import CLAIM_LEASE, Ledger, SendLease, claim_owner
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.smtp import Mailer, MailError
from intranet_plugin.models import (
    AuditLog,
    Item,
    MailLedger,
    Person,
    ShareEvent,
    utcnow,
)
from intranet_plugin.people import membership

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
        run = _AlertRun(app, mailer, report, lease)
        if not run.send_lease.acquire():
            report.busy_holder, report.busy_until = run.send_lease.holder, run.send_lease.until
            return report
        try:
            for item in items:
                run.item(item, now, batch_size, lease)
        except MailError as exc:
            report.error = str(exc)
            log.error("instant alerts stopped: %s", exc)
        finally:
            run.close()
    report.seconds = time.monotonic() - started
    if report.doubt:
        log.warning("instant alerts: %d in doubt (handed over by a sender that stopped): %s",
                    report.doubt_count, ", ".join(f"{name} (item {round_})" for name, _, _, round_ in report.doubt))
    return report


class _AlertRun:
    def __init__(self, app, mailer, report, lease):
        self.config = app.config
        self.mailer, self.own_mailer = mailer, mailer is None
        self.report = report
        self.links = MailLinks("alert")
        self.compiled = templates(app)
        self.owner = claim_owner()
        self.send_lease = SendLease("alert", self.owner, lease)

    def close(self):
        self.send_lease.release()
        if self.own_mailer and self.mailer is not None:
            self.mailer.close()

    def item(self, item, now, batch_size, lease):
        report = self.report
        ledger = Ledger("alert", item=item.id, owner=self.owner, lease=lease)
        for row in ledger.in_doubt().join(Person).select(MailLedger, Person.username):
            report.doubted(row.person.username, row)
        # Members who asked for alerts and have no settled row for the item.
        audience = audience_of([item.id])[item.id]
        wanting = membership.sharing_members().where((Person.instant_alerts == True) & (Person.email != ""))  # noqa: E712
        last = 0
        while True:
            people = list(ledger.open_to(wanting).where(Person.id > last).order_by(Person.id)
                          .limit(batch_size).objects())
            if not people:
                return
            last = people[-1].id
            shared = {pid for (pid,) in ShareEvent.counted().select(ShareEvent.person).distinct().where(
                (ShareEvent.item == item.id) & ShareEvent.person.in_([p.id for p in people])).tuples()}
            for person in people:
                retry = person.ledger_status is not None
                if (person.id in shared or (person.kinds and item.kind not in person.kinds)
                        or not audience.admits(viewer(person))):
                    ledger.skip([person.id], retry={person.id} if retry else ())
                    report.skipped += 1
                else:
                    self._deliver(ledger, person, item, retry)

    def _deliver(self, ledger, person, item, retry):
        if self.mailer is None:
            self.mailer = Mailer.from_config(self.config)
        deliver(self.mailer, ledger, person.id, retry,
                lambda: alert_message(item, person, self.links, self.compiled, self.config),
                alert_message_id(person.id, item.id, self.config), self.report,
                name=person.username, what=f"alert for item {item.id}", send_lease=self.send_lease)


__all__ = ["send_pending_alerts", "mark_share_now", "ALERT_WINDOW", "LISTED"]
