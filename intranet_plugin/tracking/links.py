"""Tracked links, /s/<code>: where one leads (the item's page with our UTM
parameters, when the target is allowed), its public address, and the
per-process cache that keeps the redirect off the database."""

import threading
import time
from collections import namedtuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import current_app
from peewee import JOIN

from intranet_plugin.content.sharing import COPY
from intranet_plugin.content.urls import is_http_url
from intranet_plugin.models import Campaign, Item, Person, TrackedLink, db

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")


def target_allowed(url, allowed_hosts):
    """http(s) only, and on the allow-list when one is configured."""
    if not is_http_url(url):
        return False
    if not allowed_hosts:
        return True
    host = urlsplit(url).hostname.lower()
    return any(host == h or host.endswith("." + h) for h in allowed_hosts)


def with_utm(url, source, medium, campaign, content):
    """``url`` with our UTM parameters merged in; its other parameters, their
    order and its fragment are kept, and any UTM values it had are replaced."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in UTM_KEYS]
    query += [("utm_source", source), ("utm_medium", medium),
              ("utm_campaign", campaign), ("utm_content", content)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def tracked_url(code):
    """The public address of a tracked link."""
    return f"{current_app.config['PUBLIC_URL']}/s/{code}"


# -- resolving /s/<code> -----------------------------------------------------

Target = namedtuple("Target", "link_id person_id url")


class TargetCache:
    """code -> Target for recently used links, per process.

    A tracked link's destination only changes when an editor edits the item,
    so a short time to live keeps the redirect off the database for popular
    links while edits still reach visitors within ``ttl`` seconds.
    """

    def __init__(self, size=20_000, ttl=60.0):
        self.size, self.ttl = size, ttl
        self._data = {}  # code -> (expiry, Target), oldest load first
        self._lock = threading.Lock()

    def get(self, code, load):
        # A hit takes no lock: a dict lookup is atomic, and entries are
        # replaced whole. When full, the entry loaded longest ago goes.
        hit = self._data.get(code)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = load(code)
        if value is None:
            return None  # unknown codes are not cached: they cannot crowd out real ones
        with self._lock:
            self._data.pop(code, None)
            self._data[code] = (time.monotonic() + self.ttl, value)
            if len(self._data) > self.size:
                del self._data[next(iter(self._data))]
        return value

    def clear(self):
        with self._lock:
            self._data.clear()


_statements = {}


def _resolve_statement(database):
    """The lookup's SQL, built once per database: peewee takes longer to
    build it than the database takes to run it."""
    if id(database) not in _statements:
        query = (TrackedLink
                 .select(TrackedLink.id, TrackedLink.person, TrackedLink.network, Item.url,
                         Item.slug, Campaign.slug, Person.ref)
                 .join(Item).join(Campaign, JOIN.LEFT_OUTER)
                 .switch(TrackedLink).join(Person)
                 .where(TrackedLink.code == "code").limit(1))
        _statements[id(database)] = query.sql()[0]
    return _statements[id(database)]


def resolve(code, config=None):
    """The destination of a tracked link, or None when there is none to give."""
    config = config or current_app.config
    row = db.execute_sql(_resolve_statement(db.obj), (code, 1)).fetchone()
    if row is None:
        return None
    link_id, person_id, network, url, item_slug, campaign_slug, ref = row
    if not target_allowed(url, config["ALLOWED_TARGET_HOSTS"]):
        return None
    source = "copy" if network == COPY else network
    return Target(link_id, person_id,
                  with_utm(url, source, config["UTM_MEDIUM"], campaign_slug or item_slug, ref))
