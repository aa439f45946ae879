"""What counts as a web address: ``web_address`` reads one, and every place
that takes an address from people, feeds or fetched pages asks it (forms,
the editor's preview and prefill, feeds, Open Graph images). (The canonical form
that spots duplicates, ``normalize_url``, lives with the item model that
stores it.)"""

import re
from urllib.parse import urljoin, urlsplit

URL_MAX = 2000
# White space and control characters (NUL, CR, LF, DEL, C1), which no
# address holds as they are: a browser sends them encoded (%20, %0A).
NOT_IN_AN_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def web_address(value, base=None, max_length=URL_MAX):
    """``value`` as an absolute http(s) address with a host and a port
    that exists (1 to 65535), at most ``max_length`` characters, with
    blanks at the ends removed and a relative address taken from ``base``;
    None for anything else: spaces, CR/LF or other control characters
    inside, ``javascript:``, ``https://example.com:99999/``."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > max_length or NOT_IN_AN_ADDRESS.search(value):
        return None
    try:
        url = urljoin(base, value) if base else value
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # no such port (99999, -1, abc), a broken [IPv6]
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        return None
    if len(url) > max_length or NOT_IN_AN_ADDRESS.search(url):
        return None
    return url


def is_http_url(url):
    """Whether a stored address may be linked to: http(s) with a host.
    Input goes through ``web_address``; this is for what is already stored,
    where an address saved before that rule may hold a space that browsers
    and ``iri_to_uri`` encode (its tracked links must keep working)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)
