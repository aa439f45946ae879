"""Operations: /healthz and /readyz, /metrics, JSON logs with request ids, and
the two ways of mounting Ambassador under a path (SCRIPT_NAME, init_app)."""

import datetime
import io
import json
import os
import re
import socket
import time
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask

import intranet_plugin
from helpers import BROWSER, login, make_item, make_person
from intranet_plugin import db as database
from intranet_plugin.mail.message import build_message
from intranet_plugin.models import Click, JobLease, db, utcnow
from intranet_plugin.ops import logs

FRESH = dict(SCHEDULER_REQUIRED="true")


def lead(seconds=60):
    """A scheduler holds its lease (as its heartbeat leaves it)."""
    JobLease.delete().where(JobLease.name == "scheduler-leader").execute()
    JobLease.create(name="scheduler-leader", holder="sched-host:42:abc",
                    expires_at=utcnow() + datetime.timedelta(seconds=seconds))


# -- /healthz and /readyz ---------------------------------------------------------

def test_readyz_is_ready_with_every_check_detailed(make_app, tmp_path):
    app = make_app(CLICK_JOURNAL_DIR=str(tmp_path / "journal"), **FRESH)
    lead()
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"
    checks = response.json["checks"]
    assert set(checks) == {"database", "migrations", "click_journal", "scheduler"}
    assert all(check["ok"] for check in checks.values())
    assert "sched-host:42:abc" in checks["scheduler"]["detail"]
    assert app.test_client().get("/healthz").json == {"status": "ok"}


def test_readyz_without_a_scheduler_is_not_ready_unless_none_is_required(make_app):
    app = make_app(**FRESH)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert not response.json["checks"]["scheduler"]["ok"]
    assert "ambassador scheduler" in response.json["checks"]["scheduler"]["detail"]
    assert response.json["checks"]["database"]["ok"]

    lead(seconds=-5)  # the scheduler stopped: its lease ran out
    stale = app.test_client().get("/readyz")
    assert stale.status_code == 503 and "no heartbeat since" in stale.json["checks"]["scheduler"]["detail"]

    relaxed = make_app(SCHEDULER_REQUIRED="false").test_client().get("/readyz")
    assert relaxed.status_code == 200
    assert "not required" in relaxed.json["checks"]["scheduler"]["detail"]


def test_readyz_names_a_pending_migration(make_app):
    app = make_app(**FRESH)
    lead()
    last = db.execute_sql("SELECT MAX(name) FROM schema_migration").fetchone()[0]
    db.execute_sql("DELETE FROM schema_migration WHERE name = %s" % db.param, (last,))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["migrations"] == {
        "ok": False, "detail": f"1 pending: {last} (run: ambassador db upgrade)"}


def test_readyz_when_the_click_journal_cannot_be_written(make_app, tmp_path):
    blocker = tmp_path / "journal"
    blocker.write_text("a file where the directory should be")
    app = make_app(CLICK_JOURNAL_DIR=str(blocker / "inside"), **FRESH)
    lead()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert not response.json["checks"]["click_journal"]["ok"]


def test_readyz_when_the_click_journal_is_backed_up(make_app, tmp_path):
    journal = tmp_path / "journal"
    journal.mkdir()
    app = make_app(CLICK_JOURNAL_DIR=str(journal), **FRESH)
    lead()
    assert app.test_client().get("/readyz").status_code == 200
    # A stopped worker's journal that nobody moved for two minutes.
    orphan = journal / "0123456789abcdef.jsonl"
    orphan.write_text('["x-1",1,"2026-01-01T00:00:00","human","v","",false,"v"]\n')
    old = time.time() - 120
    os.utime(orphan, (old, old))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    detail = response.json["checks"]["click_journal"]["detail"]
    assert "backed up" in detail and "0123456789abcdef.jsonl" in detail


def test_readyz_and_healthz_when_the_database_is_gone(make_app, tmp_path):
    path = tmp_path / "gone" / "ambassador.db"
    app = make_app(DATABASE_URL=f"sqlite:///{path}", **FRESH)
    db.close()
    path.unlink()
    path.mkdir()  # nothing SQLite can open
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert not checks["database"]["ok"]
    assert checks["migrations"]["detail"].startswith("unknown")
    assert client.get("/healthz").status_code == 503


# -- /metrics -----------------------------------------------------------------------

def sample(text, name, **labels):
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + "$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def metrics_app(make_app):
    return make_app(TRUSTED_PROXIES="127.0.0.1", METRICS_TOKEN="scrape-token-0123456789")


def scrape(app, **kwargs):
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_metrics_count_requests_by_endpoint_and_redirects(metrics_app):
    person = make_person("emma")
    item = make_item("Wind farm opens")
    from intranet_plugin.models import TrackedLink

    link = TrackedLink.for_share(person, item, "linkedin")
    before = scrape(metrics_app)
    client = metrics_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    login(client, "emma")
    assert client.get("/").status_code == 200
    assert client.get("/nothing-here").status_code == 404
    for _ in range(3):
        assert client.get(f"/s/{link.code}").status_code == 302
    after = scrape(metrics_app)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("ambassador_requests_total", endpoint="share.index", method="GET", status="200") == 1
    assert delta("ambassador_requests_total", endpoint="none", method="GET", status="404") == 1
    # the raw path (a code, a token) is never a label
    assert link.code not in after and "/nothing-here" not in after
    assert "# TYPE ambassador_redirect_duration_seconds histogram" in after
    # figures read from the database at scrape time
    assert "ambassador_feeds_failing 0.0" in after
    assert sample(after, "ambassador_migrations_pending") == 0


def test_metrics_read_the_mail_ledger_and_the_scheduler_from_the_database(metrics_app):
    from intranet_plugin.models import MailLedger

    emma, noor, sam = make_person("emma"), make_person("noor"), make_person("sam")
    MailLedger.create(kind="digest", period="2026-W10", person=emma, status="sent")
    MailLedger.create(kind="digest", period="2026-W10", person=noor, status="failed", error="550 no such user")
    MailLedger.create(kind="digest", period="2026-W10", person=sam, status="failed",
                      error="temporary: 451 try later")
    lead()
    JobLease.create(name="poll-feeds", holder="", expires_at=utcnow(), last_finished_at=utcnow(),
                    last_error="FetchError: timed out")
    text = scrape(metrics_app)
    assert sample(text, "ambassador_mail_recipients", kind="digest", status="sent") == 1
    assert sample(text, "ambassador_mail_recipients", kind="digest", status="failed") == 1
    assert sample(text, "ambassador_mail_recipients", kind="digest", status="deferred") == 1
    assert sample(text, "ambassador_scheduler_job_failing", job="poll-feeds") == 1
    assert 0 < sample(text, "ambassador_scheduler_lease_seconds") <= 60


def test_metrics_only_for_trusted_addresses_or_the_token(metrics_app):
    client = metrics_app.test_client()
    outsider = {"REMOTE_ADDR": "192.0.2.9"}
    refused = client.get("/metrics", environ_base=outsider)
    assert refused.status_code == 403 and b"ambassador_" not in refused.data
    assert client.get("/metrics", environ_base=outsider,
                      headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 403
    assert client.get("/metrics", environ_base=outsider,
                      headers={"Authorization": "Bearer scrape-token-0123456789"}).status_code == 200
    # Through the trusted proxy, the address that counts is the visitor's.
    through_proxy = client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert through_proxy.status_code == 403
    assert client.get("/metrics").status_code == 200  # the proxy's host itself (Prometheus on it)


def test_smtp_and_feed_failures_and_job_runs_are_counted(make_app, monkeypatch):
    from intranet_plugin import scheduler as sched
    from intranet_plugin.content.feeds import import_feed
    from intranet_plugin.mail.smtp import Mailer, MailServerUnavailable, SMTPSettings
    from intranet_plugin.models import Feed

    app = make_app(TRUSTED_PROXIES="127.0.0.1", FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=1)
    before = scrape(app)
    dead = free_port()  # nothing listens there
    mailer = Mailer(SMTPSettings("127.0.0.1", dead), "ambassador@example.com", delays=(0,), sleep=lambda s: None)
    with pytest.raises(MailServerUnavailable):
        mailer.send(build_message("a@example.com", "b@example.com", "Hello", "text"))
    with app.app_context():
        feed = Feed.create(url=f"http://127.0.0.1:{dead}/feed.xml", kind="news")
        assert import_feed(feed).error
    monkeypatch.setattr(sched.Scheduler, "catch_up", lambda self: None)
    leader = sched.Scheduler(app, holder="one")
    leader.heartbeat()
    leader.run("poll-feeds", lambda a: "fine")
    leader.run("poll-feeds", lambda a: 1 / 0)
    after = scrape(app)

    def delta(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("ambassador_smtp_errors_total", kind="connect") == 2  # the try and its retry
    assert delta("ambassador_feed_poll_errors_total") == 1
    assert sample(after, "ambassador_feeds_failing") == 1
    assert delta("ambassador_scheduler_job_runs_total", job="poll-feeds", outcome="ok") == 1
    assert delta("ambassador_scheduler_job_runs_total", job="poll-feeds", outcome="error") == 1
    assert sample(after, "ambassador_scheduler_job_failing", job="poll-feeds") == 1


# -- logs ------------------------------------------------------------------------------

@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logs.configure("json", stream=stream, force=True)
    yield stream
    for name in logs.LOGGERS:
        logging_logger = __import__("logging").getLogger(name)
        logging_logger.removeHandler(handler)


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_json_line_per_request_with_the_proxys_request_id_and_no_address(make_app, json_log):
    app = make_app(TRUSTED_PROXIES="127.0.0.1")
    make_person("emma")
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    login(client, "emma")
    cookie = client.get_cookie("ambassador_session").value
    response = client.get("/", headers={"X-Request-Id": "0f3c2a9b8e7d6c5b4a39281706f5e4d3",
                                        "X-Forwarded-For": "203.0.113.77"})
    assert response.headers["X-Request-Id"] == "0f3c2a9b8e7d6c5b4a39281706f5e4d3"
    request_lines = [line for line in lines(json_log) if line["logger"] == "intranet_plugin.request"]
    assert request_lines[-1]["request_id"] == "0f3c2a9b8e7d6c5b4a39281706f5e4d3"
    assert request_lines[-1]["endpoint"] == "share.index"
    assert request_lines[-1]["status"] == response.status_code
    assert request_lines[-1]["method"] == "GET" and request_lines[-1]["duration_ms"] >= 0
    everything = json_log.getvalue()
    assert "203.0.113.77" not in everything and "127.0.0.1" not in everything
    assert cookie not in everything

    # From a client that is not a trusted proxy, the id is ours.
    untrusted = client.get("/", headers={"X-Request-Id": "0f3c2a9b8e7d6c5b4a39281706f5e4d3"},
                           environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert re.fullmatch(r"[0-9a-f]{32}", untrusted.headers["X-Request-Id"])
    assert untrusted.headers["X-Request-Id"] != "0f3c2a9b8e7d6c5b4a39281706f5e4d3"


def test_other_log_lines_of_a_request_carry_its_id(make_app, json_log):
    # Header sign-in with the directory down: the view logs a warning.
    app = make_app(AUTH="header", TRUSTED_PROXIES="127.0.0.1", LDAP_URL=f"ldap://127.0.0.1:{free_port()}",
                   LDAP_USER_BASE="ou=people,dc=example,dc=com", LDAP_CONNECT_TIMEOUT="1")
    metrics_before = scrape(app)
    response = app.test_client().get("/", headers={"X-Remote-User": "newcomer", "User-Agent": BROWSER})
    assert response.status_code == 503
    request_id = response.headers["X-Request-Id"]
    of_request = [line for line in lines(json_log) if line["request_id"] == request_id]
    assert {line["logger"] for line in of_request} >= {"sso.views", "intranet_plugin.request"}
    assert any("directory did not answer" in line["message"] for line in of_request)
    # ... and the directory failure is counted
    metrics_after = scrape(app)
    assert (sample(metrics_after, "ambassador_ldap_errors_total")
            - sample(metrics_before, "ambassador_ldap_errors_total")) >= 1


def test_mail_sent_within_a_request_carries_its_request_id(app):
    outside = build_message("a@example.com", "b@example.com", "Hello", "text")
    assert logs.MAIL_HEADER not in outside
    with app.test_request_context("/"):
        request_id = logs.start_request()
        inside = build_message("a@example.com", "b@example.com", "Hello", "text")
    assert inside[logs.MAIL_HEADER] == request_id


# -- mounted under a path -------------------------------------------------------------

def share_and_follow(client, prefix, public_url):
    """Sign in, share an item on LinkedIn, follow the tracked link: as a
    person would, every URL under ``prefix``."""
    make_item("Wind farm opens", url="https://www.example.com/news/wind")
    signed_in = client.post(f"{prefix}/login", data={"username": "emma"})
    assert signed_in.status_code == 302
    cookie = signed_in.headers["Set-Cookie"]
    page = client.get(f"{prefix}/").get_data(as_text=True)
    share = re.search(rf'data-share-network="linkedin"[^>]*\s+href="({re.escape(prefix)}/share/[^"]+)"', page)
    assert share, "no LinkedIn share button under the prefix"
    dialog = client.get(share.group(1).replace("&amp;", "&"))
    assert dialog.status_code == 303
    # LinkedIn's composer gets the text with the tracked link at its end.
    text = parse_qs(urlsplit(dialog.headers["Location"]).query)["text"][0]
    tracked = re.search(rf"{re.escape(public_url)}/s/\S+", text)
    assert tracked, text
    tracked = tracked.group(0)
    path = urlsplit(unquote(tracked)).path
    assert path.startswith(f"{prefix}/s/")
    visit = client.get(path, headers={"User-Agent": BROWSER}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert visit.status_code == 302
    assert visit.headers["Location"].startswith("https://www.example.com/news/wind?")
    return cookie


def test_under_script_name_sign_in_share_and_follow(make_app):
    app = make_app(PUBLIC_URL="https://intranet.example.com/advocacy",
                   BASE_URL="https://intranet.example.com/advocacy")
    make_person("emma")
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER

    class Mounted:
        """gunicorn with SCRIPT_NAME=/advocacy: the prefix is the script root."""

        def __getattr__(self, method):
            def call(path, **kwargs):
                assert path.startswith("/advocacy/")
                return getattr(client, method)(path[len("/advocacy"):],
                                               base_url="http://intranet.example.com/advocacy/", **kwargs)
            return call

    cookie = share_and_follow(Mounted(), "/advocacy", "https://intranet.example.com/advocacy")
    # The session cookie stays below the prefix: other applications on the
    # intranet's host never receive it.
    assert "Path=/advocacy" in cookie
    assert Click.select().where(Click.kind == "human").count() == 1


def test_behind_a_proxy_with_x_forwarded_prefix_the_cookie_stays_below_it(make_app):
    app = make_app(TRUSTED_PROXIES="127.0.0.1")
    make_person("emma")
    response = app.test_client().post("/login", data={"username": "emma"},
                                      headers={"X-Forwarded-Prefix": "/amb", "User-Agent": BROWSER})
    assert response.status_code == 302
    assert "Path=/amb" in response.headers["Set-Cookie"]


def test_inside_a_host_intranet_sign_in_share_and_follow(database_url_factory):
    host = Flask("intranet")
    host.config["SECRET_KEY"] = "host-secret-" + "h" * 32
    ambassador = intranet_plugin.init_app(host, url_prefix="/ambassador", config={
        "DATABASE_URL": database_url_factory(), "CLICK_JOURNAL_DIR": "off", "WTF_CSRF_ENABLED": False,
        "PUBLIC_URL": "https://intranet.example.com/ambassador",
        "BASE_URL": "https://intranet.example.com/ambassador"})
    with ambassador.app_context():
        database.upgrade()
    make_person("emma")
    client = host.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    cookie = share_and_follow(client, "/ambassador", "https://intranet.example.com/ambassador")
    assert "Path=/ambassador" in cookie
    assert Click.select().where(Click.kind == "human").count() == 1
    db.close()
