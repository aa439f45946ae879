"""Helpers the tests share: making people, items and campaigns, storing
clicks as the journal does, counting SQL statements, signing in."""

import contextlib
import logging
import re
import uuid

from intranet_plugin import analytics
from intranet_plugin.models import Campaign, Item, Person, utcnow
from intranet_plugin.tracking import clicks

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"



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


def impact_of(person):
    """A person's shares, clicks and unique visitors of all time, as every
    page counts them (analytics)."""
    totals = analytics.person_totals([person.id], analytics.all_time())[person.id]
    return {"shares": totals.shares, "clicks": totals.clicks, "visitors": totals.visitors}


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


def make_campaign(slug="spring", **fields):
    fields.setdefault("name", slug.title())
    return Campaign.create(slug=slug, **fields)


def login(client, username):
    """Sign in through the demo login (AUTH=dev), as a user would."""
    response = client.post("/login", data={"username": username})
    assert response.status_code == 302, response.data
    return response


def csrf_token(response):
    """The CSRF token a page's forms carry."""
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def login_with_csrf(client, username):
    """Sign in as ``login`` does, on an app that checks CSRF tokens."""
    token = csrf_token(client.get("/login"))
    response = client.post("/login", data={"username": username, "csrf_token": token})
    assert response.status_code == 302, response.text
    return response
