"""Sending e-mail with smtplib: ``send_email`` for one message, and
``Mailer`` for a batch over one reused SMTP connection.

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

import re
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qsl, unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from intranet_plugin.i18n import locale_of
from intranet_plugin.mail.message import build_message, flatten
from intranet_plugin.ops.metrics import SMTP_ERRORS


class MailError(Exception):
    """Mail could not be sent."""


class MailNotConfigured(MailError):
    """Neither an SMTP server nor the demo outbox is configured."""


class MailServerUnavailable(MailError):
    """The server cannot be reached, or refuses the login or TLS: no message
    can go out, so the batch stops (and can be run again later)."""


class SMTPFailure(MailError):
    tries = 1

    def __init__(self, code, text):
        self.code, self.text = code, text
        super().__init__(f"{code} {text}" if code else text)


class PermanentFailure(SMTPFailure):
    """The server refused this message for good (a 5xx reply)."""


class TemporaryFailure(SMTPFailure):
    """Every try got a 4xx reply or a dropped connection."""


class Taken(MailError):
    """The caller's ``hand_over`` said no just before the message went to
    the server: another sender has this recipient. Nothing was sent."""


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


class _Connection:
    """smtplib's client, leaving the server's reply to the message data
    unread, so that the next message can be built while the server takes
    this one: ``sendmail`` returns once the data is sent, and
    ``getreply()`` then gives the verdict."""

    def data(self, msg):
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            if code != 421:
                self.rset()  # end the transaction, as sendmail does after a refusal
            raise smtplib.SMTPDataError(code, reply)
        # As smtplib's data() (``flatten`` hands over CRLF bytes): a
        # leading dot doubled, the final dot added.
        if msg.startswith(b".") or b"\n." in msg:  # never in base64; a scan of 100 KB in C first
            msg = _LEADING_DOT.sub(b"..", msg)
        self.send(msg + (b"" if msg.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        return 250, b"reply pending"


class _SMTP(_Connection, smtplib.SMTP):
    pass


class _SMTPS(_Connection, smtplib.SMTP_SSL):
    pass


class Mailer:
    """Sends messages (``EmailMessage``) over one SMTP connection, opened on
    first use, reopened after a drop, closed by ``close()`` (or the
    ``with`` block).

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

    def send(self, message, hand_over=None):
        """Hand ``message`` to the server; returns the number of tries.
        Raises PermanentFailure, TemporaryFailure or MailServerUnavailable;
        a failure carries its number of tries in ``tries``. ``hand_over()``
        is called once, right before the message first goes to the server
        (its envelope, then its data); when it returns False nothing is
        sent and ``Taken`` raised."""
        hand_over, envelope = _Once(hand_over), self._envelope(message)
        failure = self._begin(envelope, hand_over) or self._end()
        return self._retry(envelope, failure, hand_over)

    def send_all(self, jobs, hand_over=None):
        """Send the ``(key, message)`` pairs of ``jobs`` in order over the
        one connection, yielding ``(key, outcome)``: the number of tries, or
        the PermanentFailure or TemporaryFailure of that message.

        The next pair is drawn from ``jobs`` while the server is still taking
        the last message's data (its reply is read afterwards), so a caller
        that builds messages in a generator builds them in time the sender
        would otherwise spend waiting: a digest run is twice as fast so (see
        bench/digest_bench.py). Only the build and flattening are ahead: ``hand_over(key)``
        is called once per message, right before it first goes to the
        server, just after the previous message's verdict was yielded; when
        it returns False the message is not sent and its outcome is
        ``Taken``.
        MailServerUnavailable is raised.
        """
        in_flight = None
        for key, message in jobs:
            # Flattened too while the server takes the last message: only
            # the hand-over and the SMTP commands wait for its verdict
            # (which is read first, should flattening fail).
            try:
                envelope = self._envelope(message)
            except Exception as exc:  # noqa: BLE001 - raised below, as before
                envelope = exc
            if in_flight is not None:
                yield in_flight[0], self._outcome(*in_flight[1:])
            if isinstance(envelope, Exception):
                raise envelope
            once = _Once(hand_over, key)
            in_flight = (key, envelope, self._begin(envelope, once), once)
        if in_flight is not None:
            yield in_flight[0], self._outcome(*in_flight[1:])

    def _outcome(self, envelope, failure, hand_over):
        try:
            return self._retry(envelope, failure or self._end(), hand_over)
        except (PermanentFailure, TemporaryFailure, Taken) as exc:
            return exc

    def _retry(self, envelope, failure, hand_over):
        """Try again after each delay while the failure is temporary; the
        number of tries, or the last failure raised."""
        tries = 1
        while failure is not None:
            if isinstance(failure, Taken):
                raise failure
            failure.tries = tries
            SMTP_ERRORS.labels(_error_kind(failure)).inc()
            if isinstance(failure, PermanentFailure):
                raise failure
            if tries > len(self.delays):
                if isinstance(failure, _ConnectFailed):
                    raise MailServerUnavailable(f"{self.settings.host}:{self.settings.port}: {failure}")
                raise failure
            self.sleep(self.delays[tries - 1])
            tries += 1
            failure = self._begin(envelope, hand_over) or self._end()
        return tries

    def _envelope(self, message):
        """(recipients, international, bytes) of ``message``, as smtplib's
        send_message makes them, but flattened by ``message.flatten`` (its
        generator writes a digest's lines at a cost several times the rest
        of the message)."""
        recipients = [address.addr_spec for address in message["To"].addresses]
        international = not all(a.isascii() for a in (self.envelope_from, *recipients))
        return recipients, international, flatten(message, utf8=international)

    def _begin(self, envelope, hand_over):
        """MAIL, RCPT, DATA and the message itself (its ``_envelope``),
        leaving the server's verdict unread; returns a failure, or None."""
        try:
            conn = self._connection()
        except _ConnectFailed as exc:
            return exc
        recipients, international, data = envelope
        if not hand_over():
            return Taken("taken by another sender")
        try:
            conn.sendmail(self.envelope_from, recipients, data,
                          ("SMTPUTF8", "BODY=8BITMIME") if international else ())
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            return self._refused(code, text)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            return self._refused(exc.smtp_code, exc.smtp_error)
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
                conn = _SMTPS(s.host, s.port, timeout=s.timeout, context=context)
            else:
                conn = _SMTP(s.host, s.port, timeout=s.timeout)
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


def _error_kind(failure):
    """The ``kind`` label of ambassador_smtp_errors."""
    if isinstance(failure, _ConnectFailed):
        return "connect"
    return "permanent" if isinstance(failure, PermanentFailure) else "temporary"


class _Once:
    """``hand_over(*args)`` asked once per message: a retry of a message
    already handed over goes ahead without asking again."""

    def __init__(self, hand_over, *args):
        self.hand_over, self.args, self.done = hand_over, args, hand_over is None

    def __call__(self):
        if not self.done:
            if not self.hand_over(*self.args):
                return False
            self.done = True
        return True


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


def send_email(to, subject, text, html=None, headers=None, config=None, language=None):
    """Send one e-mail now (retrying temporary failures); returns its
    Message-ID. ``config`` defaults to the current app's; ``language``: see
    ``build_message``."""
    config = config or current_app.config
    message = build_message(config["MAIL_FROM"], to, subject, text, html, headers, language=language)
    with Mailer.from_config(config) as mailer:
        mailer.send(message)
    return message["Message-ID"]


class NoAddress(ValueError):
    """The person asking for a test has no e-mail address to send it to."""


def send_test(person, subject, text, html, note, *, config, language):
    """Send a message to ``person``'s own address as a test: "[TEST]"
    before ``subject`` and ``note`` (a lazy string: it says what the test
    shows) above ``text``, both in the person's own language; the message
    itself stays in ``language``, the recipient's it shows. Nothing is
    recorded in a ledger. Returns the subject sent. Raises NoAddress, or a
    MailError."""
    if not person.email:
        raise NoAddress(_("You have no e-mail address in the directory, so a test cannot reach you."))
    with force_locale(locale_of(person)):
        subject = _("[TEST] %(subject)s", subject=subject)
        note = str(note)
    send_email((person.display_name, person.email), subject, f"{note}\n\n{text}", html,
               headers={"Auto-Submitted": "auto-generated"}, config=config, language=language)
    return subject
