"""Building an e-mail: ``email.message.EmailMessage`` (RFC 2047 for names
and subjects beyond ASCII). It is built with the default policy, whose line
ends are ``\n``, so that a part decodes to the text it was given; smtplib's
``send_message`` puts CRLF on the wire."""

import functools
import uuid
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from email.utils import formatdate, make_msgid, parseaddr


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each made once: the registry builds a
    new class on every header set or read, some forty times a message."""

    @functools.lru_cache(maxsize=256)  # noqa: B019 (one registry, for the life of the process)
    def __getitem__(self, name):
        return super().__getitem__(name.lower())


POLICY = default.clone(header_factory=_HeaderClasses())


@functools.lru_cache(maxsize=64)
def sender_domain(mail_from):
    """The domain of ``MAIL_FROM``, for Message-IDs."""
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


def _address(value):
    """``"Name <address>"`` or ``(name, address)`` as an Address; a value
    that is no address is refused."""
    name, address = value if isinstance(value, tuple) else parseaddr(value)
    if not address or "@" not in address:
        raise ValueError(f"not an e-mail address: {value!r}")
    return Address(" ".join(str(name).split()), addr_spec=address)


def build_message(sender, to, subject, text, html=None, headers=None, message_id=None):
    """A text e-mail, with an HTML alternative when ``html`` is given.

    ``sender`` and ``to`` are ``"Name <address>"`` or ``(name, address)``;
    ``headers`` adds headers (List-Unsubscribe, Reply-To, ...). A header
    value with a line break is refused (ValueError), so none can be
    injected.
    """
    message = EmailMessage(policy=POLICY)
    sender = _address(sender)
    message["From"] = sender
    message["To"] = _address(to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain(sender.addr_spec))
    for name, value in (headers or {}).items():
        message[name] = value
    # Quoted-printable keeps the text part readable in the raw message;
    # base64 for the HTML, whose long tag-dense lines it encodes in C, where
    # quoted-printable is encoded character by character in Python.
    message.set_content(text, cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", cte="base64")
        # "=_" occurs in neither quoted-printable nor base64, so the
        # generator need not search the parts for a boundary that is free.
        message.set_boundary("=_" + uuid.uuid4().hex)
    return message
