"""The exactly-once ledger of mail sent in rounds: the weekly digest (one per
person and ISO week), instant alerts (one per person and item) and the
monthly report (one per address and month), all in ``MailLedger``.

How it holds:

1. One sender per kind at a time holds the **send lease** (a ``JobLease``
   row ``send-digest``, ``send-alert`` or ``send-report``), renewed while it
   works. A second sender finds it held and leaves the round alone ("busy
   elsewhere"); a lease whose holder is a process on this host that no
   longer exists, or that was not renewed for ``CLAIM_LEASE``, is free.
2. A recipient's message is built first and **handed over** next: right
   before it goes to the server (after the connection is open, before
   MAIL FROM), the recipient's row is INSERTed with status "sending". A
   unique index per kind lets one sender win; the loser sends nothing.
   Nobody is claimed ahead of their message: a sender that stops leaves
   no row for those it had not reached, and a rerun sends them.
3. The outcome is **settled** on the row: "sent" right after the server's
   250 (the window between the 250 and the record is one commit; a digest
   run makes it in one transaction with the next person's hand-over, which
   follows at once), "failed" with the reply for a refusal for good,
   "failed" with an error starting "temporary: " when every try got a 4xx
   or lost the connection (the next run tries again), "skipped" when there
   was nothing to send.
4. A row's claim is **released** (deleted) when its message provably did
   not go out: the mail server could not be reached at all on a retry.
5. A row left "sending" by a sender that stopped is **in doubt**: the
   server may or may not have taken the message. It is never sent again by
   itself: every run names it, and the operator, after a look at the mail
   server's log, settles it with ``ambassador mail resolve --sent`` or
   ``--resend``.
"""

import datetime
import os
import socket
import uuid

from peewee import JOIN, SQL, Case, fn

from intranet_plugin.db import is_postgres
from intranet_plugin.mail.smtp import MailError, TemporaryFailure
from intranet_plugin.models import LEDGER_KEYS, AuditLog, JobLease, MailLedger, Person, db, utcnow

CLAIM_LEASE = datetime.timedelta(minutes=5)
TEMPORARY = "temporary: "
SENDING = "sending"
HOST = socket.gethostname()


def claim_owner():
    """Who holds a claim: host, process and run, for the operator's eyes."""
    return f"{HOST}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def is_gone(holder):
    """True when ``holder`` (``claim_owner()``) names a process on this host
    that no longer runs. A holder elsewhere is never known to be gone (its
    lease has to run out)."""
    host, _, rest = holder.partition("/")
    pid = rest.partition("/")[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


class LeaseLost(MailError):
    """Another sender took this kind's send lease: this run stops."""


class SendLease:
    """One sender per kind of mail at a time (see the module's docstring).

    ``acquire()`` returns True when this run holds the lease, else the
    other holder is in ``holder`` and ``until``. ``keep()`` renews it
    every third of its length (call it between messages); it raises
    LeaseLost when another sender took it over.
    """

    def __init__(self, kind, owner, lease=CLAIM_LEASE):
        self.name, self.owner, self.lease = f"send-{kind}", owner, lease
        self.holder, self.until, self._renewed = "", None, None

    def acquire(self):
        now = utcnow()
        with db.atomic():
            JobLease.insert(name=self.name, holder="", expires_at=now).on_conflict_ignore().execute()
            row = JobLease.get_by_id(self.name)
            free = row.holder in ("", self.owner) or row.expires_at <= now or is_gone(row.holder)
            if free:
                # Taken only if still as read: two senders that both found
                # it free cannot both have it.
                free = (JobLease.update(holder=self.owner, expires_at=now + self.lease)
                        .where((JobLease.name == self.name) & (JobLease.holder == row.holder)
                               & (JobLease.expires_at == row.expires_at)).execute()) == 1
        if free:
            self._renewed = now
            return True
        self.holder, self.until = row.holder, row.expires_at
        return False

    def keep(self):
        now = utcnow()
        if now - self._renewed < self.lease / 3:
            return
        kept = (JobLease.update(expires_at=now + self.lease)
                .where((JobLease.name == self.name) & (JobLease.holder == self.owner)).execute())
        if not kept:
            raise LeaseLost("another sender took over this round's send lease; stopped")
        self._renewed = now

    def release(self):
        (JobLease.update(holder="", expires_at=utcnow())
         .where((JobLease.name == self.name) & (JobLease.holder == self.owner)).execute())


class Ledger:
    """The rows of one round: ``Ledger("digest", period="2026-W05")``,
    ``Ledger("alert", item=item_id)`` or ``Ledger("report", period="2026-04")``.

    Recipients are person ids (digest, alert) or addresses in lower case
    (report). Every change to a row is made only by the run that handed
    its message over (``owner``).
    """

    def __init__(self, kind, *, period="", item=None, owner=None, lease=CLAIM_LEASE):
        round_name, recipient_name = LEDGER_KEYS[kind]
        self.kind, self.lease = kind, lease
        self.owner = owner or claim_owner()
        self._round = {round_name: item if round_name == "item" else period}
        self._recipient_name = recipient_name
        self._recipient = getattr(MailLedger, recipient_name)
        self._in_round = (MailLedger.kind == kind) & (getattr(MailLedger, round_name) == self._round[round_name])
        self._sql = {}

    def _execute(self, name, query, params):
        """Run ``query()`` (a peewee query) with ``params``, the values its
        SQL takes in order; its SQL is generated once per ledger and
        statement ``name``, the first time, and checked to take ``params``.
        peewee generates a query's SQL anew at every execute, which costs
        more than the one-row write itself, and a round writes two rows a
        message. Returns the number of rows written."""
        sql = self._sql.get(name)
        if sql is None:
            sql, expected = query().sql()
            if list(expected) != list(params):
                raise RuntimeError(f"the mail ledger's {name} statement takes {expected!r}, not {params!r}")
            self._sql[name] = sql
        return db.execute_sql(sql, params).rowcount

    def _of(self, recipients):
        return self._in_round & self._recipient.in_(list(recipients))

    def _mine(self, recipients):
        return self._of(recipients) & (MailLedger.claimed_by == self.owner) & (MailLedger.status == SENDING)

    def _key(self, recipient):
        return {"kind": self.kind, **self._round, self._recipient_name: recipient}

    # -- reading ---------------------------------------------------------------

    def rows(self, recipients):
        """``{recipient: row}`` of those recipients that have a row."""
        column = self._recipient.column_name
        return {getattr(row, column): row for row in MailLedger.select().where(self._of(recipients))}

    def state(self, row):
        """What a run does with a recipient whose row is ``row`` (or None):
        "open" (send), "retry" (a temporary failure: send again), "doubt"
        (handed over by a sender that stopped, or still at work: never sent
        again by itself) or "done"."""
        if row is None:
            return "open"
        if is_retry(row):
            return "retry"
        if row.status == SENDING:
            return "doubt"
        return "done"

    def in_doubt(self):
        """This round's rows in doubt, oldest first."""
        return (MailLedger.select().where(self._in_round & (MailLedger.status == SENDING)
                                          & (MailLedger.claimed_by != self.owner))
                .order_by(MailLedger.claimed_at))

    def open_to(self, people):
        """``people`` (a Person query) narrowed to those this round can still
        send to: no row yet, or a temporary failure; each with
        ``ledger_status`` (None without a row)."""
        return (people.select_extend(MailLedger.status.alias("ledger_status"))
                .join(MailLedger, JOIN.LEFT_OUTER, on=(self._recipient == Person.id) & self._in_round)
                .where(MailLedger.id.is_null() | ((MailLedger.status == "failed")
                                                  & MailLedger.error.startswith(TEMPORARY))))

    # -- writing ---------------------------------------------------------------

    def hand_over(self, recipient, retry=False, **fields):
        """Record that the recipient's message is about to go to the server
        (status "sending"); False when another sender has the recipient.
        ``retry``: the row is a temporary failure, taken again. ``fields``:
        more columns to set (a Message-ID)."""
        mine = {"status": SENDING, "claimed_at": utcnow(), "claimed_by": self.owner, "error": "", **fields}
        if retry:
            return bool(MailLedger.update(**mine).where(
                self._of([recipient]) & (MailLedger.status == "failed")
                & MailLedger.error.startswith(TEMPORARY)).execute())
        row = {**self._key(recipient), **mine}
        # The row's columns in the model's order, unset ones at their defaults.
        params = [row[f.name] if f.name in row else f.default for f in MailLedger._meta.sorted_fields
                  if f.name in row or (f.default is not None and not callable(f.default))]
        return bool(self._execute(("hand over", *sorted(fields)), lambda: MailLedger.insert(row).on_conflict_ignore(),
                                  params))

    def settle(self, recipient, outcome, retry=False):
        """Record the outcome of the message to ``recipient``: the number of
        tries the server took to accept it (the message was handed over by
        this run), a TemporaryFailure, or any other failure (an SMTP
        refusal for good, an exception building the message, a text). A
        failure before the message was handed over (the server refused the
        recipient, the message could not be built) gets its row here;
        ``retry``: that row is a temporary failure from an earlier run."""
        if isinstance(outcome, int):
            return self._sent(recipient, outcome)
        error = str(outcome)
        if isinstance(outcome, TemporaryFailure):
            error = TEMPORARY + error
        fields = {"status": "failed", "error": error}
        if isinstance(outcome, MailError):
            fields["attempts"] = MailLedger.attempts + getattr(outcome, "tries", 1)
        settled = MailLedger.update(**fields).where(self._mine([recipient])).execute()
        if not settled and self.hand_over(recipient, retry):
            MailLedger.update(**fields).where(self._mine([recipient])).execute()

    def _sent(self, recipient, tries):
        fields = {"status": "sent", "sent_at": utcnow(), "attempts": MailLedger.attempts + tries}
        params = ["sent", tries, fields["sent_at"], self.kind, *self._round.values(), recipient, self.owner, SENDING]

        def query():
            return MailLedger.update(**fields).where(self._mine([recipient]))

        if is_postgres() and not db.in_transaction():
            # Without waiting for the server's disk: a PostgreSQL crash
            # that lost this commit leaves the row "sending", in doubt,
            # never sent twice; a crash of this process cannot lose it.
            with db.atomic():
                db.execute_sql("SET LOCAL synchronous_commit TO OFF")
                self._execute("sent", query, params)
        else:
            self._execute("sent", query, params)

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


# -- the operator's view of messages in doubt -------------------------------------

def doubts(kind=None):
    """Every row in doubt (status "sending") whose sender is gone: its
    lease ran out or it holds none. Rows of the live holder of a send lease
    are that sender's work in progress and left out."""
    live = {row.name[len("send-"):]: row.holder for row in JobLease.select().where(
        JobLease.name.startswith("send-") & (JobLease.expires_at > utcnow()))
        if row.holder and not is_gone(row.holder)}
    query = (MailLedger.select(MailLedger, Person.username).join(Person, JOIN.LEFT_OUTER)
             .where(MailLedger.status == SENDING).order_by(MailLedger.claimed_at))
    if kind:
        query = query.where(MailLedger.kind == kind)
    return [row for row in query if live.get(row.kind) != row.claimed_by]


def recipient_name(row):
    """The name an operator knows a row's recipient by."""
    return row.address if row.kind == "report" else row.person.username


def round_name(row):
    return str(row.item_id) if row.kind == "alert" else row.period


def resolve(row, sent):
    """The operator's verdict on a message in doubt: ``sent`` (the mail
    server's log shows it went out) records it as sent; otherwise the row
    goes and the next run sends the message. False when the row is no
    longer in doubt."""
    where = (MailLedger.id == row.id) & (MailLedger.status == SENDING)
    if sent:
        return bool(MailLedger.update(status="sent", sent_at=row.claimed_at, error="marked sent by the operator")
                    .where(where).execute())
    return bool(MailLedger.delete().where(where).execute())


def resolve_doubt(row_id, sent, actor):
    """An admin's verdict (``resolve``) on the message in doubt whose row
    is ``row_id``, written to the audit log. The row, or None when no
    message in doubt has that id (settled meanwhile, or a live sender's)."""
    row = next((r for r in doubts() if r.id == row_id), None)
    if row is None or not resolve(row, sent):
        return None
    AuditLog.record(actor, "resolve-mail", row, summary=f"{row.kind} {round_name(row)} {recipient_name(row)}",
                    verdict="sent" if sent else "resend", message_id=row.message_id or "")
    return row
