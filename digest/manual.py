"""The digest by hand, from the admin pages: a test to oneself, the weekly
send started now, and what the schedule and the ledger say.

"Send to everyone now" runs ``send.send_weekly``, the scheduler's own send
path with its exactly-once ledger: whoever has had this week's digest (from
the scheduler, an earlier press or the command line) is not sent it again,
and two presses at once cannot send anyone two. The run goes on in a thread
of its own, so the page answers at once; it is recorded in a ``JobLease`` row
(``SEND_NOW``), whose start without an end says a run is under way, and the
ledger's rows say how far it got. A process stopped mid-run leaves that
start open: after ``RUN_LEASE`` the page takes it for stopped and another run may start (the ledger still
sends nobody twice).

A test goes to the admin alone, outside the ledger (the week's real digest
still goes out), built like the preview (``send.preview``), so its share
buttons are the preview's.
"""

import datetime
import logging
import threading
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from digest.send import preview, recipients, send_weekly, week_of
from intranet_plugin.i18n import locale_of
from intranet_plugin.mail.ledger import Ledger, doubts, round_counts
from intranet_plugin.mail.smtp import NoAddress  # noqa: F401 (what send_test raises)
from intranet_plugin.mail.smtp import send_test as mail_test
from intranet_plugin.models import JobLease, MailLedger, db, utcnow
from intranet_plugin.scheduler import next_digest_time

log = logging.getLogger(__name__)

SEND_NOW = "digest-send-now"
RUN_LEASE = datetime.timedelta(hours=1)


def send_test(app, person, admin):
    """Send ``person``'s digest as it would be sent now to ``admin``'s own
    address, marked as a test (mail.smtp.send_test). Returns the subject.
    Raises NoAddress, or the mail layer's MailError."""
    subject, html, text, _digest = preview(app, person)
    note = _l("This is a test: the digest of %(name)s as it would be sent now. Its share buttons record nothing.",
              name=person.display_name)
    return mail_test(admin, subject, text, html, note, config=app.config, language=locale_of(person))


@dataclass
class Run:
    """The last run started from the admin pages."""

    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    started_by: str = ""
    outcome: str = ""  # why the run stopped early, if it did
    expires_at: datetime.datetime | None = None  # a run not finished by then is taken for stopped

    @property
    def running(self):
        return (self.started_at is not None and self.finished_at is None
                and self.expires_at is not None and utcnow() < self.expires_at)


def last_run():
    row = JobLease.get_or_none(JobLease.name == SEND_NOW)
    if row is None:
        return Run()
    return Run(row.last_started_at, row.last_finished_at, row.holder, row.last_error, row.expires_at)


def _take(admin, now):
    """Mark a run as started by ``admin``; False when one is under way
    (an atomic update, so that two presses at once start one run)."""
    with db.atomic():
        JobLease.insert(name=SEND_NOW, holder="", expires_at=now).on_conflict_ignore().execute()
        taken = (JobLease.update(holder=admin.username, last_started_at=now, last_finished_at=None,
                                 last_error="", expires_at=now + RUN_LEASE)
                 .where((JobLease.name == SEND_NOW)
                        & (JobLease.last_started_at.is_null() | JobLease.last_finished_at.is_null(False)
                           | (JobLease.expires_at <= now)))
                 .execute())
    return taken == 1


def _finish(outcome):
    JobLease.update(last_finished_at=utcnow(), last_error=outcome).where(JobLease.name == SEND_NOW).execute()


def start_send_now(app, admin):
    """Start this week's digest for everyone who has not had it, in a thread
    of its own (returned); None when a run started here is still under way."""
    if not _take(admin, utcnow()):
        return None

    def work():
        with app.app_context():
            try:
                report = send_weekly(app)
                _finish(report.error)  # what stopped the run, if anything; the ledger has the rest
            except Exception as exc:  # recorded for the page, and logged for IT
                log.exception("digest sent from the admin pages stopped")
                _finish(f"{type(exc).__name__}: {exc}")
            finally:
                db.close()

    thread = threading.Thread(target=work, name="digest-send-now", daemon=True)
    thread.start()
    return thread


@dataclass
class Schedule:
    """What the admin's digest page says about sending."""

    next_at: datetime.datetime  # in the configured time zone
    timezone: str
    week: str  # the ISO week a run now would send
    waiting: int  # people who would still be sent this week's digest (or skipped: nothing new)
    counts: dict  # this week's ledger rows by outcome (see ledger.round_counts)
    last_sent_at: datetime.datetime | None  # naive UTC, as stored
    run: Run
    doubts: int = 0  # messages in doubt, of any kind of mail (see ledger.doubts)


def schedule(app, now=None):
    now = now or utcnow()
    zone = app.config["TIMEZONE"]
    week = week_of(now, zone)
    last = (MailLedger.select(MailLedger.sent_at).where((MailLedger.kind == "digest") & (MailLedger.status == "sent"))
            .order_by(MailLedger.sent_at.desc()).limit(1).scalar())
    return Schedule(
        next_at=next_digest_time(app.config, now),
        timezone=zone,
        week=week,
        waiting=Ledger("digest", period=week).open_to(recipients()).count(),
        counts=round_counts("digest", week),
        last_sent_at=last,
        run=last_run(),
        doubts=len(doubts()),
    )
