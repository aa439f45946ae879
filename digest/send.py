"""Sending the weekly digest: exactly one per person and week.

The guarantee is the mail ledger's (see intranet_plugin.mail.ledger): each
person is claimed for the week before their digest is built and sent, a
claim left behind by a sender that stopped is never sent again by itself
(a rerun reports it as stale), a temporary failure is tried again by the
next run, and when the mail server cannot be reached at all the run stops,
releases the claim at hand and a rerun continues with everyone left. Next
week's digest covers the same ground as a missed one.

"sent" is written for up to FLUSH_EVERY messages (or FLUSH_SECONDS) at once:
one statement instead of one per message. A process killed outright leaves
those rows "claimed", which errs on the side of never sending twice; an
exception inside the process still records them.

People are read in batches of ids; each batch costs a fixed number of
aggregate queries (see build.Batch), and each message is built, sent and
dropped before the next, so memory does not grow with the number of people.
"""

import datetime
import logging
import time
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
from intranet_plugin.analytics import milestones
from intranet_plugin.content.sharing import PREVIEW
from intranet_plugin.mail.ledger import CLAIM_LEASE, TEMPORARY, Ledger
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.smtp import (
    Mailer,
    MailError,
    MailServerUnavailable,
    PermanentFailure,
    TemporaryFailure,
)
from intranet_plugin.models import Person, utcnow

log = logging.getLogger(__name__)

BATCH = 500
LISTED = 100  # failures and stale claims named in a report; the rest are counted
FLUSH_EVERY = 50
FLUSH_SECONDS = 1.0


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
    busy: int = 0  # claimed by another sender right now
    stale_count: int = 0  # claims left by a sender that stopped: never sent again
    stale: list = field(default_factory=list)  # the first of them: (username, claimed_at, claimed_by)
    errors: list = field(default_factory=list)  # (username, error)
    error: str = ""  # why the run stopped early
    seconds: float = 0.0

    @property
    def ok(self):
        return not self.error and not self.failed and not self.deferred

    def note(self, username, text):
        if len(self.errors) < LISTED:
            self.errors.append((username, text))

    def summary(self):
        what = {"digest": f"Weekly digest {self.week}", "alerts": "Instant alerts"}.get(self.kind, self.kind)
        verb = "would send" if self.dry_run else "sent"
        lines = [f"{what}: {self.sent} {verb}, {self.skipped} skipped (nothing new), {self.failed} failed, "
                 f"{self.deferred} deferred (temporary failure), {self.earlier} done earlier, "
                 f"{self.busy} busy elsewhere, {self.stale_count} stale claims "
                 f"({self.seconds:.1f} s)."]
        if self.stale:
            lines.append("Stale claims, not sent again (the sender stopped while the message may have been "
                         "with the mail server; check its log before sending by hand):")
            lines += [f"  {name}: claimed {at:%Y-%m-%d %H:%M} UTC by {by}" for name, at, by in self.stale]
        if self.errors:
            lines.append("Failures:")
            lines += [f"  {name}: {text}" for name, text in self.errors]
        if self.error:
            lines.append(f"Stopped: {self.error}")
        return "\n".join(lines)


def recipients():
    """Who gets the weekly digest."""
    return Person.members().where((Person.digest == "weekly") & (Person.email != ""))


def batches(query, size):
    """``query`` in batches of ``size`` people, by id (keyset paging)."""
    last = 0
    while True:
        people = list(query.where(Person.id > last).order_by(Person.id).limit(size))
        if not people:
            return
        yield people
        last = people[-1].id


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
    with mail_context(app):
        own_mailer = mailer is None and not dry_run
        run = None
        try:
            if own_mailer:
                mailer = Mailer.from_config(app.config)
            run = _WeeklyRun(app, week, now, dry_run, mailer, report, lease)
            for people in batches(recipients(), batch_size):
                run.batch(people)
        except MailError as exc:
            report.error = str(exc)
            log.error("digest %s stopped: %s", week, exc)
        finally:
            if run is not None:
                try:
                    run.flush()
                except Exception:  # keep whatever stopped the run as the error that surfaces
                    log.exception("digest %s: could not record the last messages as sent", week)
            if own_mailer and mailer is not None:
                mailer.close()
    report.seconds = time.monotonic() - started
    return report


class _WeeklyRun:
    def __init__(self, app, week, now, dry_run, mailer, report, lease):
        self.config = app.config
        self.week, self.dry_run, self.mailer, self.report = week, dry_run, mailer, report
        self.windows = Windows(now)
        self.words = Week(self.windows)
        self.links = MailLinks()
        self.compiled = templates(app)
        self.leaderboard = Leaderboard()
        self.ledger = Ledger("digest", period=week, lease=lease)
        self.accepted, self.flushed_at = [], time.monotonic()
        # Milestones each digest announces, marked announced once it is sent.
        self.milestones, self.announced = {}, []

    def batch(self, people):
        report = self.report
        rows = self.ledger.rows(p.id for p in people)
        todo, retry = [], set()
        for person in people:
            row = rows.get(person.id)
            state = self.ledger.state(row)
            if state in ("open", "retry"):
                todo.append(person)
                if state == "retry":
                    retry.add(person.id)
            elif state == "stale":
                report.stale_count += 1
                if len(report.stale) < LISTED:
                    report.stale.append((person.username, row.claimed_at, row.claimed_by))
            elif state == "busy":
                report.busy += 1
            else:
                report.earlier += 1
        if not todo:
            return
        data = Batch(todo, self.week, self.windows, self.leaderboard, self.config["DIGEST_MAX_ITEMS"])
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
            self.flush()

    def build(self, digest):
        return digest_message(digest, self.week, self.words, self.links, self.compiled, self.config)

    def _messages(self, digests, retry, claimed):
        """Claim, then build, each person's message, as the mailer asks for
        the next one."""
        report = self.report
        for digest in digests:
            person = digest.person
            if not self.ledger.claim(person.id, person.id in retry,
                                     message_id=digest_message_id(person.id, self.week, self.config)):
                report.busy += 1
                continue
            try:
                message = self.build(digest)
            except Exception as exc:  # one person's broken digest must not stop everyone else's
                log.exception("digest %s for %s could not be built", self.week, person.username)
                self.ledger.settle([person.id], f"could not be built: {exc}")
                report.failed += 1
                report.note(person.username, f"could not be built: {exc}")
                continue
            claimed[person.id] = person
            self.milestones[person.id] = [m.id for m in digest.impact.milestones]
            yield person.id, message

    def _send(self, digests, retry):
        claimed, handed = {}, set()
        try:
            for person_id, outcome in self.mailer.send_all(self._messages(digests, retry, claimed),
                                                           started=handed.add):
                self._settle(claimed.pop(person_id), outcome)
        except MailServerUnavailable:
            # Nothing reached a server: the claims go, so a rerun sends them.
            self.ledger.release(claimed)
            raise
        except BaseException:
            # Claimed and built, but never handed to the server.
            self.ledger.release(pid for pid in claimed if pid not in handed)
            raise

    def _settle(self, person, outcome):
        report = self.report
        if isinstance(outcome, PermanentFailure):
            report.failed += 1
            report.note(person.username, str(outcome))
        elif isinstance(outcome, TemporaryFailure):
            report.deferred += 1
            report.note(person.username, TEMPORARY + str(outcome))
        else:
            report.sent += 1
            self.announced.extend(self.milestones.pop(person.id, ()))
            if outcome == 1:
                self.accepted.append(person.id)
                if len(self.accepted) >= FLUSH_EVERY or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
                    self.flush()
                return
        self.ledger.settle([person.id], outcome)

    def flush(self):
        """Record as sent what the server has accepted since the last flush."""
        if self.accepted:
            self.ledger.settle(self.accepted, 1)
            self.accepted = []
        if self.announced:
            milestones.mark_announced(self.announced)
            self.announced = []
        self.flushed_at = time.monotonic()


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
