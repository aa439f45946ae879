"""Several app servers and schedulers against one database: two gunicorn
servers share sign-ins, sign-outs and clicks, and of two schedulers one
sends the week's digest, once."""

import http.client
import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from helpers import BROWSER, make_item, make_person
from helpers.processes import ROOT, environment, start, wait_for
from helpers.smtpserver import free_port
from intranet_plugin.models import Click, JobLease, TrackedLink
from intranet_plugin.scheduler import LEADER

GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
SHORT_LEASES = textwrap.dedent("""
    from intranet_plugin import scheduler
    from intranet_plugin.cli import main
    scheduler.LEASE_SECONDS, scheduler.HEARTBEAT_SECONDS = 2, 0.25
    main()
""")


class Browser:
    """One browser, talking to either server (cookies are per host, not port)."""

    def __init__(self):
        self.cookie = ""

    def request(self, port, method, path, form=None, cookie=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"User-Agent": BROWSER, "Cookie": self.cookie if cookie is None else cookie}
        body = None
        if form is not None:
            body = "&".join(f"{k}={v}" for k, v in form.items())
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie and cookie is None:
            self.cookie = set_cookie.split(";")[0]
        return response.status, response.getheader("Location") or "", text

    def token(self, port, path):
        return re.search(r'name="csrf_token" value="([^"]+)"', self.request(port, "GET", path)[2]).group(1)


def serve(app, tmp_path, name):
    port = free_port()
    env = environment(app, AUTH="dev")
    env["AMBASSADOR_CLICK_JOURNAL_DIR"] = str(tmp_path / f"journal-{name}")
    server = subprocess.Popen([GUNICORN, "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return True
        except OSError:
            return False

    assert wait_for(up, timeout=60)
    return server, port


@pytest.fixture
def stopped():
    processes = []
    yield processes
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def test_two_app_servers_and_two_schedulers_on_one_database(mail_app, smtp, tmp_path, stopped):
    emma = make_person("emma")
    item = make_item("Windpark open")
    (a, port_a), (b, port_b) = serve(mail_app, tmp_path, "a"), serve(mail_app, tmp_path, "b")
    stopped += [a, b]

    # Signed in on one server, signed in on the other.
    browser = Browser()
    status, _, _ = browser.request(port_a, "POST", "/login",
                                   {"username": "emma", "csrf_token": browser.token(port_a, "/login")})
    assert status == 302
    assert browser.request(port_b, "GET", "/me")[0] == 200
    # Signing out on one server ends the session on the other: a copy of
    # the cookie taken before no longer works there.
    copied = browser.cookie
    token = browser.token(port_b, "/me")
    assert browser.request(port_b, "POST", "/logout", {"csrf_token": token})[0] == 302
    status, location, _ = browser.request(port_a, "GET", "/me", cookie=copied)
    assert status == 302 and "/login" in location

    # Each server's clicks reach the one database.
    link = TrackedLink.for_share(emma, item, "linkedin")
    for port in (port_a, port_b):
        assert browser.request(port, "GET", f"/s/{link.code}")[0] == 302
    assert wait_for(lambda: Click.counted().count() == 2, timeout=30)

    # Two schedulers: one leads and sends the week's digest, once.
    schedulers = [start(mail_app, "scheduler", python=SHORT_LEASES) for _ in range(2)]
    stopped += schedulers
    assert wait_for(lambda: smtp.recipients() == {"emma@example.com": 1}, timeout=60)
    assert wait_for(lambda: JobLease.get_or_none(JobLease.name == "weekly-digest") is not None
                    and JobLease.get_by_id("weekly-digest").last_finished_at is not None, timeout=30)
    leader = JobLease.get_by_id(LEADER).holder.split(":")[1]
    assert leader in {str(p.pid) for p in schedulers} and all(p.poll() is None for p in schedulers)
    for process in schedulers:
        process.send_signal(signal.SIGTERM)
    for process in schedulers:
        process.communicate(timeout=30)
    assert smtp.recipients() == {"emma@example.com": 1}
