"""``ambassador backup`` and ``restore``: a backup taken while clicks are
being stored is the database of one moment (its running totals agree with
a raw recount), and a restore brings every row back."""

import os
import shutil
import subprocess
import threading
import uuid

import pytest
from test_totals import snapshot

from helpers import make_item, make_person
from intranet_plugin import backup
from intranet_plugin.models import MODELS, Click, TrackedLink, db, utcnow
from intranet_plugin.tracking import totals
from intranet_plugin.tracking.clicks import store

ON_SQLITE = os.environ.get("AMBASSADOR_TEST_DATABASE", "sqlite") == "sqlite"
sqlite_only = pytest.mark.skipif(not ON_SQLITE, reason="the SQLite backup; PostgreSQL's is pg_dump's")


def counts():
    return {model._meta.table_name: model.select().count() for model in MODELS}


def store_clicks(links, n):
    now = utcnow()
    store([{"event_id": uuid.uuid4().hex, "link": links[i % len(links)], "at": now, "day": now.date(),
            "kind": "human", "visitor": f"v{i % 7}", "referrer_host": "", "is_self": False} for i in range(n)])


@sqlite_only
def test_a_backup_under_write_load_restores_a_consistent_database(app, tmp_path):
    people = [make_person(f"p{n}") for n in range(3)]
    items = [make_item(f"Item {n}") for n in range(3)]
    links = [TrackedLink.for_share(p, i, "linkedin").id for p in people for i in items]
    store_clicks(links, 50)
    stop, stored = threading.Event(), []

    def writer():  # clicks stored as the journal stores them, all through the backup
        with app.app_context():
            while not stop.is_set():
                store_clicks(links, 5)
                stored.append(5)
            db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    runner = app.test_cli_runner()
    try:
        while len(stored) < 3:
            pass
        result = runner.invoke(args=["backup", str(tmp_path / "live.db")])
    finally:
        stop.set()
        thread.join(30)
    assert result.exit_code == 0, result.output
    assert "integrity checked" in result.output
    live = counts()
    assert runner.invoke(args=["backup", str(tmp_path / "live.db")]).exit_code != 0  # never overwritten silently
    assert runner.invoke(args=["backup", str(tmp_path / "still.db")]).exit_code == 0
    live_totals = snapshot()

    # Restored into the configured database: the copy taken under load.
    result = runner.invoke(args=["restore", str(tmp_path / "live.db")])
    assert result.exit_code != 0 and "--force" in result.output
    assert counts() == live  # nothing changed
    result = runner.invoke(args=["restore", "--force", str(tmp_path / "live.db")])
    assert result.exit_code == 0, result.output
    restored = counts()
    assert 50 < restored["click"] <= live["click"]
    running = ("click", *(model._meta.table_name for model, _, _ in totals.TABLES))
    assert {k: v for k, v in restored.items() if k not in running} == \
        {k: v for k, v in live.items() if k not in running}
    kept = snapshot()
    totals.rebuild()  # the running totals of the copy agree with its raw clicks
    assert snapshot() == kept
    assert sum(row[0] for row in kept["LinkTotal"].values()) == restored["click"]

    # The copy taken when writing had stopped is every row and total.
    assert runner.invoke(args=["restore", "--force", str(tmp_path / "still.db")]).exit_code == 0
    assert counts() == live and snapshot() == live_totals and Click.select().count() == sum(stored) + 50


@sqlite_only
def test_restore_refuses_a_file_that_is_not_a_sound_database(app, tmp_path):
    make_person("emma")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = app.test_cli_runner().invoke(args=["restore", "--force", str(broken)])
    assert result.exit_code != 0 and "broken.db" in result.output
    assert counts()["person"] == 1


def test_the_postgresql_commands_mask_the_password():
    url = "postgresql://amb:s3cret@db.example.com/ambassador"
    shown = " ".join(backup.masked(p) for p in backup.pg_dump_command(url, "/backups/a.dump"))
    assert "s3cret" not in shown and "--dbname=postgresql://amb:***@db.example.com/ambassador" in shown
    assert "--format=custom" in shown and "pg_restore" in backup.pg_restore_command(url, "a.dump")[0]


@pytest.mark.skipif(ON_SQLITE or not shutil.which("pg_restore"), reason="PostgreSQL with its client tools")
def test_postgresql_backup_is_a_pg_dump_of_the_apps_schema(app, tmp_path):
    make_person("emma")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", str(tmp_path / "a.dump")])
    assert result.exit_code == 0, result.output
    assert "pg_restore --clean" in result.output
    listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "a.dump")], capture_output=True, text=True)
    assert "TABLE DATA" in listing.stdout and " person " in listing.stdout
    result = runner.invoke(args=["restore", str(tmp_path / "a.dump")])
    assert result.exit_code != 0 and "pg_restore" in result.output
