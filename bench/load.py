"""Mixed load with faults: is every click stored, does the service come back?

One Ambassador (gunicorn, 2 sync workers, 127.0.0.1, a free port) on a fresh
SQLite file or on a private PostgreSQL (``initdb`` in a temporary directory,
its own port: restarting it disturbs nobody else), signing people in against
a real slapd (``AUTH=ldap``), with an aiosmtpd sink for the digest.

The load (Python asyncio, raw HTTP/1.1 on loopback; gunicorn's sync workers
close every connection, so each request is a new one, as with wrk):

- ``clients`` minus an eighth hit ``/s/<code>`` back to back over 2,000
  tracked links: 16 in 20 requests with a browser's User-Agent (human), 3
  with a link-preview crawler's, 1 a HEAD (each kind as the app's own
  ``tracking.clicks.classify`` names it);
- an eighth are signed-in people (LDAP sign-in through the login form at
  the start) who read ``/``, ``/me`` and, the admin among them, the
  programme dashboard, with 0.5-1.5 s between pages, as people read.

Faults, one after the other during the load (``--faults``):

- ``kill``: one gunicorn worker killed with ``kill -9`` (gunicorn starts a
  new one; the dead worker's click journal is recovered by the living);
- ``pg-restart`` (PostgreSQL): the private server stopped (fast) and started;
- ``sqlite-lock`` (SQLite): another connection holds ``BEGIN EXCLUSIVE`` for
  5 s (2 s in the short form);
- ``ldap``: slapd stopped for 8 s (3 s): the signed-in keep working, a
  sign-in is answered 503 with the "unavailable" message; slapd restarted,
  sign-in works again;
- ``smtp``: ``ambassador digest send`` while the SMTP server goes down after
  accepting a third of the digests; the run stops and says so; a second
  run, the server back, sends the rest: each member gets exactly one.

After the load the clients stop (every request finished), the journals
drain while the server runs (how long it took is reported), gunicorn is
stopped, ``ambassador recover-clicks`` runs, and the click rows and the
running totals are counted per kind. ``sent`` = 302 answers received per
kind; a request whose connection broke (a killed worker) may or may not
have been recorded: ``sent <= stored <= sent + broken``.

Exit status 1 when: a 5xx (other than the 503 of a sign-in while LDAP is
down), 'database is locked' in the server's log, a click lost or counted
wrong, the service not answering after a fault, a signed-in person signed
out, or a digest missing or sent twice.

    .venv/bin/python bench/load.py [--database sqlite|postgresql]
        [--duration 60] [--clients 64] [--faults kill,db,ldap,smtp] [--short]

``db`` stands for the database's own fault (``sqlite-lock`` or
``pg-restart``). ``--short`` is the form the tests run: 6 s, 8 clients,
200 links, shortened faults (at least 1 s apart), the digest fault run
alongside the others once the database's own fault is over. Results go to bench/results/load-<database>.json.
"""

import argparse
import asyncio
import collections
import contextlib
import datetime
import json
import os
import platform
import pwd
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from benchlib import log  # noqa: E402
from redirect import BIN, ROOT, SECRET_KEY, Server, environment, free_port  # noqa: E402

RESULTS = ROOT / "bench" / "results"
N_LINKS = 2000
N_PEOPLE = 40
N_ITEMS = 50

HUMAN_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
)
BOT_AGENTS = (
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
)
# 20 requests: 16 human GETs, 3 crawler GETs, 1 HEAD.
PATTERN = ["human"] * 16 + ["bot"] * 3 + ["head"]
DB_FAULT = {"sqlite": "sqlite-lock", "postgresql": "pg-restart"}
REQUEST_TIMEOUT = 30.0
GAP = {False: 2.0, True: 1.0}  # seconds of load at least between two faults and after the last (short)


# -- the pieces: PostgreSQL, slapd, SMTP ------------------------------------------

def _pg_bin():
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return versions[-1].parent if versions else None


class PrivatePostgres:
    """A PostgreSQL server of our own: initdb in a temporary directory,
    trust authentication, 127.0.0.1 and a free port. Run as the
    ``postgres`` user when we are root (PostgreSQL refuses root)."""

    def __init__(self):
        self.bin = _pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
        self.dir = Path(tempfile.mkdtemp(prefix="ambassador-load-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = pwd.getpwnam("postgres")
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        self.start()

    @property
    def url(self):
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program, *args):
        cmd = [str(self.bin / program), *args]
        if self.user is not None:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def start(self):
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "postgres.log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self):
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class GoesDown:
    """An aiosmtpd handler that accepts ``limit`` messages, then answers the
    next recipient with 421 and has the server stop listening: a mail
    server that goes down in the middle of a digest run."""

    def __init__(self, recorder, limit, down):
        self.recorder, self.limit, self.down = recorder, limit, down

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.limit is not None and len(self.recorder.messages) >= self.limit:
            self.down.set()
            return "421 Service not available, closing transmission channel"
        return await self.recorder.handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        return await self.recorder.handle_DATA(server, session, envelope)


class Mailbox:
    """aiosmtpd on a fixed loopback port, stopped and started again."""

    def __init__(self):
        from helpers.smtpserver import Recorder

        self.recorder = Recorder()
        self.port = free_port()
        self.controller = None
        self.down = threading.Event()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self, limit=None):
        from aiosmtpd.controller import Controller

        self.down.clear()
        self.controller = Controller(GoesDown(self.recorder, limit, self.down), hostname="127.0.0.1",
                                     port=self.port, ready_timeout=30)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        return collections.Counter(address for address, _ in self.recorder.messages)


def wait_healthy(server, timeout=60):
    """Until /healthz answers 200 (no click recorded on the way: a probe of
    /s/ that timed out would still be served, and counted, later)."""
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{server.log_tail()}")


# -- the instance -------------------------------------------------------------

class Instance:
    """Instance directory, database, settings, and what we put in it."""

    def __init__(self, kind, workdir, database_url, ldap, smtp_url):
        from helpers.slapd import ldap_settings

        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"ambassador-load-{kind}-", dir=workdir))
        self.db_path = self.dir / "ambassador.db"
        self.database_url = database_url or "sqlite:///" + str(self.db_path)
        self.journal_dir = self.dir / "click-journal"
        self.env = dict(os.environ)
        self.env.update({f"AMBASSADOR_{k}": str(v) for k, v in ldap_settings(ldap).items()
                         if k != "LOGIN_FAILURE_SECONDS"})
        self.env.update({
            "AMBASSADOR_INSTANCE_PATH": str(self.dir),
            "AMBASSADOR_DATABASE_URL": self.database_url,
            "AMBASSADOR_SECRET_KEY": SECRET_KEY,
            "AMBASSADOR_PUBLIC_URL": "https://go.example.com",
            "AMBASSADOR_BASE_URL": "https://intranet.example.com",
            "AMBASSADOR_SMTP_URL": smtp_url,
            "AMBASSADOR_MAIL_FROM": "Ambassador <ambassador@example.com>",
            # Each signed-in client signs in once; the throttle is not what is measured.
            "AMBASSADOR_LOGIN_THROTTLE_ADDRESS": "1000",
        })

    def cli(self, *args, check=True, timeout=180):
        result = subprocess.run([str(BIN / "ambassador"), *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError(f"ambassador {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result

    def _app(self):
        from intranet_plugin import create_app

        return create_app()

    def populate(self, n_links):
        """Members (with the digest on), this week's items, tracked links."""
        from intranet_plugin.models import SHARE_NETWORKS, Item, Person, TrackedLink, db, utcnow

        with environment(self.env):
            app = self._app()
            with app.app_context():
                with db.atomic():
                    people = [Person.create(username=f"load{p}", display_name=f"Load {p}",
                                            email=f"load{p}@example.com", joined_at=utcnow())
                              for p in range(N_PEOPLE)]
                    items = [Item.create(kind="news", slug=f"load-item-{i}", title=f"Load item {i}",
                                         url=f"https://www.example.com/news/load-item-{i}",
                                         caption=f"Look at load item {i}")
                             for i in range(N_ITEMS)]
                    codes = []
                    for k in range(n_links):
                        person, item = people[k % N_PEOPLE], items[(k // N_PEOPLE) % N_ITEMS]
                        network = SHARE_NETWORKS[(k // (N_PEOPLE * N_ITEMS)) % len(SHARE_NETWORKS)]
                        codes.append(TrackedLink.for_share(person, item, network).code)
                db.close()
        return codes

    def count(self):
        """Click rows per kind, and the running totals' sums."""
        from peewee import fn

        from intranet_plugin.models import Click, DayTotal, LinkTotal, db

        with environment(self.env):
            app = self._app()
            with app.app_context():
                rows = {r["kind"]: r["n"] for r in
                        Click.select(Click.kind, fn.COUNT(Click.id).alias("n")).group_by(Click.kind).dicts()}
                totals = {}
                for model in (LinkTotal, DayTotal):
                    sums = model.select(fn.SUM(model.clicks), fn.SUM(model.self_clicks),
                                        fn.SUM(model.crawler_hits), fn.SUM(model.head_hits)).tuples().get()
                    totals[model.__name__] = dict(zip(("human", "self", "crawler", "head"),
                                                      (int(v or 0) for v in sums), strict=True))
                db.close()
        return rows, totals

    def clicks_stored(self):
        return sum(self.count()[0].values())

    def leftover_journals(self):
        return sorted(p.name for p in self.journal_dir.glob("*.jsonl")) if self.journal_dir.is_dir() else []


# -- the load -----------------------------------------------------------------

class Recorder:
    """Every finished request: when, which route, what came back, how long."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.requests = []  # (t_end, route, status or error name, latency s)
        self.sent = collections.Counter()  # kind -> 302s received
        self.broken = collections.Counter()  # kind -> connection broke, outcome unknown
        self.signed_out = 0
        self.logins = []  # (t, phase, status, says_unavailable)

    def add(self, route, outcome, started):
        now = time.monotonic()
        self.requests.append((now - self.t0, route, outcome, now - started))


async def http(port, method, path, headers=(), body=b""):
    """One request on a new connection; (status, headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers)]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        raw = await reader.read(-1)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    if not head:
        raise ConnectionResetError("closed without an answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = collections.defaultdict(list)
    for line in header_lines:
        k, _, v = line.partition(":")
        parsed[k.strip().lower()].append(v.strip())
    return int(status_line.split()[1]), parsed, content


class Session:
    """A signed-in person: cookie jar and a browser's User-Agent."""

    def __init__(self, port, username, password, agent):
        self.port, self.username, self.password, self.agent = port, username, password, agent
        self.cookies = {}

    def _headers(self, extra=()):
        headers = [("User-Agent", self.agent), *extra]
        if self.cookies:
            headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items())))
        return headers

    def _keep(self, headers):
        for value in headers.get("set-cookie", []):
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    async def get(self, path):
        status, headers, body = await asyncio.wait_for(http(self.port, "GET", path, self._headers()),
                                                       REQUEST_TIMEOUT)
        self._keep(headers)
        return status, headers, body

    async def sign_in(self):
        """The login form as a browser posts it; (status, body)."""
        from urllib.parse import urlencode

        status, _, body = await self.get("/login")
        match = re.search(rb'name="csrf_token" value="([^"]+)"', body)
        form = {"username": self.username, "password": self.password,
                "csrf_token": match.group(1).decode() if match else ""}
        data = urlencode(form).encode()
        status, headers, body = await asyncio.wait_for(http(
            self.port, "POST", "/login",
            self._headers([("Content-Type", "application/x-www-form-urlencoded")]), data), REQUEST_TIMEOUT)
        self._keep(headers)
        return status, body


def kinds_of_agents():
    """Which kind the app itself gives each User-Agent (its one rule)."""
    from intranet_plugin.tracking.clicks import classify

    return {a: classify("GET", a) for a in HUMAN_AGENTS + BOT_AGENTS}


async def redirect_client(n, port, codes, rec, stop, kinds):
    rng = random.Random(n)
    i = rng.randrange(len(PATTERN))
    while not stop.is_set():
        intent = PATTERN[i % len(PATTERN)]
        i += 1
        agent = rng.choice(BOT_AGENTS if intent == "bot" else HUMAN_AGENTS)
        method = "HEAD" if intent == "head" else "GET"
        kind = "head" if method == "HEAD" else kinds[agent]
        started = time.monotonic()
        try:
            status, _, _ = await asyncio.wait_for(
                http(port, method, "/s/" + rng.choice(codes), [("User-Agent", agent)]), REQUEST_TIMEOUT)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            rec.broken[kind] += 1
            rec.add("/s/<code>", type(exc).__name__, started)
            await asyncio.sleep(0.05)
            continue
        rec.add("/s/<code>", status, started)
        if status == 302:
            rec.sent[kind] += 1


async def person_client(n, port, person, rec, stop):
    username, password, admin = person
    rng = random.Random(1000 + n)
    session = Session(port, username, password, HUMAN_AGENTS[n % len(HUMAN_AGENTS)])
    for _attempt in range(20):
        # Signing in may meet a fault too (a killed worker, a restarting
        # database): a person tries again.
        started = time.monotonic()
        try:
            status, _ = await session.sign_in()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            status = type(exc).__name__
        rec.add("POST /login", status, started)
        if status == 302:
            break
        if isinstance(status, int) and status < 500:
            raise RuntimeError(f"{username} could not sign in: {status}")
        await asyncio.sleep(0.5)
    else:
        raise RuntimeError(f"{username} could not sign in: {status}")
    pages = [("/", "/"), ("/me", "/me")] + ([("/admin/dashboard", "/admin/dashboard")] if admin else [])
    while not stop.is_set():
        for path, route in pages:
            await asyncio.sleep(rng.uniform(0.5, 1.5))
            if stop.is_set():
                return
            started = time.monotonic()
            try:
                status, headers, _ = await session.get(path)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
                rec.add(route, type(exc).__name__, started)
                continue
            rec.add(route, status, started)
            if status == 302 and "/login" in "".join(headers.get("location", [])):
                rec.signed_out += 1
                return


async def probe_login(port, rec, phase, person):
    """One sign-in, as someone not yet signed in."""
    session = Session(port, person[0], person[1], HUMAN_AGENTS[0])
    started = time.monotonic()
    try:
        status, body = await session.sign_in()
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
        status, body = type(exc).__name__, b""
    rec.add("POST /login (probe)", status, started)
    rec.logins.append((started - rec.t0, phase, status, b"unavailable" in body))
    return status


# -- faults ---------------------------------------------------------------------

class Faults:
    """Each fault: (name, start s, end s, details)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.done = []

    async def run(self, name, rec):
        loop = asyncio.get_running_loop()
        start = time.monotonic() - rec.t0
        details = await getattr(self, "_" + name.replace("-", "_"))(loop, rec)
        self.done.append({"fault": name, "start": start, "end": time.monotonic() - rec.t0, **details})

    async def _kill(self, loop, rec):
        server = self.ctx["server"]
        workers = server.workers()
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = server.workers()
            if len(now) >= len(workers) and workers[0] not in now:
                break
            await asyncio.sleep(0.1)
        return {"killed": workers[0], "workers_after": server.workers()}

    async def _pg_restart(self, loop, rec):
        pg = self.ctx["postgres"]
        began = time.monotonic()
        await loop.run_in_executor(None, pg.stop)
        stopped = time.monotonic()
        await loop.run_in_executor(None, pg.start)
        return {"down_seconds": round(time.monotonic() - stopped, 2),
                "stop_seconds": round(stopped - began, 2)}

    async def _sqlite_lock(self, loop, rec):
        hold = self.ctx["lock_seconds"]

        def lock():
            conn = sqlite3.connect(self.ctx["instance"].db_path, timeout=30, isolation_level=None)
            try:
                waited = time.monotonic()
                conn.execute("BEGIN EXCLUSIVE")
                got = time.monotonic()
                time.sleep(hold)
                conn.execute("ROLLBACK")
                return round(got - waited, 3)
            finally:
                conn.close()

        return {"held_seconds": hold, "waited_for_lock": await loop.run_in_executor(None, lock)}

    async def _ldap(self, loop, rec):
        slapd, port, outage = self.ctx["slapd"], self.ctx["port"], self.ctx["ldap_seconds"]
        person = self.ctx["probe_person"]
        await loop.run_in_executor(None, slapd.stop)
        t_down = time.monotonic()
        statuses = []
        while time.monotonic() - t_down < outage:
            statuses.append(await probe_login(port, rec, "ldap down", person))
            await asyncio.sleep(max(0.5, outage / 4))
        await loop.run_in_executor(None, slapd.restart)
        after = None
        for _ in range(20):
            after = await probe_login(port, rec, "ldap back", person)
            if after == 302:
                break
            await asyncio.sleep(0.5)
        return {"outage_seconds": outage, "sign_in_while_down": statuses, "sign_in_after": after}

    async def _smtp(self, loop, rec):
        mailbox, instance = self.ctx["mailbox"], self.ctx["instance"]
        limit = N_PEOPLE // 3
        mailbox.stop()
        mailbox.start(limit=limit)
        watcher = threading.Thread(target=self._stop_when_down, args=(mailbox,), daemon=True)
        watcher.start()
        first = await loop.run_in_executor(None, lambda: instance.cli("digest", "send", check=False))
        watcher.join(5)
        after_first = mailbox.received()
        mailbox.stop()
        mailbox.start()
        second = await loop.run_in_executor(None, lambda: instance.cli("digest", "send", check=False))
        received = mailbox.received()
        return {"accepted_before_down": limit,
                "first_run": {"exit": first.returncode, "summary": (first.stdout + first.stderr).strip()},
                "sent_in_first_run": sum(after_first.values()),
                "second_run": {"exit": second.returncode, "summary": (second.stdout + second.stderr).strip()},
                "members": N_PEOPLE, "received_once": sum(1 for v in received.values() if v == 1),
                "received_twice_or_more": sum(1 for v in received.values() if v > 1),
                "missing": N_PEOPLE - len(received)}

    @staticmethod
    def _stop_when_down(mailbox):
        if mailbox.down.wait(120):
            time.sleep(0.2)  # let the 421 reach the client
            controller = mailbox.controller
            if controller is not None:
                controller.stop()
                mailbox.controller = None


async def drive(ctx, duration, n_clients, faults, codes, people, gap, background=False):
    rec = Recorder()
    stop = asyncio.Event()
    kinds = kinds_of_agents()
    n_people = max(1, n_clients // 8)
    port = ctx["port"]
    signed = [asyncio.create_task(person_client(n, port, people[n % len(people)], rec, stop))
              for n in range(n_people)]
    redirects = [asyncio.create_task(redirect_client(n, port, codes, rec, stop, kinds))
                 for n in range(n_clients - n_people)]
    runner = Faults(ctx)
    # The short form runs the digest (SMTP) fault alongside the others: it
    # is a separate process and takes the longest. It starts once the
    # database's own fault is over (a digest run needs its database).
    aside, smtp_aside = [], background and "smtp" in faults
    if smtp_aside:
        faults = [f for f in faults if f != "smtp"]
        if not any(f in DB_FAULT.values() for f in faults):
            aside.append(asyncio.create_task(runner.run("smtp", rec)))
    slots = [duration * (k + 1) / (len(faults) + 1) for k in range(len(faults))]
    for name, at in zip(faults, slots, strict=True):
        # A fault that ran long pushes the next one back: each is seen
        # apart, with the service answering again in between.
        earliest = runner.done[-1]["end"] + gap if runner.done else 0
        delay = max(at, earliest) - (time.monotonic() - rec.t0)
        if delay > 0:
            await asyncio.sleep(delay)
        log(f"  fault at {time.monotonic() - rec.t0:.1f}s: {name}")
        await runner.run(name, rec)
        if smtp_aside and name in DB_FAULT.values() and not aside:
            aside.append(asyncio.create_task(runner.run("smtp", rec)))
    await asyncio.gather(*aside)
    runner.done.sort(key=lambda f: f["start"])
    end = max(duration, max((f["end"] for f in runner.done), default=-gap) + gap)
    rest = end - (time.monotonic() - rec.t0)
    if rest > 0:
        await asyncio.sleep(rest)
    stop.set()
    results = await asyncio.gather(*signed, *redirects, return_exceptions=True)
    crashed = [repr(r) for r in results if isinstance(r, BaseException)]
    rec.elapsed = time.monotonic() - rec.t0
    return rec, runner.done, crashed


# -- figures --------------------------------------------------------------------

def percentile(values, pct):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def is_failure(route, outcome):
    """5xx and broken connections; a 503 to a sign-in while LDAP is down is
    the answer we want, and so is not one."""
    if isinstance(outcome, str):
        return True
    return outcome >= 500 and not (route == "POST /login (probe)" and outcome == 503)


def per_route(requests, elapsed):
    routes = {}
    for _t, route, outcome, latency in requests:
        r = routes.setdefault(route, {"latencies": [], "statuses": collections.Counter()})
        r["latencies"].append(latency)
        r["statuses"][str(outcome)] += 1
    table = {}
    for route, r in sorted(routes.items()):
        table[route] = {"requests": len(r["latencies"]), "per_second": len(r["latencies"]) / elapsed,
                        "p50_ms": 1000 * percentile(r["latencies"], 50),
                        "p99_ms": 1000 * percentile(r["latencies"], 99),
                        "statuses": dict(r["statuses"]),
                        "failures": sum(n for s, n in r["statuses"].items()
                                        if is_failure(route, int(s) if s.isdigit() else s))}
    return table


# What a fault may cost, to requests sent until this many seconds after it ended: the request
# a killed worker was serving breaks; while PostgreSQL restarts, pages and
# redirects of links not in a worker's cache answer 503 (try again).
EXCUSED = {"kill": lambda outcome: isinstance(outcome, str),
           "pg-restart": lambda outcome: outcome == 503}
GRACE = 2.0


def unexpected(requests, done):
    """Failed requests that no fault excuses, counted by route and outcome."""
    found = collections.Counter()
    for t, route, outcome, latency in requests:
        if not is_failure(route, outcome):
            continue
        # Excused when the request was under way during the fault (or just
        # after): on a busy machine a request sent then may be answered later.
        if any(f["start"] <= t and t - latency <= f["end"] + GRACE
               and EXCUSED.get(f["fault"], lambda o: False)(outcome) for f in done):
            continue
        found[f"{route} {outcome}"] += 1
    return dict(found)


def fault_costs(done, requests, elapsed):
    """Per fault: the failed requests from its start to the next fault, how
    long after its start the last of them came, and the redirect's p99
    while it lasted."""
    costs = []
    for k, f in enumerate(done):
        until = done[k + 1]["start"] if k + 1 < len(done) else elapsed
        if until < f["end"]:  # another fault began meanwhile: they share the failures
            until = f["end"] + GRACE
        window = [r for r in requests if f["start"] <= r[0] < until]
        failed = [r for r in window if is_failure(r[1], r[2])]
        during = [r[3] for r in window if r[1] == "/s/<code>" and r[0] <= f["end"] + 1]
        ok_after = [r for r in requests if f["end"] < r[0] <= f["end"] + 2 * GRACE and not is_failure(r[1], r[2])]
        by_route = collections.Counter(f"{r[1]} {r[2]}" for r in failed)
        costs.append({**f, "failed_requests": len(failed), "failed_by_route": dict(by_route),
                      "seconds_to_recover": round(max((r[0] for r in failed), default=f["start"]) - f["start"], 2),
                      "redirect_p99_ms_during": round(1000 * percentile(during, 99), 1),
                      "redirects_during": len(during),
                      "answered_after": len(ok_after)})
    return costs


def client_cpu(started_cpu, elapsed):
    used = time.process_time() - started_cpu
    return used / elapsed if elapsed else 0.0


# -- the run ------------------------------------------------------------------------

def people_from_directory():
    from helpers.slapd import PEOPLE_ENTRIES

    people = [(u, PEOPLE_ENTRIES[u][1], u == "sanne") for u in ("sanne", "emma", "abakker", "joris")]
    probe = ("zoë", PEOPLE_ENTRIES["zoë"][1], False)
    return people, probe


def run(database="sqlite", duration=60, clients=64, faults=("kill", "db", "ldap", "smtp"), short=False,
        workdir=None):
    """One load run with faults; returns the result (a dict) with
    ``failures`` (empty when it passed)."""
    from helpers.slapd import Slapd

    faults = [DB_FAULT[database] if f == "db" else f for f in faults]
    for f in faults:
        if f in DB_FAULT.values() and f != DB_FAULT[database]:
            raise ValueError(f"{f} is not a fault of {database}")
    lock_seconds, ldap_seconds = (2, 3) if short else (5, 8)
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="ambassador-load-"))
    started = time.monotonic()
    postgres = server = slapd = mailbox = None
    ctx = {"lock_seconds": lock_seconds, "ldap_seconds": ldap_seconds}
    try:
        if database == "postgresql":
            postgres = ctx["postgres"] = PrivatePostgres()
        slapd = ctx["slapd"] = Slapd(workdir / "slapd").start()
        mailbox = ctx["mailbox"] = Mailbox()
        mailbox.start()
        instance = ctx["instance"] = Instance(database, workdir, postgres and postgres.url, slapd, mailbox.url)
        instance.cli("db", "upgrade")
        codes = instance.populate(N_LINKS // 10 if short else N_LINKS)
        server = ctx["server"] = Server(f"load-{database}", "wsgi:app", instance.env, workdir)
        wait_healthy(server)
        ctx["port"] = server.port
        people, ctx["probe_person"] = people_from_directory()
        setup_seconds = time.monotonic() - started
        log(f"load: {duration}s, {clients} clients ({max(1, clients // 8)} signed in), {database}, "
            f"gunicorn -w 2 -k sync, faults: {', '.join(faults) or 'none'}; {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}")
        cpu = time.process_time()
        rec, done, crashed = asyncio.run(drive(ctx, duration, clients, faults, codes, people, GAP[short], short))
        client_share = client_cpu(cpu, rec.elapsed)

        # The journals drain while the server runs...
        expected = sum(rec.sent.values())
        drain_started = time.monotonic()
        stored_live = instance.clicks_stored()
        while stored_live < expected and time.monotonic() - drain_started < 30:
            time.sleep(0.25)
            stored_live = instance.clicks_stored()
        drain_seconds = time.monotonic() - drain_started
        server.stop()
        recovered = instance.cli("recover-clicks").stdout.strip()
        rows, totals = instance.count()
        server_log = server.log_path.read_text(errors="replace")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"load-{database}-server.log").write_text(server_log)
    finally:
        if server is not None:
            server.kill()
        if mailbox is not None:
            mailbox.stop()
        if slapd is not None:
            slapd.stop()
        if postgres is not None:
            postgres.remove()
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)

    sent = dict(rec.sent)
    result = {
        "database": database, "duration": duration, "clients": clients, "short": short,
        "elapsed": round(rec.elapsed, 2), "faults": faults,
        "routes": per_route(rec.requests, rec.elapsed),
        "sent": sent, "broken": dict(rec.broken), "stored": rows, "totals": totals,
        "stored_while_running_after_s": round(drain_seconds, 2), "stored_while_running": stored_live,
        "recover_clicks": recovered, "leftover_journals": instance.leftover_journals(),
        "database_is_locked": server_log.count("database is locked"),
        "server_tracebacks": server_log.count("Traceback"),
        "server_exceptions": exceptions_in(server_log),
        "signed_out": rec.signed_out, "client_crashes": crashed, "logins": rec.logins,
        "fault_costs": fault_costs(done, rec.requests, rec.elapsed),
        "unexpected": unexpected(rec.requests, done),
        "client_cpu_share": round(client_share, 2),
        "took": round(time.monotonic() - started, 1), "setup_seconds": round(setup_seconds, 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg": os.getloadavg()},
    }
    result["failures"] = failures(result)
    return result


def exceptions_in(text):
    """The exception line of each traceback in a log, counted."""
    found, inside = collections.Counter(), False
    for line in text.splitlines():
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line.startswith((" ", "During handling", "The above exception")):
            found[line[:200]] += 1
            inside = False
    return dict(found)


def failures(r):
    out = []
    if r["unexpected"]:
        out.append(f"errors outside what the faults may cost: {r['unexpected']}")
    for kind in ("human", "crawler", "head"):
        sent, stored = r["sent"].get(kind, 0), r["stored"].get(kind, 0)
        if stored < sent:
            out.append(f"{kind}: {sent - stored} clicks lost ({sent} answered with a 302, {stored} stored)")
        elif stored > sent + r["broken"].get(kind, 0):
            out.append(f"{kind}: {stored} stored, more than the {sent} sent + {r['broken'].get(kind, 0)} broken")
    link, day = r["totals"]["LinkTotal"], r["totals"]["DayTotal"]
    for kind, column in (("human", "human"), ("crawler", "crawler"), ("head", "head")):
        stored = r["stored"].get(kind, 0)
        if link[column] != stored or day[column] != stored:
            out.append(f"{kind}: {stored} stored but counted {link[column]} (links), {day[column]} (days)")
    if r["leftover_journals"]:
        out.append(f"journals left: {r['leftover_journals']}")
    if r["database_is_locked"]:
        out.append(f"'database is locked' {r['database_is_locked']} times in the server's log")
    if r["signed_out"]:
        out.append(f"{r['signed_out']} signed-in people found themselves signed out")
    if r["client_crashes"]:
        out.append(f"clients failed: {r['client_crashes']}")
    for c in r["fault_costs"]:
        if not c["answered_after"]:
            out.append(f"{c['fault']}: nothing answered after the fault")
        if c["fault"] == "ldap":
            if any(s != 503 for s in c["sign_in_while_down"]) or not c["sign_in_while_down"]:
                out.append(f"ldap: sign-in while down answered {c['sign_in_while_down']}, not 503")
            if c["sign_in_after"] != 302:
                out.append(f"ldap: sign-in after slapd came back answered {c['sign_in_after']}")
            if not all(says for _, phase, status, says in r["logins"] if phase == "ldap down"):
                out.append("ldap: the sign-in page did not say sign-in is unavailable")
        if c["fault"] == "smtp":
            if c["missing"] or c["received_twice_or_more"]:
                out.append(f"smtp: {c['missing']} members got no digest, "
                           f"{c['received_twice_or_more']} got more than one")
            if c["first_run"]["exit"] == 0:
                out.append("smtp: the run that lost its mail server exited 0")
            if c["second_run"]["exit"] != 0:
                out.append(f"smtp: the second run failed: {c['second_run']['summary']}")
    return out


def report(r):
    log("")
    log(f"{r['database']}: {r['elapsed']:.0f}s, {r['clients']} clients, load generator at "
        f"{100 * r['client_cpu_share']:.0f}% of one CPU (machine load average "
        f"{r['machine']['loadavg'][0]:.1f} at the end)")
    head = ("route", "requests", "req/s", "p50 ms", "p99 ms", "5xx/errors", "statuses")
    lines = [(route, f"{f['requests']:,}", f"{f['per_second']:,.0f}", f"{f['p50_ms']:.1f}",
              f"{f['p99_ms']:.1f}", str(f["failures"]),
              " ".join(f"{s}:{n}" for s, n in sorted(f["statuses"].items())))
             for route, f in r["routes"].items()]
    from benchlib import log_table

    log_table(head, lines)
    log("clicks per kind: " + ", ".join(
        f"{k} sent {r['sent'].get(k, 0):,} stored {r['stored'].get(k, 0):,} counted "
        f"{r['totals']['LinkTotal'][k]:,} (broken connections {r['broken'].get(k, 0)})"
        for k in ("human", "crawler", "head")))
    log(f"stored while running: {r['stored_while_running']:,} within {r['stored_while_running_after_s']}s "
        f"of the load's end; recover-clicks after the stop: {r['recover_clicks']!r}; "
        f"'database is locked': {r['database_is_locked']}; tracebacks in the server log: "
        f"{r['server_tracebacks']}")
    for line, n in r["server_exceptions"].items():
        log(f"  {n} x {line}")
    for c in r["fault_costs"]:
        extra = {k: v for k, v in c.items() if k not in (
            "fault", "start", "end", "failed_requests", "failed_by_route", "seconds_to_recover",
            "redirect_p99_ms_during", "redirects_during", "answered_after")}
        log(f"fault {c['fault']} at {c['start']:.1f}s (lasted {c['end'] - c['start']:.1f}s): "
            f"{c['failed_requests']} failed requests {c['failed_by_route'] or ''}, last one "
            f"{c['seconds_to_recover']}s after the start; /s/ p99 {c['redirect_p99_ms_during']} ms "
            f"over {c['redirects_during']} redirects; {json.dumps(extra, default=str)}")
    log("PASS" if not r["failures"] else "FAIL: " + "; ".join(r["failures"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=int, default=None, help="seconds of load (default 60; 6 short)")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (default 64; 8 short)")
    parser.add_argument("--faults", default="kill,db,ldap,smtp",
                        help="comma-separated: kill, db (the database's own), sqlite-lock, pg-restart, "
                             "ldap, smtp; empty for none")
    parser.add_argument("--short", action="store_true", help="the test suite's form: 6 s, 8 clients")
    args = parser.parse_args()
    duration = args.duration or (6 if args.short else 60)
    clients = args.clients or (8 if args.short else 64)
    if clients < 2 or duration < 1:
        parser.error("at least 2 clients and 1 second")
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    for f in faults:
        if f not in ("kill", "db", "sqlite-lock", "pg-restart", "ldap", "smtp"):
            parser.error(f"unknown fault {f!r}")
    result = run(args.database, duration, clients, faults, args.short)
    report(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load-{args.database}.json"
    result["when"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path.write_text(json.dumps(result, indent=2, default=str))
    log(f"results: {path.relative_to(ROOT)} (took {result['took']:.0f}s, of which "
        f"{result['setup_seconds']:.0f}s setting up)")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
