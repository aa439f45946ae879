"""The exactly-once ledger of mail sent in rounds: the weekly digest (one per
person and ISO week), instant alerts (one per person and item) and the
monthly report (one per address and month), all in ``MailLedger``.

How it holds:

1. A recipient is **claimed** by INSERTing their row for the round before
   their message is built and sent. A unique index per kind lets one sender
   win; a second scheduler or a manual run at the same time finds the row
   and leaves that recipient alone ("busy").
2. The outcome is **settled** on the row: "sent" once the SMTP server has
   accepted the message, "failed" with the reply for a refusal for good,
   "failed" with an error starting "temporary: " when every try got a 4xx
   or lost the connection (nothing was delivered: the next run claims the
   row again), "skipped" when there was nothing to send.
3. A claim is **released** (its row deleted) when nothing went out because
   the mail server could not be reached at all, or the sender stopped
   before handing the message over; a rerun sends it.
4. A row left "claimed" means its sender stopped between claiming and
   settling, most likely while the message was with the SMTP server, so
   whether it went out is unknown. It is never sent again by itself: one
   missed message is better than two. Once older than ``CLAIM_LEASE`` it is
   **stale** (a younger one belongs to a sender probably still at work), and
   runs report it so that the operator can check the mail server's log.
"""

import datetime
import os
import socket
import uuid

from peewee import JOIN, SQL, Case, fn

from intranet_plugin.mail.smtp import MailError, TemporaryFailure
from intranet_plugin.models import LEDGER_KEYS, MailLedger, Person, utcnow

CLAIM_LEASE = datetime.timedelta(minutes=30)
TEMPORARY = "temporary: "


def claim_owner():
    """Who holds a claim: host, process and run, for the operator's eyes."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class Ledger:
    """The rows of one round: ``Ledger("digest", period="2026-W05")``,
    ``Ledger("alert", item=item_id)`` or ``Ledger("report", period="2026-04")``.

    Recipients are person ids (digest, alert) or addresses in lower case
    (report). Every change to a claimed row is made only by the run that
    holds the claim (``owner``).
    """

    def __init__(self, kind, *, period="", item=None, owner=None, lease=CLAIM_LEASE):
        round_name, recipient_name = LEDGER_KEYS[kind]
        self.kind, self.lease = kind, lease
        self.owner = owner or claim_owner()
        self._round = {round_name: item if round_name == "item" else period}
        self._recipient_name = recipient_name
        self._recipient = getattr(MailLedger, recipient_name)
        self._in_round = (MailLedger.kind == kind) & (getattr(MailLedger, round_name) == self._round[round_name])

    def _of(self, recipients):
        return self._in_round & self._recipient.in_(list(recipients))

    def _mine(self, recipients):
        return self._of(recipients) & (MailLedger.claimed_by == self.owner) & (MailLedger.status == "claimed")

    def _key(self, recipient):
        return {"kind": self.kind, **self._round, self._recipient_name: recipient}

    # -- reading ---------------------------------------------------------------

    def rows(self, recipients):
        """``{recipient: row}`` of those recipients that have a row."""
        column = self._recipient.column_name
        return {getattr(row, column): row for row in MailLedger.select().where(self._of(recipients))}

    def state(self, row):
        """What a run does with a recipient whose row is ``row`` (or None):
        "open" (claim it), "retry" (a temporary failure: claim it again),
        "busy" (another sender holds it), "stale" (a sender stopped while
        holding it: never sent again by itself) or "done"."""
        if row is None:
            return "open"
        if is_retry(row):
            return "retry"
        if row.status == "claimed":
            return "stale" if row.claimed_at < utcnow() - self.lease else "busy"
        return "done"

    def stale(self):
        """How many claims of this round are stale."""
        return MailLedger.select().where(self._in_round & (MailLedger.status == "claimed")
                                         & (MailLedger.claimed_at < utcnow() - self.lease)).count()

    def open_to(self, people):
        """``people`` (a Person query) narrowed to those this round can still
        claim: no row yet, or a temporary failure; each with
        ``ledger_status`` (None without a row)."""
        return (people.select_extend(MailLedger.status.alias("ledger_status"))
                .join(MailLedger, JOIN.LEFT_OUTER, on=(self._recipient == Person.id) & self._in_round)
                .where(MailLedger.id.is_null() | ((MailLedger.status == "failed")
                                                  & MailLedger.error.startswith(TEMPORARY))))

    # -- writing ---------------------------------------------------------------

    def claim(self, recipient, retry=False, **fields):
        """Take the recipient's row for this round; False when another
        sender has it. ``retry``: the row is a temporary failure, taken
        again. ``fields``: more columns to set (a Message-ID)."""
        mine = {"status": "claimed", "claimed_at": utcnow(), "claimed_by": self.owner, "error": "", **fields}
        if retry:
            return bool(MailLedger.update(**mine).where(
                self._of([recipient]) & (MailLedger.status == "failed")
                & MailLedger.error.startswith(TEMPORARY)).execute())
        return bool(MailLedger.insert(**self._key(recipient), **mine).on_conflict_ignore().as_rowcount().execute())

    def settle(self, recipients, outcome, **fields):
        """Record the outcome of the messages to ``recipients`` (claimed by
        this run): the number of tries the server took to accept them, a
        TemporaryFailure, or any other failure (an SMTP refusal for good,
        an exception building the message, a text)."""
        if isinstance(outcome, int):
            fields.update(status="sent", sent_at=utcnow(), attempts=MailLedger.attempts + outcome)
        else:
            error = str(outcome)
            if isinstance(outcome, TemporaryFailure):
                error = TEMPORARY + error
            fields.update(status="failed", error=error)
            if isinstance(outcome, MailError):
                fields["attempts"] = MailLedger.attempts + getattr(outcome, "tries", 1)
        MailLedger.update(**fields).where(self._mine(recipients)).execute()

    def skip(self, recipients, retry=()):
        """Record that ``recipients`` had nothing to be sent; those in
        ``retry`` have a temporary failure to overwrite."""
        stamp = utcnow()
        fresh = [r for r in recipients if r not in retry]
        if fresh:
            (MailLedger.insert_many([{**self._key(r), "status": "skipped", "claimed_at": stamp,
                                      "claimed_by": self.owner} for r in fresh])
             .on_conflict_ignore().execute())
        again = [r for r in recipients if r in retry]
        if again:
            (MailLedger.update(status="skipped", error="", claimed_at=stamp, claimed_by=self.owner)
             .where(self._of(again) & (MailLedger.status == "failed")).execute())

    def release(self, recipients):
        """Give up this run's claims on ``recipients``: nothing went out."""
        recipients = list(recipients)
        if recipients:
            MailLedger.delete().where(self._mine(recipients)).execute()


def is_retry(row):
    """A temporary failure: nothing was delivered, the next run tries again."""
    return row.status == "failed" and row.error.startswith(TEMPORARY)


def round_counts(kind, period):
    """How the rows of one round stand: {"sent", "skipped", "failed",
    "deferred" (temporary failures: the next run tries again), "pending"
    (with a sender now, or left there by one that stopped): count}."""
    deferred = (MailLedger.status == "failed") & MailLedger.error.startswith(TEMPORARY)
    outcome = Case(None, [(deferred, "deferred")], MailLedger.status)
    counts = dict.fromkeys(("sent", "skipped", "failed", "deferred", "pending"), 0)
    rows = (MailLedger.select(outcome, fn.COUNT(MailLedger.id))
            .where((MailLedger.kind == kind) & (MailLedger.period == period))
            .group_by(SQL("1")).tuples())  # by position: PostgreSQL matches no parameterised expression
    for status, n in rows:
        counts[status if status in counts else "pending"] += n
    return counts
