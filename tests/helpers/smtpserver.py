"""A real SMTP server for the tests: aiosmtpd on a loopback port that keeps
what it accepts and can be told to answer badly (4xx, 5xx, a dropped
connection) for chosen recipients or messages, to take its time over each
message, or to hold one message's data until the test lets it go."""

import asyncio
import socket
import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

ACCEPT = "250 OK"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Recorder:
    """The aiosmtpd handler.

    ``rcpt_replies[address]`` and ``data_replies[address]`` are lists of
    replies given to that recipient's next RCPT or DATA, one per try, before
    the server accepts; the reply "drop" closes the connection without one.

    A slow server: ``delay`` seconds before each reply to a message's data.
    ``hold_at = n``: the reply to the n-th message is held (and ``holding``
    set) until the test sets ``released``; the message is kept all the same,
    as a real server queues a message before it replies, whether or not
    the sender is still there to read the reply.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []  # (envelope recipient, parsed message)
        self.rcpt_replies = {}
        self.data_replies = {}
        self.tries = Counter()
        self.delay = 0.0
        self.received = 0
        self.hold_at = None
        self.holding, self.released = threading.Event(), threading.Event()

    def _scripted(self, replies, address):
        with self.lock:
            queue = replies.get(address)
            return queue.pop(0) if queue else None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.tries[address] += 1
        reply = self._scripted(self.rcpt_replies, address)
        if reply == "drop":
            server.transport.close()
            return "421 closing"
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return ACCEPT

    async def handle_DATA(self, server, session, envelope):
        address = envelope.rcpt_tos[0]
        reply = self._scripted(self.data_replies, address)
        if reply == "drop":
            server.transport.close()
            return "421 closing"
        if reply:
            return reply
        with self.lock:
            # Kept (queued, in a real server) before the reply is written.
            self.messages.append((address, message_from_bytes(envelope.original_content, policy=default_policy)))
            self.received += 1
            held = self.received == self.hold_at
        if held:
            self.holding.set()
            while not self.released.is_set():
                await asyncio.sleep(0.01)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"


class SMTPServer:
    """``with SMTPServer() as smtp:`` ... ``smtp.url``, ``smtp.messages``."""

    def __init__(self, **smtp_options):
        self.handler = Recorder()
        self.port = free_port()
        self.tls = "ssl_context" in smtp_options
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=30,
                                     **smtp_options)

    @property
    def url(self):
        return f"{'smtps' if self.tls else 'smtp'}://127.0.0.1:{self.port}"

    @property
    def messages(self):
        with self.handler.lock:
            return [m for _, m in self.handler.messages]

    def recipients(self):
        with self.handler.lock:
            return Counter(address for address, _ in self.handler.messages)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
