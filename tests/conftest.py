"""Fixtures: a fresh database per test, on SQLite or PostgreSQL.

``AMBASSADOR_TEST_DATABASE`` picks the engine: ``sqlite`` (default) or a
PostgreSQL URL. On PostgreSQL each test session works in its own schema, so
parallel runs on one server never see each other's rows.
"""

import contextlib
import logging
import os
import re
import uuid

import pytest

from intranet_plugin import create_app
from intranet_plugin import db as database
from intranet_plugin.models import (
    MODELS,
    Campaign,
    Item,
    Person,
    db,
    utcnow,
)
from intranet_plugin.tracking import clicks

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


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"


@pytest.fixture
def client(app):
    """A browser: the same user agent on every request, as a real one sends
    (the session is bound to it)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_person(username="emma", **fields):
    fields.setdefault("display_name", username.title())
    fields.setdefault("email", f"{username}@example.com")
    fields.setdefault("joined_at", utcnow())
    return Person.create(username=username, **fields)


def make_item(title="Windpark open", kind="news", **fields):
    fields.setdefault("slug", re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") + "-" + uuid.uuid4().hex[:4])
    fields.setdefault("url", "https://www.example.com/news/" + fields["slug"])
    fields.setdefault("summary", "A summary of " + title)
    fields.setdefault("caption", "Look at this: " + title)
    return Item.create(title=title, kind=kind, **fields)


def store_click(link, at=None, kind="human", visitor="v", is_self=False):
    """One request on a tracked link, stored as the click journal stores it:
    inserted, checked for the sharer's own, added to the running totals."""
    at = at or utcnow()
    clicks.store([{"event_id": uuid.uuid4().hex, "link": getattr(link, "id", link), "at": at,
                   "day": at.date(), "kind": kind, "visitor": visitor, "referrer_host": "", "is_self": is_self}])


class _Statements(logging.Handler):
    def __init__(self, statements):
        super().__init__(logging.DEBUG)
        self.statements = statements

    def emit(self, record):
        self.statements.append(record.msg)


@contextlib.contextmanager
def counting():
    """The SQL statements run inside the block (peewee logs each one at
    DEBUG), as a list."""
    statements = []
    logger, handler = logging.getLogger("peewee"), _Statements(statements)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def count_queries(fn):
    """How many SQL statements ``fn()`` runs."""
    with counting() as statements:
        fn()
    return len(statements)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium through Playwright, one per test module."""
    from browser import launch
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def smtp():
    """An SMTP server on a free loopback port that keeps what it receives."""
    from smtpserver import SMTPServer

    with SMTPServer() as server:
        yield server


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>")


def make_campaign(slug="spring", **fields):
    fields.setdefault("name", slug.title())
    return Campaign.create(slug=slug, **fields)


def login(client, username):
    """Sign in through the demo login (AUTH=dev), as a user would."""
    response = client.post("/login", data={"username": username})
    assert response.status_code == 302, response.data
    return response


__all__ = ["MODELS"]
