"""Configuration: every setting, its default and its check, in one place.

Settings come from ``AMBASSADOR_*`` environment variables. ``load_config``
returns a plain dict of Flask config keys (without the prefix) or raises
``ConfigError`` naming the variable that is wrong, so that a bad value stops
the start-up with a message instead of failing later in a request.
"""

import importlib.util
import ipaddress
import os
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.models import CONTENT_LANGUAGES

PREFIX = "AMBASSADOR_"

# The well-known development secret: accepted in development, refused in
# production.
DEV_SECRET_KEY = "dev-only-insecure-secret-key"


class ConfigError(ValueError):
    """A setting is missing or has a value Ambassador cannot use."""


def _url(name, value, schemes):
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(
            f"{PREFIX}{name} must be a URL starting with "
            f"{' or '.join(s + '://' for s in schemes)}, got {value!r}"
        )
    return value.rstrip("/")


def _choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{PREFIX}{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _int(name, value, minimum=0):
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{PREFIX}{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{PREFIX}{name} must be at least {minimum}, got {number}")
    return number


def _bool(name, value):
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{PREFIX}{name} must be true or false, got {value!r}")


def _words(value):
    return [w for w in re.split(r"[\s,]+", value or "") if w]


def _networks(name, value):
    try:
        return [ipaddress.ip_network(w, strict=False) for w in _words(value)]
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name}: {exc}") from None


def _content_languages(value):
    codes = _words(value)
    wrong = [code for code in codes if code not in CONTENT_LANGUAGES]
    if wrong:
        raise ConfigError(f"{PREFIX}CONTENT_LANGUAGES must name content languages out of "
                          f"{', '.join(CONTENT_LANGUAGES)}, got {', '.join(wrong)}")
    return [code for code in CONTENT_LANGUAGES if code in codes]


def _database_url(value, instance_path):
    if not value:
        return "sqlite:///" + os.path.join(instance_path, "ambassador.db")
    scheme = value.split(":", 1)[0]
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise ConfigError(
            f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got {scheme!r}"
        )
    if scheme != "sqlite" and not (importlib.util.find_spec("psycopg") or importlib.util.find_spec("psycopg2")):
        raise ConfigError(f"{PREFIX}DATABASE_URL names PostgreSQL, but no PostgreSQL driver is installed: "
                          "pip install 'ambassador[postgres]'")
    return value


# name: (default, parser). Parsers take the raw string (the default when the
# variable is unset) and return the typed value.
def _settings(instance_path):
    return {
        "ENV": ("development", lambda v: _choice("ENV", v, ("development", "production"))),
        "DATABASE_URL": ("", lambda v: _database_url(v, instance_path)),
        "SECRET_KEY": (DEV_SECRET_KEY, str),
        "PUBLIC_URL": ("http://127.0.0.1:5000", lambda v: _url("PUBLIC_URL", v, ("http", "https"))),
        "BASE_URL": ("http://127.0.0.1:5000", lambda v: _url("BASE_URL", v, ("http", "https"))),
        "AUTH": ("dev", lambda v: _choice("AUTH", v, ("ldap", "header", "dev"))),
        "LDAP_URL": ("", str),
        "LDAP_BIND_DN": ("", str),
        "LDAP_BIND_PASSWORD": ("", str),
        "LDAP_USER_BASE": ("", str),
        "LDAP_USER_FILTER": ("(uid={username})", str),
        "LDAP_ADMIN_GROUP": ("", str),
        "LDAP_EDITOR_GROUP": ("", str),
        # A pilot: only this group's members may join (people.membership).
        # With AUTH=dev it names the demo's pilot group, whose members are
        # the people stored as eligible.
        "LDAP_MEMBER_GROUP": ("", str),
        # Team leads (advocacy leaders) of their own department.
        "LDAP_LEAD_GROUP": ("", str),
        # Groups an item can be meant for: DNs separated by ";".
        "LDAP_AUDIENCE_GROUPS": ("", lambda v: [g.strip() for g in (v or "").split(";") if g.strip()]),
        "LDAP_CA_FILE": ("", str),
        "LDAP_STARTTLS": ("false", lambda v: _bool("LDAP_STARTTLS", v)),
        "LDAP_CONNECT_TIMEOUT": ("5", lambda v: _int("LDAP_CONNECT_TIMEOUT", v, 1)),
        "LDAP_TIMEOUT": ("10", lambda v: _int("LDAP_TIMEOUT", v, 1)),
        # Attribute names, tried in order (the first one an entry has wins):
        # defaults that fit both OpenLDAP (inetOrgPerson) and Active Directory.
        "LDAP_ATTR_USERNAME": ("uid sAMAccountName", _words),
        "LDAP_ATTR_DISPLAY_NAME": ("displayName cn", _words),
        "LDAP_ATTR_EMAIL": ("mail", _words),
        "LDAP_ATTR_DEPARTMENT": ("department departmentNumber ou", _words),
        "LDAP_NESTED_GROUPS": ("false", lambda v: _bool("LDAP_NESTED_GROUPS", v)),
        "LOGIN_THROTTLE_ACCOUNT": ("5", lambda v: _int("LOGIN_THROTTLE_ACCOUNT", v, 1)),
        "LOGIN_THROTTLE_ADDRESS": ("20", lambda v: _int("LOGIN_THROTTLE_ADDRESS", v, 1)),
        "LOGIN_THROTTLE_MINUTES": ("15", lambda v: _int("LOGIN_THROTTLE_MINUTES", v, 1)),
        # A session ends this many hours after sign-in, however busy (a
        # working day; sso.sessions).
        "SESSION_HOURS": ("12", _session_hours),
        "SSO_HEADER": ("X-Remote-User", str),
        "TRUSTED_PROXIES": ("", lambda v: _networks("TRUSTED_PROXIES", v)),
        "SMTP_URL": ("", _smtp_url),
        "MAIL_FROM": ("Ambassador <ambassador@localhost>", str),
        # The demo outbox: mail goes to an SMTP server inside the process
        # that keeps every message as a file, browsable at /admin/outbox.
        # "" = on (at <instance>/outbox) only for the demo login without an
        # SMTP_URL; "off"; or a directory.
        "MAIL_OUTBOX": ("", str),
        "DIGEST_MAX_ITEMS": ("8", lambda v: _int("DIGEST_MAX_ITEMS", v, 1)),
        "COST_PER_CLICK": ("", _cost_per_click),
        "DIGEST_SCHEDULE": ("mon 08:00", _digest_schedule),
        "FEED_POLL_MINUTES": ("30", lambda v: _int("FEED_POLL_MINUTES", v, 1)),
        "TIMEZONE": ("Europe/Amsterdam", _timezone),
        "FRAME_ANCESTORS": ("'self'", _frame_ancestors),
        "UTM_MEDIUM": ("employee_advocacy", _utm_medium),
        "ALLOWED_TARGET_HOSTS": ("", lambda v: [h.lower() for h in _words(v)]),
        "PAGE_SIZE": ("12", lambda v: _int("PAGE_SIZE", v, 1)),
        # How many distinct visitors one network (/24, /48) can add to one
        # link a day; more are recorded as "repeated from one network".
        "VISITORS_PER_NETWORK": ("3", lambda v: _int("VISITORS_PER_NETWORK", v, 1)),
        "COOKIE_SAMESITE": ("Lax", lambda v: _choice("COOKIE_SAMESITE", v, ("Lax", "Strict", "None"))),
        "CLICK_JOURNAL_DIR": ("", lambda v: v or os.path.join(instance_path, "click-journal")),
        # "off", or every how many milliseconds the journal is fsynced: the
        # most clicks a power loss can cost (tracking.clicks).
        "CLICK_JOURNAL_FSYNC": ("off", _fsync_ms),
        "DEFAULT_LANGUAGE": ("en", lambda v: _choice("DEFAULT_LANGUAGE", v, tuple(LANGUAGES))),
        # The languages the company's own content is in: preselected on
        # everyone's share page besides their own language, until they
        # choose (content.audiences); "" = the DEFAULT_LANGUAGE.
        "CONTENT_LANGUAGES": ("", _content_languages),
        # Fetching feeds and pages from outside (intranet_plugin.fetch).
        # Private and loopback addresses are refused unless allowed, so no
        # URL an editor or a feed supplies can reach the internal network.
        "FETCH_ALLOW_PRIVATE": ("false", lambda v: _bool("FETCH_ALLOW_PRIVATE", v)),
        "FETCH_ALLOWED_HOSTS": ("", lambda v: [h.lower().lstrip(".") for h in _words(v)]),
        "FETCH_TIMEOUT": ("10", lambda v: _int("FETCH_TIMEOUT", v, 1)),
        "FETCH_MAX_BYTES": ("5000000", lambda v: _int("FETCH_MAX_BYTES", v, 1024)),
        "FETCH_CA_FILE": ("", str),
        # Raw click rows older than this many days are rolled up into daily
        # totals and deleted (intranet_plugin.rollup).
        "CLICK_RETENTION_DAYS": ("400", lambda v: _int("CLICK_RETENTION_DAYS", v, 1)),
        # The monthly management report: who gets it, and on which day of
        # the month the scheduler sends last month's.
        "REPORT_RECIPIENTS": ("", _addresses),
        "REPORT_DAY": ("1", _report_day),
        # Operations (intranet_plugin.ops): log lines as JSON (one per
        # request) or text; "" = json in production, text in development.
        "LOG_FORMAT": ("", lambda v: _choice("LOG_FORMAT", v, ("", "json", "text"))),
        # /metrics answers addresses in TRUSTED_PROXIES, or a client that
        # sends this token as "Authorization: Bearer <token>".
        "METRICS_TOKEN": ("", _metrics_token),
        # /readyz fails while no scheduler holds its lease.
        "SCHEDULER_REQUIRED": ("true", lambda v: _bool("SCHEDULER_REQUIRED", v)),
    }


def _metrics_token(value):
    if value and len(value) < 16:
        raise ConfigError(f"{PREFIX}METRICS_TOKEN must be at least 16 characters (a random value), "
                          f"or empty for none")
    return value


def _addresses(value):
    addresses = _words(value)
    for address in addresses:
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", address):
            raise ConfigError(f"{PREFIX}REPORT_RECIPIENTS must be e-mail addresses separated by commas, "
                              f"got {address!r}")
    return addresses


def _report_day(value):
    day = _int("REPORT_DAY", value, 1)
    if day > 28:
        # Every month has the day, so no month is skipped.
        raise ConfigError(f"{PREFIX}REPORT_DAY must be a day of the month from 1 to 28, got {day}")
    return day


def _session_hours(value):
    hours = _int("SESSION_HOURS", value, 1)
    if hours > 24 * 31:
        raise ConfigError(f"{PREFIX}SESSION_HOURS must be at most {24 * 31} (31 days), got {hours}")
    return hours


def _smtp_url(value):
    if value:
        _url("SMTP_URL", value, ("smtp", "smtps"))
    return value


# Earned media value: what a click would cost as a paid ad on the network,
# in EUR. Rough cost-per-click of paid social in the Netherlands and DACH:
# LinkedIn (B2B, the dearest), XING (B2B, smaller), X and Facebook (consumer).
# Bluesky, Threads (Meta's ads) and Mastodon count as consumer networks;
# WhatsApp, Telegram, e-mail, copied links, the phone's share sheet and QR
# codes have no ad market; they count low.
DEFAULT_COST_PER_CLICK = {"linkedin": "3.00", "xing": "2.00", "x": "1.00", "facebook": "1.00",
                          "bluesky": "0.50", "threads": "1.00", "mastodon": "0.50", "telegram": "0.50",
                          "whatsapp": "0.50", "email": "0.50", "link": "0.50", "device": "0.50", "qr": "0.50"}


def _cost_per_click(value):
    """``linkedin=3 x=1.20``: the networks named override the defaults."""
    costs = {network: Decimal(cost) for network, cost in DEFAULT_COST_PER_CLICK.items()}
    for word in _words(value):
        network, _, cost = word.partition("=")
        if network not in costs:
            raise ConfigError(f"{PREFIX}COST_PER_CLICK: unknown network {network!r}; "
                              f"use {', '.join(costs)} (e.g. linkedin=3 x=1.20)")
        try:
            costs[network] = Decimal(cost)
        except InvalidOperation:
            raise ConfigError(f"{PREFIX}COST_PER_CLICK: {word!r} needs an amount, e.g. linkedin=3.50") from None
        if not costs[network].is_finite() or costs[network] < 0:
            raise ConfigError(f"{PREFIX}COST_PER_CLICK: {word!r} needs an amount of 0 or more")
    return costs


def _mail_outbox(config, instance_path):
    """The directory of the demo outbox, or "" when there is none."""
    value = str(config["MAIL_OUTBOX"] or "").strip()
    if value == "off":
        return ""
    if value:
        return value
    demo = (config["AUTH"] == "dev" and not config["SMTP_URL"] and config["ENV"] == "development"
            and not config.get("TESTING"))
    return os.path.join(instance_path, "outbox") if demo else ""


def _frame_ancestors(value):
    # Goes into the CSP header as written: a ';' or a line break would add
    # directives of its own.
    if not value.strip() or re.search(r"[;,\r\n]", value):
        raise ConfigError(f"{PREFIX}FRAME_ANCESTORS must be CSP sources separated by spaces, "
                          f"e.g. \"'self' https://intranet.example.com\", got {value!r}")
    return value.strip()


def _fsync_ms(value):
    if value.strip().lower() in ("off", "0", ""):
        return 0
    if not value.strip().isascii() or not value.strip().isdigit():
        raise ConfigError(f"{PREFIX}CLICK_JOURNAL_FSYNC must be off or a number of milliseconds (e.g. 50), "
                          f"got {value!r}")
    return int(value)


def _digest_schedule(value):
    match = re.fullmatch(r"(mon|tue|wed|thu|fri|sat|sun)[a-z]* +([01]?\d|2[0-3]):([0-5]\d)", value.strip().lower())
    if not match:
        raise ConfigError(f"{PREFIX}DIGEST_SCHEDULE must be a weekday and a time such as 'mon 08:00', "
                          f"got {value!r}")
    return value.strip().lower()


def _timezone(value):
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{PREFIX}TIMEZONE must be an IANA time zone such as Europe/Amsterdam, got {value!r}"
        ) from None
    return value


def _utm_medium(value):
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise ConfigError(f"{PREFIX}UTM_MEDIUM may hold only letters, digits, '_', '.' and '-', got {value!r}")
    return value


def load_config(instance_path, environ=None, overrides=None):
    """Read, parse and check every setting.

    ``overrides`` (a dict, used by tests and by a host intranet) take
    precedence over the environment and go through the same checks.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config = {}
    for name, (default, parse) in _settings(instance_path).items():
        raw = overrides.pop(name, environ.get(PREFIX + name, default))
        config[name] = parse(raw) if isinstance(raw, str) else raw
    config.update(overrides)  # Flask/extension keys such as TESTING pass through
    config["MAIL_OUTBOX"] = _mail_outbox(config, instance_path)
    config["LOG_FORMAT"] = config["LOG_FORMAT"] or ("json" if config["ENV"] == "production" else "text")
    _check_production(config)
    return config


def _check_production(config):
    if config["ENV"] != "production":
        return
    if config["SECRET_KEY"] == DEV_SECRET_KEY or len(config["SECRET_KEY"]) < 32:
        raise ConfigError(
            f"{PREFIX}SECRET_KEY must be set to a random value of at least 32 characters in "
            "production (for example: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    if config["AUTH"] == "dev":
        raise ConfigError(
            f"{PREFIX}AUTH=dev (the demo login) is refused in production: use ldap or header"
        )
    if not config["PUBLIC_URL"].startswith("https://"):
        raise ConfigError(f"{PREFIX}PUBLIC_URL must use https:// in production")
    if config["AUTH"] in ("ldap", "header"):
        url = config["LDAP_URL"].strip().lower()
        if url.startswith("ldap://") and not config["LDAP_STARTTLS"]:
            raise ConfigError(
                f"{PREFIX}LDAP_URL uses plain ldap:// without STARTTLS, which sends passwords "
                f"unencrypted: refused in production. Use ldaps:// or set {PREFIX}LDAP_STARTTLS=true"
            )
