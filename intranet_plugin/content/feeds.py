"""RSS and Atom feeds: adding and removing them, and importing their items.

An import fetches the feed with the stored ETag / Last-Modified (a 304
changes no item), parses it with feedparser, keeps every title and summary
as plain text (text declared as text as it is, HTML without its tags),
keeps only http(s) links and images, and skips what is already in the
library: the same GUID in the same feed, or the same normalised link
anywhere. New items take the feed's kind and default
campaign and are published directly or wait for review. Vacancies that
leave their feed expire; a closing date in the feed expires them on time.

A feed that cannot be fetched or parsed keeps its items untouched and gets
the reason in ``last_error``; importing all feeds carries on with the next.
"""

import datetime
import email.utils
import hashlib
import html
import http.client
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import feedparser
import nh3
from flask import current_app
from flask_babel import gettext as _
from peewee import IntegrityError

from intranet_plugin.content.audiences import set_audience
from intranet_plugin.content.fetch import FetchError, fetch
from intranet_plugin.content.slugs import unique_slug
from intranet_plugin.content.urls import URL_MAX, web_address
from intranet_plugin.models import (
    KINDS,
    Audience,
    AuditLog,
    Campaign,
    Feed,
    Item,
    db,
    normalize_url,
    utcnow,
)
from intranet_plugin.ops.metrics import FEED_POLL_ERRORS

TITLE_LIMIT = 255  # the column's size on PostgreSQL
SUMMARY_LIMIT = 600
URL_LIMIT = URL_MAX
GUID_LIMIT = 255

# Elements a careers feed may use for the last day to apply, as feedparser
# names them (lower case, namespace prefix and "_" in front).
CLOSING_DATE_NAMES = ("closingdate", "validthrough", "expirationdate", "expirydate", "deadline")

# Tags after which the text reads as a new sentence or line.
BLOCK_TAG = re.compile(r"<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|section|article)\b[^>]*>", re.I)
# Control characters (PostgreSQL refuses NUL) and the bidirectional
# overrides that could make a title read differently from what it is.
INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
HARMLESS_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


class FeedError(ValueError):
    """Bad input for a feed, or a feed that cannot be imported."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass
class ImportResult:
    feed: Feed
    new: int = 0
    updated: int = 0
    expired: int = 0
    skipped: int = 0  # entries without a usable http(s) link
    duplicates: int = 0
    not_modified: bool = False
    error: str = ""
    new_items: list = field(default_factory=list, repr=False)

    @property
    def ok(self):
        return not self.error

    @property
    def summary(self):
        if self.error:
            return _("Import failed: %(error)s", error=self.error)
        if self.not_modified:
            return _("Not changed since the last import.")
        return _("%(new)d new, %(updated)d updated, %(expired)d expired.",
                 new=self.new, updated=self.updated, expired=self.expired)


# -- managing feeds -------------------------------------------------------------

def add_feed(url, kind, campaign_slug=None, needs_review=False, actor=None, audience=None):
    """Add a feed after checking every field; raises FeedError saying what
    is wrong. ``audience`` (an ``Audience``): whom its items are meant for."""
    url = (url or "").strip()
    if web_address(url) is None:
        raise FeedError(_("A feed address must start with http:// or https://, got “%(url)s”.", url=url))
    if kind not in KINDS:
        raise FeedError(_("Unknown kind “%(kind)s”: use one of %(kinds)s.", kind=kind, kinds=", ".join(KINDS)))
    campaign = None
    if campaign_slug:
        campaign = Campaign.get_or_none(Campaign.slug == campaign_slug)
        if campaign is None:
            raise FeedError(_("There is no campaign “%(slug)s”.", slug=campaign_slug))
    wanted = normalize_url(url)
    for existing in Feed.select(Feed.id, Feed.url):
        if normalize_url(existing.url) == wanted:
            raise FeedError(_("This feed is already there (feed %(id)d).", id=existing.id))
    try:
        with db.atomic():
            feed = Feed.create(url=url, kind=kind, campaign=campaign, needs_review=bool(needs_review),
                               audience=(audience or Audience()).as_dict())
            AuditLog.record(actor, "create", feed, summary=url)
    except IntegrityError:
        raise FeedError(_("This feed is already there.")) from None
    return feed


def remove_feed(feed_id, actor=None):
    """Remove a feed; its items stay in the library."""
    feed = Feed.get_or_none(Feed.id == feed_id)
    if feed is None:
        raise FeedError(_("There is no feed with id %(id)s.", id=feed_id))
    with db.atomic():
        Item.update(feed=None).where(Item.feed == feed).execute()
        AuditLog.record(actor, "delete", feed, summary=feed.url)
        feed.delete_instance()
    return feed


# -- importing ------------------------------------------------------------------

def import_all(now=None):
    """Import every active feed, one after the other; one feed's failure
    does not stop the others."""
    return [import_feed(feed, now) for feed in Feed.select().where(Feed.active == True).order_by(Feed.id)]  # noqa: E712


def import_feed(feed, now=None):
    """Fetch and import one feed; returns an ImportResult (never raises for
    anything the feed or its server does)."""
    now = now or utcnow()
    result = ImportResult(feed)
    config = current_app.config
    request_headers = {}
    if feed.etag:
        request_headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        request_headers["If-Modified-Since"] = feed.last_modified
    try:
        response = fetch(feed.url, headers=request_headers, max_bytes=config["FETCH_MAX_BYTES"],
                         timeout=config["FETCH_TIMEOUT"])
        if response.status == 304:
            result.not_modified = True
            with db.atomic():
                # Reachable and unchanged: a success, with nothing to import.
                Feed.update(last_polled_at=now, last_success_at=now, last_error="").where(
                    Feed.id == feed.id).execute()
                AuditLog.record(None, "import", feed, summary=result.summary, not_modified=True)
        elif response.status != 200:
            raise FeedError(_("The feed's server answered %(status)d %(reason)s.", status=response.status,
                              reason=http.client.responses.get(response.status, "")))
        else:
            parsed = _parse(response)
            with db.atomic():
                _lock(feed)
                _apply(feed, parsed, response.url, now, result)
                Feed.update(
                    title=_text_of(parsed.feed, "title", TITLE_LIMIT) or feed.title,
                    etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"),
                    last_polled_at=now, last_success_at=now, last_error="",
                ).where(Feed.id == feed.id).execute()
                AuditLog.record(None, "import", feed, summary=result.summary, new=result.new,
                                updated=result.updated, expired=result.expired, skipped=result.skipped,
                                duplicates=result.duplicates)
    except (FetchError, FeedError) as exc:
        result.error = str(exc)
    except Exception:
        current_app.logger.exception("Importing feed %s (%s) failed", feed.id, feed.url)
        result.error = _("An unexpected error stopped the import; the server log has the details.")
    if result.error:
        FEED_POLL_ERRORS.inc()
        result.new = result.updated = result.expired = 0
        result.new_items = []
        Feed.update(last_polled_at=now, last_error=result.error).where(Feed.id == feed.id).execute()
        AuditLog.record(None, "import", feed, summary=result.summary, error=result.error)
    result.feed = Feed.get_or_none(Feed.id == feed.id) or feed
    return result


def _lock(feed):
    # Two imports of one feed at a time (scheduler and "import now") would
    # both create the new items; the row lock makes the second wait and then
    # see the first one's items. SQLite serialises writers by itself.
    if db.for_update:
        Feed.select(Feed.id).where(Feed.id == feed.id).for_update().get()


def _header(response, name):
    value = response.headers.get(name)
    return value if value and len(value) <= 255 else None


def _parse(response):
    parsed = feedparser.parse(
        # A stream, never bytes: feedparser opens bytes that look like a
        # file name as a local file.
        io.BytesIO(response.body),
        response_headers={"content-type": response.headers.get("Content-Type", "application/xml"),
                          "content-location": response.url},
    )
    if not parsed.version:
        raise FeedError(_("This address does not serve an RSS or Atom feed."))
    if parsed.bozo and not isinstance(parsed.get("bozo_exception"), HARMLESS_BOZO):
        raise FeedError(_("The feed is not valid XML: %(reason)s", reason=_bozo_reason(parsed.bozo_exception)))
    return parsed


def _bozo_reason(exc):
    if isinstance(exc, feedparser.CharacterEncodingUnknown):
        return _("its character encoding is unknown")
    if hasattr(exc, "getLineNumber"):
        return _("line %(line)s: %(message)s", line=exc.getLineNumber(), message=exc.getMessage())
    return str(exc)


def _apply(feed, parsed, base_url, now, result):
    """Create and update the feed's items; expire vacancies that left it."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    language = (parsed.feed.get("language") or "").split("-")[0].strip().lower()
    seen_guids, seen_urls, present = set(), set(), set()
    audience = Audience.of(feed.audience or {})
    for entry in parsed.entries:
        data = _entry(entry, base_url, zone, now)
        if data is None:
            result.skipped += 1
            continue
        if data["guid"] in seen_guids or data["normalized_url"] in seen_urls:
            result.duplicates += 1
            continue
        seen_guids.add(data["guid"])
        seen_urls.add(data["normalized_url"])
        item = Item.get_or_none((Item.feed == feed) & (Item.guid == data["guid"]))
        if item is None:
            same_link = Item.select().where(Item.normalized_url == data["normalized_url"]).first()
            if same_link is not None:
                if same_link.feed_id == feed.id:
                    present.add(same_link.id)  # the feed changed its GUID, not its link
                result.duplicates += 1
                continue
            item = Item.create(
                kind=feed.kind, campaign=feed.campaign_id, feed=feed, guid=data["guid"],
                slug=unique_slug(Item, data["title"]), title=data["title"], summary=data["summary"], url=data["url"],
                image_url=data["image_url"], caption=data["title"],
                language=language if re.fullmatch(r"[a-z]{2,3}", language) else "en",
                status="review" if feed.needs_review else "published",
                publish_at=data["published"], expires_at=data["closes"], created_at=now, updated_at=now,
            )
            # The feed's audience goes to each item it brings in.
            set_audience(item, audience)
            result.new += 1
            result.new_items.append(item)
        elif _update(item, data, now):
            result.updated += 1
        present.add(item.id)
    if feed.kind == "vacancy":
        vanished = [row.id for row in Item.select(Item.id).where(
            (Item.feed == feed) & (Item.kind == "vacancy") & (Item.status != "archived")
            & (Item.expires_at.is_null() | (Item.expires_at > now)))
            if row.id not in present]
        if vanished:
            Item.update(expires_at=now, updated_at=now).where(Item.id.in_(vanished)).execute()
        result.expired = len(vanished)


def _update(item, data, now):
    """Bring an item up to date with its feed entry; whether it changed.

    Once an editor has changed an item, their version stands.
    """
    if item.updated_by_id is not None:
        return False
    changes = {name: data[name] for name in ("title", "summary", "url", "image_url")
               if getattr(item, name) != data[name]}
    # A vacancy back in its feed (or with a new closing date) is open again.
    if item.expires_at != data["closes"] and (data["closes"] is not None or item.expires_at is not None):
        changes["expires_at"] = data["closes"]
    if not changes:
        return False
    for name, value in changes.items():
        setattr(item, name, value)
    item.updated_at = now
    item.save()
    return True


def _entry(entry, base_url, zone, now):
    """The plain, safe fields of one feed entry, or None without a usable link."""
    # The entry's own base (xml:base) if it has one, else the feed's URL.
    detail = entry.get("title_detail") or entry.get("summary_detail") or {}
    base_url = safe_url(detail.get("base"), base_url) or base_url
    url = safe_url(entry.get("link") or _alternate(entry), base_url)
    if not url:
        return None
    guid = (entry.get("id") or "").strip() or url
    if len(guid) > GUID_LIMIT:
        guid = guid[:GUID_LIMIT - 41] + "#" + hashlib.sha1(guid.encode("utf-8")).hexdigest()
    html_parts = [c.get("value", "") for c in entry.get("content", [])] + [entry.get("summary", "")]
    if entry.get("summary"):
        summary = _text_of(entry, "summary", SUMMARY_LIMIT)
    else:
        summary = _plain(html_parts[0] if html_parts else "", SUMMARY_LIMIT)
    title = _text_of(entry, "title", TITLE_LIMIT) or _plain(summary, 80, is_html=False) or urlsplit(url).hostname
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    published = datetime.datetime(*published[:6]) if published else now
    return {
        "url": url,
        "normalized_url": normalize_url(url),
        "guid": guid,
        "title": title,
        "summary": summary,
        "image_url": _image(entry, html_parts, base_url),
        # A date in the future would hide the item until then.
        "published": min(published, now),
        "closes": _closing_date(entry, zone),
    }


def _alternate(entry):
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return ""


def safe_url(value, base_url=None):
    """An absolute http(s) URL, or "" for anything else (javascript:, data:,
    file:, malformed). Feeds are lenient where people are not: invisible
    characters go and a space is encoded before ``web_address`` reads it."""
    value = INVISIBLE.sub("", (value or "").strip()).replace(" ", "%20")
    if any(c in value for c in "<>\"'`\\"):
        return ""
    url = web_address(value, base_url, max_length=URL_LIMIT)
    if url is None:
        return ""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, parts.fragment))


def _text_of(parent, name, limit):
    """The plain text of a title or summary as its feed declares it: text
    stays text ("Developer <remote>" is a title, escaped where it is
    shown); only HTML goes through ``_plain``."""
    detail = parent.get(f"{name}_detail") or {}
    return _plain(parent.get(name, ""), limit, is_html=detail.get("type") != "text/plain")


def _plain(value, limit, is_html=True):
    """Plain text: from HTML without tags (and without script or style
    content) and with entities decoded; control and invisible characters
    removed, whitespace collapsed, at most ``limit`` characters."""
    text = value or ""
    # Decoding entities can reveal new tags (&lt;script&gt;); clean until
    # nothing changes, so no markup survives however deeply it was escaped.
    for _round in range(8 if is_html else 0):
        cleaned = html.unescape(nh3.clean(BLOCK_TAG.sub(" ", text), tags=set()))
        if cleaned == text:
            break
        text = cleaned
    text = " ".join(INVISIBLE.sub("", text).split())
    if len(text) > limit:
        text = text[:limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"
    return text


class _Images(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img" and len(self.sources) < 20:
            self.sources.append(dict(attrs).get("src"))


def _image(entry, html_parts, base_url):
    """media:content, media:thumbnail, an image enclosure, else an <img> in
    the content: the first of these that is an http(s) URL."""
    candidates = []
    for media in entry.get("media_content", []):
        medium = media.get("medium") or (media.get("type") or "image/").split("/")[0]
        if medium == "image":
            candidates.append(media.get("url"))
    candidates.extend(m.get("url") for m in entry.get("media_thumbnail", []))
    candidates.extend(e.get("href") for e in entry.get("enclosures", [])
                      if (e.get("type") or "").startswith("image/"))
    for part in html_parts:
        finder = _Images()
        finder.feed(part or "")
        candidates.extend(finder.sources)
    for candidate in candidates:
        url = safe_url(candidate, base_url)
        if url:
            return url
    return ""


def _closing_date(entry, zone):
    """The closing date of a vacancy as naive UTC, if the entry has one."""
    for key, value in entry.items():
        name = key.rsplit("_", 1)[-1]
        if name in CLOSING_DATE_NAMES and isinstance(value, str):
            moment = parse_date(value, zone)
            if moment is not None:
                return moment
    return None


def parse_date(value, zone):
    """A date from a feed as naive UTC; a bare date means the end of that
    day in the configured time zone, a time without zone that zone's time."""
    value = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = datetime.date.fromisoformat(value)
            moment = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), zone)
        else:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)

