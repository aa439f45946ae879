"""Sending e-mail: ``send_email`` for one message, and ``Mailer`` for a batch
over one reused SMTP connection.

``AMBASSADOR_SMTP_URL`` names the server:

- ``smtp://mail.example.com`` plain SMTP (port 25)
- ``smtp://user:password@mail.example.com:587?starttls=true`` STARTTLS and login
- ``smtps://user:password@mail.example.com`` implicit TLS (port 465)

Query parameters: ``starttls=true``, ``timeout=30`` (seconds), ``cafile=/path``
(a CA certificate file for a company CA). User name and password are
URL-encoded (``%40`` for ``@``).

Failures come in three kinds. A refusal with a 5xx reply is final for that
message (``PermanentFailure``). A 4xx reply or a dropped connection is
retried with backoff on a fresh connection, and becomes ``TemporaryFailure``
when every try failed. A server that cannot be reached, or refuses the login
or TLS, makes every message fail alike: ``MailServerUnavailable`` tells the
caller to stop the batch rather than fail each recipient in turn.
"""

import base64
import binascii
import functools
import re
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

from flask import current_app


class MailError(Exception):
    """Mail could not be sent."""


class MailNotConfigured(MailError):
    """Neither an SMTP server nor the demo outbox is configured."""


class MailServerUnavailable(MailError):
    """The server cannot be reached, or refuses the login or TLS: no message
    can go out, so the batch stops (and can be run again later)."""


class SMTPFailure(MailError):
    def __init__(self, code, text):
        self.code, self.text = code, text
        super().__init__(f"{code} {text}" if code else text)


class PermanentFailure(SMTPFailure):
    """The server refused this message for good (a 5xx reply)."""


class TemporaryFailure(SMTPFailure):
    """Every try got a 4xx reply or a dropped connection."""


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    cafile: str = ""

    @classmethod
    def from_url(cls, url):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailNotConfigured(f"AMBASSADOR_SMTP_URL must look like smtp://host:port or smtps://host, "
                                    f"got {url!r}")
        query = dict(parse_qsl(parts.query))
        implicit = parts.scheme == "smtps"
        try:
            port = parts.port
            timeout = float(query.get("timeout", 30))
        except ValueError as exc:
            raise MailNotConfigured(f"AMBASSADOR_SMTP_URL: {exc}") from None
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            implicit_tls=implicit,
            starttls=query.get("starttls", "").lower() in ("1", "true", "yes", "on"),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            timeout=timeout,
            cafile=query.get("cafile", ""),
        )


def settings_for(config):
    """The SMTP server to use: AMBASSADOR_SMTP_URL, else the demo outbox's
    server inside this process."""
    if config["SMTP_URL"]:
        return SMTPSettings.from_url(config["SMTP_URL"])
    if config.get("MAIL_OUTBOX"):
        from intranet_plugin.mail.outbox import start_sink

        host, port = start_sink(config["MAIL_OUTBOX"])
        return SMTPSettings(host, port)
    raise MailNotConfigured("No mail server: set AMBASSADOR_SMTP_URL (e.g. smtp://mail.example.com:25).")


@functools.lru_cache(maxsize=64)
def sender_domain(mail_from):
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


class Message:
    """A built e-mail: its headers (for reading) and its bytes on the wire."""

    def __init__(self, headers, data, recipient):
        self.headers, self.data, self.recipient = headers, data, recipient

    def __getitem__(self, name):
        return self.headers.get(name)

    def as_bytes(self):
        return self.data


def _header(name, value):
    if "\r" in value or "\n" in value:
        raise ValueError(f"{name}: a header value cannot contain a line break")
    if not value.isascii():
        value = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    if len(name) + len(value) > 996 and "\r\n" not in value:
        raise ValueError(f"{name}: too long for one header line")
    return f"{name}: {value}\r\n"


def _address(value):
    """``Name <address>`` or ``(name, address)`` as a header value, a
    non-ASCII name encoded (RFC 2047)."""
    name, address = value if isinstance(value, tuple) else parseaddr(value)
    if not address or "@" not in address:
        raise ValueError(f"not an e-mail address: {value!r}")
    return formataddr((" ".join(str(name).split()), address), charset="utf-8"), address


# The sender is the same on every message of a run: parsed once.
_sender_address = functools.lru_cache(maxsize=16)(_address)


def _part(content, subtype):
    data = content.replace("\r\n", "\n").encode("utf-8")
    if subtype == "html":
        # base64: binascii's encoder is ten times faster than quoted-printable
        # on a digest's long, tag-dense lines.
        encoded = base64.b64encode(data)
        encoding = "base64"
        body = b"\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76)) + b"\r\n"
    else:
        encoding = "quoted-printable"
        body = binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")
    return (f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n\r\n").encode() + body


def build_message(sender, to, subject, text, html=None, headers=None, message_id=None):
    """A text e-mail, with an HTML alternative when ``html`` is given.

    ``sender`` and ``to`` are ``"Name <address>"`` or ``(name, address)``.
    The structure is fixed (one text part, or text and HTML as alternatives),
    so it is put together here with the email package's encoders for every
    value: its generator costs more per digest than the SMTP round trips.
    A header value with a line break is refused, so none can be injected.
    """
    from_value, from_address = _sender_address(sender)
    to_value, recipient = _address(to)
    message_id = message_id or make_msgid(domain=sender_domain(from_address))
    fields = {"From": from_value, "To": to_value, "Subject": subject, "Date": formatdate(usegmt=True),
              "Message-ID": message_id, "MIME-Version": "1.0", **(headers or {})}
    head = "".join(_header(name, value) for name, value in fields.items())
    if html is None:
        data = head.encode("ascii") + _part(text, "plain")
    else:
        boundary = "=_" + uuid.uuid4().hex  # "=_" cannot occur in quoted-printable or base64
        head += _header("Content-Type", f'multipart/alternative; boundary="{boundary}"')
        data = (head.encode("ascii") + b"\r\n"
                + b"".join(b"--" + boundary.encode() + b"\r\n" + _part(body, subtype) + b"\r\n"
                           for body, subtype in ((text, "plain"), (html, "html")))
                + b"--" + boundary.encode() + b"--\r\n")
    return Message(fields, data, recipient)


class Mailer:
    """Sends messages over one SMTP connection, opened on first use, reopened
    after a drop, closed by ``close()`` (or the ``with`` block).

    ``delays`` are the waits before each retry of a temporary failure;
    ``sleep`` is injectable so that tests need not wait.
    """

    DELAYS = (1, 2, 4)

    def __init__(self, settings, mail_from, *, delays=DELAYS, sleep=time.sleep):
        self.settings = settings
        self.envelope_from = parseaddr(mail_from)[1] or mail_from
        self.delays = tuple(delays)
        self.sleep = sleep
        self._conn = None

    @classmethod
    def from_config(cls, config, **options):
        return cls(settings_for(config), config["MAIL_FROM"], **options)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, message):
        """Hand ``message`` (a Message) to the server; returns the number of
        tries. Raises PermanentFailure, TemporaryFailure or
        MailServerUnavailable."""
        failure = self._begin(message) or self._end()
        return self._retry(message, failure)

    def send_all(self, jobs, started=None):
        """Send the ``(key, message)`` pairs of ``jobs`` in order over the
        one connection, yielding ``(key, outcome)``: the number of tries, or
        the PermanentFailure or TemporaryFailure of that message.

        The next pair is drawn from ``jobs`` while the server is still taking
        the last message's data (its reply is read afterwards), so a caller
        that builds messages in a generator builds them in time the sender
        would otherwise spend waiting. ``started(key)`` is called just before
        a message goes to the server. MailServerUnavailable is raised.
        """
        in_flight = None
        for key, message in jobs:
            if in_flight is not None:
                yield in_flight[0], self._outcome(in_flight[1], in_flight[2] or self._end())
            if started is not None:
                started(key)
            in_flight = (key, message, self._begin(message))
        if in_flight is not None:
            yield in_flight[0], self._outcome(in_flight[1], in_flight[2] or self._end())

    def _outcome(self, message, failure):
        try:
            return self._retry(message, failure)
        except (PermanentFailure, TemporaryFailure) as exc:
            return exc

    def _retry(self, message, failure):
        """Try again after each delay while the failure is temporary; the
        number of tries, or the last failure raised."""
        tries = 1
        while failure is not None:
            if isinstance(failure, PermanentFailure):
                raise failure
            if tries > len(self.delays):
                if isinstance(failure, _ConnectFailed):
                    raise MailServerUnavailable(f"{self.settings.host}:{self.settings.port}: {failure}")
                raise failure
            self.sleep(self.delays[tries - 1])
            tries += 1
            failure = self._begin(message) or self._end()
        return tries

    def _begin(self, message):
        """MAIL, RCPT, DATA and the message itself, leaving the server's
        verdict unread; returns a failure, or None."""
        try:
            conn = self._connection()
        except _ConnectFailed as exc:
            return exc
        try:
            code, text = conn.mail(self.envelope_from)
            if code == 250:
                code, text = conn.rcpt(message.recipient)
            if code in (250, 251):
                code, text = conn.docmd("data")
            if code != 354:
                if code != 421:
                    conn.rset()
                return self._refused(code, text)
            # As smtplib's data(): a leading dot doubled, the final dot added.
            conn.send(_LEADING_DOT.sub(b"..", message.data) + b".\r\n")
        except (smtplib.SMTPException, OSError) as exc:
            return self._lost(exc)
        return None

    def _end(self):
        """The server's verdict on the message whose data went last."""
        try:
            code, text = self._conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            return self._lost(exc)
        return None if code == 250 else self._refused(code, text)

    def _refused(self, code, text):
        if code == 421 or code == -1:
            self._drop()  # the server closes the connection after a 421
        failure = PermanentFailure if 500 <= code <= 599 else TemporaryFailure
        return failure(code, _text(text))

    def _lost(self, exc):
        self._drop()
        return TemporaryFailure(None, f"connection lost: {exc or type(exc).__name__}")

    def _connection(self):
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self):
        s = self.settings
        where = f"{s.host}:{s.port}"
        context = ssl.create_default_context(cafile=s.cafile or None) if s.implicit_tls or s.starttls else None
        conn = None
        try:
            if s.implicit_tls:
                conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            conn.ehlo()
            if s.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                conn.login(s.username, s.password)
            return conn
        except (ssl.SSLError, ssl.CertificateError, smtplib.SMTPAuthenticationError,
                smtplib.SMTPNotSupportedError) as exc:
            _close(conn)
            # Settings, not luck: trying again cannot help.
            raise MailServerUnavailable(f"{where}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            _close(conn)
            if 500 <= exc.smtp_code <= 599:
                raise MailServerUnavailable(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
            raise _ConnectFailed(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(conn)
            raise _ConnectFailed(str(exc) or type(exc).__name__) from None

    def _drop(self):
        _close(self._conn)
        self._conn = None

    def close(self):
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()


class _ConnectFailed(TemporaryFailure):
    """The server could not be reached this time."""

    def __init__(self, text):
        super().__init__(None, text)


# Every line starting with a dot, the message's first included.
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _close(conn):
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass


def send_email(to, subject, text, html=None, headers=None, config=None):
    """Send one e-mail now (retrying temporary failures); returns its
    Message-ID. ``config`` defaults to the current app's."""
    config = config or current_app.config
    message = build_message(config["MAIL_FROM"], to, subject, text, html, headers)
    with Mailer.from_config(config) as mailer:
        mailer.send(message)
    return message["Message-ID"]
