"""The demo outbox: an SMTP server inside the process (aiosmtpd on a
loopback port) that keeps every message it receives as an ``.eml`` file.

Mail in the demo takes the same road as in production (real SMTP, the same
Mailer); only the far end is local. Each process that sends starts its own
server on a free port the first time it needs one, so the web server, the
command line and the scheduler need no shared set-up; they all write into
the one outbox directory that ``/admin/outbox`` shows.
"""

import atexit
import os
import re
import socket
import threading
import time
import uuid
from email import message_from_binary_file
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

HOST = "127.0.0.1"
NAME = re.compile(r"^[0-9A-Za-z_-]{1,80}\.eml$")

_sinks = {}
_lock = threading.Lock()


class OutboxHandler:
    """aiosmtpd handler: each message becomes one file, written atomically."""

    def __init__(self, directory):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        store(self.directory, envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def store(directory, data):
    os.makedirs(directory, exist_ok=True)
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
    temporary = os.path.join(directory, "." + name + ".tmp")
    with open(temporary, "wb") as fh:
        fh.write(data)
    os.replace(temporary, os.path.join(directory, name))
    return name


def start_sink(directory):
    """(host, port) of this process's outbox server, started on first use."""
    directory = os.path.abspath(directory)
    with _lock:
        if directory in _sinks:
            return HOST, _sinks[directory].port
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            from intranet_plugin.mail.smtp import MailNotConfigured

            raise MailNotConfigured("The demo outbox needs aiosmtpd (pip install aiosmtpd), "
                                    "or set AMBASSADOR_SMTP_URL.") from None
        os.makedirs(directory, exist_ok=True)
        controller = Controller(OutboxHandler(directory), hostname=HOST, port=_free_port(),
                                ready_timeout=30)
        controller.start()
        atexit.register(controller.stop)
        _sinks[directory] = controller
        return HOST, controller.port


def _free_port():
    # aiosmtpd checks it can connect to its own port, so it needs the number
    # up front; the race with another process taking it is harmless here.
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def messages(directory, limit=200):
    """The newest messages first: name, sender, recipient, subject, date."""
    try:
        names = sorted((n for n in os.listdir(directory) if NAME.match(n)), reverse=True)[:limit]
    except FileNotFoundError:
        return []
    parser = BytesHeaderParser(policy=default_policy)
    rows = []
    for name in names:
        with open(os.path.join(directory, name), "rb") as fh:
            headers = parser.parse(fh)
        rows.append({"name": name, "from": str(headers.get("From", "")), "to": str(headers.get("To", "")),
                     "subject": str(headers.get("Subject", "")), "date": headers.get("Date")})
    return rows


def read(directory, name):
    """The parsed message called ``name``, or None."""
    if not NAME.match(name or ""):
        return None
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as fh:
        return message_from_binary_file(fh, policy=default_policy)


def body(message, subtype):
    """The decoded text of the text/plain or text/html part, or ""."""
    part = message.get_body(preferencelist=(subtype,))
    return part.get_content() if part is not None else ""
