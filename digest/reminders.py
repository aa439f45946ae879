"""Monthly reminders: a short note to members who asked for one
(``Person.reminders``, off by default) and have not shared for 30 days,
with the three newest items meant for them and one-click share buttons
(the digest's, from source "reminder").

At most one a month per person, whatever crashes or restarts happen: each
person's row in the mail ledger for the month (kind "reminder") is written
as their message is handed to the mail server, as the digest's is for its
week; one sender at a time (a send lease), and a message in doubt (in
flight when its sender stopped) is named, never sent again by itself. Never to
people who left the company or the programme (``Person.members``), nor to
anyone who joined less than 30 days ago (they have not had the time).
"""

import datetime
import logging
import time
from zoneinfo import ZoneInfo

from digest.delivery import deliver
from digest.links import MailLinks
from digest.render import reminder_message, reminder_message_id, templates
from digest.send import BATCH, Report, batches
from intranet_plugin.content.audiences import audience_of, viewer
from intranet_plugin.mail.ledger import CLAIM_LEASE, Ledger, SendLease, claim_owner
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.smtp import Mailer, MailError
from intranet_plugin.models import Item, MailLedger, Person, ShareEvent, utcnow
from intranet_plugin.people import membership

log = logging.getLogger(__name__)

QUIET_DAYS = 30
ITEMS = 3
# The newest shareable items each person's three are picked from: items
# meant only for a few people further back are left out.
CANDIDATES = 200


def month_of(moment, timezone):
    """The month ("2026-04") of a naive UTC moment in ``timezone``."""
    return moment.replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def due(now):
    """Members who asked for reminders, have an address, joined at least 30
    days ago, and have neither a counted share nor a reminder in the last
    30 days (so that the end of one month and the start of the next do not
    bring two)."""
    quiet_since = now - datetime.timedelta(days=QUIET_DAYS)
    shared = ShareEvent.counted().select(ShareEvent.person).where(ShareEvent.created_at > quiet_since)
    reminded = MailLedger.select(MailLedger.person).where(
        (MailLedger.kind == "reminder") & (MailLedger.status == "sent") & (MailLedger.sent_at > quiet_since))
    return membership.sharing_members().where((Person.reminders == True) & (Person.email != "")  # noqa: E712
                                  & (Person.joined_at <= quiet_since) & Person.id.not_in(shared)
                                  & Person.id.not_in(reminded))


class Newest:
    """The newest shareable items, and each person's three of them (meant
    for them: ``Audience.admits``, the same rule as the share page's)."""

    def __init__(self, now):
        self.items = list(Item.shareable(now).order_by(Item.publish_at.desc(), Item.id.desc()).limit(CANDIDATES))
        self.audiences = audience_of([i.id for i in self.items])

    def of(self, person):
        sees = viewer(person)
        return [i for i in self.items if self.audiences[i.id].admits(sees)][:ITEMS]


def send_reminders(app, month=None, dry_run=False, *, mailer=None, now=None, batch_size=BATCH,
                   lease=CLAIM_LEASE):
    """Send this month's reminder to everyone due who has not had it yet.
    ``dry_run`` builds every message and reports, but claims and sends
    nothing. Returns a Report; a run stopped early says why in
    ``report.error``."""
    started = time.monotonic()
    now = now or utcnow()
    month = month or month_of(now, app.config["TIMEZONE"])
    report = Report("reminders", month, dry_run)
    with mail_context(app):
        run = _Run(app, month, now, dry_run, mailer, report, lease)
        if not dry_run and not run.send_lease.acquire():
            report.busy_holder, report.busy_until = run.send_lease.holder, run.send_lease.until
            return report
        try:
            for row in run.ledger.in_doubt().join(Person).select(MailLedger, Person.username):
                report.doubted(row.person.username, row)
            for people in batches(due(now), batch_size):
                run.batch(people)
        except MailError as exc:
            report.error = str(exc)
            log.error("reminders %s stopped: %s", month, exc)
        finally:
            run.close()
    report.seconds = time.monotonic() - started
    return report


class _Run:
    def __init__(self, app, month, now, dry_run, mailer, report, lease):
        self.config = app.config
        self.month, self.dry_run, self.report = month, dry_run, report
        self.mailer, self.own_mailer = mailer, mailer is None
        self.links = MailLinks("reminder")
        self.compiled = templates(app)
        self.newest = Newest(now)
        self.owner = claim_owner()
        self.send_lease = SendLease("reminder", self.owner, lease)
        self.ledger = Ledger("reminder", period=month, owner=self.owner, lease=lease)

    def close(self):
        if not self.dry_run:
            self.send_lease.release()
        if self.own_mailer and self.mailer is not None:
            self.mailer.close()

    def batch(self, people):
        report, ledger = self.report, self.ledger
        rows = ledger.rows(p.id for p in people)
        for person in people:
            row = rows.get(person.id)
            state = ledger.state(row)
            if state == "doubt":  # named above, from the ledger
                continue
            if state == "done":
                report.earlier += 1
                continue
            items = self.newest.of(person)
            retry = state == "retry"
            if not items:
                report.skipped += 1
                if not self.dry_run:
                    ledger.skip([person.id], retry={person.id} if retry else ())
            elif self.dry_run:
                self._build(items, person)
                report.sent += 1
            else:
                self._deliver(items, person, retry)

    def _build(self, items, person):
        return reminder_message(items, person, self.month, self.links, self.compiled, self.config)

    def _deliver(self, items, person, retry):
        if self.mailer is None:
            self.mailer = Mailer.from_config(self.config)
        deliver(self.mailer, self.ledger, person.id, retry, lambda: self._build(items, person),
                reminder_message_id(person.id, self.month, self.config), self.report,
                name=person.username, what=f"reminder {self.month}", send_lease=self.send_lease)
