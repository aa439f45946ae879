"""Configuration: every setting, its default and its check, in one place.

Settings come from ``AMBASSADOR_*`` environment variables. ``load_config``
returns a plain dict of Flask config keys (without the prefix) or raises
``ConfigError`` naming the variable that is wrong, so that a bad value stops
the start-up with a message instead of failing later in a request.
"""

import ipaddress
import os
import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def _words(value):
    return [w for w in re.split(r"[\s,]+", value or "") if w]


def _networks(name, value):
    try:
        return [ipaddress.ip_network(w, strict=False) for w in _words(value)]
    except ValueError as exc:
        raise ConfigError(f"{PREFIX}{name}: {exc}") from None


def _database_url(value, instance_path):
    if not value:
        return "sqlite:///" + os.path.join(instance_path, "ambassador.db")
    scheme = value.split(":", 1)[0]
    if scheme not in ("sqlite", "postgres", "postgresql"):
        raise ConfigError(
            f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got {scheme!r}"
        )
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
        "LDAP_CA_FILE": ("", str),
        "SSO_HEADER": ("X-Remote-User", str),
        "TRUSTED_PROXIES": ("", lambda v: _networks("TRUSTED_PROXIES", v)),
        "SMTP_URL": ("", str),
        "MAIL_FROM": ("Ambassador <ambassador@localhost>", str),
        "DIGEST_SCHEDULE": ("mon 08:00", str),
        "TIMEZONE": ("Europe/Amsterdam", _timezone),
        "FRAME_ANCESTORS": ("'self'", str),
        "UTM_MEDIUM": ("employee_advocacy", _utm_medium),
        "ALLOWED_TARGET_HOSTS": ("", lambda v: [h.lower() for h in _words(v)]),
        "PAGE_SIZE": ("12", lambda v: _int("PAGE_SIZE", v, 1)),
        "COOKIE_SAMESITE": ("Lax", lambda v: _choice("COOKIE_SAMESITE", v, ("Lax", "Strict", "None"))),
        "CLICK_JOURNAL_DIR": ("", lambda v: v or os.path.join(instance_path, "click-journal")),
        "DEFAULT_LANGUAGE": ("en", lambda v: _choice("DEFAULT_LANGUAGE", v, ("en", "nl"))),
    }


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
