"""A bounded HTTP(S) GET that cannot be turned against the internal network.

Feeds and link previews fetch URLs that editors and outside feeds supply.
``fetch`` accepts only http and https, resolves the host itself and refuses
loopback, private, link-local, multicast, reserved and unspecified addresses
(unless ``AMBASSADOR_FETCH_ALLOW_PRIVATE`` is set), then connects to exactly
the address it checked, so a second DNS answer cannot slip an internal
address in between. Every redirect is checked again. The whole exchange has
one deadline and the body a size limit.

It returns non-2xx answers (304, 404, ...) as a ``Response``: the caller
decides what they mean. Every failure to get an answer raises
``FetchError`` with a message fit to show to an editor.
"""

import codecs
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import Headers

MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
USER_AGENT = "Ambassador/1.0 (employee advocacy; feed reader and link preview)"
CHUNK = 64 * 1024

# The NAT64 well-known prefix carries an IPv4 address in its last 32 bits;
# the gateway would connect to that address on our behalf.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """The URL could not be fetched; ``message`` says why, for people."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


@dataclass(frozen=True)
class Response:
    status: int
    url: str  # the final URL, after redirects
    headers: Headers  # case-insensitive
    body: bytes
    encoding: str  # a best guess: Content-Type, BOM, XML or HTML declaration, else utf-8

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def text(self):
        return self.body.decode(self.encoding, errors="replace")


def _setting(name, default):
    return current_app.config.get(name, default) if has_app_context() else default


def fetch(url, *, headers=None, max_bytes=5_000_000, timeout=10, allow_private=None, allowed_hosts=None):
    """GET ``url`` within ``timeout`` seconds in total and ``max_bytes``.

    ``allow_private`` and ``allowed_hosts`` default (None) to the settings
    AMBASSADOR_FETCH_ALLOW_PRIVATE and AMBASSADOR_FETCH_ALLOWED_HOSTS (an
    empty list allows every public host). ``headers`` are sent on every hop,
    e.g. If-None-Match and If-Modified-Since.
    """
    if allow_private is None:
        allow_private = bool(_setting("FETCH_ALLOW_PRIVATE", False))
    if allowed_hosts is None:
        allowed_hosts = _setting("FETCH_ALLOWED_HOSTS", [])
    deadline = time.monotonic() + timeout
    extra = dict(headers or {})
    for _hop in range(MAX_REDIRECTS + 1):
        scheme, host, port, target = _check_url(url, allowed_hosts)
        addresses = _resolve(host, port, deadline, timeout)
        if not allow_private:
            for address in addresses:
                if is_internal(address):
                    raise FetchError(_("%(host)s points to an internal address (%(address)s): Ambassador "
                                       "does not fetch from the internal network.",
                                       host=host, address=address))
        response = _exchange(scheme, host, port, target, addresses, extra, deadline, timeout, max_bytes)
        location = response.headers.get("Location")
        if response.status in REDIRECT_STATUSES and location:
            url = urljoin(url, location.strip())
            continue
        return Response(response.status, url, response.headers, response.body,
                        guess_encoding(response.headers.get("Content-Type", ""), response.body))
    raise FetchError(_("Too many redirects (more than %(count)d) from %(url)s.", count=MAX_REDIRECTS, url=url))


def is_internal(address):
    """Whether an address is anything but a public unicast one."""
    address = ipaddress.ip_address(address)
    if address.version == 6:
        if address.ipv4_mapped:
            return is_internal(address.ipv4_mapped)
        if address in NAT64:
            return is_internal(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        embedded = [address.sixtofour, *(address.teredo or ())]
        if any(e is not None and is_internal(e) for e in embedded):
            return True
    return (not address.is_global or address.is_private or address.is_loopback or address.is_link_local
            or address.is_multicast or address.is_reserved or address.is_unspecified
            or getattr(address, "is_site_local", False))


def _check_url(url, allowed_hosts):
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        raise FetchError(_("“%(url)s” is not a valid web address.", url=url)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(_("Only http:// and https:// addresses can be fetched, not “%(url)s”.", url=url))
    if not parts.hostname:
        raise FetchError(_("“%(url)s” is not a complete web address.", url=url))
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise FetchError(_("“%(url)s” is not a valid web address.", url=url)) from None
    if allowed_hosts and not any(host == h or host.endswith("." + h) for h in allowed_hosts):
        raise FetchError(_("%(host)s is not one of the hosts Ambassador may fetch from "
                           "(AMBASSADOR_FETCH_ALLOWED_HOSTS).", host=host))
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    # A path from a feed may hold spaces or raw non-ASCII; http.client refuses
    # those, so they are percent-encoded.
    target = re.sub(r"[\x00-\x20\x7f-\U0010ffff]",
                    lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), target)
    return scheme, host, port or (443 if scheme == "https" else 80), target


def _waited(host, timeout):
    """What a fetch that took longer than ``timeout`` seconds says."""
    # A fraction of a second takes the plural form of "other" in every
    # language (CLDR), as 5 does.
    count = int(timeout) if float(timeout).is_integer() else 5
    return ngettext("%(host)s did not answer within %(seconds)s second.",
                    "%(host)s did not answer within %(seconds)s seconds.", count, host=host, seconds=timeout)


def _resolve(host, port, deadline, timeout):
    """The host's addresses, looked up within the deadline."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    answer = {}

    def lookup():
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            answer["error"] = exc

    # getaddrinfo has no timeout of its own: a stuck resolver would hold the
    # caller forever, so the lookup runs aside and is abandoned at the deadline.
    worker = threading.Thread(target=lookup, daemon=True, name="ambassador-dns")
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise FetchError(_waited(host, timeout))
    if "error" in answer:
        raise FetchError(_("The name %(host)s could not be found (DNS).", host=host))
    addresses = []
    for info in answer["infos"]:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(_("The name %(host)s could not be found (DNS).", host=host))
    return addresses


def _ssl_context():
    ca_file = _setting("FETCH_CA_FILE", "")
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError):
        raise FetchError(_("The certificate file %(path)s (AMBASSADOR_FETCH_CA_FILE) cannot be read.",
                           path=ca_file)) from None


def _connect(host, port, addresses, deadline, timeout):
    """A socket to the first checked address that accepts, never to another."""
    refused = False
    error = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            return socket.create_connection((str(address), port), timeout=remaining)
        except ConnectionRefusedError:
            refused = True
        except TimeoutError:
            error = None
        except OSError as exc:
            error = exc
    if refused:
        raise FetchError(_("%(host)s refused the connection.", host=host))
    if error is not None:
        raise FetchError(_("Could not connect to %(host)s: %(reason)s", host=host,
                           reason=error.strerror or error))
    raise FetchError(_waited(host, timeout))


class _Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body


def _exchange(scheme, host, port, target, addresses, extra, deadline, timeout, max_bytes):
    sock = _connect(host, port, addresses, deadline, timeout)
    # The socket timeout bounds each read; this watchdog bounds them all
    # together, so a server dripping one byte at a time cannot hold us.
    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (sock,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if scheme == "https":
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            sock = _ssl_context().wrap_socket(sock, server_hostname=host)
            watchdog.args = (sock,)
            conn = http.client.HTTPSConnection(host, port)
        else:
            conn = http.client.HTTPConnection(host, port)
        # The connection is already open, to the checked address.
        conn.sock = sock
        request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate",
                           "Accept": "*/*", "Connection": "close"}
        request_headers.update(extra)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        conn.request("GET", target, headers=request_headers)
        response = conn.getresponse()
        headers = Headers(list(response.getheaders()))
        if response.status in REDIRECT_STATUSES and headers.get("Location"):
            return _Answer(response.status, headers, b"")
        body = _read_body(response, headers, sock, host, deadline, max_bytes)
        return _Answer(response.status, headers, body)
    except FetchError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise FetchError(_("The certificate of %(host)s could not be verified: %(reason)s",
                           host=host, reason=exc.verify_message or exc.reason)) from None
    except (TimeoutError, ssl.SSLError, http.client.HTTPException, OSError, ValueError) as exc:
        if time.monotonic() >= deadline or isinstance(exc, TimeoutError):
            raise FetchError(_waited(host, timeout)) from None
        if isinstance(exc, ssl.SSLError):
            raise FetchError(_("The secure connection to %(host)s failed: %(reason)s",
                               host=host, reason=exc.reason or exc)) from None
        if isinstance(exc, (http.client.HTTPException, ValueError)):
            raise FetchError(_("%(host)s did not answer with valid HTTP.", host=host)) from None
        raise FetchError(_("The connection to %(host)s failed: %(reason)s",
                           host=host, reason=exc.strerror or exc)) from None
    finally:
        watchdog.cancel()
        sock.close()


def _cut(sock):
    try:
        # The plain socket's shutdown, also for TLS: it only needs to wake
        # the blocked reader, not to say goodbye politely.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _too_big(host, max_bytes):
    return FetchError(_("The answer from %(host)s is larger than the limit of %(limit)s.",
                        host=host, limit=f"{max_bytes / 1_000_000:g} MB"))


def _read_body(response, headers, sock, host, deadline, max_bytes):
    try:
        declared = int(headers.get("Content-Length", "0"))
    except ValueError:
        declared = 0
    if declared > max_bytes:
        raise _too_big(host, max_bytes)
    coding = headers.get("Content-Encoding", "").strip().lower()
    # wbits 47: gzip or zlib header, detected automatically.
    inflater = zlib.decompressobj(47) if coding in ("gzip", "x-gzip", "deflate") else None
    chunks, received, produced = [], 0, 0
    try:
        while True:
            if time.monotonic() >= deadline:
                raise TimeoutError
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            received += len(chunk)
            if received > max_bytes:
                raise _too_big(host, max_bytes)
            if inflater is not None:
                # Bounded output: a small compressed bomb cannot blow up.
                chunk = inflater.decompress(chunk, max_bytes + 1 - produced)
            produced += len(chunk)
            if produced > max_bytes:
                raise _too_big(host, max_bytes)
            chunks.append(chunk)
        if time.monotonic() >= deadline:
            raise TimeoutError  # cut by the watchdog: the body is incomplete
        if inflater is not None:
            tail = inflater.flush()
            produced += len(tail)
            if produced > max_bytes:
                raise _too_big(host, max_bytes)
            chunks.append(tail)
    except zlib.error:
        raise FetchError(_("The answer from %(host)s could not be decompressed.", host=host)) from None
    if inflater is not None:
        del headers["Content-Encoding"]
        del headers["Content-Length"]
    return b"".join(chunks)


CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
XML_DECLARATION = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def guess_encoding(content_type, body):
    """The body's character encoding: HTTP header, BOM, XML declaration,
    HTML meta, else UTF-8; only names Python knows."""
    candidates = []
    match = CHARSET.search(content_type.encode("latin-1", "replace"))
    if match:
        candidates.append(match.group(1))
    candidates.extend(name.encode() for bom, name in BOMS if body.startswith(bom))
    head = body[:2048]
    match = XML_DECLARATION.match(head.lstrip())
    if match:
        candidates.append(match.group(1))
    match = re.search(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", head, re.I)
    if match:
        candidates.append(match.group(1))
    for name in candidates:
        try:
            return codecs.lookup(name.decode("ascii")).name
        except (LookupError, UnicodeDecodeError):
            continue
    return "utf-8"
