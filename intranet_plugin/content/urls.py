"""What counts as a web address, for editors, feeds, suggestions and page
previews. (The canonical form that spots duplicates, ``normalize_url``,
lives with the item model that stores it.)"""

from urllib.parse import urlsplit


def is_http_url(url):
    """An absolute http(s) address with a host."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def port_in_range(url):
    """Whether the URL's port, if it names one, exists (1 to 65535):
    ``https://example.com:99999/`` does not."""
    try:
        port = urlsplit((url or "").strip()).port
    except ValueError:
        return False
    return port is None or port > 0
