"""Share URLs of the networks, tracked-link targets with UTM parameters, and
the signed share tokens behind every share button.

Only the networks' official share URLs are used: no API keys, no OAuth.
"""

import threading
import time
from collections import OrderedDict, namedtuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from peewee import JOIN

from intranet_plugin.models import (
    Campaign,
    Item,
    Person,
    TrackedLink,
    db,
)

# Networks in button order, with the limits of their post text.
NETWORKS = {
    "linkedin": {"label": "LinkedIn", "limit": 3000, "takes_text": False},
    "x": {"label": "X", "limit": 280, "takes_text": True},
    "facebook": {"label": "Facebook", "limit": 63206, "takes_text": False},
    "xing": {"label": "XING", "limit": 420, "takes_text": False},
    "whatsapp": {"label": "WhatsApp", "limit": 65536, "takes_text": True},
    "email": {"label": "E-mail", "limit": 65536, "takes_text": True},
}
# X shortens every link to t.co and counts it as 23 characters.
X_LINK_LENGTH = 23
COPY = "link"  # the copy-link button's network
MAX_CAPTION = 3000

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")


def is_http_url(url):
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


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


def caption_length(network, caption):
    """Characters a post will use on a network, link included."""
    caption = caption or ""
    if network == "x":
        return len(caption) + (1 if caption else 0) + X_LINK_LENGTH
    return len(caption)


def share_url(network, link_url, caption, title):
    """The network's own share dialog, prefilled with the tracked link."""
    u = quote(link_url, safe="")
    if network == "linkedin":
        return f"https://www.linkedin.com/sharing/share-offsite/?url={u}"
    if network == "facebook":
        return f"https://www.facebook.com/sharer/sharer.php?u={u}"
    if network == "xing":
        return f"https://www.xing.com/spi/shares/new?url={u}"
    if network == "x":
        return f"https://x.com/intent/post?text={quote(caption or '', safe='')}&url={u}"
    if network == "whatsapp":
        return "https://wa.me/?text=" + quote(f"{caption}\n{link_url}" if caption else link_url, safe="")
    if network == "email":
        body = f"{caption}\n\n{link_url}" if caption else link_url
        return f"mailto:?subject={quote(title, safe='')}&body={quote(body, safe='')}"
    raise ValueError(f"unknown network {network!r}")


def tracked_url(code):
    return f"{current_app.config['PUBLIC_URL']}/s/{code}"


# -- share tokens ------------------------------------------------------------

def _serializer():
    # Built once per app: a page renders dozens of share buttons.
    serializer = current_app.extensions.get("ambassador.share_tokens")
    if serializer is None:
        serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="ambassador.share")
        current_app.extensions["ambassador.share_tokens"] = serializer
    return serializer


def share_token(person_id, item_id, network, source="web"):
    """A signed token naming who shares what where; the share button's URL.

    It doubles as the CSRF guard of the share action (a foreign page cannot
    forge it) and lets a share from the digest work without signing in.
    """
    return _serializer().dumps([person_id, item_id, network, source])


def read_share_token(token, max_age):
    """(person_id, item_id, network, source) or None when tampered or expired."""
    try:
        person_id, item_id, network, source = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature, ValueError, TypeError):
        return None
    if network not in NETWORKS and network != COPY:
        return None
    return int(person_id), int(item_id), network, source


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
        self._data = OrderedDict()
        self._lock = threading.Lock()

    def get(self, code, load):
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(code)
            if hit and hit[0] > now:
                self._data.move_to_end(code)
                return hit[1]
        value = load(code)
        if value is None:
            return None  # unknown codes are not cached: they cannot crowd out real ones
        with self._lock:
            self._data[code] = (now + self.ttl, value)
            if len(self._data) > self.size:
                self._data.popitem(last=False)
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
