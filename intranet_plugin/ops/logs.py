"""Logs: one JSON line per request, with a request id that every other line
of the same request carries too, and that outgoing mail carries in a
header (``X-Ambassador-Request-Id``).

What never goes into a log line: a client's address (not even through
``X-Forwarded-For``), a cookie, a session, a query string or a path (paths
carry tracked-link codes and signed unsubscribe tokens). A request line
names the endpoint instead.
"""

import datetime
import json
import logging
import re
import sys
import uuid

from flask import g, has_request_context, request

MAIL_HEADER = "X-Ambassador-Request-Id"
# An id from the proxy is kept only if it looks like one: nginx's
# $request_id is 32 hex digits; anything else is replaced.
_INCOMING = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Our packages' loggers (Flask's app.logger is "intranet_plugin").
LOGGERS = ("intranet_plugin", "sso", "digest")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime",
                                                                                 "request_id"}


def current_request_id():
    """The id of the request being served, or None outside a request."""
    if not has_request_context():
        return None
    return g.get("request_id")


def start_request():
    """Take the proxy's X-Request-Id when the proxy is trusted (the
    trusted-proxy fix applied), otherwise make one."""
    incoming = request.headers.get("X-Request-Id", "")
    trusted = "werkzeug.proxy_fix.orig" in request.environ
    g.request_id = incoming if trusted and _INCOMING.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


class RequestIdFilter(logging.Filter):
    """Gives every record the id of the request it was logged in ("-"
    outside a request)."""

    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message,
    request id, the ``extra`` fields of the call, and the traceback."""

    def format(self, record):
        line = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def handler(log_format, stream=None):
    """A stream handler (stderr: journald keeps it) in ``json`` or ``text``."""
    result = logging.StreamHandler(stream or sys.stderr)
    result.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    result.addFilter(RequestIdFilter())
    result._ambassador = True
    return result


def configure(log_format, stream=None, force=False):
    """Send our packages' log lines to stderr in ``log_format``, once per
    process. Left alone when the process has logging of its own (a host
    intranet that configured the root logger, pytest): then our lines
    propagate to it as before, and only the request id filter is added."""
    if not force and logging.getLogger().handlers:
        for name in LOGGERS:
            _add_filter(logging.getLogger(name))
        return None
    new = handler(log_format, stream)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_ambassador", False)]:
            logger.removeHandler(old)
        logger.addHandler(new)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return new


def _add_filter(logger):
    if not any(isinstance(f, RequestIdFilter) for f in logger.filters):
        logger.addFilter(RequestIdFilter())
