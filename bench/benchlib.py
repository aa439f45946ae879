"""Helpers shared by the benchmarks: logging, counting SQL statements,
throw-away databases."""

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

POSTGRES_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def log(message):
    print(message, flush=True)


class QueryCounter(logging.Handler):
    """Collects the statements peewee logs (one DEBUG record per statement)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        msg = record.msg
        self.statements.append(msg[0] if isinstance(msg, tuple) else str(msg))


@contextlib.contextmanager
def counting():
    logger = logging.getLogger("peewee")
    handler = QueryCounter()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # count, do not print
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


@contextlib.contextmanager
def timing_statements(database):
    """Times every statement ``database`` (peewee's, bound) runs, until the
    next one starts or the block ends: its execution, the fetching of its
    rows and the Python work on them. Yields a list of [seconds, sql]."""
    timed, clock = [], time.perf_counter
    execute = database.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        now = clock()
        if timed:
            timed[-1][0] = now - timed[-1][0]
        timed.append([now, sql])
        return execute(sql, params, *args, **kwargs)

    database.execute_sql = execute_sql
    try:
        yield timed
    finally:
        del database.execute_sql
        if timed:
            timed[-1][0] = clock() - timed[-1][0]


def slowest(timed, width=160):
    """"12.3 ms (40 %): SELECT ..." of the slowest of ``timing_statements``."""
    if not timed:
        return "no statement"
    seconds, sql = max(timed, key=lambda t: t[0])
    share = seconds / (sum(t[0] for t in timed) or 1)
    sql = " ".join(sql.split())
    tables = ", ".join(sorted(set(re.findall(r'(?:FROM|JOIN) "(\w+)"', sql))))
    return f"{seconds * 1000:.1f} ms ({share:.0%} of the statements' time), reads {tables}: {sql[:width]}"


@contextlib.contextmanager
def fresh_database(kind, workdir):
    """A URL of an empty database, removed afterwards."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="share-bench-", dir=workdir))
        try:
            yield "sqlite:///" + str(directory / "ambassador.db")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    with contextlib.closing(psycopg.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_BASE else "?"
    try:
        yield f"{POSTGRES_BASE}{sep}options=-csearch_path%3D{schema}"
    finally:
        with contextlib.closing(psycopg.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_reachable():
    try:
        import psycopg

        psycopg.connect(POSTGRES_BASE, connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "skip"
        log(f"PostgreSQL at {POSTGRES_BASE} is not reachable ({exc.__class__.__name__}): skipped")
        return False


def databases_arg(parser, text):
    """The ``--databases`` list ("sqlite,postgresql"), each one checked."""
    databases = [d.strip() for d in text.split(",") if d.strip()]
    for d in databases:
        if d not in ("sqlite", "postgresql"):
            parser.error(f"unknown database {d!r}")
    return databases


def run_sizes(databases, sizes, prefix, describe, measure):
    """``measure(kind, url, size)`` for every database and size, each in a
    fresh database under a throw-away instance directory; PostgreSQL is
    skipped (with a note) when unreachable. Returns (runs, notes)."""
    workdir = tempfile.mkdtemp(prefix=prefix)
    os.environ["AMBASSADOR_INSTANCE_PATH"] = workdir  # create_app makes its instance dir
    runs, notes = [], []
    try:
        for kind in databases:
            if kind == "postgresql" and not postgres_reachable():
                notes.append(f"postgresql skipped: {POSTGRES_BASE} not reachable")
                continue
            for size in sizes:
                log(f"- {kind}, {describe(size)}")
                with fresh_database(kind, workdir) as url:
                    runs.append(measure(kind, url, size))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return runs, notes


def log_table(head, lines):
    """A text table: the first column left-aligned, the others right."""
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]

    def row(cells):
        return "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    log(row(head))
    log("  " + "  ".join("-" * w for w in widths))
    for line in lines:
        log(row(line))


def bench_app(url, **config):
    """An Ambassador app on the given database, set up as the benchmarks
    need it: no click journal, no CSRF, the demo login."""
    from intranet_plugin import create_app

    return create_app({
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "CLICK_JOURNAL_DIR": "off",
        "WTF_CSRF_ENABLED": False,
        "AUTH": "dev",
        **config,
    })
