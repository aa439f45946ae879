"""SQL statements per request of the share page, at growing data sizes.

For each database (SQLite, and PostgreSQL when reachable) and each size
(items; people, share events and clicks grow with them), a fresh database is
filled, a person signs in through the demo login (POST /login, field
``username``) and each share-page request below is made: the statements it
runs are counted through the ``peewee`` logger (DEBUG logs every statement)
and its time is measured (the best of ``--repeat`` requests, in-process, no
network: the minimum is the figure least disturbed by other work on the
machine).

PASS when every request runs the same number of statements at every size
(exit status 1 otherwise). The render times and their ratio largest /
smallest size are printed for information. Results also go to
bench/results/share_page_queries.json.

    .venv/bin/python bench/share_page_queries.py [--sizes 50,500,5000]
                                                [--databases sqlite,postgresql]
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

from benchlib import bench_app, counting, databases_arg, log, log_table, run_sizes

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "share_page_queries.json"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
VIEWER = "bench-viewer"

# (label, path, extra headers)
REQUESTS = [
    ("GET / (full page)", "/", {}),
    ("GET /?page=2", "/?page=2", {}),
    ("GET /?q=solar (search)", "/?q=solar", {}),
    ("GET /?kind=news&campaign=c1", "/?kind=news&campaign=c1", {}),
    ("GET / htmx #results fragment", "/?q=item", {"HX-Request": "true", "HX-Target": "results"}),
    ("GET /widget/latest", "/widget/latest", {}),
]


def populate(n_items):
    """Items, campaigns, people, tracked links, share events and clicks.

    Everything but the handful of campaigns grows with ``n_items``: people
    n/10 (at least 20), the viewer has shared every 4th item, other people
    share too, and there are 4 clicks per item.
    """
    from intranet_plugin.models import (
        SHARE_NETWORKS,
        Campaign,
        Click,
        Item,
        Person,
        ShareEvent,
        TrackedLink,
        db,
        utcnow,
    )

    now = utcnow()
    kinds = ("news", "vacancy", "blog")
    words = ("solar", "wind", "grid", "people", "careers", "hydrogen", "storage")
    with db.atomic():
        campaigns = [Campaign.create(slug=f"c{i}", name=f"Campaign {i}") for i in range(5)]
        people = [Person.create(username=VIEWER, display_name="Bench Viewer",
                                email="viewer@example.com", joined_at=now)]
        people += [Person.create(username=f"bench{i}", display_name=f"Bench {i}",
                                 email=f"bench{i}@example.com", joined_at=now)
                   for i in range(max(20, n_items // 10))]
        rows = []
        for i in range(n_items):
            word = words[i % len(words)]
            at = now - datetime.timedelta(minutes=i + 1)
            rows.append({
                "kind": kinds[i % 3], "slug": f"item-{i}", "title": f"Item {i} about {word}",
                "summary": f"A summary of item {i}, which is about {word}.",
                "url": f"https://www.example.com/news/item-{i}", "image_url": "",
                "caption": f"Look at item {i} #{word}", "captions": {"x": [f"Item {i}"]},
                "hashtags": f"{word} energy", "language": "en",
                "campaign": campaigns[i % 5].id if i % 3 == 0 else None,
                # a few drafts, expired and pinned ones among them
                "status": "draft" if i % 17 == 5 else "published",
                "pinned": i % 50 == 7,
                "publish_at": at, "created_at": at, "updated_at": at,
                "expires_at": now - datetime.timedelta(days=1) if i % 23 == 11 else None,
            })
        for start in range(0, len(rows), 500):
            Item.insert_many(rows[start:start + 500]).execute()
        item_ids = [i.id for i in Item.select(Item.id).order_by(Item.id)]

        links, shares = [], []
        for n, item_id in enumerate(item_ids):
            # the viewer shares every 4th item, someone else every item
            sharers = [people[0]] if n % 4 == 0 else []
            sharers.append(people[1 + n % (len(people) - 1)])
            for person in sharers:
                network = SHARE_NETWORKS[n % len(SHARE_NETWORKS)]
                links.append({"code": uuid.uuid4().hex[:12], "person": person.id, "item": item_id,
                              "network": network, "created_at": now})
        for start in range(0, len(links), 500):
            TrackedLink.insert_many(links[start:start + 500]).execute()
        link_rows = list(TrackedLink.select(TrackedLink.id, TrackedLink.person, TrackedLink.item,
                                            TrackedLink.network).dicts())
        for link in link_rows:
            shares.append({"person": link["person"], "item": link["item"], "link": link["id"],
                           "network": link["network"], "source": "web", "visitor": "v" * 32,
                           "day": now.date(), "created_at": now})
        for start in range(0, len(shares), 500):
            ShareEvent.insert_many(shares[start:start + 500]).execute()
        clicks = []
        for k in range(4 * n_items):
            link = link_rows[k % len(link_rows)]
            clicks.append({"event_id": uuid.uuid4().hex, "link": link["id"], "at": now,
                           "day": now.date(), "kind": "human", "visitor": f"{k:032d}",
                           "referrer_host": "", "is_self": False})
        for start in range(0, len(clicks), 500):
            Click.insert_many(clicks[start:start + 500]).execute()
    counts = {"items": n_items, "people": len(people), "tracked_links": len(link_rows),
              "share_events": len(shares), "clicks": len(clicks), "campaigns": len(campaigns)}
    db.close()
    return counts


def measure(kind, url, n_items, repeat):
    from intranet_plugin import db as database
    from intranet_plugin.models import db

    app = bench_app(url)
    with app.app_context():
        database.upgrade()
        counts = populate(n_items)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
    response = client.post("/login", data={"username": VIEWER})
    if response.status_code != 302:
        raise RuntimeError(f"demo login answered {response.status_code}: {response.data[:300]!r}")
    results = {}
    for label, path, headers in REQUESTS:
        with counting() as statements:
            response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{label} answered {response.status_code}: {response.data[:300]!r}")
        if label.startswith("GET / (full") and b"share-button" not in response.data:
            raise RuntimeError("the share page shows no item: the data set is wrong")
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(path, headers=headers)
            timings.append(time.perf_counter() - start)
        results[label] = {"queries": len(statements), "statements": statements,
                          "ms": min(timings) * 1000, "ms_median": statistics.median(timings) * 1000}
    if not db.is_closed():
        db.close()
    return {"database": kind, "size": n_items, "data": counts, "requests": results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,500,5000", help="numbers of items (default 50,500,5000)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per page and size")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of each request")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    databases = databases_arg(parser, args.databases)
    if len(sizes) < 2 or sizes[0] < 1:
        parser.error("give at least two positive sizes")

    started = time.monotonic()
    runs, notes = run_sizes(databases, sizes, "ambassador-share-bench-", lambda size: f"{size} items",
                            lambda kind, url, size: measure(kind, url, size, args.repeat))
    failures = []

    log("")
    for kind in databases:
        mine = [r for r in runs if r["database"] == kind]
        if not mine:
            continue
        log(f"{kind}: SQL statements per request (q@items), and time in ms (ms@items: best of "
            f"{args.repeat} requests, in-process)")
        data = ", ".join(f"{r['size']}: {r['data']['people']} people, {r['data']['share_events']} shares, "
                         f"{r['data']['clicks']} clicks" for r in mine)
        log(f"  (items {data})")
        head = ["request"] + [f"q@{r['size']}" for r in mine] + [f"ms@{r['size']}" for r in mine] \
            + [f"ms ×{mine[-1]['size']}/{mine[0]['size']}", "queries"]
        lines = []
        for label, _, _ in REQUESTS:
            qs = [r["requests"][label]["queries"] for r in mine]
            ms = [r["requests"][label]["ms"] for r in mine]
            constant = len(set(qs)) == 1
            if not constant:
                failures.append(f"{kind} {label}: statements grow with the data: {qs}")
            lines.append([label, *map(str, qs), *(f"{m:.1f}" for m in ms),
                          f"{ms[-1] / ms[0]:.2f}", "constant" if constant else "GROWS"])
        log_table(head, lines)
        log("")
        if args.show_sql:
            for label, _, _ in REQUESTS:
                log(f"  {label} at {mine[0]['size']} items:")
                for sql in mine[0]["requests"][label]["statements"]:
                    log(f"    {sql}")
            log("")
    for n in notes:
        log(f"note: {n}")
    passed = not failures and bool(runs)
    if passed:
        log("PASS: every request runs the same number of statements at every size")
    else:
        log("FAIL: " + ("; ".join(failures) or "nothing was measured"))
    log(f"(took {time.monotonic() - started:.0f}s)")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "sizes": sizes, "repeat": args.repeat, "runs": runs,
        "passed": passed, "failures": failures, "notes": notes,
    }, indent=2, default=str))
    log(f"results: {RESULTS.relative_to(ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
