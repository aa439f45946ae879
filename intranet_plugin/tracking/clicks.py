"""Recording visits of tracked links: classification, visitor hashing, and
the click journal that makes recording both fast and loss-free.

Why a journal: a redirect must not wait for a database commit (that halves
throughput), yet no click may be lost. So each click is appended as one line
to a per-process journal file with a single ``write()`` before the redirect
is sent. Once ``write()`` returns, the line is in the kernel's page cache and
survives a crash of the worker process. A thread in each worker moves new
lines into the database in batches; lines carry an id that is unique in the
``click`` table, so moving a line twice is harmless. A worker holds an
``flock`` on its own journal for its lifetime; a journal whose lock is free
belongs to a dead worker, and any process recovers it.

A power loss is another matter: the page cache goes with it. By default a
line reaches the disk when the kernel writes it back (within about 30 s
on Linux), so a power loss can cost the clicks of the last half minute.
With ``AMBASSADOR_CLICK_JOURNAL_FSYNC=<ms>`` a second thread calls
``fdatasync`` on the journal every that many milliseconds when lines were
added, and a journal file is deleted only after the database has made the
clicks moved from it durable (SQLite: its write-ahead log is synced), so a
power loss costs at most the clicks of the last interval (plus one
``fdatasync``). The redirect itself never waits for the disk.
"""

import atexit
import contextlib
import datetime
import fcntl
import functools
import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
import uuid
import weakref
from json.encoder import encode_basestring_ascii
from urllib.parse import urlsplit

from crawlerdetect import CrawlerDetect
from peewee import fn

from intranet_plugin.db import built_once, execute_values, is_postgres
from intranet_plugin.models import (
    Click,
    ShareEvent,
    TrackedLink,
    VisitorSalt,
    db,
    utcnow,
)
from intranet_plugin.ops.metrics import CLICKS_JOURNALED, CLICKS_STORED
from intranet_plugin.tracking import totals

log = logging.getLogger(__name__)

# Seconds between two moves of journal lines. Each move is a transaction
# with a fixed cost and a link's totals are updated once per move however
# many of its clicks it holds: 1 s costs less CPU per click than 0.25 s
# (bench/redirect.py), and figures lag the clicks by about a second.
FLUSH_INTERVAL = 1.0
BATCH = 2000  # lines per database transaction
ROTATE_BYTES = 4 << 20  # start a new journal file past this size

_detector = CrawlerDetect()


@functools.lru_cache(maxsize=4096)
def _is_crawler(user_agent):
    return _detector.isCrawler(user_agent)


def classify(method, user_agent):
    """The kind of a request on a tracked link: only "human" counts as a click.

    Link-preview fetchers (LinkedInBot, facebookexternalhit, Twitterbot,
    Slackbot, WhatsApp, ...) and mail-security scanners are recognised by the
    maintained crawler-detect patterns.
    """
    if method == "HEAD":
        return "head"
    user_agent = (user_agent or "").strip()
    if not user_agent:
        return "empty"
    if _is_crawler(user_agent[:512]):
        return "crawler"
    return "human"


@functools.lru_cache(maxsize=8192)
def truncate_ip(address):
    """The network an address belongs to (/24 for IPv4, /48 for IPv6): the
    precise address never enters a hash, let alone the database."""
    try:
        ip = ipaddress.ip_address(address or "0.0.0.0")
    except ValueError:
        return "invalid"
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@functools.lru_cache(maxsize=512)
def referrer_host(referrer):
    # Cached: most clicks come from a few referrers (the networks' own).
    if not referrer:
        return ""
    try:
        return (urlsplit(referrer).hostname or "")[:255]
    except ValueError:
        return ""


class VisitorHasher:
    """Keyed hash of (truncated address, user agent) with a random key per day.

    Keys live in the database so that every worker and server computes the
    same hash on the same day; keys older than yesterday are deleted, after
    which no hash can be linked to an address again.
    """

    def __init__(self):
        self._current = (None, None)  # (day, key), replaced as one
        self._lock = threading.Lock()

    def key_for(self, day):
        current_day, key = self._current
        if current_day == day:  # every click but the first of a day: no lock
            return key
        with self._lock:
            if self._current[0] != day:
                self._current = (day, self._load(day))
                # Hashes made with an older key go with it: the caches keep
                # none that could link a visitor across days.
                _visitor_hash.cache_clear()
                _network_hash.cache_clear()
            return self._current[1]

    @staticmethod
    def _load(day):
        with db.atomic():
            (VisitorSalt.insert(day=day, salt=secrets.token_hex(32))
             .on_conflict_ignore().execute())
            VisitorSalt.delete().where(VisitorSalt.day < day - datetime.timedelta(days=1)).execute()
        return bytes.fromhex(VisitorSalt.get_by_id(day).salt)

    def hash(self, day, address, user_agent):
        """A visitor: the network and the browser."""
        user_agent = user_agent or ""
        if len(user_agent) > 512:  # not worth keeping in the cache
            return _visitor_hash.__wrapped__(self.key_for(day), truncate_ip(address), user_agent)
        return self._cached(_visitor_hash, day, truncate_ip(address), user_agent)

    def network(self, day, address):
        """The visitor's network alone, so that the totals can cap what one
        network adds to a link."""
        return self._cached(_network_hash, day, truncate_ip(address))

    def _cached(self, function, day, *args):
        key = self.key_for(day)
        value = function(key, *args)
        if self._current[1] is not key:
            # A new day's key came while this hash was made with the old
            # one, maybe after the caches were cleared: clear them again.
            _visitor_hash.cache_clear()
            _network_hash.cache_clear()
        return value


@functools.lru_cache(maxsize=8192)
def _visitor_hash(key, network, user_agent):
    # A visitor clicks several links, and a preview robot fetches many: the
    # HMAC costs more than the cache (measured: a tenth of recording).
    return hmac.digest(key, f"{network}\n{user_agent}".encode(), "sha256").hex()[:32]


@functools.lru_cache(maxsize=8192)
def _network_hash(key, network):
    # A network clicks many links a day: hash it once per key.
    return hmac.digest(key, network.encode(), "sha256").hex()[:32]


visitors = VisitorHasher()


class ClickJournal:
    """This process's append-only click journal and the thread that empties it."""

    def __init__(self, directory, fsync_ms=0):
        self.directory = directory
        self.fsync_seconds = fsync_ms / 1000
        self._dirty = False
        self._pid = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._fd = None
        self._path = None
        self._file_id = None
        self._seq = 0
        self._thread = None
        # Lines appended, and how many of them the metrics know of: counted
        # by the mover thread, off the request path.
        self._appended = self._counted = 0
        # A forked child (a gunicorn worker) must not write to its parent's
        # file: it opens its own at its first click. Told by the fork itself,
        # so that no click pays for asking which process it is in.
        forget = weakref.WeakMethod(self._forget_parent)
        os.register_at_fork(after_in_child=lambda: (method := forget()) and method())

    def _forget_parent(self):
        if self._fd is not None:
            # The parent's lock stays the parent's: once it dies, its
            # journal must be free for recovery even while this child lives.
            os.close(self._fd)
        self._fd = None
        self._lock = threading.Lock()

    # -- writing (request path) ------------------------------------------

    def append(self, link_id, kind, visitor, referrer, is_self, at, net=None):
        # The JSON line written by hand: json.dumps of the list costs more
        # than the rest of the redirect's recording together (measured).
        # Only the referrer can hold characters JSON must escape; the kind
        # and the hashes are plain ASCII, the id and the time are ours.
        tail = (f',{int(link_id)},"{at.isoformat()}",{encode_basestring_ascii(kind)},'
                f'{encode_basestring_ascii(visitor)},{encode_basestring_ascii(referrer)},'
                f'{"true" if is_self else "false"},{encode_basestring_ascii(net or visitor)}]\n').encode()
        with self._lock:
            if self._fd is None:
                self._ensure_open()
            self._seq += 1
            self._appended += 1
            os.write(self._fd, b'["%s-%d"' % (self._file_id.encode(), self._seq) + tail)
            self._dirty = True

    def _ensure_open(self):
        # First use in this process (a forked worker must not share its
        # parent's file or lock).
        os.makedirs(self.directory, exist_ok=True)
        self._pid = os.getpid()
        self._open_new_file()
        self._thread = threading.Thread(target=self._run, name="click-journal", daemon=True)
        self._thread.start()
        if self.fsync_seconds:
            threading.Thread(target=self._sync_loop, name="click-journal-fsync", daemon=True).start()
        atexit.register(self.close)

    def _open_new_file(self):
        self._file_id = uuid.uuid4().hex[:16]
        self._seq = 0
        self._path = os.path.join(self.directory, f"{self._file_id}.jsonl")
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._offset = 0

    def _sync_loop(self):
        while not self._stop.wait(self.fsync_seconds):
            self.sync()

    def sync(self):
        """``fdatasync`` the journal if lines were added since the last one.
        The append path is held up only for a ``dup`` of the descriptor."""
        with self._lock:
            if not self._dirty or self._fd is None:
                return
            self._dirty = False
            fd = os.dup(self._fd)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    # -- moving lines into the database ----------------------------------

    def _run(self):
        # While clicks come, the thread keeps its connection from one move
        # to the next (a new one each second costs PostgreSQL a backend);
        # it lets it go after a move with nothing to move, after a failure
        # (the next try on a new one: the database may have restarted), and
        # when the database it was opened on is no longer the one in use.
        last_recovery, used = 0.0, None
        while not self._stop.is_set():
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            if self._stop.is_set():
                break
            if used is not None and used is not db.obj:
                _release(used)
            used = db.obj
            try:
                moved = self.flush()
                if time.monotonic() - last_recovery > 10:
                    moved += recover(self.directory, skip=self._path)
                    last_recovery = time.monotonic()
            except Exception:  # keep the thread alive; lines stay in the file
                log.exception("moving clicks from the journal failed; will retry")
                _release(used)
                time.sleep(1)
            else:
                if not moved:
                    _release(used)
        if used is not None:
            _release(used)

    def flush(self):
        """Move this process's new journal lines into the database."""
        if self._path is None or self._pid != os.getpid():
            return 0
        with self._lock:
            path, offset = self._path, self._offset
            appended, self._counted = self._appended - self._counted, self._appended
        if appended:
            CLICKS_JOURNALED.inc(appended)
        moved, new_offset = ingest_file(path, offset)
        rotate = False
        with self._lock:
            if path == self._path:
                self._offset = new_offset
                rotate = new_offset >= ROTATE_BYTES
            if rotate:
                old_fd, old_path = self._fd, self._path
                self._open_new_file()
        if rotate:
            # Lines written after our read are still in the old file: move
            # them before deleting it.
            ingest_file(old_path, new_offset)
            os.close(old_fd)
            if self.fsync_seconds:
                make_durable()
            os.unlink(old_path)
        return moved

    def close(self):
        """Stop the thread, move the last lines, delete the journal."""
        if self._pid != os.getpid() or self._fd is None:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.exception("could not move the last clicks; they will be recovered")
            return
        if self.fsync_seconds:
            make_durable()
        with self._lock:
            os.close(self._fd)
            os.unlink(self._path)
            self._fd = self._path = None


def _release(database):
    """Close this thread's connection to ``database``, if it has one."""
    with contextlib.suppress(Exception):
        if not database.is_closed():
            database.close()


def make_durable():
    """Make what the database committed so far survive a power loss before
    a journal goes: SQLite (synchronous=NORMAL) syncs its write-ahead log
    only at checkpoints, so its file is synced here; PostgreSQL's commits
    already are (synchronous_commit)."""
    if is_postgres():
        return
    wal = db.database + "-wal"
    try:
        fd = os.open(wal, os.O_RDONLY)
    except FileNotFoundError:  # checkpointed and gone: the database file itself was synced
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(fd, offset):
    chunks = []
    while True:
        chunk = os.pread(fd, 1 << 20, offset + sum(map(len, chunks)))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def ingest_file(path, offset=0, fd=None):
    """Insert the complete lines of a journal file from ``offset``.

    Returns (lines moved, offset after the last complete line). A partial
    last line (a write in progress) is left for the next call. With ``fd``
    the file is read through that (locked) descriptor.
    """
    if fd is None:
        with open(path, "rb") as fh:
            data = _read(fh.fileno(), offset)
    else:
        data = _read(fd, offset)
    end = data.rfind(b"\n") + 1
    if not end:
        return 0, offset
    values = []  # rows in _COLUMNS order
    loads, fromisoformat = json.loads, datetime.datetime.fromisoformat
    for raw in data[:end].splitlines():
        try:
            event_id, link_id, at, kind, visitor, referrer, is_self, *rest = loads(raw)
            at = fromisoformat(at)
        except (ValueError, TypeError):
            log.error("skipping an unreadable journal line in %s: %r", path, raw[:200])
            continue
        # Lines written before visitors had a network: the visitor is its own.
        values.append((event_id, link_id, at, at.date(), kind, visitor, referrer, bool(is_self),
                       (rest[0] if rest else None) or visitor))
    for start in range(0, len(values), BATCH):
        _store_values(values[start:start + BATCH])
    CLICKS_STORED.inc(len(values))
    return len(values), offset + end


_COLUMNS = ("event_id", "link_id", "at", "day", "kind", "visitor", "referrer_host", "is_self", "net")


def store(rows):
    """Insert click rows (idempotent on event_id), mark self-clicks and add
    the new rows to the running totals, in one transaction.

    Plain SQL: peewee would spend more time building the statement than the
    database spends running it. SQLite runs one prepared statement per row
    (executemany); PostgreSQL gets the batch as one statement over a VALUES
    list, planned once. A click on a link that was deleted meanwhile is
    dropped instead of failing the whole batch on the foreign key: on
    PostgreSQL by a WHERE EXISTS in the statement, on SQLite by asking once
    for the batch's links under the write lock (a plain INSERT per row costs
    two thirds of an INSERT ... SELECT ... WHERE EXISTS, measured).
    """
    at, day = Click.at.db_value, Click.day.db_value
    _store_values([(r["event_id"], r["link"], at(r["at"]), day(r["day"]), r["kind"], r["visitor"],
                    r["referrer_host"], bool(r["is_self"]), r.get("net") or r["visitor"]) for r in rows])


def _store_values(values):
    """``store`` for rows already in ``_COLUMNS`` order."""
    if not values:
        return
    columns = ", ".join(_COLUMNS)
    with db.atomic():
        totals.lock_for_store()
        before = totals.last_click_id()
        cursor = db.cursor()
        if is_postgres():
            execute_values(cursor, f"INSERT INTO click ({columns}) SELECT v.* FROM (VALUES %s) AS v ({columns}) "
                                   "WHERE EXISTS (SELECT 1 FROM tracked_link WHERE id = v.link_id) "
                                   "ON CONFLICT (event_id) DO NOTHING", values, page_size=1000)
        else:
            known = _existing_links({v[1] for v in values})
            cursor.executemany(f"INSERT INTO click ({columns}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
                               "ON CONFLICT (event_id) DO NOTHING", [v for v in values if v[1] in known])
        _mark_own(values, before)
        totals.count_new(before)


def _existing_links(ids):
    """Those of the link ids ``ids`` that are in the database."""
    ids, found = list(ids), set()
    for start in range(0, len(ids), 500):
        page = ids[start:start + 500]
        found.update(row[0] for row in db.execute_sql(
            f"SELECT id FROM tracked_link WHERE id IN ({', '.join('?' * len(page))})", page))
    return found


def _mark_own(values, after_id):
    """Mark the clicks stored after ``after_id`` that are the sharer's own:
    from the browser and network they shared from that day (same keyed
    visitor hash). Only the visitors who shared on the batch's days can
    be sharers, so a batch none of whose visitors is among them (most)
    needs no statement, and the statement looks only at theirs."""
    days = {v[3] for v in values}
    first, last = min(days), max(days)
    sharers = {visitor for (visitor,) in (ShareEvent.select(ShareEvent.visitor).distinct()
                                          .where(ShareEvent.day.between(first, last)).tuples())}
    if not any(v[5] in sharers for v in values):
        return
    sql, params = _mark_own_statement()
    db.execute_sql(sql, (*params, after_id, first, last))


def _mark_own_statement():
    """The UPDATE of ``_mark_own`` (built once, ``db.built_once``). Its last
    three parameters: the id after which to look and the first and last
    day of the batch."""
    return built_once("mark own", _build_mark_own)


def _build_mark_own():
    day = datetime.date(2000, 1, 1)
    own = (ShareEvent.select(ShareEvent.id)
           .join(TrackedLink, on=(ShareEvent.person == TrackedLink.person))
           .where((TrackedLink.id == Click.link)
                  & (ShareEvent.visitor == Click.visitor)
                  & (ShareEvent.day == Click.day)))
    sharers = ShareEvent.select(ShareEvent.visitor).where(ShareEvent.day.between(day, day))
    sql, params = (Click.update(is_self=True)
                   .where((Click.id > -1) & Click.visitor.in_(sharers) & fn.EXISTS(own)).sql())
    assert params[-3:] == [-1, day, day], params
    return sql, params[:-3]


def recover(directory, skip=None):
    """Move and delete the journals of workers that are gone."""
    if not os.path.isdir(directory):
        return 0
    moved = 0
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not name.endswith(".jsonl") or path == skip:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its worker is alive and moves it itself
            if os.fstat(fd).st_nlink == 0:
                continue  # another process recovered and deleted it meanwhile
            count, _ = ingest_file(path, fd=fd)
            moved += count
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            log.info("recovered %d clicks from %s", count, name)
        finally:
            os.close(fd)
    return moved


def record(journal, link, method, user_agent, address, referrer, signed_in_user_id=None):
    """Record one request on a tracked link (the request path).

    ``link`` is a ``links.Target``; with no journal (tests that want the row
    at once) the click is stored directly.
    """
    now = utcnow()
    day = now.date()
    visitor, net = visitors.hash(day, address, user_agent), visitors.network(day, address)
    kind, referrer = classify(method, user_agent), referrer_host(referrer)
    # The sharer following their own link while signed in; other
    # self-clicks are found by visitor hash when the click is stored.
    is_self = signed_in_user_id is not None and str(signed_in_user_id) == str(link.person_id)
    if journal is None:
        store([{"event_id": uuid.uuid4().hex, "link": link.link_id, "at": now, "day": day, "kind": kind,
                "visitor": visitor, "net": net, "referrer_host": referrer, "is_self": is_self}])
    else:
        journal.append(link.link_id, kind, visitor, referrer, is_self, now, net)
