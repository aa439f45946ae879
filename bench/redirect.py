"""Throughput of the tracked redirect /s/<code>, and proof that no click is lost.

Runs, in one invocation and with the same server settings (gunicorn, 2 sync
workers, 127.0.0.1, a free port each) and the same load (wrk -t2 -c32
--latency with bench/redirect.lua rotating over many tracked-link codes with
a real browser User-Agent):

  raw WSGI       bench/bare_app.py:raw, a plain WSGI redirect: no framework,
                 no database (the ceiling)
  bare Flask     bench/bare_app.py:app, the same redirect as a Flask route
  sqlite         Ambassador (wsgi:app) on a fresh SQLite file
  postgresql     Ambassador on a fresh schema of postgresql://127.0.0.1:5432/test
  crash check    Ambassador on SQLite; one worker is killed with SIGKILL in
                 the middle of the load (separately, after the others)

All servers are started and warmed up first; then they take turns under
load (``--slice`` seconds each, ``--duration`` in total per variant), so a
change in the machine's load during the run hits every variant alike. Each
ratio is req/s over the raw WSGI (and the bare Flask) req/s of the same
turns.

After each Ambassador run gunicorn is stopped with SIGTERM (workers move
their last journal lines at exit), ``ambassador recover-clicks`` moves what
is left, and the rows of the click table are counted. No lost click means
clicks stored >= redirects completed (every completed response was a 302,
counted in Lua), and at most ``connections`` more per wrk run (requests in
flight when wrk stopped may have been recorded).

The bar (exit status 1 when missed): ratio to raw WSGI >= 0.8 on SQLite and
>= 0.75 on PostgreSQL, no lost click in any Ambassador run including the
crash check, no error and nothing but 302 in the normal runs. Results also go to bench/results/redirect.json.

    .venv/bin/python bench/redirect.py [--duration 10] [--connections 32]
                                       [--databases sqlite,postgresql] [--journal-fsync 50]
"""

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchlib import POSTGRES_BASE, databases_arg, log, postgres_reachable

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
BIN = ROOT / ".venv" / "bin"
LUA = BENCH / "redirect.lua"
RESULTS = BENCH / "results" / "redirect.json"

USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
WORKERS = 2
THREADS = 2
# The bar: req/s over the raw WSGI redirect's, per database.
BARS = {"sqlite": 0.8, "postgresql": 0.75}
SECRET_KEY = "bench-secret-key-" + "x" * 40


# -- processes ------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_wrk():
    if shutil.which("wrk"):
        return shutil.which("wrk")
    log("wrk is missing: installing it with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env,
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    path = shutil.which("wrk")
    if not path:
        sys.exit("wrk could not be installed")
    return path


class Server:
    """One gunicorn master (own process group) with its workers."""

    def __init__(self, name, app_spec, env, workdir, extra_args=()):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(workdir) / f"gunicorn-{name}.log"
        self._log = open(self.log_path, "wb")
        cmd = [str(BIN / "gunicorn"), "-w", str(WORKERS), "-k", "sync",
               "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
               *extra_args, app_spec]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({self.name}) exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path, headers={"User-Agent": USER_AGENT})
                status = conn.getresponse().status
                conn.close()
                if status == 302:
                    return
                raise RuntimeError(f"{self.name}: GET {path} answered {status}, not 302")
            except (ConnectionError, socket.timeout, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn ({self.name}) not ready after {timeout}s:\n{self.log_tail()}")

    def workers(self):
        """Worker pids: the children of the master."""
        pid = self.proc.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            children = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    children.append(int(stat.parent.name))
            return children

    def cpu_seconds(self):
        """CPU time (user + system) used so far by the workers alive now."""
        total = 0
        for pid in self.workers():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout=40):
        """SIGTERM and wait: workers finish their request and flush their journal."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  ! gunicorn ({self.name}) did not stop in {timeout}s: SIGKILL")
                self.kill()
        self._kill_group()
        self._log.close()

    def kill(self):
        self._kill_group()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        if not self._log.closed:
            self._log.close()

    def _kill_group(self):
        # Only this server's own process group (its master and workers).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def log_tail(self, lines=30):
        self._log.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wrk_command(wrk, url, duration, connections, path_file):
    return [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-s", str(LUA), url, "--", str(path_file)]


def parse_wrk(output):
    for line in output.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line[len("BENCHJSON "):])
            break
    else:
        raise RuntimeError("wrk printed no BENCHJSON line:\n" + output)
    data["statuses"] = {int(k): v for k, v in data["statuses"].items()}
    data["seconds"] = data["duration_us"] / 1e6
    data["rps"] = data["requests"] / data["seconds"] if data["seconds"] else 0.0
    data["p99_ms"] = data["latency_us"]["p99"] / 1000
    data["p50_ms"] = data["latency_us"]["p50"] / 1000
    data["socket_errors"] = sum(v for k, v in data["errors"].items() if k != "status")
    data["non_302"] = sum(v for k, v in data["statuses"].items() if k != 302)
    # status errors (>= 400) are also in statuses, so they are counted once.
    data["error_total"] = data["socket_errors"] + data["non_302"]
    m = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    data["wrk_non_2xx_3xx"] = int(m.group(1)) if m else 0
    return data


def run_wrk(wrk, url, duration, connections, path_file):
    result = subprocess.run(wrk_command(wrk, url, duration, connections, path_file),
                            capture_output=True, text=True, timeout=duration + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return parse_wrk(result.stdout)


# -- Ambassador instances -----------------------------------------------------

@contextlib.contextmanager
def environment(env):
    """Temporarily use ``env``'s AMBASSADOR_* settings in this process."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AMBASSADOR_")}
    for k in saved:
        del os.environ[k]
    os.environ.update({k: v for k, v in env.items() if k.startswith("AMBASSADOR_")})
    try:
        yield
    finally:
        for k in [k for k in os.environ if k.startswith("AMBASSADOR_")]:
            del os.environ[k]
        os.environ.update(saved)


class Instance:
    """A temporary Ambassador instance: instance dir, database, env."""

    def __init__(self, kind, workdir):
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"ambassador-{kind}-", dir=workdir))
        self.schema = None
        if kind == "sqlite":
            url = "sqlite:///" + str(self.dir / "ambassador.db")
        else:
            import psycopg

            self.schema = "bench_" + uuid.uuid4().hex[:10]
            with contextlib.closing(psycopg.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
                conn.autocommit = True
                conn.cursor().execute(f"CREATE SCHEMA {self.schema}")
            sep = "&" if "?" in POSTGRES_BASE else "?"
            url = f"{POSTGRES_BASE}{sep}options=-csearch_path%3D{self.schema}"
        self.database_url = url
        self.journal_dir = self.dir / "click-journal"
        self.env = dict(os.environ)
        self.env.update({
            "AMBASSADOR_INSTANCE_PATH": str(self.dir),
            "AMBASSADOR_DATABASE_URL": url,
            "AMBASSADOR_SECRET_KEY": SECRET_KEY,
            "AMBASSADOR_PUBLIC_URL": "https://go.example.com",
        })

    def cli(self, *args):
        result = subprocess.run([str(BIN / "ambassador"), *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"ambassador {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()

    def populate(self, n_links):
        """People, items and ``n_links`` tracked links; returns their codes."""
        from intranet_plugin import create_app
        from intranet_plugin.models import (
            SHARE_NETWORKS,
            Item,
            Person,
            TrackedLink,
            db,
        )

        n_people = 40
        n_items = -(-n_links // n_people)
        with environment(self.env):
            app = create_app()
            with app.app_context():
                with db.atomic():
                    people = [Person.create(username=f"bench{p}", display_name=f"Bench {p}",
                                            email=f"bench{p}@example.com")
                              for p in range(n_people)]
                    items = [Item.create(kind="news", slug=f"bench-item-{i}", title=f"Bench item {i}",
                                         url=f"https://www.example.com/news/bench-item-{i}",
                                         caption=f"Look at bench item {i}")
                             for i in range(n_items)]
                    codes = []
                    for k in range(n_links):
                        person, item = people[k % n_people], items[k // n_people]
                        network = SHARE_NETWORKS[k % len(SHARE_NETWORKS)]
                        codes.append(TrackedLink.for_share(person, item, network).code)
                db.close()
        return codes

    def count_clicks(self):
        from peewee import fn

        from intranet_plugin import create_app
        from intranet_plugin.models import Click, db

        with environment(self.env):
            app = create_app()
            with app.app_context():
                kinds = {row["kind"]: row["n"] for row in
                         Click.select(Click.kind, fn.COUNT(Click.id).alias("n"))
                         .group_by(Click.kind).dicts()}
                db.close()
        return sum(kinds.values()), kinds

    def leftover_journals(self):
        if not self.journal_dir.is_dir():
            return []
        return sorted(p.name for p in self.journal_dir.glob("*.jsonl"))

    def drop(self):
        if self.schema:
            import psycopg

            with contextlib.closing(psycopg.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
                conn.autocommit = True
                conn.cursor().execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
        shutil.rmtree(self.dir, ignore_errors=True)


def journal_of(pid):
    """The click-journal file a worker has open, if any."""
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.endswith(".jsonl") and "click-journal" in target:
                    return Path(target)
    except OSError:
        pass
    return None


def stored_event_ids(sqlite_path, event_ids):
    """How many of these journal event ids are rows already (SQLite)."""
    found = 0
    conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=10)
    try:
        ids = list(event_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found += conn.execute(
                f"SELECT COUNT(*) FROM click WHERE event_id IN ({','.join('?' * len(chunk))})",
                chunk).fetchone()[0]
    finally:
        conn.close()
    return found


# -- the runs -----------------------------------------------------------------

def write_paths(workdir, name, codes):
    path = Path(workdir) / f"paths-{name}.txt"
    path.write_text("".join(f"/s/{c}\n" for c in codes))
    return path


class Variant:
    """One server under test and the wrk runs made against it."""

    def __init__(self, name, database, server, paths, instance=None):
        self.name, self.database, self.server = name, database, server
        self.paths, self.instance = paths, instance
        self.warmup = None
        self.runs = []
        self.probes = 1  # wait_ready's GET is one redirect too


def start_bare(args, workdir, servers, name, app_spec, label):
    codes = [f"{i:012d}" for i in range(args.links)]
    server = Server(name, app_spec, dict(os.environ), workdir,
                    extra_args=("--pythonpath", str(BENCH)))
    servers.append(server)
    server.wait_ready(f"/s/{codes[0]}")
    return Variant(label, None, server, write_paths(workdir, name, codes))


def start_ambassador(args, workdir, servers, instances, kind, name=None, env=None):
    instance = Instance(kind, workdir)
    instance.env.update(env or {})
    instances.append(instance)
    instance.cli("db", "upgrade")
    codes = instance.populate(args.links)
    server = Server(name or kind, "wsgi:app", instance.env, workdir)
    servers.append(server)
    server.wait_ready(f"/s/{codes[0]}")
    return Variant(name or f"Ambassador, {kind}", kind, server,
                   write_paths(workdir, name or kind, codes), instance)


def merged_percentile(runs, pct):
    """A percentile of several wrk runs together, from their quantiles."""
    runs = [r for r in runs if r["requests"]]
    if not runs:
        return 0
    total = sum(r["requests"] for r in runs)

    def cdf(x):
        below = 0.0
        for r in runs:
            frac = 0.0
            for p, v in r["quantiles"]:
                if v > x:
                    break
                frac = p / 100
            below += frac * r["requests"]
        return below / total

    for x in sorted({v for r in runs for _, v in r["quantiles"]}):
        if cdf(x) >= pct / 100 - 1e-9:
            return x
    return max(v for r in runs for _, v in r["quantiles"])


def summarize(runs):
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    errors = {k: sum(r["errors"][k] for r in runs) for k in runs[0]["errors"]}
    statuses = {}
    for r in runs:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {
        "requests": requests, "seconds": seconds, "rps": requests / seconds if seconds else 0.0,
        "p50_ms": merged_percentile(runs, 50) / 1000, "p99_ms": merged_percentile(runs, 99) / 1000,
        "errors": errors, "statuses": statuses,
        "socket_errors": sum(v for k, v in errors.items() if k != "status"),
        "non_302": sum(v for k, v in statuses.items() if k != 302),
        "error_total": sum(v for k, v in errors.items() if k != "status")
        + sum(v for k, v in statuses.items() if k != 302),
        "wrk_non_2xx_3xx": sum(r["wrk_non_2xx_3xx"] for r in runs),
        "server_cpu_us_per_request": (1e6 * sum(r.get("server_cpu_seconds", 0) for r in runs)
                                      / requests) if requests else 0.0,
        "runs": [{k: r.get(k) for k in ("requests", "seconds", "rps", "p99_ms", "server_cpu_seconds")}
                 for r in runs],
    }


def click_check(completed, stored, slack):
    """Lost clicks and over-counted ones, given the in-flight slack."""
    return {"completed": completed, "stored": stored, "lost": max(0, completed - stored),
            "extra": stored - completed, "in_flight_bound": slack,
            "within_in_flight_bound": stored <= completed + slack}


def finish_ambassador(variant, connections):
    """Stop, recover, count: the click side of a variant's result."""
    variant.server.stop()
    recovered = variant.instance.cli("recover-clicks")
    stored, kinds = variant.instance.count_clicks()
    runs = [variant.warmup, *variant.runs]
    completed = variant.probes + sum(r["requests"] for r in runs)
    return {"clicks": click_check(completed, stored, connections * len(runs)),
            "click_kinds": kinds, "recover_clicks": recovered,
            "leftover_journals": variant.instance.leftover_journals()}


def crash_check(wrk, args, workdir, servers, instances):
    variant = start_ambassador(args, workdir, servers, instances, "sqlite", name="crash")
    server, instance = variant.server, variant.instance
    variant.warmup = run_wrk(wrk, server.url, min(args.warmup, 2), args.connections, variant.paths)
    killed = {}
    load = subprocess.Popen(
        wrk_command(wrk, server.url, args.crash_duration, args.connections, variant.paths),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(args.crash_duration * 0.5)
        workers_before = server.workers()
        victim = workers_before[0]
        journal = journal_of(victim)
        os.kill(victim, signal.SIGKILL)
        killed.update(pid=victim, workers_before=workers_before)
        # What the dead worker had journaled, and how much of it had not
        # reached the database yet, read before anyone recovers it.
        ids = []
        if journal is not None:
            with contextlib.suppress(OSError):
                lines = journal.read_bytes().splitlines()
                ids = [json.loads(line)[0] for line in lines if line.strip()]
                killed["journal"] = journal.name
                killed["journal_lines"] = len(ids)
                in_db = stored_event_ids(instance.dir / "ambassador.db", ids)
                killed["not_in_database_at_kill"] = len(ids) - in_db
        out, err = load.communicate(timeout=args.crash_duration + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    if load.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{out}\n{err}")
    variant.runs.append(parse_wrk(out))
    killed["workers_after"] = server.workers()
    result = {"variant": "crash check, sqlite", "database": "sqlite",
              **summarize(variant.runs), **finish_ambassador(variant, args.connections)}
    if ids:
        killed["in_database_after_recovery"] = stored_event_ids(instance.dir / "ambassador.db", ids)
    result["killed"] = killed
    return result


# -- report -------------------------------------------------------------------

def table(rows):
    header = ("variant", "req/s", "p99 ms", "÷ raw", "÷ Flask", "CPU µs/req", "requests", "clicks stored",
              "lost", "errors")
    lines = []
    for r in rows:
        clicks = r.get("clicks")
        lines.append((
            r["variant"], f"{r['rps']:,.0f}", f"{r['p99_ms']:.1f}", f"{r['ratio']:.2f}",
            f"{r['ratio_flask']:.2f}",
            f"{r['server_cpu_us_per_request']:.0f}" if r.get("server_cpu_us_per_request") else "-",
            f"{r['requests']:,}",
            f"{clicks['stored']:,}" if clicks else "-",
            f"{clicks['lost']}" if clicks else "-",
            f"{r['error_total']}",
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *map(fmt, lines)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds of measured load per variant (default 10)")
    parser.add_argument("--slice", type=int, default=2,
                        help="the variants take turns in wrk runs of this many seconds (default 2)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--journal-fsync", type=int, default=0, metavar="MS",
                        help="also run each database with AMBASSADOR_CLICK_JOURNAL_FSYNC=MS (its cost)")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--links", type=int, default=2000, help="tracked links to rotate over")
    parser.add_argument("--crash-duration", type=int, default=5,
                        help="seconds of the crash check on SQLite (0 skips it)")
    args = parser.parse_args()
    databases = databases_arg(parser, args.databases)
    if args.duration < 1 or args.connections < 1 or args.slice < 1 or args.links < 1:
        parser.error("duration, slice, connections and links must be positive")
    rounds = max(1, args.duration // args.slice)
    slice_seconds = args.duration // rounds

    wrk = ensure_wrk()
    started = time.monotonic()
    servers, instances, variants, notes = [], [], [], []
    rows, crash, failures = [], None, []
    workdir = tempfile.mkdtemp(prefix="ambassador-bench-")
    log(f"redirect benchmark: gunicorn -w {WORKERS} -k sync on 127.0.0.1; wrk -t{THREADS} "
        f"-c{args.connections} --latency, {rounds} turns of {slice_seconds}s per variant "
        f"after a {args.warmup}s warm-up; {args.links} tracked links; {os.cpu_count()} CPUs")
    try:
        variants.append(start_bare(args, workdir, servers, "raw", "bare_app:raw",
                                   "raw WSGI, no framework, no database"))
        variants.append(start_bare(args, workdir, servers, "bare", "bare_app:app",
                                   "bare Flask, no database"))
        for kind in databases:
            if kind == "postgresql" and not postgres_reachable():
                notes.append(f"postgresql skipped: {POSTGRES_BASE} not reachable")
                continue
            log(f"- setting up Ambassador on {kind}")
            variants.append(start_ambassador(args, workdir, servers, instances, kind))
            if args.journal_fsync:
                name = f"{kind}, journal fsync every {args.journal_fsync} ms"
                variants.append(start_ambassador(args, workdir, servers, instances, kind, name=name,
                                                 env={"AMBASSADOR_CLICK_JOURNAL_FSYNC": str(args.journal_fsync)}))
        for v in variants:
            log(f"- warm-up: {v.name}")
            v.warmup = run_wrk(wrk, v.server.url, args.warmup, args.connections, v.paths)
        # Taking turns spreads any change in the machine's load (other jobs,
        # CPU frequency) evenly over the variants; only one server is under
        # load at a time, the others sit idle.
        log(f"- measuring: {rounds} turns of {slice_seconds}s each")
        per_round = []
        for r in range(rounds):
            turn = variants[r % len(variants):] + variants[:r % len(variants)]
            rps = {}
            for v in turn:
                time.sleep(0.2)
                cpu = v.server.cpu_seconds()
                result = run_wrk(wrk, v.server.url, slice_seconds, args.connections, v.paths)
                time.sleep(0.3)  # the journal thread's share of these requests
                result["server_cpu_seconds"] = v.server.cpu_seconds() - cpu
                v.runs.append(result)
                rps[v.name] = result["rps"]
            per_round.append(rps)
        raw, bare = variants[0], variants[1]
        for v in variants:
            row = {"variant": v.name, "database": v.database, "warmup": _brief(v.warmup),
                   **summarize(v.runs)}
            if v.instance is not None:
                row.update(finish_ambassador(v, args.connections))
            else:
                v.server.stop()
            row["ratio_per_turn"] = [round(p[v.name] / p[raw.name], 3) for p in per_round]
            row["flask_ratio_per_turn"] = [round(p[v.name] / p[bare.name], 3) for p in per_round]
            rows.append(row)
        if "sqlite" in databases and args.crash_duration > 0:
            log(f"- crash check on SQLite: {args.crash_duration}s, one worker killed with SIGKILL halfway")
            crash = crash_check(wrk, args, workdir, servers, instances)
    finally:
        for server in servers:
            server.kill()
        for instance in instances:
            with contextlib.suppress(Exception):
                instance.drop()
        shutil.rmtree(workdir, ignore_errors=True)

    ceiling, flask_rps = rows[0]["rps"], rows[1]["rps"]
    for r in rows + ([crash] if crash else []):
        r["ratio"] = r["rps"] / ceiling if ceiling else 0.0
        r["ratio_flask"] = r["rps"] / flask_rps if flask_rps else 0.0
    log("")
    log(table(rows + ([crash] if crash else [])))
    log("(÷ raw, ÷ Flask: req/s over the raw WSGI and the bare Flask req/s of the same turns; "
        "p99: 99th percentile "
        "latency of all turns together; CPU µs/req: user+system CPU of the gunicorn workers, "
        "their click-journal threads included, per completed redirect; errors: socket errors "
        "+ responses other than 302)")
    for r in rows[1:]:
        log(f"{r['variant']}: ÷ raw per turn " + " ".join(f"{x:.2f}" for x in r["ratio_per_turn"]))

    for r in rows:
        if r["error_total"]:
            failures.append(f"{r['variant']}: {r['error_total']} errors {r['errors']} "
                            f"statuses {r['statuses']}")
        if r["database"] is None:
            continue
        c = r["clicks"]
        log(f"{r['variant']}: {c['completed']:,} redirects completed (probe, warm-up and turns), "
            f"{c['stored']:,} clicks stored {r['click_kinds']}: lost {c['lost']}, "
            f"{c['extra']} extra (in flight when wrk stopped; bound {c['in_flight_bound']}); "
            f"recover-clicks: {r['recover_clicks']!r}; journals left: {len(r['leftover_journals'])}")
        failures.extend(_click_failures(r))
    checked = []
    for kind, bar in BARS.items():
        row = next((r for r in rows if r["database"] == kind and r["variant"] == f"Ambassador, {kind}"), None)
        if row is None:
            notes.append(f"no {kind} run: its ratio bar was not checked")
            continue
        checked.append(f"{kind} at {row['ratio']:.2f} of raw WSGI (bar {bar}), "
                       f"{row['ratio_flask']:.2f} of bare Flask")
        if row["ratio"] < bar:
            failures.append(f"{kind} at {row['ratio']:.2f} of raw WSGI, below {bar}")
    if crash:
        c, k = crash["clicks"], crash["killed"]
        log(f"crash check: killed worker {k.get('pid')} (workers before {k.get('workers_before')}, "
            f"after {k.get('workers_after')}); its journal held {k.get('journal_lines', '?')} clicks, "
            f"{k.get('not_in_database_at_kill', '?')} of them not yet in the database at the kill, "
            f"{k.get('in_database_after_recovery', '?')} in the database after recovery. "
            f"{c['completed']:,} redirects completed, {c['stored']:,} clicks stored: lost {c['lost']}, "
            f"{c['extra']} extra (bound {c['in_flight_bound']}); {crash['socket_errors']} socket errors "
            f"(0 or 1 expected: the request the killed worker was serving) {crash['errors']}, "
            f"statuses {crash['statuses']}; "
            f"recover-clicks: {crash['recover_clicks']!r}")
        failures.extend(_click_failures(crash))
        if crash["non_302"]:
            failures.append(f"crash check: responses other than 302: {crash['statuses']}")
        if "journal_lines" not in k:
            notes.append("crash check: the killed worker's journal could not be read")
        elif k.get("in_database_after_recovery") != k["journal_lines"]:
            failures.append("crash check: clicks of the killed worker's journal missing from the database")
    for n in notes:
        log(f"note: {n}")

    passed = not failures
    log("")
    if passed:
        log("PASS: " + "; ".join([*checked, "no lost click, no error"]))
    else:
        log("FAIL: " + "; ".join(failures))
    log(f"(took {time.monotonic() - started:.0f}s)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg": os.getloadavg()},
        "settings": {"duration": args.duration, "turns": rounds, "turn_seconds": slice_seconds,
                     "warmup": args.warmup, "connections": args.connections, "threads": THREADS,
                     "workers": WORKERS, "links": args.links, "crash_duration": args.crash_duration,
                     "databases": databases, "user_agent": USER_AGENT},
        "ceiling_rps": ceiling,
        "flask_rps": flask_rps,
        "variants": rows,
        "crash_check": crash,
        "bar": {"ratio": BARS, "passed": passed, "failures": failures, "notes": notes},
    }, indent=2, default=str))
    log(f"results: {RESULTS.relative_to(ROOT)}")
    return 0 if passed else 1


def _brief(run):
    return {k: run[k] for k in ("requests", "seconds", "rps", "p99_ms", "errors", "statuses")}


def _click_failures(r):
    c, out = r["clicks"], []
    if c["lost"]:
        out.append(f"{r['variant']}: {c['lost']} clicks lost")
    if not c["within_in_flight_bound"]:
        out.append(f"{r['variant']}: {c['extra']} more clicks than completed redirects, "
                   f"above the in-flight bound {c['in_flight_bound']}")
    if r["leftover_journals"]:
        out.append(f"{r['variant']}: journals left after recover-clicks: {r['leftover_journals']}")
    return out


if __name__ == "__main__":
    sys.exit(main())
