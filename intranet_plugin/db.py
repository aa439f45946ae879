"""Binding the models to a database, per-request connections, migrations."""

import contextlib
import fcntl
import os
import sqlite3
from urllib.parse import parse_qsl, unquote, urlsplit

from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.migrations import Runner

from intranet_plugin.models import db

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")
# MATERIALIZED common table expressions (storing clicks, tracking.totals).
SQLITE_NEEDED = (3, 35)

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # NORMAL in WAL mode survives any application crash; only a power loss
    # can cost the last transactions, which the click journal also covers.
    "synchronous": "normal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "cache_size": -16_000,
}


def make_database(url):
    """A peewee database for an ``AMBASSADOR_DATABASE_URL``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if sqlite3.sqlite_version_info < SQLITE_NEEDED:
            # Said at start-up, not as a syntax error at every stored click.
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} is too old: Ambassador needs "
                               f"{'.'.join(map(str, SQLITE_NEEDED))} or later")
        path = unquote(url[len("sqlite:///"):])
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # Immediate write transactions: a writer takes the lock at BEGIN, so
        # two writers queue on the busy timeout instead of one failing with
        # "database is locked" halfway through.
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE",
                              check_same_thread=False)
    # Query parameters are passed to libpq: ?sslmode=verify-full&options=...
    extra = dict(parse_qsl(parts.query))
    try:
        import psycopg  # the postgres extra, imported only for a PostgreSQL URL
    except ImportError:  # psycopg2 instead: peewee uses it as it is
        pass
    else:
        # Parameters merged into the statement by the client, as psycopg2
        # does: peewee repeats an expression with its own parameters in
        # SELECT and GROUP BY (DATE_TRUNC(%s, day)), which the server can
        # only match when it sees the values.
        extra["cursor_factory"] = psycopg.ClientCursor
    return PostgresqlDatabase(
        unquote(parts.path.lstrip("/")),
        host=parts.hostname,
        port=parts.port or 5432,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        connect_timeout=10,
        application_name="ambassador",
        **extra,
    )


SCAN_CACHE_KIB = 4_000


@contextlib.contextmanager
def scan_cache(kib=SCAN_CACHE_KIB):
    """This thread's SQLite connection with a page cache of ``kib`` KiB
    meanwhile, then as before: for a long job that reads each page about
    once (the weekly digest), so that its memory stays flat whatever the
    size of the database; the pages left over are freed at once. Nothing
    on PostgreSQL (its cache is the server's)."""
    if not isinstance(db.obj, SqliteDatabase):
        yield
        return
    before = db.execute_sql("PRAGMA cache_size").fetchone()[0]
    db.execute_sql(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        db.execute_sql(f"PRAGMA cache_size = {int(before)}")


def bind(url):
    """Bind the models to the database at ``url`` and return it."""
    database = make_database(url)
    db.initialize(database)
    return database


def upgrade(target=None):
    """Apply pending migrations in order; returns the names applied. Two
    upgrades at once (two servers deploying) take turns: the second finds
    nothing left to do."""
    with _upgrade_lock():
        return Runner(db.obj, MIGRATIONS).up(target)


def pending():
    """Names of migrations not yet applied."""
    return [m.name for m in Runner(db.obj, MIGRATIONS).status() if not m.applied]


def unknown_applied():
    """Migrations the database has that this code does not know: it was
    upgraded by a newer version, and this process must not write to it."""
    return [m.name for m in Runner(db.obj, MIGRATIONS).status() if m.path is None]


@contextlib.contextmanager
def _upgrade_lock():
    if is_postgres():
        with db.connection_context():
            db.execute_sql("SELECT pg_advisory_lock(hashtext('ambassador db upgrade'))")
            try:
                yield
            finally:
                db.execute_sql("SELECT pg_advisory_unlock(hashtext('ambassador db upgrade'))")
        return
    path = db.database
    if path == ":memory:":
        yield
        return
    with open(path + ".upgrade-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def init_app(app):
    bind(app.config["DATABASE_URL"])

    # peewee connects lazily on the first query, so a request that needs no
    # database (static files, a cached redirect) never opens a connection.
    @app.teardown_appcontext
    def close_connection(exc):
        if not db.is_closed():
            db.close()


def is_postgres():
    return isinstance(db.obj, PostgresqlDatabase)


_built = {}


def built_once(name, build, *key):
    """What ``build()`` returns (a statement), built once per kind of
    database (their placeholders differ) and ``key``: for SQL that runs
    with every batch of clicks, where peewee takes longer to build it than
    the database to run it."""
    whole = (name, type(db.obj), *key)
    if whole not in _built:
        _built[whole] = build()
    return _built[whole]


def execute_values(cursor, sql, rows, page_size=1000):
    """Run ``sql``, whose single ``%s`` stands for a VALUES list, once per
    page of ``rows`` (tuples of equal length): one statement per thousand
    rows instead of one per row, on whichever PostgreSQL driver peewee
    uses (psycopg 3, or psycopg2).

    The values are written into the statement as the driver's own
    literals, and the statement is sent without parameters: psycopg 3
    parses the placeholders of a statement over 4 KB anew every time
    (measured: 6.8 ms for a page of 500 clicks, twice what storing them
    costs otherwise).

    Each distinct value is turned into a literal once per call: the rows
    of running totals repeat the same days, ids, networks and zeros, and
    the driver's adapter costs more than a dictionary lookup (measured:
    0.3 to 1.5 µs a value)."""
    if not rows:
        return
    literal = _literal_writer(cursor)
    # Keyed by type too: True == 1 and 1 == 1.0, but their literals differ.
    cache = {}

    def row_literal(row):
        parts = []
        for value in row:
            key = (value.__class__, value)
            text = cache.get(key)
            if text is None:
                text = cache[key] = literal(value)
            parts.append(text)
        return b"(" + b",".join(parts) + b")"

    head, _, tail = sql.encode().partition(b"%s")
    for start in range(0, len(rows), page_size):
        cursor.execute(head + b",".join(map(row_literal, rows[start:start + page_size])) + tail)


def _literal_writer(cursor):
    """value -> SQL literal bytes, by the driver's adapters."""
    try:
        from psycopg.adapt import Transformer
    except ImportError:  # psycopg2
        return lambda value: cursor.mogrify("%s", (value,))
    return Transformer.from_context(cursor).as_literal
