"""The scheduler: one leader among several processes, jobs run by the
leader only, and a missed digest caught up."""

import datetime
import signal
import subprocess
import sys
import textwrap

import pytest

from intranet_plugin import scheduler as sched
from intranet_plugin.config import ConfigError
from intranet_plugin.models import JobLease, utcnow


@pytest.mark.parametrize("text,expected", [
    ("mon 08:00", ("mon", 8, 0)), ("Friday 17:30", ("fri", 17, 30)), ("sun 0:05", ("sun", 0, 5)),
])
def test_parse_schedule(text, expected):
    assert sched.parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["monday", "08:00", "xyz 08:00", "mon 25:00", "mon 08:61"])
def test_bad_schedule_is_a_clear_error(make_app, text):
    with pytest.raises(ConfigError, match="DIGEST_SCHEDULE"):
        make_app(DIGEST_SCHEDULE=text)


def test_previous_digest_time_in_the_configured_zone():
    config = {"DIGEST_SCHEDULE": "mon 08:00", "TIMEZONE": "Europe/Amsterdam"}
    # Wednesday 25 Nov 2026, 12:00 UTC -> Monday 23 Nov 08:00 Amsterdam = 07:00 UTC
    assert sched.previous_digest_time(config, datetime.datetime(2026, 11, 25, 12, 0)) == \
        datetime.datetime(2026, 11, 23, 7, 0)
    # Monday 06:59 UTC is before 08:00 local: the week before
    assert sched.previous_digest_time(config, datetime.datetime(2026, 11, 23, 6, 59)) == \
        datetime.datetime(2026, 11, 16, 7, 0)
    # summer time: 08:00 in Amsterdam is 06:00 UTC
    assert sched.previous_digest_time(config, datetime.datetime(2026, 7, 8, 12, 0)) == \
        datetime.datetime(2026, 7, 6, 6, 0)


def test_lease_is_exclusive_until_it_expires(app):
    now = utcnow()
    a, b = sched.Lease("job", "a", seconds=60), sched.Lease("job", "b", seconds=60)
    assert a.acquire(now)
    assert not b.acquire(now)
    assert a.acquire(now + datetime.timedelta(seconds=30))  # renewal
    assert not b.acquire(now + datetime.timedelta(seconds=60))
    assert b.acquire(now + datetime.timedelta(seconds=91))  # a stopped renewing
    assert not a.acquire(now + datetime.timedelta(seconds=92))
    b.release()
    assert a.acquire(now + datetime.timedelta(seconds=93))


def test_only_the_leader_runs_jobs(app, monkeypatch):
    monkeypatch.setattr(sched.Scheduler, "catch_up", lambda self: None)
    first, second = sched.Scheduler(app, holder="one"), sched.Scheduler(app, holder="two")
    first.heartbeat()
    second.heartbeat()
    assert (first.is_leader, second.is_leader) == (True, False)
    runs = []
    assert first.run("poll-feeds", lambda a: runs.append("one") or "ok") == "ok"
    assert second.run("poll-feeds", lambda a: runs.append("two")) is None
    assert runs == ["one"]
    row = JobLease.get_by_id("poll-feeds")
    assert row.last_started_at and row.last_finished_at and row.last_error == ""


def test_a_failing_job_is_recorded_and_does_not_stop_the_scheduler(app, monkeypatch):
    monkeypatch.setattr(sched.Scheduler, "catch_up", lambda self: None)
    leader = sched.Scheduler(app, holder="one")
    leader.heartbeat()

    def broken(app):
        raise RuntimeError("feed server on fire")

    assert leader.run("poll-feeds", broken) is None
    assert JobLease.get_by_id("poll-feeds").last_error == "RuntimeError: feed server on fire"
    assert leader.run("poll-feeds", lambda a: "fine") == "fine"


def caught_up(scheduler):
    """Run the jobs ``catch_up`` queued (in the job pool, when started)."""
    names = []
    for job in scheduler.aps.get_jobs():
        if job.id.startswith("catch-up-"):
            names.append(job.args[0])
            job.func(*job.args)
            job.remove()
    return names


def test_new_leader_catches_up_a_missed_digest(app, monkeypatch):
    sent = []
    monkeypatch.setitem(sched.RESUMED, "weekly-digest", lambda a: sent.append(1) or "sent")
    leader = sched.Scheduler(app, holder="one")
    leader.heartbeat()
    assert caught_up(leader) == ["weekly-digest"] and sent == [1]
    # once run for this week, a later new leader does not run it again
    JobLease.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).where(
        JobLease.name == sched.LEADER).execute()
    second = sched.Scheduler(app, holder="two")
    second.heartbeat()
    assert caught_up(second) == [] and sent == [1]


def test_a_new_leader_finishes_the_mail_jobs_a_dead_leader_left_unfinished(app, monkeypatch):
    runs = []
    for name in sched.RESUMED:
        monkeypatch.setitem(sched.RESUMED, name, lambda a, name=name: runs.append(name) or "done")
    started = utcnow() - datetime.timedelta(minutes=5)
    for name in sched.RESUMED:  # each started after the digest was due, one still running when its leader died
        JobLease.create(name=name, expires_at=started, last_started_at=started,
                        last_finished_at=None if name != "instant-alerts" else started)
    leader = sched.Scheduler(app, holder="two")
    leader.heartbeat()
    assert sorted(caught_up(leader)) == ["monthly-report", "weekly-digest"]
    assert all(not sched.unfinished(row) for row in JobLease.select().where(JobLease.name.in_(list(sched.RESUMED))))


def test_jobs_are_configured_to_coalesce_with_a_generous_grace_time(app):
    jobs = {job.id: job for job in sched.Scheduler(app, holder="x").aps.get_jobs()}
    assert {"weekly-digest", "instant-alerts", "poll-feeds", "sync-directory", "retention"} <= set(jobs)


TWO_PROCESSES = textwrap.dedent("""
    import sys
    from intranet_plugin import create_app, scheduler
    scheduler.Scheduler.catch_up = lambda self: None
    app = create_app({"DATABASE_URL": sys.argv[1], "CLICK_JOURNAL_DIR": "off"})
    s = scheduler.Scheduler(app)
    s.heartbeat()
    print("leader" if s.is_leader else "standby")
""")


def test_two_scheduler_processes_elect_one_leader(app):
    outputs = []
    for _ in range(2):
        result = subprocess.run([sys.executable, "-c", TWO_PROCESSES, app.config["DATABASE_URL"]],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert outputs == ["leader", "standby"]


SHORT_LEASES = textwrap.dedent("""
    from intranet_plugin import scheduler
    from intranet_plugin.cli import main
    scheduler.LEASE_SECONDS, scheduler.HEARTBEAT_SECONDS = 2, 0.25
    main()
""")


def test_a_leader_killed_mid_digest_is_succeeded_by_one_that_finishes_the_week(mail_app, smtp):
    from helpers import make_item, make_person
    from helpers.processes import start, wait_for
    from intranet_plugin.models import MailLedger

    for n in range(10):
        make_person(f"p{n}")
    make_item("Windpark open")
    smtp.handler.delay = 0.02
    smtp.handler.hold_at = 4  # the leader dies while the server has the fourth message
    leader = start(mail_app, "scheduler", python=SHORT_LEASES)
    standby = None
    try:
        assert smtp.handler.holding.wait(60), leader.communicate(timeout=5)[0]
        standby = start(mail_app, "scheduler", python=SHORT_LEASES)
        assert wait_for(lambda: JobLease.select().where(JobLease.name == sched.LEADER).count() == 1)
        leader.send_signal(signal.SIGKILL)
        assert leader.wait(30) == -signal.SIGKILL
        smtp.handler.released.set()
        # The standby takes the lease and finishes the week through the ledger.
        assert wait_for(lambda: MailLedger.select().where(MailLedger.status == "sent").count() == 9, timeout=90)
        assert wait_for(lambda: not sched.unfinished(JobLease.get_by_id("weekly-digest")), timeout=30)
    finally:
        for process in (leader, standby):
            if process is not None:
                process.terminate()
    output = standby.communicate(timeout=30)[0]
    assert smtp.recipients() == {f"p{n}@example.com": 1 for n in range(10)}
    assert "weekly-digest started" in output and "never finished" in output
    assert "in doubt" in output and "p3" in output, output  # the fourth: handed over when its sender died
    assert MailLedger.get(MailLedger.status == "sending").person.username == "p3"
