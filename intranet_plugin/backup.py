"""Backing up and restoring the database while the app serves.

SQLite: SQLite's online backup API copies the database page by page inside
one read transaction, so the copy is the database as of one moment (in WAL
mode writers go on meanwhile); the copy is checked (``integrity_check``),
written to a temporary name and moved into place, so a PATH that exists is
always a whole backup. A restore checks the backup first and copies it into
the configured database through the same API, under SQLite's own locks.

PostgreSQL: ``pg_dump`` makes a consistent snapshot while the app serves;
``pg_dump_command`` and ``pg_restore_command`` give the invocations (the
custom format, restorable with ``pg_restore``).
"""

import contextlib
import os
import sqlite3
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from intranet_plugin.models import db


class BackupError(Exception):
    """A backup or restore that cannot be done; nothing was changed."""


def sqlite_path(url):
    """The file of a ``sqlite:///`` URL, or None for another database."""
    if not url.startswith("sqlite:///"):
        return None
    return unquote(url[len("sqlite:///"):])


def check(path):
    """Raise BackupError unless ``path`` is a sound SQLite database."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    if result != [("ok",)]:
        raise BackupError(f"{path} fails SQLite's integrity check: {result[:5]}")


def _copy(source, target):
    """SQLite's online backup of the file ``source`` into the file ``target``."""
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(target, timeout=30)) as dst:
        # All pages in one step: one read transaction, so one moment's state.
        src.backup(dst, pages=-1)


def backup_sqlite(database, path, force=False):
    """Copy the live SQLite database file ``database`` to ``path``."""
    if os.path.exists(path) and not force:
        raise BackupError(f"{path} exists: give another path, or --force to replace it")
    partial = f"{path}.partial-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.remove(partial)
    try:
        _copy(database, partial)
        with contextlib.closing(sqlite3.connect(partial)) as conn:
            conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check(partial)
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
    return os.path.getsize(path)


def restore_sqlite(backup, database, force=False):
    """Replace the SQLite database ``database`` with the backup's content."""
    if not os.path.exists(backup):
        raise BackupError(f"{backup} does not exist")
    check(backup)
    if os.path.exists(database) and os.path.getsize(database) and not force:
        raise BackupError(f"{database} exists and would be replaced: stop the app and the scheduler, "
                          "then run again with --force")
    if not db.is_closed():
        db.close()
    _copy(backup, database)
    check(database)


def _libpq_url(url):
    """The database URL as libpq reads it (``postgres://`` works too)."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", *parts[1:]))


def pg_dump_command(url, path):
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={path}", f"--dbname={_libpq_url(url)}"]


def pg_restore_command(url, path):
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
            f"--dbname={_libpq_url(url)}", path]


def masked(text):
    """``text`` with the password of a URL in it replaced by ``***``."""
    if "://" not in text:
        return text
    option, equals, url = text.partition("=") if text.startswith("--") else ("", "", text)
    password = urlsplit(url).password
    return option + equals + (url.replace(f":{password}@", ":***@", 1) if password else url)


def schema_of(url):
    """The schema a URL's ``options=-csearch_path=...`` names, if any."""
    options = dict(parse_qsl(urlsplit(url).query)).get("options", "")
    for part in options.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0]
    return None
