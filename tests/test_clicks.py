"""The click journal: fast appends, batched moves, nothing lost on a crash."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import BROWSER, impact_of, make_item, make_person
from intranet_plugin.models import Click, TrackedLink
from intranet_plugin.tracking import clicks


@pytest.fixture
def journal_app(make_app, tmp_path):
    return make_app(CLICK_JOURNAL_DIR=str(tmp_path / "journal"))


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_clicks_reach_the_database_through_the_journal(journal_app):
    link = TrackedLink.for_share(make_person(), make_item(), "linkedin")
    client = journal_app.test_client()
    for _ in range(20):
        assert client.get(f"/s/{link.code}", headers={"User-Agent": BROWSER}).status_code == 302
    assert wait_for(lambda: Click.select().count() == 20)
    assert Click.counted().count() == 20


def test_ingesting_twice_stores_once(journal_app, tmp_path):
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    path = tmp_path / "old.jsonl"
    lines = [json.dumps([f"f-{n}", link.id, "2026-11-20T10:00:00", "human", "v", "", False]) for n in range(5)]
    path.write_text("\n".join(lines) + "\n" + '["f-5", ' + str(link.id))  # last line half-written
    moved, offset = clicks.ingest_file(str(path))
    assert moved == 5 and offset == len(("\n".join(lines) + "\n").encode())
    clicks.ingest_file(str(path))
    assert Click.select().count() == 5


CRASHING_WORKER = textwrap.dedent("""
    import os, signal, sys
    from intranet_plugin import create_app
    from intranet_plugin.tracking import clicks
    clicks.FLUSH_INTERVAL = 3600  # never flush: the crash comes first
    app = create_app({"DATABASE_URL": sys.argv[1], "CLICK_JOURNAL_DIR": sys.argv[2],
                      "PUBLIC_URL": "https://go.example.com"})
    client = app.test_client()
    for _ in range(int(sys.argv[4])):
        assert client.get("/s/" + sys.argv[3], headers={"User-Agent": "Mozilla/5.0 Firefox/130"}).status_code == 302
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_clicks_of_a_killed_worker_are_recovered(journal_app, tmp_path):
    link = TrackedLink.for_share(make_person(), make_item(), "linkedin")
    journal_dir = journal_app.config["CLICK_JOURNAL_DIR"]
    worker = subprocess.run(
        [sys.executable, "-c", CRASHING_WORKER, journal_app.config["DATABASE_URL"], journal_dir, link.code, "37"],
        capture_output=True, text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert worker.returncode == -signal.SIGKILL, worker.stderr
    assert Click.select().count() == 0  # the worker died before moving anything
    assert len(os.listdir(journal_dir)) == 1

    assert clicks.recover(journal_dir) == 37
    assert Click.counted().count() == 37
    assert os.listdir(journal_dir) == []


def test_recovery_leaves_a_live_workers_journal_alone(journal_app):
    link = TrackedLink.for_share(make_person(), make_item(), "linkedin")
    journal = journal_app.extensions["ambassador.journal"]
    journal.append(link.id, "human", "v", "", False, clicks.utcnow())
    assert clicks.recover(journal.directory) == 0  # locked by this live process
    assert wait_for(lambda: Click.select().count() == 1)


def test_a_referrer_json_must_escape_survives_the_journal(journal_app):
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    journal = journal_app.extensions["ambassador.journal"]
    journal.append(link.id, "human", "v", 'odd"host\\ü', False, clicks.utcnow(), "n")
    assert wait_for(lambda: Click.select().count() == 1)
    assert Click.get().referrer_host == 'odd"host\\ü'


def test_a_forked_worker_writes_a_journal_of_its_own(journal_app):
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    journal = journal_app.extensions["ambassador.journal"]
    journal.append(link.id, "human", "parent", "", False, clicks.utcnow())
    pid = os.fork()
    if pid == 0:  # a gunicorn worker, forked after the app was made
        try:
            journal.append(link.id, "human", "child", "", False, clicks.utcnow())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    with open(journal._path) as fh:
        assert '"child"' not in fh.read()
    clicks.recover(journal.directory, skip=journal._path)
    assert wait_for(lambda: sorted(c.visitor for c in Click.select()) == ["child", "parent"])


def test_the_recover_command(journal_app, tmp_path):
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    journal_dir = journal_app.config["CLICK_JOURNAL_DIR"]
    os.makedirs(journal_dir, exist_ok=True)
    with open(os.path.join(journal_dir, "dead.jsonl"), "w") as fh:
        fh.write(json.dumps(["dead-1", link.id, "2026-11-20T10:00:00", "human", "v", "", False]) + "\n")
    result = journal_app.test_cli_runner().invoke(args=["recover-clicks"])
    assert "Recovered 1 clicks" in result.output
    assert Click.get().event_id == "dead-1"


@pytest.mark.parametrize("address,network", [
    ("203.0.113.77", "203.0.113.0/24"),
    ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
    ("::ffff:203.0.113.77", "203.0.113.0/24"),
    ("not-an-ip", "invalid"),
])
def test_addresses_are_truncated_before_hashing(address, network):
    assert clicks.truncate_ip(address) == network


def test_visitor_keys_rotate_daily_and_old_keys_are_deleted(app):
    import datetime

    from intranet_plugin.models import VisitorSalt

    hasher = clicks.VisitorHasher()
    day = datetime.date(2026, 11, 20)
    first = hasher.hash(day, "203.0.113.7", BROWSER)
    assert hasher.hash(day, "203.0.113.9", BROWSER) == first
    assert clicks.VisitorHasher().hash(day, "203.0.113.7", BROWSER) == first  # shared by workers
    later = hasher.hash(day + datetime.timedelta(days=3), "203.0.113.7", BROWSER)
    assert later != first
    assert [s.day for s in VisitorSalt.select()] == [day + datetime.timedelta(days=3)]
    # Hashes are cached per key, and the cache forgets those of an old key:
    # only the one made with the new key is left in memory.
    assert clicks._visitor_hash.cache_info().currsize == 1
    assert hasher.hash(day + datetime.timedelta(days=3), "203.0.113.7", "x" * 600) != later  # too long to cache
    assert clicks._visitor_hash.cache_info().currsize == 1


def test_a_click_on_a_deleted_link_does_not_block_the_journal(journal_app, tmp_path):
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    gone = TrackedLink.for_share(make_person("joris"), make_item("Other"), "x")
    gone_id = gone.id
    gone.delete_instance()
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps([f"m-{n}", link_id, "2026-11-20T10:00:00", "human", "v", "", False]) + "\n"
                            for n, link_id in enumerate([link.id, gone_id, link.id])))
    assert clicks.ingest_file(str(path))[0] == 3
    assert sorted(c.event_id for c in Click.select()) == ["m-0", "m-2"]


def test_a_full_journal_is_replaced_by_a_new_one_and_no_click_is_lost_or_doubled(journal_app, monkeypatch):
    """Past ROTATE_BYTES a worker starts a new journal file; the old one is
    moved in to its last line (also lines written while it was being read)
    and deleted."""
    monkeypatch.setattr(clicks, "ROTATE_BYTES", 1000)  # about ten lines
    monkeypatch.setattr(clicks, "FLUSH_INTERVAL", 3600)  # the test moves the lines itself
    person = make_person()
    link = TrackedLink.for_share(person, make_item(), "linkedin")
    client = journal_app.test_client()
    journal = journal_app.extensions["ambassador.journal"]
    journal_dir = journal_app.config["CLICK_JOURNAL_DIR"]

    def visit(times):
        for _ in range(times):
            assert client.get(f"/s/{link.code}", headers={"User-Agent": BROWSER}).status_code == 302

    visit(5)
    [first] = os.listdir(journal_dir)
    assert os.path.getsize(os.path.join(journal_dir, first)) < 1000
    assert journal.flush() == 5
    assert os.listdir(journal_dir) == [first]  # not full yet: kept

    visit(25)
    real_ingest = clicks.ingest_file
    late = []

    def ingest_while_visitors_keep_clicking(path, offset=0, fd=None):
        result = real_ingest(path, offset, fd)
        # Only this app's journal: an earlier test's journal thread may still
        # be moving its own file through the same function.
        if not late and os.path.dirname(path) == journal_dir:  # three clicks land in the old file after it was read
            late.append(path)
            visit(3)
        return result

    monkeypatch.setattr(clicks, "ingest_file", ingest_while_visitors_keep_clicking)
    assert journal.flush() == 25
    [second] = os.listdir(journal_dir)
    assert second != first  # a new journal; the old one is gone
    assert late == [os.path.join(journal_dir, first)]
    assert Click.select().count() == 33  # the late three were moved before the old file was deleted

    visit(4)  # into the new journal
    assert journal.flush() == 4
    assert journal.flush() == 0  # nothing moved twice
    ids = [c.event_id for c in Click.select()]
    assert len(ids) == len(set(ids)) == 37
    assert {i.split("-")[0] for i in ids} == {first.removesuffix(".jsonl"), second.removesuffix(".jsonl")}
    assert impact_of(person)["clicks"] == 37  # and counted once in the running totals
    journal.close()
    assert os.listdir(journal_dir) == []


@pytest.mark.parametrize("setting,synced", [("off", False), ("20", True)])
def test_the_journal_reaches_the_disk_every_interval_when_asked(make_app, tmp_path, monkeypatch, setting, synced):
    """AMBASSADOR_CLICK_JOURNAL_FSYNC: lines are fdatasync'ed by a thread
    (a power loss then costs at most one interval of clicks); off, the
    kernel writes them back in its own time."""
    app = make_app(CLICK_JOURNAL_DIR=str(tmp_path / "journal"), CLICK_JOURNAL_FSYNC=setting)
    journal = app.extensions["ambassador.journal"]
    calls = []
    real = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: calls.append(os.fstat(fd).st_ino) or real(fd))
    link = TrackedLink.for_share(make_person(), make_item(), "x")
    journal.append(link.id, "human", "v", "", False, clicks.utcnow())
    inode = os.stat(journal._path).st_ino
    assert wait_for(lambda: Click.select().count() == 1)
    assert wait_for(lambda: inode in calls, timeout=10 if synced else 1) is synced
    journal.close()


def test_a_bad_fsync_interval_is_a_clear_error(make_app):
    from intranet_plugin.config import ConfigError

    with pytest.raises(ConfigError, match="CLICK_JOURNAL_FSYNC must be off or a number of milliseconds"):
        make_app(CLICK_JOURNAL_FSYNC="fast")
