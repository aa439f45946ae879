"""Timed work: the weekly digest, instant alerts, feed polling, the nightly
directory sync, data retention and the monthly report, run by
``ambassador scheduler``.

Web workers never start a scheduler. Several scheduler processes may run
against one database (one per server, or a second one started by mistake):
they elect a leader through a lease row in the database, and only the
leader runs jobs. A leader that dies stops renewing its lease; another
scheduler takes over when it expires, and finishes what the dead leader
left unfinished: a digest, alert or report run that started and never
ended is run again at once, and the mail ledger sends only what had not
gone out (see intranet_plugin.mail.ledger), so even two leaders could never
send a person two digests.
"""

import datetime
import logging
import os
import socket
import threading
import uuid
from zoneinfo import ZoneInfo

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from intranet_plugin.config import ConfigError
from intranet_plugin.models import JobLease, VisitorSalt, db, utcnow
from intranet_plugin.ops.metrics import JOB_RUNS

log = logging.getLogger(__name__)

LEADER = "scheduler-leader"
LEASE_SECONDS = 90
HEARTBEAT_SECONDS = 20
DAYS = {"mon": "mon", "tue": "tue", "wed": "wed", "thu": "thu", "fri": "fri", "sat": "sat", "sun": "sun"}


def parse_schedule(text):
    """``"mon 08:00"`` (day, time) -> (day_of_week, hour, minute)."""
    try:
        day, clock = text.strip().lower().split()
        hour, minute = (int(part) for part in clock.split(":"))
    except ValueError:
        raise ConfigError(f"AMBASSADOR_DIGEST_SCHEDULE must look like 'mon 08:00', got {text!r}") from None
    if day[:3] not in DAYS or not (0 <= hour < 24 and 0 <= minute < 60):
        raise ConfigError(f"AMBASSADOR_DIGEST_SCHEDULE must look like 'mon 08:00', got {text!r}")
    return DAYS[day[:3]], hour, minute


class Lease:
    """A named lease in the database: whoever holds an unexpired lease owns
    the work it names."""

    def __init__(self, name, holder, seconds=LEASE_SECONDS):
        self.name, self.holder, self.seconds = name, holder, seconds

    def acquire(self, now=None):
        """Take or renew the lease; True when this holder has it."""
        now = now or utcnow()
        expires = now + datetime.timedelta(seconds=self.seconds)
        with db.atomic():
            JobLease.insert(name=self.name, holder="", expires_at=now).on_conflict_ignore().execute()
            taken = (JobLease.update(holder=self.holder, expires_at=expires)
                     .where((JobLease.name == self.name)
                            & ((JobLease.holder == self.holder) | (JobLease.expires_at <= now)))
                     .execute())
        return taken == 1

    def release(self):
        (JobLease.update(expires_at=utcnow() - datetime.timedelta(seconds=1))
         .where((JobLease.name == self.name) & (JobLease.holder == self.holder)).execute())


def _record(name, started=None, finished=None, error=None):
    JobLease.insert(name=name, holder="", expires_at=utcnow()).on_conflict_ignore().execute()
    fields = {}
    if started:
        fields[JobLease.last_started_at] = started
    if finished:
        fields[JobLease.last_finished_at] = finished
        fields[JobLease.last_error] = error or ""
    JobLease.update(fields).where(JobLease.name == name).execute()


def previous_digest_time(config, now=None):
    """The most recent scheduled digest moment (naive UTC) at or before now."""
    day, hour, minute = parse_schedule(config["DIGEST_SCHEDULE"])
    zone = ZoneInfo(config["TIMEZONE"])
    local_now = (now or utcnow()).replace(tzinfo=datetime.UTC).astimezone(zone)
    weekday = list(DAYS).index(day)
    candidate = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate -= datetime.timedelta(days=(candidate.weekday() - weekday) % 7)
    if candidate > local_now:
        candidate -= datetime.timedelta(days=7)
    return candidate.astimezone(datetime.UTC).replace(tzinfo=None)


def next_digest_time(config, now=None):
    """The next scheduled digest moment after now, aware, in AMBASSADOR_TIMEZONE."""
    day, hour, minute = parse_schedule(config["DIGEST_SCHEDULE"])
    zone = ZoneInfo(config["TIMEZONE"])
    local_now = (now or utcnow()).replace(tzinfo=datetime.UTC).astimezone(zone)
    return CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone).get_next_fire_time(None, local_now)


# -- the jobs ---------------------------------------------------------------

def weekly_digest(app):
    from digest.send import send_weekly

    return send_weekly(app)


def instant_alerts(app):
    from digest.alerts import send_pending_alerts

    return send_pending_alerts(app)


def poll_feeds(app):
    from intranet_plugin.content.feeds import import_all

    return import_all()


def sync_directory(app):
    if app.config["AUTH"] not in ("ldap", "header"):
        return "skipped: no directory (AMBASSADOR_AUTH=dev)"
    from sso.sync import sync_users

    return sync_users()


def retention(app):
    """Delete what must not be kept: visitor keys older than yesterday (after
    which no visitor hash can be linked to an address), clicks left in the
    journals of stopped workers are moved in, and raw clicks older than the
    retention period become daily totals."""
    from intranet_plugin.tracking.clicks import recover
    from intranet_plugin.tracking.rollup import roll_up

    cutoff = utcnow().date() - datetime.timedelta(days=1)
    salts = VisitorSalt.delete().where(VisitorSalt.day < cutoff).execute()
    moved = recover(app.config["CLICK_JOURNAL_DIR"]) if app.config["CLICK_JOURNAL_DIR"] != "off" else 0
    # After the recovery, so that recovered old clicks are rolled up too.
    rolled, _ = roll_up(app.config["CLICK_RETENTION_DAYS"])
    return (f"{salts} old visitor keys deleted, {moved} journal clicks recovered, "
            f"{rolled} old clicks rolled up into daily totals")


def monthly_reminders(app):
    from digest.reminders import send_reminders

    return send_reminders(app)


def monthly_report(app):
    from intranet_plugin.analytics.report import scheduled

    return scheduled(app)


# The jobs a new leader finishes when its predecessor died during them; the
# mail ledger makes running them again send only what had not gone out.
RESUMED = {"weekly-digest": weekly_digest, "instant-alerts": instant_alerts, "monthly-report": monthly_report}


def unfinished(row):
    """A job's row (JobLease) shows a start without a matching end."""
    return row.last_started_at is not None and (row.last_finished_at is None
                                                or row.last_finished_at < row.last_started_at)


class Scheduler:
    """Wraps APScheduler: jobs run only in the process that leads."""

    def __init__(self, app, holder=None):
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.leader = Lease(LEADER, self.holder, LEASE_SECONDS)
        self.is_leader = False
        self._lock = threading.Lock()
        self.aps = BlockingScheduler(
            timezone=app.config["TIMEZONE"],
            job_defaults={
                "coalesce": True,  # a backlog of missed runs runs once
                "max_instances": 1,
                # A scheduler that was down at 08:00 still runs the job when
                # it comes back the same day.
                "misfire_grace_time": 12 * 3600,
            },
        )
        self._add_jobs()

    def _add_jobs(self):
        config = self.app.config
        day, hour, minute = parse_schedule(config["DIGEST_SCHEDULE"])
        zone = config["TIMEZONE"]
        self.aps.add_job(self.heartbeat, IntervalTrigger(seconds=HEARTBEAT_SECONDS), id="heartbeat",
                         next_run_time=datetime.datetime.now(ZoneInfo(zone)))
        self.aps.add_job(self.run, CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone),
                         args=["weekly-digest", weekly_digest], id="weekly-digest")
        self.aps.add_job(self.run, IntervalTrigger(minutes=1), args=["instant-alerts", instant_alerts],
                         id="instant-alerts")
        self.aps.add_job(self.run, IntervalTrigger(minutes=config["FEED_POLL_MINUTES"]),
                         args=["poll-feeds", poll_feeds], id="poll-feeds")
        self.aps.add_job(self.run, CronTrigger(hour=2, minute=30, timezone=zone),
                         args=["sync-directory", sync_directory], id="sync-directory")
        self.aps.add_job(self.run, CronTrigger(hour=3, minute=30, timezone=zone),
                         args=["retention", retention], id="retention")
        # Every day from REPORT_DAY to the month's end: the report goes out
        # on the day, or later when no scheduler ran then; its claims make
        # the later runs send nothing.
        self.aps.add_job(self.run, CronTrigger(day=f"{config['REPORT_DAY']}-31", hour=7, minute=45, timezone=zone),
                         args=["monthly-report", monthly_report], id="monthly-report")
        # Every day: members due this month get their one reminder (the
        # ledger's monthly round), on the day they become due.
        self.aps.add_job(self.run, CronTrigger(hour=10, minute=15, timezone=zone),
                         args=["monthly-reminders", monthly_reminders], id="monthly-reminders")

    def heartbeat(self):
        """Renew (or try to take) leadership; a new leader catches up on a
        digest that was missed while no scheduler was running."""
        with self.app.app_context():
            try:
                leading = self.leader.acquire() and not self._outdated()
            except Exception:
                log.exception("could not reach the database to renew the scheduler lease")
                leading = False
            finally:
                db.close()
        with self._lock:
            became_leader = leading and not self.is_leader
            self.is_leader = leading
        if became_leader:
            log.info("this scheduler (%s) now leads", self.holder)
            self.catch_up()

    def _outdated(self):
        """A database upgraded by a newer version: stop leading, so that
        this old code writes nothing more (its jobs go to a new scheduler)."""
        from intranet_plugin.db import unknown_applied

        unknown = unknown_applied()
        if unknown:
            log.error("the database was upgraded past this version (%s): this scheduler runs no more jobs; "
                      "restart it with the new version", ", ".join(unknown))
            self.leader.release()
        return bool(unknown)

    def catch_up(self):
        """Run now, in the job pool, the digest if it has not run since it
        was due, and every mail job a dead leader left unfinished."""
        with self.app.app_context():
            due = previous_digest_time(self.app.config)
            rows = {row.name: row for row in JobLease.select().where(JobLease.name.in_(list(RESUMED)))}
            db.close()
        for name, job in RESUMED.items():
            row = rows.get(name)
            if name == "weekly-digest" and (row is None or row.last_started_at is None or row.last_started_at < due):
                log.info("the digest of %s has not run yet: running it now", due)
            elif row is not None and unfinished(row):
                log.warning("%s started %s UTC and never finished (its scheduler stopped): running it again",
                            name, row.last_started_at)
            else:
                continue
            self.aps.add_job(self.run, args=[name, job], id=f"catch-up-{name}", replace_existing=True)

    def run(self, name, job):
        """Run one job if this process leads; record start, end and error."""
        with self._lock:
            if not self.is_leader:
                log.debug("%s: not the leader, skipped", name)
                return None
        with self.app.app_context():
            try:
                _record(name, started=utcnow())
                try:
                    result = job(self.app)
                except Exception as exc:
                    log.exception("job %s failed", name)
                    JOB_RUNS.labels(name, "error").inc()
                    _record(name, finished=utcnow(), error=f"{type(exc).__name__}: {exc}")
                    return None
                if getattr(result, "busy_holder", ""):
                    # Another run of this job is at work (this leader's own,
                    # or a former leader's still alive): its end is the end
                    # to record, and if it never comes the next leader
                    # resumes the job.
                    log.info("job %s: another sender (%s) is at work", name, result.busy_holder)
                    return result
                JOB_RUNS.labels(name, "ok").inc()
                _record(name, finished=utcnow())
                log.info("job %s done: %s", name, result)
                return result
            finally:
                db.close()

    def start(self):
        try:
            self.aps.start()
        finally:
            with self.app.app_context():
                self.leader.release()
                db.close()

    def shutdown(self):
        self.aps.shutdown(wait=True)
