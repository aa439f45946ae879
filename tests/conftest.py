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
    """Returns a function giving a clean database URL for one test."""
    if TEST_DATABASE == "sqlite":
        def sqlite_url():
            return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "ambassador.db")
        yield sqlite_url
        return
    schema = "test_" + uuid.uuid4().hex[:10]
    dsn = re.sub(r"^postgres(ql)?://", "postgresql://", TEST_DATABASE)
    import psycopg  # the postgres extra; a SQLite run needs no driver

    conn = psycopg.connect(dsn, autocommit=True)
    conn.cursor().execute(f"CREATE SCHEMA {schema}")
    url = postgres_url(TEST_DATABASE, schema)

    def postgres():
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}")
        return url

    yield postgres
    conn.cursor().execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.close()


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
