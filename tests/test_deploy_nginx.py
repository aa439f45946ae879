"""deploy/: Debian's nginx with deploy/nginx/ambassador.conf in front of a real
gunicorn started with deploy/gunicorn.conf.py, all on loopback.

The site file is used as shipped; the test changes only what differs on a
test machine (listen ports, certificate and log paths, the snippet's path,
loopback among the internal networks) and checks that each change hit.
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import BROWSER, make_item, make_person
from intranet_plugin import create_app
from intranet_plugin import db as database
from intranet_plugin.models import Click, TrackedLink, db
from intranet_plugin.tracking.clicks import VisitorHasher

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUNICORN = Path(sys.executable).parent / "gunicorn"
# The visitor's address: not the proxy's (127.0.0.1), and in another /24,
# so the stored click shows which one Ambassador saw.
VISITOR = "127.0.1.2"

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason="Debian's nginx is not installed "
                                "(make system-deps)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited: {Path(log).read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port}: {Path(log).read_text()[-3000:]}")


def substitute(text, old, new, count):
    assert text.count(old) == count, f"the site file no longer has {count} × {old!r}"
    return text.replace(old, new)


def site_for_test(tmp, tls_port, plain_port, app_port, cert, key):
    site = (DEPLOY / "nginx" / "ambassador.conf").read_text()
    site = substitute(site, "listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl;", 2)
    site = substitute(site, "listen 80;", f"listen 127.0.0.1:{plain_port};", 1)
    site = substitute(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};", 1)
    site = re.sub(r"ssl_certificate (\S+);", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key (\S+);", f"ssl_certificate_key {key};", site)
    site = substitute(site, "/var/log/nginx/", f"{tmp}/", 2)
    snippet = DEPLOY / "nginx" / "ambassador-proxy.conf"
    site = substitute(site, "/etc/nginx/snippets/ambassador-proxy.conf", str(snippet), 2)
    # The test's client is on loopback, which the intranet block must let in.
    site = substitute(site, "    deny all;", "    allow 127.0.0.0/8;\n    deny all;", 1)
    return site


def main_config(tmp, site):
    temp = "\n".join(f"    {kind}_temp_path {tmp}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                         "uwsgi", "scgi"))
    return f"""
{"user root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
{temp}
    include {DEPLOY / "nginx" / "ambassador-log.conf"};
    include {site};
}}
"""


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=go.example.com", "-keyout", "site.key",
                    "-out", "site.pem"], cwd=directory, check=True, capture_output=True)
    return directory / "site.pem", directory / "site.key"


@pytest.fixture(scope="module")
def stack(database_url_factory, tmp_path_factory, certificate):
    """gunicorn (deploy/gunicorn.conf.py, 2 workers) behind nginx (the site),
    started once for the module: the tests count clicks from where they are."""
    tmp_path = tmp_path_factory.mktemp("stack")
    app = create_app({"DATABASE_URL": database_url_factory(), "SECRET_KEY": "test-secret-key-" + "x" * 32,
                      "TESTING": True, "CLICK_JOURNAL_DIR": "off"})
    with app.app_context():
        database.upgrade()
    emma = make_person("emma", role="admin")
    item = make_item("Wind farm opens", url="https://www.example.com/news/wind")
    link = TrackedLink.for_share(emma, item, "linkedin")
    db.close()

    app_port, tls_port, plain_port = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AMBASSADOR_")}
    env.update({
        "AMBASSADOR_BIND": f"127.0.0.1:{app_port}", "AMBASSADOR_WORKERS": "2",
        "AMBASSADOR_PROXY_ADDRESSES": "127.0.0.1", "AMBASSADOR_TRUSTED_PROXIES": "127.0.0.1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "AMBASSADOR_DATABASE_URL": app.config["DATABASE_URL"],
        "AMBASSADOR_SECRET_KEY": app.config["SECRET_KEY"],
        "AMBASSADOR_PUBLIC_URL": "https://go.example.com", "AMBASSADOR_BASE_URL": "https://intranet.example.com",
        "AMBASSADOR_AUTH": "dev", "AMBASSADOR_INSTANCE_PATH": str(tmp_path / "instance"),
        "AMBASSADOR_CLICK_JOURNAL_DIR": str(tmp_path / "journal"), "AMBASSADOR_SCHEDULER_REQUIRED": "false",
        "AMBASSADOR_LOG_FORMAT": "json", "AMBASSADOR_MAIL_OUTBOX": "off",
    })
    app_log = tmp_path / "gunicorn.log"
    # From an empty directory: the server needs no source checkout.
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    with open(app_log, "wb") as out:
        gunicorn = subprocess.Popen([str(GUNICORN), "-c", str(DEPLOY / "gunicorn.conf.py")], cwd=workdir, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
    site = tmp_path / "ambassador.conf"
    site.write_text(site_for_test(tmp_path, tls_port, plain_port, app_port, *certificate))
    conf = tmp_path / "nginx.conf"
    conf.write_text(main_config(tmp_path, site))
    nginx = None
    try:
        checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        assert "test is successful" in checked.stderr
        nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(tls_port, nginx, "nginx", tmp_path / "error.log")
        wait_for_port(app_port, gunicorn, "gunicorn", app_log)
        # Both workers booted (a loaded machine takes a while to import).
        deadline = time.monotonic() + 60
        while len(set(re.findall(r"Booting worker with pid: (\d+)", app_log.read_text()))) < 2:
            assert gunicorn.poll() is None and time.monotonic() < deadline, app_log.read_text()[-3000:]
            time.sleep(0.1)
        yield {"tls": tls_port, "plain": plain_port, "app": app_port, "link": link, "item": item,
               "app_log": app_log, "tmp": tmp_path, "gunicorn": gunicorn}
    finally:
        for process in (nginx, gunicorn):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM if process is gunicorn else signal.SIGQUIT)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        db.close()


def fetch(stack, host, path, method="GET", headers=None, body=None, port=None):
    """One request through nginx's TLS port, from the visitor's address."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port or stack["tls"], context=context,
                                       source_address=(VISITOR, 0), timeout=60)
    try:
        conn.request(method, path, body=body,
                     headers={"Host": host, "User-Agent": BROWSER, **(headers or {})})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def direct(stack, path):
    """A request straight to gunicorn from this host (Prometheus on it)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack["app"], timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def clicks_after(seen, count):
    """The ``count`` clicks stored after the first ``seen`` (waiting for the
    workers to move them from their journals)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        clicks = list(Click.select().order_by(Click.id))
        db.close()
        if len(clicks) >= seen + count:
            return clicks[seen:]
        time.sleep(0.2)
    raise AssertionError(f"expected {count} more stored click(s), found {len(clicks) - seen}")


def stored():
    count = Click.select().count()
    db.close()
    return count


def scraped(stack, name):
    status, text = direct(stack, "/metrics")
    assert status == 200
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_public_block_serves_tracked_links_and_nothing_else(stack):
    code = stack["link"].code
    seen = stored()
    status, headers, _ = fetch(stack, "go.example.com", f"/s/{code}")
    assert status == 302
    assert headers["Location"].startswith("https://www.example.com/news/wind?")
    assert "utm_source=linkedin" in headers["Location"]
    [click] = clicks_after(seen, 1)
    assert click.kind == "human"
    # Ambassador saw the visitor's address (X-Forwarded-For from a trusted
    # proxy), not nginx's: the network part of the click is the visitor's.
    visitors = VisitorHasher()  # today's key of this database, not one cached by an earlier test
    assert click.net == visitors.network(click.day, VISITOR)
    assert click.net != visitors.network(click.day, "127.0.0.1")

    for path in ("/", "/login", "/admin/api-keys", "/metrics", "/readyz", "/s/", "/s/../login",
                 f"/s/{code}/x", "/static/app.css"):
        status, _, body = fetch(stack, "go.example.com", path)
        assert status == 404, (path, status)
        assert "Ambassador" not in body
    status, _, _ = fetch(stack, "go.example.com", f"/s/{code}", method="POST", body="")
    assert status == 403
    # Nobody on the internet can name a user through the SSO header.
    status, _, _ = fetch(stack, "go.example.com", "/", headers={"X-Remote-User": "emma"})
    assert status == 404

    # Plain HTTP is only a redirect to HTTPS, the tracked link included.
    conn = http.client.HTTPConnection("127.0.0.1", stack["plain"], timeout=30)
    conn.request("GET", f"/s/{code}", headers={"Host": "go.example.com"})
    response = conn.getresponse()
    assert response.status == 301 and response.getheader("Location") == f"https://go.example.com/s/{code}"
    conn.close()


def test_intranet_block_serves_everything_with_the_proxys_headers_trusted(stack):
    status, headers, page = fetch(stack, "intranet.example.com", "/login")
    assert status == 200 and 'name="username"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookie = headers["Set-Cookie"].split(";")[0]
    status, headers, _ = fetch(
        stack, "intranet.example.com", "/login", method="POST", body=f"username=emma&csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                 "Referer": "https://intranet.example.com/login"})
    assert status == 302, headers
    cookie = headers["Set-Cookie"].split(";")[0]
    status, headers, page = fetch(stack, "intranet.example.com", "/admin/api-keys", headers={"Cookie": cookie})
    assert status == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookie = headers.get("Set-Cookie", cookie).split(";")[0]  # the session now holds the form's token
    status, headers, page = fetch(
        stack, "intranet.example.com", "/admin/api-keys", method="POST", body=f"name=careers&csrf_token={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                 "Referer": "https://intranet.example.com/admin/api-keys"})
    assert status == 200, re.sub(r"\s+", " ", page)[-1500:]
    # X-Forwarded-Proto and -Host honoured: the address Ambassador shows
    # for the careers site is the intranet's, over https.
    assert "https://intranet.example.com/api/v1/" in page

    # One request id: made by nginx, taken by Ambassador, in both logs.
    request_id = headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    access_log = stack["tmp"] / "ambassador-intranet.log"
    deadline = time.monotonic() + 10  # nginx logs a request after answering it
    while request_id not in access_log.read_text():
        assert time.monotonic() < deadline, access_log.read_text()
        time.sleep(0.1)
    app_lines = [json.loads(line) for line in stack["app_log"].read_text().splitlines() if line.startswith("{")]
    [line] = [line for line in app_lines if line["request_id"] == request_id]
    assert line["endpoint"] == "api_keys.create" and line["status"] == 200
    # No address in either log.
    assert VISITOR not in stack["app_log"].read_text()
    assert VISITOR not in access_log.read_text()

    status, _, _ = fetch(stack, "intranet.example.com", "/readyz")
    assert status == 200


def test_metrics_add_up_the_workers_and_stay_off_the_proxy(stack):
    code = stack["link"].code
    seen = stored()
    # Every click so far is counted (by whichever worker served it) once
    # it is in the database.
    deadline = time.monotonic() + 30
    while scraped(stack, "ambassador_clicks_stored_total") < seen:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    journaled = scraped(stack, "ambassador_clicks_journaled_total")
    assert journaled == scraped(stack, "ambassador_clicks_stored_total") == seen
    for _ in range(6):
        assert fetch(stack, "go.example.com", f"/s/{code}")[0] == 302
    clicks_after(seen, 6)
    # Both workers' counts, added up by whichever worker answers.
    while scraped(stack, "ambassador_clicks_stored_total") < seen + 6:
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert scraped(stack, "ambassador_clicks_journaled_total") == seen + 6
    assert scraped(stack, "ambassador_clicks_stored_total") == seen + 6
    # Through nginx, neither block hands them out.
    assert fetch(stack, "intranet.example.com", "/metrics")[0] == 404
    assert fetch(stack, "go.example.com", "/metrics")[0] == 404
