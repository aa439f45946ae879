"""Sending the weekly digest: exactly one per person and week.

The guarantee is the mail ledger's (see intranet_plugin.mail.ledger): one
sender at a time holds the digest's send lease; each person's message is
built first, and their row is written ("sending") right before the message
goes to the server; "sent" is recorded right after the server's 250, in one
transaction with the next person's "sending" (one commit per message). A
sender killed at any point leaves no row for the people it had not reached
(a rerun sends them) and at most one row "sending" (in doubt: named in
every run's summary and left to the operator, see ``ambassador mail
resolve``). A temporary failure is tried again by the next run, and when
the mail server cannot be reached at all the run stops and a rerun
continues with everyone left. Next week's digest covers the same ground as
a missed one.

People are read in batches of ids; each batch costs a fixed number of
aggregate queries (see build.Batch), run by a helper thread while the batch
before is sent, and each message is built, sent and dropped before the
next, so memory does not grow with the number of people.
The next message is built and flattened while the server takes the last
one's data; each item's section is rendered once per language and set of
networks (see render.Week.item).
"""

import datetime
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from digest.build import Batch, Leaderboard, Windows
from digest.links import MailLinks
from digest.render import (
    Week,
    digest_message,
    digest_message_id,
    render_digest,
    templates,
)
from intranet_plugin import db as database
from intranet_plugin.analytics import milestones
from intranet_plugin.content.sharing import PREVIEW
from intranet_plugin.mail.ledger import CLAIM_LEASE, TEMPORARY, Ledger, SendLease
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.smtp import (
    Mailer,
    MailError,
    MailServerUnavailable,
    PermanentFailure,
    Taken,
    TemporaryFailure,
)
from intranet_plugin.models import Person, db, utcnow
from intranet_plugin.people import membership

log = logging.getLogger(__name__)

BATCH = 500
# The first page: sending starts once it is read (measured at 1,000 people: a
# page of 500 took 0.27 s to read, a twentieth of the run; one of 50, 0.04 s).
FIRST_PAGE = 50
LISTED = 100  # failures and messages in doubt named in a report; the rest are counted


def week_of(moment, timezone):
    """The ISO week ("2026-W05") of a naive UTC moment in ``timezone``."""
    local = moment.replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(timezone))
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Report:
    """What a run did; ``summary()`` says it in a few lines."""

    kind: str = "digest"
    week: str = ""
    dry_run: bool = False
    sent: int = 0
    skipped: int = 0  # nothing new and nothing to report
    failed: int = 0  # refused for good (5xx) or could not be built
    deferred: int = 0  # temporary failures: the next run tries again
    earlier: int = 0  # done by an earlier run (sent, skipped or failed)
    busy: int = 0  # handed over by another sender during this run
    busy_holder: str = ""  # the live sender holding the send lease: this run did nothing
    busy_until: object = None
    doubt_count: int = 0  # handed over by a sender that stopped: fate unknown, never sent again by itself
    doubt: list = field(default_factory=list)  # the first of them: (name, handed over at, by, round)
    errors: list = field(default_factory=list)  # (username, error)
    error: str = ""  # why the run stopped early
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.error and not self.failed and not self.deferred

    def note(self, username, text):
        if len(self.errors) < LISTED:
            self.errors.append((username, text))

    def doubted(self, name, row):
        self.doubt_count += 1
        if len(self.doubt) < LISTED:
            self.doubt.append((name, row.claimed_at, row.claimed_by, row.period or str(row.item_id or "")))

    def summary(self):
        what = {"digest": f"Weekly digest {self.week}", "alerts": "Instant alerts",
                "reminders": f"Monthly reminders {self.week}"}.get(self.kind, self.kind)
        if self.busy_holder:
            return (f"{what}: another sender ({self.busy_holder}) is sending right now, its lease runs until "
                    f"{self.busy_until:%Y-%m-%d %H:%M:%S} UTC; this run sent nothing.")
        verb = "would send" if self.dry_run else "sent"
        counts = [f"{self.sent} {verb}", f"{self.skipped} skipped (nothing new)", f"{self.failed} failed",
                  f"{self.deferred} deferred (temporary failure)", f"{self.earlier} done earlier",
                  f"{self.doubt_count} in doubt"]
        if self.busy:
            counts.append(f"{self.busy} taken by another sender")
        lines = [f"{what}: {', '.join(counts)} ({self.seconds:.1f} s)."]
        if self.doubt:
            option = " --kind alert" if self.kind == "alerts" else ""
            lines.append("In doubt, not sent again: the sender stopped while the message was with the mail server. "
                         "Check the server's log, then run `ambassador mail resolve --sent NAME` (it went out) "
                         "or `ambassador mail resolve --resend NAME` (it did not; the next run sends it)"
                         + (f", adding{option} --round ROUND" if option else "") + ":")
            lines += [f"  {name}: handed over {at:%Y-%m-%d %H:%M:%S} UTC by {by}"
                      + (f" (round {round_})" if option else "") for name, at, by, round_ in self.doubt]
        if self.errors:
            lines.append("Failures:")
            lines += [f"  {name}: {text}" for name, text in self.errors]
        if self.error:
            lines.append(f"Stopped: {self.error}")
        return "\n".join(lines)


def recipients():
    """Who gets the weekly digest: members who may share (a pilot's
    members who left its group get none)."""
    return membership.sharing_members().where((Person.digest == "weekly") & (Person.email != ""))


def batches(query, size, first=None):
    """``query`` in batches of ``size`` people, by id (keyset paging); the
    first batch of ``first`` people when given."""
    last, limit = 0, first or size
    while True:
        people = list(query.where(Person.id > last).order_by(Person.id).limit(limit))
        if not people:
            return
        yield people
        last, limit = people[-1].id, size


def send_weekly(app, week=None, dry_run=False, *, mailer=None, now=None, batch_size=BATCH,
                lease=CLAIM_LEASE):
    """Send this week's digest to every member who has not had it yet.

    ``week`` ("2026-W05") defaults to the current ISO week in
    AMBASSADOR_TIMEZONE; ``dry_run`` builds every message and reports, but
    claims and sends nothing. ``mailer`` (tests, benchmarks) replaces the
    configured server. Returns a Report; a run stopped early says why in
    ``report.error``.
    """
    started = time.monotonic()
    now = now or utcnow()
    week = week or week_of(now, app.config["TIMEZONE"])
    report = Report("digest", week, dry_run)
    with mail_context(app), database.scan_cache():
        own_mailer = mailer is None and not dry_run
        ledger = Ledger("digest", period=week, lease=lease)
        send_lease = None if dry_run else SendLease("digest", ledger.owner, lease)
        if send_lease is not None and not send_lease.acquire():
            report.busy_holder, report.busy_until = send_lease.holder, send_lease.until
            log.warning("digest %s: another sender (%s) is at work; nothing sent", week, send_lease.holder)
            return report
        try:
            if own_mailer:
                mailer = Mailer.from_config(app.config)
            run = _WeeklyRun(app, week, now, dry_run, mailer, report, ledger, send_lease)
            # A small first page: nothing is sent before it is read, and
            # the helper reads each later page while one is sent.
            run.run(batches(recipients(), batch_size, first=min(batch_size, FIRST_PAGE)))
        except MailError as exc:
            report.error = str(exc)
            log.error("digest %s stopped: %s", week, exc)
        finally:
            if own_mailer and mailer is not None:
                mailer.close()
            if send_lease is not None:
                send_lease.release()
    report.seconds = time.monotonic() - started
    if report.doubt:
        log.warning("digest %s: %d in doubt (handed over by a sender that stopped): %s", week,
                    report.doubt_count, ", ".join(name for name, *_ in report.doubt))
    return report


class _WeeklyRun:
    def __init__(self, app, week, now, dry_run, mailer, report, ledger, send_lease):
        self.app, self.config = app, app.config
        self.week, self.dry_run, self.mailer, self.report = week, dry_run, mailer, report
        self.windows = Windows(now)
        self.words = Week(self.windows)
        self.links = MailLinks()
        self.compiled = templates(app)
        self.leaderboard = Leaderboard()
        self.ledger, self.send_lease = ledger, send_lease
        # Milestones each digest announces, marked announced with its 'sent'.
        self.milestones = {}

    def run(self, pages):
        """Send to each page of people (a list of Person) in turn. The next
        page and what its digests say (``_read``) are read by a helper
        thread, on a connection of its own, while this page is sent: the
        mail server would otherwise wait for those queries. They touch
        other people's rows than this page's messages do."""
        with ThreadPoolExecutor(1, thread_name_prefix="digest-read") as helper:
            try:
                ahead = helper.submit(self._read, pages)
                while (page := ahead.result()) is not None:
                    ahead = helper.submit(self._read, pages)
                    self.batch(*page)
            finally:
                helper.submit(db.close).result()

    def _read(self, pages):
        """The next page of people, their ledger rows and their ``Batch``
        (None when no one is left)."""
        with self.app.app_context(), database.scan_cache():
            people = next(pages, None)
            if people is None:
                return None
            rows = self.ledger.rows(p.id for p in people)
            todo = [p for p in people if self.ledger.state(rows.get(p.id)) in ("open", "retry")]
            data = (Batch(todo, self.week, self.windows, self.leaderboard, self.config["DIGEST_MAX_ITEMS"])
                    if todo else None)
            return people, rows, data

    def batch(self, people, rows, data):
        report = self.report
        todo, retry = [], set()
        for person in people:
            row = rows.get(person.id)
            state = self.ledger.state(row)
            if state in ("open", "retry"):
                todo.append(person)
                if state == "retry":
                    retry.add(person.id)
            elif state == "doubt":
                report.doubted(person.username, row)
            else:
                report.earlier += 1
        if not todo:
            return
        digests, empty = [], []
        for person in todo:
            digest = data.digest(person)
            if digest.empty:
                report.skipped += 1
                empty.append(person.id)
            elif self.dry_run:
                self.build(digest)
                report.sent += 1
            else:
                digests.append(digest)
        if not self.dry_run:
            if empty:
                self.ledger.skip(empty, retry)
            self._send(digests, retry)

    def build(self, digest):
        return digest_message(digest, self.week, self.words, self.links, self.compiled, self.config)

    def _messages(self, digests, retry, people):
        """Each person's message, built as the mailer asks for the next one
        (nobody is claimed here: see ``_hand_over``)."""
        report = self.report
        for digest in digests:
            person = digest.person
            try:
                message = self.build(digest)
            except Exception as exc:  # one person's broken digest must not stop everyone else's
                log.exception("digest %s for %s could not be built", self.week, person.username)
                self.ledger.settle(person.id, f"could not be built: {exc}", person.id in retry)
                report.failed += 1
                report.note(person.username, f"could not be built: {exc}")
                continue
            people[person.id] = person
            self.milestones[person.id] = [m.id for m in digest.impact.milestones]
            yield person.id, message

    def _hand_over(self, person_id):
        """Right before the person's message goes to the server. The
        previous message's acceptance, read just before, is recorded in the
        same transaction: one commit per message."""
        self.send_lease.keep()
        with db.atomic():
            self._record_accepted()
            return self.ledger.hand_over(person_id, person_id in self._retry,
                                         message_id=digest_message_id(person_id, self.week, self.config))

    def _record_accepted(self):
        if self._accepted is not None:
            person_id, tries, announced = self._accepted
            self._accepted = None
            self.ledger.settle(person_id, tries)
            if announced:
                milestones.mark_announced(announced)

    def _send(self, digests, retry):
        people, self._retry, self._accepted = {}, retry, None
        try:
            for person_id, outcome in self.mailer.send_all(self._messages(digests, retry, people),
                                                           hand_over=self._hand_over):
                self._settle(people.pop(person_id), outcome)
        except MailServerUnavailable:
            # On a retry, nothing reached a server: the claim goes, so a
            # rerun sends it.
            self.ledger.release(people)
            raise
        finally:
            self._record_accepted()

    def _settle(self, person, outcome):
        report = self.report
        if isinstance(outcome, Taken):
            report.busy += 1
            return
        if isinstance(outcome, PermanentFailure):
            report.failed += 1
            report.note(person.username, str(outcome))
        elif isinstance(outcome, TemporaryFailure):
            report.deferred += 1
            report.note(person.username, TEMPORARY + str(outcome))
        else:
            report.sent += 1
            # Recorded with the next message's hand-over, which follows at
            # once (or when the batch ends), with its milestones announced.
            self._accepted = (person.id, outcome, self.milestones.pop(person.id, ()))
            return
        self.milestones.pop(person.id, None)
        self.ledger.settle(person.id, outcome, person.id in self._retry)


def preview(app, person, now=None, week=None):
    """(subject, html, text, digest) of ``person``'s digest as it would be
    sent now; nothing is claimed, recorded or sent."""
    now = now or utcnow()
    week = week or week_of(now, app.config["TIMEZONE"])
    with mail_context(app):
        windows = Windows(now)
        data = Batch([person], week, windows, Leaderboard(), app.config["DIGEST_MAX_ITEMS"])
        digest = data.digest(person)
        subject, html, text = render_digest(digest, Week(windows), MailLinks(PREVIEW), templates(app))
    return subject, html, text, digest


__all__ = ["Report", "send_weekly", "preview", "week_of", "digest_message_id", "CLAIM_LEASE"]
