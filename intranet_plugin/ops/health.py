"""Readiness (``/readyz``) and the figures a Prometheus scrape reads from the
database and the disk.

Ready means every part a request or a click needs is in order:

- the database answers;
- no migration is pending (new code on an old schema fails in odd places);
- the click journal directory is writable, and it is not backed up: no
  worker's journal has grown past what a working mover lets it reach, and
  no journal left by a stopped worker has waited longer than the movers
  take to pick it up;
- a scheduler leads: its lease, renewed every 20 seconds, has not expired
  (the digest, alerts and feeds depend on it). Off with
  ``AMBASSADOR_SCHEDULER_REQUIRED=false`` on installs that run no
  scheduler.
"""

import datetime
import fcntl
import os
import time

from peewee import fn

from intranet_plugin import db as database
from intranet_plugin.models import Feed, JobLease, MailLedger, db, utcnow
from intranet_plugin.ops.metrics import gauge
from intranet_plugin.scheduler import LEADER
from intranet_plugin.tracking.clicks import ROTATE_BYTES

# A live journal is moved a few times a second and rotated once moved past
# ROTATE_BYTES: twice that means its mover has been failing for a while.
BACKED_UP_BYTES = 2 * ROTATE_BYTES
# A stopped worker's journal is recovered by the other workers within about
# ten seconds (tracking.clicks); one minute is a backlog.
ORPHAN_SECONDS = 60


def journal_backlog(directory):
    """What waits in the click journal: files, bytes, and the files that
    show it is backed up (oversized, or orphaned for too long)."""
    files = size = 0
    stuck = []
    now = time.time()
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(directory, name)
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue  # moved and deleted meanwhile
        files += 1
        size += stat.st_size
        if stat.st_size > BACKED_UP_BYTES:
            stuck.append(name)
        elif now - stat.st_mtime > ORPHAN_SECONDS and not _locked(path):
            stuck.append(name)
    return {"files": files, "bytes": size, "stuck": stuck}


def _locked(path):
    """Is a live worker holding this journal? (Its flock is taken.)"""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return True  # gone: recovered meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def _check_database():
    db.execute_sql("SELECT 1")
    return "reachable"


def _check_migrations():
    pending = database.pending()
    if pending:
        raise Failed(f"{len(pending)} pending: {', '.join(pending)} (run: ambassador db upgrade)")
    return "current"


def _check_journal(directory):
    if directory == "off":
        return "off"
    if not os.path.isdir(directory):
        # The first click creates it; its parent must let us.
        parent = os.path.dirname(os.path.abspath(directory))
        if not (os.path.isdir(parent) and os.access(parent, os.W_OK | os.X_OK)) or os.path.exists(directory):
            raise Failed(f"{directory} is not a directory that can be created")
        return "writable (not created yet)"
    if not os.access(directory, os.W_OK | os.X_OK):
        raise Failed(f"{directory} is not writable")
    backlog = journal_backlog(directory)
    if backlog["stuck"]:
        raise Failed(f"backed up: {', '.join(backlog['stuck'])} not moved into the database "
                     "(see the log; ambassador recover-clicks)")
    return f"writable, {backlog['files']} file(s), {backlog['bytes']} bytes waiting at most"


def _check_scheduler(required):
    lease = JobLease.get_or_none(JobLease.name == LEADER)
    now = utcnow()
    if lease is not None and lease.expires_at > now:
        return f"leader {lease.holder}, lease valid {int((lease.expires_at - now).total_seconds())} s more"
    if not required:
        return "not required (AMBASSADOR_SCHEDULER_REQUIRED=false)"
    if lease is None:
        raise Failed("no scheduler has ever run: start `ambassador scheduler`")
    raise Failed(f"no heartbeat since {lease.expires_at.isoformat(timespec='seconds')} UTC (lease expired): "
                 "is `ambassador scheduler` running?")


class Failed(Exception):
    """A check found something wrong; the message says what."""


def readiness(config):
    """``(ready, {check: {"ok": bool, "detail": str}})``."""
    checks = {
        "database": _check_database,
        "migrations": _check_migrations,
        "click_journal": lambda: _check_journal(config["CLICK_JOURNAL_DIR"]),
        "scheduler": lambda: _check_scheduler(config["SCHEDULER_REQUIRED"]),
    }
    results = {}
    database_ok = True
    for name, check in checks.items():
        if not database_ok and name in ("migrations", "scheduler"):
            results[name] = {"ok": False, "detail": "unknown: the database does not answer"}
            continue
        try:
            results[name] = {"ok": True, "detail": check()}
        except Failed as exc:
            results[name] = {"ok": False, "detail": str(exc)}
        except Exception as exc:  # the database or the disk failing is "not ready", not a 500
            results[name] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
            if name == "database":
                database_ok = False
    return all(r["ok"] for r in results.values()), results


class DatabaseCollector:
    """The figures a scrape reads from the database and the disk."""

    def __init__(self, config):
        self.config = config

    def collect(self):
        ledger = (MailLedger
                  .select(MailLedger.kind, MailLedger.status, MailLedger.error.startswith("temporary: ").alias("t"),
                          fn.COUNT(MailLedger.id).alias("n"))
                  .group_by(MailLedger.kind, MailLedger.status, MailLedger.error.startswith("temporary: "))
                  .tuples())
        counts = {}
        for kind, status, temporary, count in ledger:
            # A temporary failure is retried by the next run: deferred.
            key = (kind, "deferred" if status == "failed" and temporary else status)
            counts[key] = counts.get(key, 0) + count
        yield gauge("ambassador_mail_recipients",
                    "Recipients of mail rounds (digest, alert, report) by outcome in the mail ledger: sent, "
                    "failed, deferred (a temporary failure the next run retries), skipped, claimed",
                    sorted(counts.items()), labels=("kind", "status"))
        failing = Feed.select().where((Feed.active == True) & (Feed.last_error != "")).count()  # noqa: E712
        yield gauge("ambassador_feeds_failing", "Active feeds whose last poll failed", [((), failing)])
        now = utcnow()
        leases = list(JobLease.select())
        leader = [lease for lease in leases if lease.name == LEADER]
        yield gauge("ambassador_scheduler_lease_seconds",
                    "Seconds until the scheduler leader's lease expires (below 0: no heartbeat)",
                    [((), (leader[0].expires_at - now).total_seconds() if leader else -1e9)])
        jobs = [lease for lease in leases if lease.name != LEADER]
        yield gauge("ambassador_scheduler_job_last_finished_seconds",
                    "Unix time a scheduler job last finished",
                    [((j.name,), _unix(j.last_finished_at)) for j in jobs if j.last_finished_at], labels=("job",))
        yield gauge("ambassador_scheduler_job_failing", "1 when the job's last run failed",
                    [((j.name,), 1.0 if j.last_error else 0.0) for j in jobs], labels=("job",))
        yield gauge("ambassador_migrations_pending", "Schema migrations not applied",
                    [((), len(database.pending()))])
        directory = self.config["CLICK_JOURNAL_DIR"]
        backlog = (journal_backlog(directory) if directory != "off" and os.path.isdir(directory)
                   else {"files": 0, "bytes": 0, "stuck": []})
        yield gauge("ambassador_click_journal_backlog_bytes",
                    "Bytes in this server's click journal files (moved lines included until a file rotates)",
                    [((), backlog["bytes"])])
        yield gauge("ambassador_click_journal_stuck_files",
                    "Click journal files not being moved into the database", [((), len(backlog["stuck"]))])


def _unix(moment):
    """Unix time of a naive UTC datetime (as the models store them)."""
    return moment.replace(tzinfo=datetime.UTC).timestamp()
