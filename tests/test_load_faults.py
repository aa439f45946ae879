"""Load with faults, the short form of ``bench/load.py``: a real gunicorn
(2 workers) under 6 s of redirect traffic (human, crawler, HEAD) and
signed-in pages, while one worker is killed with ``kill -9``, the database
fails (SQLite held under an exclusive lock; on PostgreSQL, a private server
of this test, restarted), slapd stops and an SMTP server goes down in the
middle of a digest run.

One run per database (``AMBASSADOR_TEST_DATABASE`` picks it; the PostgreSQL
run uses a server of its own made with ``initdb``, so restarting it disturbs
no other test), shared by the tests below, each of which checks what a
person would notice. No timing is asserted: the machine may be busy."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from helpers import login, make_item, make_person
from helpers.slapd import slapd_installed
from helpers.smtpserver import free_port
from intranet_plugin.db import make_database
from intranet_plugin.models import TrackedLink, db

BENCH = Path(__file__).resolve().parent.parent / "bench"
DATABASE = "sqlite" if os.environ.get("AMBASSADOR_TEST_DATABASE", "sqlite") == "sqlite" else "postgresql"
DB_FAULT = "sqlite-lock" if DATABASE == "sqlite" else "pg-restart"

def _bench_load():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not slapd_installed():
        pytest.skip("slapd is not installed")
    load = _bench_load()
    if DATABASE == "postgresql" and load._pg_bin() is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    result = load.run(DATABASE, duration=6, clients=8, faults=("kill", "db", "ldap", "smtp"), short=True,
                      workdir=tmp_path_factory.mktemp("load"))
    result["by_fault"] = {c["fault"]: c for c in result["fault_costs"]}
    return result


def test_no_error_beyond_what_each_fault_may_cost(run):
    # Allowed: the request a killed worker was serving breaks, and while
    # PostgreSQL restarts a page or an uncached link answers 503 (try
    # again). Never a 500, never "database is locked".
    assert run["unexpected"] == {}, run["fault_costs"]
    assert not any(s.startswith("5") and s != "503" for f in run["routes"].values() for s in f["statuses"])
    assert run["database_is_locked"] == 0
    assert run["client_crashes"] == [] and run["signed_out"] == 0
    assert run["routes"]["/s/<code>"]["statuses"].get("302", 0) > 0
    assert all(run["routes"][page]["statuses"].get("200", 0) > 0 for page in ("/", "/me", "/admin/dashboard"))


def test_every_click_answered_is_stored_and_counted_per_kind(run):
    for kind in ("human", "crawler", "head"):
        sent, stored, broken = run["sent"].get(kind, 0), run["stored"].get(kind, 0), run["broken"].get(kind, 0)
        assert sent > 0, kind
        # A request whose connection broke (the killed worker's) may have
        # been journaled before it died: stored, though nobody saw the 302.
        assert sent <= stored <= sent + broken, (kind, sent, stored, broken)
    for table in ("LinkTotal", "DayTotal"):
        counted = run["totals"][table]
        assert (counted["human"], counted["crawler"], counted["head"]) == (
            run["stored"]["human"], run["stored"]["crawler"], run["stored"]["head"]), table
    assert run["leftover_journals"] == []


def test_the_service_answers_again_after_every_fault(run):
    assert set(run["by_fault"]) == {"kill", DB_FAULT, "ldap", "smtp"}
    for fault in run["fault_costs"]:
        assert fault["answered_after"] > 0, fault["fault"]
    kill = run["by_fault"]["kill"]
    assert kill["killed"] not in kill["workers_after"] and len(kill["workers_after"]) == 2


def test_ldap_down_signed_in_people_keep_working_and_sign_in_says_unavailable(run):
    ldap = run["by_fault"]["ldap"]
    assert ldap["sign_in_while_down"] and set(ldap["sign_in_while_down"]) == {503}
    assert all(says for _, phase, _, says in run["logins"] if phase == "ldap down")
    assert ldap["sign_in_after"] == 302
    during = [r for r in ("/", "/me", "/admin/dashboard") if r in ldap["failed_by_route"]]
    assert during == []


def test_smtp_down_during_a_digest_run_loses_nothing_and_sends_nothing_twice(run):
    smtp = run["by_fault"]["smtp"]
    first = smtp["first_run"]
    assert first["exit"] != 0 and "Stopped" in first["summary"]
    assert smtp["sent_in_first_run"] == smtp["accepted_before_down"]
    assert smtp["second_run"]["exit"] == 0
    assert smtp["missing"] == 0 and smtp["received_twice_or_more"] == 0
    assert smtp["received_once"] == smtp["members"]


# -- the database out of reach, without load ------------------------------------

@pytest.fixture
def database_gone(app):
    """After the test's set-up, the app's database is a PostgreSQL address
    where nothing listens: every query fails to connect, as while the
    server restarts."""
    def switch():
        if not db.is_closed():
            db.close()
        db.initialize(make_database(f"postgresql://127.0.0.1:{free_port()}/gone"))

    original = db.obj
    yield switch
    db.initialize(original)


def test_database_unavailable_a_signed_in_page_says_so_with_503(app, client, database_gone):
    make_person("emma")
    login(client, "emma")
    database_gone()

    response = client.get("/me")

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert b"cannot reach its database" in response.data
    assert b"Something went wrong" not in response.data


def test_database_unavailable_an_uncached_tracked_link_answers_503_not_404(app, client, database_gone):
    code = TrackedLink.for_share(make_person("emma"), make_item(), "linkedin").code
    database_gone()

    response = client.get(f"/s/{code}")

    assert response.status_code == 503 and response.headers["Retry-After"]
    assert b"cannot reach its database" in response.data


def test_database_unavailable_the_sharers_own_click_is_still_not_counted(app, client, database_gone):
    """A signed-in sharer following their own link while the database is out
    of reach: the session cannot be checked, and the signed cookie still
    marks the click as the person's own (never a 500, never a counted
    self-click)."""
    emma = make_person("emma")
    login(client, "emma")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    redirects = app.wsgi_app
    while not hasattr(redirects, "_signed_in_user"):
        redirects = redirects.wsgi_app
    environ = {"HTTP_COOKIE": f"{cookie.key}={cookie.value}"}
    assert redirects._signed_in_user(environ) == emma.id
    database_gone()

    assert redirects._signed_in_user(environ) == emma.id
