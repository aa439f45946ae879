"""Fixtures: a fresh database per test, on SQLite or PostgreSQL.

``AMBASSADOR_TEST_DATABASE`` picks the engine: ``sqlite`` (default) or a
PostgreSQL URL. On PostgreSQL each test session works in its own schema, so
parallel runs on one server never see each other's rows.
"""

import os
import re
import uuid

import pytest

from helpers import BROWSER, login, make_person
from intranet_plugin import create_app
from intranet_plugin import db as database
from intranet_plugin.models import db

TEST_DATABASE = os.environ.get("AMBASSADOR_TEST_DATABASE", "sqlite")


def postgres_url(base, schema):
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url_factory(tmp_path_factory):
    """Returns a function giving a clean database URL for one test. On
    SQLite a new file; on PostgreSQL a schema with no rows, migrated, or
    without any tables with ``empty=True`` (a test that migrates step by
    step asks for that). Either way the test (``make_app``) upgrades it."""
    if TEST_DATABASE == "sqlite":
        def sqlite_url(empty=False):
            return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "ambassador.db")
        yield sqlite_url
        return
    schema = "test_" + uuid.uuid4().hex[:10]
    dsn = re.sub(r"^postgres(ql)?://", "postgresql://", TEST_DATABASE)
    import psycopg  # the postgres extra; a SQLite run needs no driver

    conn = psycopg.connect(dsn, autocommit=True)
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    url = postgres_url(TEST_DATABASE, schema)
    migrated = {}  # the schema's structure when a test last found it migrated

    def postgres(empty=False):
        # Migrating a new schema takes a fifth of a second; emptying the
        # tables of one a test left with the same structure takes a tenth
        # of that, so a test whose schema was not changed reuses it.
        structure = None if empty else schema_structure(conn, schema)
        if structure is not None and structure == migrated.get("structure"):
            empty_tables(conn, schema)
            return url
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}")
        migrated.clear()
        if not empty:
            # Migrate now, so the next test can compare against this.
            database.bind(url)
            database.upgrade()
            db.close()
            migrated["structure"] = schema_structure(conn, schema)
        return url

    yield postgres
    conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()


def schema_structure(conn, schema):
    """Everything a migration makes in ``schema`` (tables, columns, indexes,
    constraints, storage options, functions, triggers) and the migrations
    recorded as applied, or None when there are no tables."""
    parts = conn.execute(
        """
        SELECT string_agg(x, E'\n' ORDER BY x) FROM (
          SELECT concat_ws(' ', 'c', a.attrelid::regclass::text, a.attname,
                           format_type(a.atttypid, a.atttypmod), a.attnotnull,
                           pg_get_expr(d.adbin, d.adrelid)) AS x
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
           WHERE c.relnamespace = %(s)s::text::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
          UNION ALL SELECT concat_ws(' ', 'i', i.indexrelid::regclass::text, i.indrelid::regclass::text,
                                     i.indkey, i.indclass, i.indisunique,
                                     pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid))
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE c.relnamespace = %(s)s::text::regnamespace
          UNION ALL SELECT concat_ws(' ', 'r', c.relname, c.relkind,
                                     array_to_string(c.reloptions, ','))
            FROM pg_class c WHERE c.relnamespace = %(s)s::text::regnamespace
          UNION ALL SELECT concat_ws(' ', 'k', conname, pg_get_constraintdef(oid))
            FROM pg_constraint WHERE connamespace = %(s)s::text::regnamespace
          UNION ALL SELECT concat_ws(' ', 'f', proname, md5(prosrc))
            FROM pg_proc WHERE pronamespace = %(s)s::text::regnamespace
          UNION ALL SELECT concat_ws(' ', 't', tgname, tgrelid::regclass::text)
            FROM pg_trigger WHERE NOT tgisinternal
             AND tgrelid IN (SELECT oid FROM pg_class
                             WHERE relnamespace = %(s)s::text::regnamespace)
        ) parts""", {"s": schema}).fetchone()[0]
    if parts is None:
        return None
    try:
        applied = conn.execute(f"SELECT name FROM {schema}.schema_migration ORDER BY name").fetchall()
    except Exception:
        return None
    return parts, tuple(applied)


def empty_tables(conn, schema):
    """Delete every row a test left (bar the migrations applied) and restart
    the sequences, truncating only the tables that hold rows."""
    tables = [t for (t,) in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename <> 'schema_migration'",
        (schema,)).fetchall()]
    held = conn.execute(" UNION ALL ".join(
        f"(SELECT '{t}' FROM {schema}.\"{t}\" LIMIT 1)" for t in tables)).fetchall()
    if held:
        conn.execute("TRUNCATE " + ", ".join(f'{schema}."{t}"' for (t,) in held) + " CASCADE")
    conn.execute("SELECT setval(format('%%I.%%I', schemaname, sequencename), 1, false)"
                 " FROM pg_sequences WHERE schemaname = %s AND last_value IS NOT NULL"
                 " AND sequencename <> 'schema_migration_id_seq'", (schema,))


@pytest.fixture
def make_app(database_url_factory, tmp_path):
    """Build an app with a fresh, migrated database and given settings."""

    def build(**config):
        settings = {
            "TESTING": True,
            "DATABASE_URL": database_url_factory(),
            "SECRET_KEY": "test-secret-key-" + "x" * 32,
            "PUBLIC_URL": "https://go.example.com",
            "BASE_URL": "https://intranet.example.com/ambassador",
            "CLICK_JOURNAL_DIR": "off",
            "WTF_CSRF_ENABLED": False,
        }
        settings.update(config)
        app = create_app(settings)
        with app.app_context():
            database.upgrade()
        return app

    return build


@pytest.fixture
def app(make_app):
    """The app, without a pushed context: each test request gets its own
    application context (and so its own ``g``), as in production. The
    models need no context, so tests use them directly."""
    app = make_app()
    yield app
    if not db.is_closed():
        db.close()


@pytest.fixture
def client(app):
    """A browser: the same user agent on every request, as a real one sends
    (the session is bound to it)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    return client


@pytest.fixture
def emma(client):
    """Emma, a member, signed in on ``client``."""
    person = make_person("emma")
    login(client, "emma")
    return person


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium through Playwright, one per test module."""
    from playwright.sync_api import expect, sync_playwright

    from helpers.browser import launch

    expect.set_options(timeout=10_000)  # a busy machine is slow, not broken
    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def smtp():
    """An SMTP server on a free loopback port that keeps what it receives."""
    from helpers.smtpserver import SMTPServer

    with SMTPServer() as server:
        yield server


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>")
