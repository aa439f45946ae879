"""URL helpers shared by editors, feeds and suggestions."""

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a visitor came from: two URLs that
# differ only in these point at the same content.
TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ref", "_hsenc", "_hsmi")


def normalize_url(url):
    """A canonical form of a URL for spotting duplicates: lower-case scheme
    and host, no default port, no fragment, no tracking parameters, sorted
    query, no trailing slash."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return (url or "").strip()
    host = (parts.hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    port = parts.port if port_in_range(url) else None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not k.lower().startswith(TRACKING_PARAMS))
    path = parts.path.rstrip("/") or ""
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme.lower()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def port_in_range(url):
    """Whether the URL's port, if it names one, exists (1 to 65535):
    ``https://example.com:99999/`` does not."""
    try:
        port = urlsplit((url or "").strip()).port
    except ValueError:
        return False
    return port is None or port > 0
