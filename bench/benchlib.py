"""Helpers shared by the benchmarks: logging, counting SQL statements,
throw-away databases."""

import contextlib
import logging
import os
import shutil
import tempfile
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
def fresh_database(kind, workdir):
    """A URL of an empty database, removed afterwards."""
    if kind == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="share-bench-", dir=workdir))
        try:
            yield "sqlite:///" + str(directory / "ambassador.db")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import psycopg2

    schema = "bench_" + uuid.uuid4().hex[:10]
    with contextlib.closing(psycopg2.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
        conn.autocommit = True
        conn.cursor().execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in POSTGRES_BASE else "?"
    try:
        yield f"{POSTGRES_BASE}{sep}options=-csearch_path%3D{schema}"
    finally:
        with contextlib.closing(psycopg2.connect(POSTGRES_BASE, connect_timeout=5)) as conn:
            conn.autocommit = True
            conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_reachable():
    try:
        import psycopg2

        psycopg2.connect(POSTGRES_BASE, connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "skip"
        log(f"PostgreSQL at {POSTGRES_BASE} is not reachable ({exc.__class__.__name__}): skipped")
        return False


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
