"""Benchmark: a full weekly digest run against sending pre-rendered messages.

For each size (1,000 and 10,000 ambassadors by default; ``--people
1000,10000,100000`` for the 100,000 of issue 17) a fresh database is filled
with realistic history (items over ten weeks, shares, human and crawler
clicks, last week's digests) with bulk inserts in one subprocess; a second
subprocess then
1. sends half of min(N, 10,000) pre-rendered digests through one reused
   smtplib connection (the baseline),
2. runs ``send_weekly`` for all N ambassadors (claims, aggregate queries,
   MJML-compiled templates, signed links, SMTP) and reads its peak memory
   (``ru_maxrss`` of that subprocess, one per size),
3. sends the other half of the baseline,
all to the same local SMTP sink (aiosmtpd in its own process, discarding
messages), so that a change in the machine's load hits both alike.

Bars: digest messages per second >= 0.9 x the baseline's at every size, and
peak memory at the largest size <= 1.1 x that at 10,000 (when a larger size
runs too; else at the smallest): digests are streamed, never held. Exit status 1 when a bar is missed.

    .venv/bin/python bench/digest_bench.py [--people 1000,10000] [--database sqlite|postgresql]
"""

import argparse
import datetime
import json
import multiprocessing
import os
import random
import re
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from email.policy import SMTP

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
RATIO_BAR = 0.9
MEMORY_BAR = 1.1
MEMORY_BASE = 10_000  # the size memory is compared with when a larger one runs too (see main)
BASELINE = 10_000  # pre-rendered messages sent at most, half before and half after the digest run
SIZES = "1000,10000"
PEOPLE_CHUNK = 5_000  # people whose history is generated and inserted at a time
NETWORKS = ["linkedin"] * 4 + ["x", "x", "facebook", "xing", "whatsapp", "email", "link"]


# -- the SMTP sink -------------------------------------------------------------

def _sink(port, ready, received):
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port, ready_timeout=60,
                            data_size_limit=0)
    controller.start()
    ready.set()
    while True:
        time.sleep(3600)


def start_sink():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ready, received = multiprocessing.Event(), multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=_sink, args=(port, ready, received), daemon=True)
    process.start()
    if not ready.wait(60):
        raise RuntimeError("the SMTP sink did not start")
    return process, port, received


# -- the app --------------------------------------------------------------------

def make_app(database_url, instance, smtp_url=""):
    os.environ["AMBASSADOR_INSTANCE_PATH"] = instance
    from intranet_plugin import create_app

    return create_app({
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 32,
        "PUBLIC_URL": "https://go.example.com",
        "BASE_URL": "https://intranet.example.com/ambassador",
        "CLICK_JOURNAL_DIR": "off",
        "SMTP_URL": smtp_url,
        "MAIL_OUTBOX": "off",
        "MAIL_FROM": "Ambassador <ambassador@bench.example>",
    })


# -- generating history ------------------------------------------------------------

def generate(database_url, instance, size, seed=11):
    """Bulk inserts of a realistic programme: people and last week's digests with
    peewee's insert_many, links, shares and clicks a chunk of people at a time
    with bench/dashboard.py's bulk_insert."""
    from dashboard import bulk_insert

    from digest.send import week_of
    from intranet_plugin import db as database
    from intranet_plugin.models import (
        Campaign,
        Item,
        MailLedger,
        Person,
        db,
        new_code,
        utcnow,
    )
    from intranet_plugin.tracking import totals

    rng = random.Random(seed)
    n_shares = n_clicks = 0
    app = make_app(database_url, instance)
    started = time.monotonic()
    with app.app_context():
        database.upgrade()
        now = utcnow()
        campaigns = [Campaign.create(slug=f"campaign-{n}", name=f"Campaign {n}") for n in range(2)]
        items = []
        for n in range(70):
            # Ten items this week, the rest over the ten weeks before.
            age = datetime.timedelta(hours=rng.randint(1, 6 * 24)) if n < 10 else \
                datetime.timedelta(days=rng.randint(7, 70))
            items.append(Item.create(
                kind=rng.choice(["news", "news", "vacancy", "blog"]), slug=f"item-{n}",
                title=f"Item {n}: {rng.choice(['Wind farm', 'Vacancy', 'Report', 'Team day'])} & more",
                summary="A summary of a realistic length. " * 6, url=f"https://www.example.com/item-{n}",
                image_url=f"https://www.example.com/images/{n}.jpg", caption="A suggested caption " * 5,
                hashtags="#energy #windpower", pinned=n == 0, campaign=campaigns[n % 2] if n % 5 == 0 else None,
                publish_at=now - age, created_at=now - age))
        last_week = week_of(now - datetime.timedelta(days=7), "Europe/Amsterdam")

        def chunks(model, fields, rows, size=2000):
            with db.atomic():
                for start in range(0, len(rows), size):
                    model.insert_many(rows[start:start + size], fields=fields).execute()

        people = [(n + 1, f"user{n:05d}", f"User {n}", f"user{n:05d}@bench.example", "nl" if n % 2 else "en",
                   True, now - datetime.timedelta(days=200), rng.random() < 0.3, "weekly",
                   [] if n % 4 else ["news", "vacancy"], [], False, new_code(6), now) for n in range(size)]
        chunks(Person, [Person.id, Person.username, Person.display_name, Person.email, Person.locale,
                        Person.is_active, Person.joined_at, Person.show_on_leaderboard, Person.digest,
                        Person.kinds, Person.networks, Person.instant_alerts, Person.ref, Person.created_at],
               people, 1000)
        chunks(MailLedger, [MailLedger.kind, MailLedger.person, MailLedger.period, MailLedger.status,
                            MailLedger.claimed_at, MailLedger.sent_at],
               [("digest", n + 1, last_week, "sent", now - datetime.timedelta(days=7), now - datetime.timedelta(days=7))
                for n in range(size) if n % 10])

        # Links, shares and clicks are made and inserted a chunk of people
        # at a time (plain executemany or COPY, as bench/dashboard.py), so
        # that 100,000 people take minutes and memory stays bounded.
        link_id = click_id = 0
        for first in range(1, size + 1, PEOPLE_CHUNK):
            links, shares, clicks = [], [], []
            for pid in range(first, min(size, first + PEOPLE_CHUNK - 1) + 1):
                for item in rng.sample(items, min(len(items), int(rng.expovariate(1 / 4)))):
                    link_id += 1
                    network = rng.choice(NETWORKS)
                    when = item.publish_at + datetime.timedelta(hours=rng.randint(1, 72))
                    when = min(when, now - datetime.timedelta(minutes=5))
                    links.append((link_id, f"l{link_id:011d}", pid, item.id, network, when))
                    shares.append((link_id, pid, item.id, link_id, network, "web", when.date(), when, False))
                    click_id += 1
                    clicks.append((click_id, f"b{click_id:012d}", link_id, when, when.date(), "crawler",
                                   f"c{click_id:08d}", "", False, ""))
                    for _ in range(min(200, int(rng.paretovariate(1.4) * 3) - 2)):
                        at = when + datetime.timedelta(minutes=rng.randint(1, 60 * 24 * 10))
                        if at < now:
                            click_id += 1
                            clicks.append((click_id, f"b{click_id:012d}", link_id, at, at.date(), "human",
                                           f"v{rng.randint(1, size * 20)}", "www.linkedin.com", False, ""))
            with db.atomic():
                bulk_insert("tracked_link", ("id", "code", "person_id", "item_id", "network", "created_at"), links)
                bulk_insert("share_event", ("id", "person_id", "item_id", "link_id", "network", "source", "day",
                                            "created_at", "is_repeat"), shares)
                bulk_insert("click", ("id", "event_id", "link_id", "at", "day", "kind", "visitor", "referrer_host",
                                      "is_self", "net"), clicks)
            n_shares += len(shares)
            n_clicks += len(clicks)
        # The clicks went in around clicks.store: compute the running totals
        # as an upgrade of an existing install does.
        totals.rebuild()
        if database.is_postgres():
            for table in ("person", "tracked_link", "share_event", "click"):
                db.execute_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            db.execute_sql("ANALYZE")
        else:
            db.execute_sql("ANALYZE")
    return {"people": size, "items": len(items), "shares": n_shares, "clicks": n_clicks,
            "seconds": round(time.monotonic() - started, 1)}


# -- sending ----------------------------------------------------------------------------

def prerendered(app, count=50):
    """Real digests as bytes, built the way send_weekly builds them."""
    from digest.build import Batch, Leaderboard, Windows
    from digest.links import MailLinks
    from digest.render import Week, digest_message, templates
    from digest.send import week_of
    from intranet_plugin import db as database
    from intranet_plugin.mail.links import mail_context
    from intranet_plugin.models import Person, utcnow

    now = utcnow()
    week = week_of(now, app.config["TIMEZONE"])
    # With the page cache send_weekly reads through: the default one would
    # fill with the all-time leaderboard's pages, a peak of this process
    # that grows with the database and is not the run's.
    with mail_context(app), database.scan_cache():
        people = list(Person.select().order_by(Person.id).limit(count))
        windows = Windows(now)
        batch = Batch(people, week, windows, Leaderboard(), app.config["DIGEST_MAX_ITEMS"])
        links, compiled, words = MailLinks(), templates(app), Week(windows)
        return [digest_message(batch.digest(p), week, words, links, compiled, app.config).as_bytes(policy=SMTP)
                for p in people]


def baseline(port, messages, count):
    started = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", port, timeout=60)
    for n in range(count):
        conn.sendmail("ambassador@bench.example", [f"person{n}@bench.example"], messages[n % len(messages)])
    conn.quit()
    return time.perf_counter() - started


def send(database_url, instance, size):
    from digest.send import send_weekly

    sink, port, received = start_sink()
    try:
        app = make_app(database_url, instance, f"smtp://127.0.0.1:{port}")
        with app.app_context():
            messages = prerendered(app)
        count = min(size, BASELINE)
        first = count // 2
        base_seconds = baseline(port, messages, first)
        before = received.value
        report = send_weekly(app)
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        digest_received = received.value - before
        base_seconds += baseline(port, messages, count - first)
    finally:
        sink.terminate()
    if report.error or report.failed or report.sent + report.skipped != size:
        raise RuntimeError(report.summary())
    return {"size": size, "sent": report.sent, "skipped": report.skipped, "received": digest_received,
            "digest_seconds": report.seconds, "digest_rate": report.sent / report.seconds,
            "baseline_rate": count / base_seconds, "peak_mb": peak_kb / 1024,
            "message_kb": sum(map(len, messages)) / len(messages) / 1024}


# -- driver -----------------------------------------------------------------------------

def worker(args):
    if args.worker == "generate":
        result = generate(args.db, args.instance, args.size)
    else:
        result = send(args.db, args.instance, args.size)
    print("RESULT " + json.dumps(result))


def _subprocess(*args):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *args], cwd=ROOT, capture_output=True,
                         text=True)
    if out.returncode:
        sys.stderr.write(out.stdout + out.stderr)
        raise SystemExit(f"bench/digest_bench.py {' '.join(args[:2])} failed")
    line = [row for row in out.stdout.splitlines() if row.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def fresh_database(kind, directory):
    if kind == "sqlite":
        return "sqlite:///" + os.path.join(directory, "bench.db"), lambda: None
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    dsn = re.sub(r"^postgres(ql)?://", "postgresql://", POSTGRES_URL)
    conn = psycopg.connect(dsn)
    conn.autocommit = True
    conn.cursor().execute(f"CREATE SCHEMA {schema}")

    def drop():
        conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.close()

    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}", drop


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", "--sizes", dest="sizes", default=SIZES,
                        help="numbers of ambassadors, comma-separated (default %(default)s)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--worker", choices=["generate", "send"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="ambassador-bench-") as directory:
            url, drop = fresh_database(args.database, directory)
            try:
                common = ["--size", str(size), "--db", url, "--instance", directory]
                made = _subprocess("--worker", "generate", *common)
                print(f"{size:>6} ambassadors: {made['shares']:,} shares, {made['clicks']:,} clicks, "
                      f"{made['items']} items, generated in {made['seconds']} s", flush=True)
                rows.append(_subprocess("--worker", "send", *common))
            finally:
                drop()

    print()
    print(f"Weekly digest on {args.database}: send_weekly against pre-rendered messages over one smtplib "
          "connection, same SMTP sink, same run")
    print(f"{'ambassadors':>11} {'sent':>6} {'digest msg/s':>13} {'baseline msg/s':>15} {'ratio':>6} "
          f"{'peak RSS MB':>12} {'KB/msg':>7}")
    ok = True
    for r in rows:
        r["ratio"] = r["digest_rate"] / r["baseline_rate"]
        ok &= r["ratio"] >= RATIO_BAR and r["received"] == r["sent"]
        print(f"{r['size']:>11,} {r['sent']:>6,} {r['digest_rate']:>13.0f} {r['baseline_rate']:>15.0f} "
              f"{r['ratio']:>6.2f} {r['peak_mb']:>12.1f} {r['message_kb']:>7.1f}")
    # Below some 10,000 people SQLite's page cache (16 MB, intranet_plugin.db)
    # is not yet full, and fills with the database rather than with the
    # digest: with a larger size in the run, 10,000 (or more) is the base.
    base = next((r for r in rows[:-1] if r["size"] >= MEMORY_BASE), rows[0])
    memory = rows[-1]["peak_mb"] / base["peak_mb"]
    ok &= memory <= MEMORY_BAR
    print(f"peak memory {rows[-1]['size']:,} / {base['size']:,}: {memory:.2f} (bar <= {MEMORY_BAR}); "
          f"ratio bar >= {RATIO_BAR}")
    print("PASS" if ok else "FAIL")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", f"digest-{args.database}.json"), "w") as fh:
        json.dump({"database": args.database, "rows": rows, "memory_ratio": memory, "pass": ok}, fh, indent=2)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
