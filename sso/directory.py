"""The company directory over LDAP (ldap3): search-then-bind sign-in, a
person's attributes and roles, and the full read for ``sync-users``.

Every value that goes into a filter is escaped (RFC 4515); every
connection has a connect and a receive timeout, so a dead or hung
directory costs seconds, not a worker.
"""

import re
import ssl
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from intranet_plugin.config import PREFIX, ConfigError
from intranet_plugin.ops.metrics import LDAP_ERRORS

# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership through nested
# groups, evaluated by the domain controller.
IN_CHAIN = "1.2.840.113556.1.4.1941"
PAGE_SIZE = 500
# ldap3 status codes that mean "the password was not accepted" (49) or the
# account may not sign in now (expired, locked, disabled: AD sends 49 or 53
# with a sub-code, OpenLDAP ppolicy 49 or 50).
REFUSED_BIND = {49, 50, 53, 19}
NO_SUCH_OBJECT = 32


class DirectoryUnavailable(Exception):
    """The directory did not answer (down, hung, TLS failure, bad service
    account): nobody can sign in until it is back."""

    def __init__(self, *args):
        super().__init__(*args)
        # Every failure to talk to the directory ends up here: counted once.
        LDAP_ERRORS.inc()


class InvalidCredentials(Exception):
    """Unknown user, wrong password, or an account the directory refuses:
    deliberately one error, so that nobody can probe which it was."""


class IncompleteRead(DirectoryUnavailable):
    """A directory read stopped halfway (size or time limit, lost page):
    nothing may be concluded from it."""


@dataclass(frozen=True)
class DirectoryPerson:
    dn: str
    username: str
    display_name: str
    email: str
    department: str
    is_admin: bool
    is_editor: bool
    # In the member group (a pilot); True when no member group is set.
    is_eligible: bool = True
    # The configured groups (lead and audience groups) the person is in,
    # spelled as configured.
    groups: tuple = ()


def normalize_dn(dn):
    """A DN in one comparable form (a tuple of its parts): attribute types
    and values lower-cased, escapes resolved (``\\,`` and ``\\2C`` are the
    same comma)."""
    try:
        parts = parse_dn(dn, escape=False, strip=True)
    except LDAPException:
        return (dn.strip().lower(),)
    return tuple((attr.strip().lower(), _unescape(value).strip().lower(), sep)
                 for attr, value, sep in parts)


def _unescape(value):
    raw, i = bytearray(), 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            pair = value[i + 1:i + 3]
            if len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair):
                raw.append(int(pair, 16))
                i += 3
                continue
            raw.extend(value[i + 1].encode())
            i += 2
            continue
        raw.extend(char.encode())
        i += 1
    return raw.decode("utf-8", "replace")


def user_filter(template, username):
    """The configured filter with the user name escaped (RFC 4515)."""
    return template.replace("{username}", escape_filter_chars(username))


MAX_USERNAME = 256


class UnusableUsername(ValueError):
    """A typed user name that cannot be anyone's: too long, or holding
    control or other invisible characters."""


def normalize_username(typed):
    """A typed user name in the one form every part of sign-in uses: Unicode
    NFKC (full-width "ｚｏｅ．ｄｅｖｒｉｅｓ" is "zoe.devries"), surrounding
    spaces dropped and inner runs made one. Raises ``UnusableUsername`` for
    control, format (zero-width), private-use or unassigned characters, and
    for a name of more than 256 characters; an empty name stays empty.

    The case is kept: this is what the directory is asked, and it ignores
    case itself. Folding it here would lose people: OpenLDAP finds "Straße"
    by "straße" but not by "strasse", which casefold makes of it.
    ``username_key`` is the form in which two names are the same person's.
    """
    if len(typed) > MAX_USERNAME:
        raise UnusableUsername(typed)
    name = unicodedata.normalize("NFKC", typed)
    # Checked before the spaces are tidied: split() would take tabs, line
    # breaks and some other controls for spaces.
    if len(name) > MAX_USERNAME or any(unicodedata.category(c)[0] == "C" for c in name):
        raise UnusableUsername(typed)
    return " ".join(name.split())


def username_key(name):
    """The form in which two user names are the same person's: normalised
    and case-folded ("ＺＯＥ.devries" and "zoe.devries" give one key). Keys
    the login throttle and compares names; never sent to the directory."""
    try:
        name = normalize_username(name)
    except UnusableUsername:
        pass  # a stored or directory name is compared as it is
    return unicodedata.normalize("NFKC", name.casefold())


def valid_username(username):
    """A user name worth asking the directory about: not empty, not huge,
    no control characters (NUL included)."""
    try:
        return bool(normalize_username(username))
    except UnusableUsername:
        return False


def check_config(config):
    """Refuse LDAP settings that cannot work, at start-up (every environment)."""
    auth = config["AUTH"]
    if auth not in ("ldap", "header"):
        return
    url = config["LDAP_URL"].strip()
    if not url:
        raise ConfigError(f"{PREFIX}AUTH={auth} needs {PREFIX}LDAP_URL, e.g. ldaps://ldap.example.com")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(f"{PREFIX}LDAP_URL must start with ldap:// or ldaps://, got {url!r}")
    if parts.scheme.lower() == "ldaps" and config["LDAP_STARTTLS"]:
        raise ConfigError(f"{PREFIX}LDAP_STARTTLS is for ldap:// URLs; ldaps:// is encrypted already")
    if not config["LDAP_USER_BASE"].strip():
        raise ConfigError(f"{PREFIX}AUTH={auth} needs {PREFIX}LDAP_USER_BASE, e.g. ou=people,dc=example,dc=com")
    template = config["LDAP_USER_FILTER"].strip()
    if "{username}" not in template or not (template.startswith("(") and template.endswith(")")):
        raise ConfigError(f"{PREFIX}LDAP_USER_FILTER must be a filter in parentheses containing "
                          f"{{username}}, e.g. (uid={{username}}), got {template!r}")
    if config["LDAP_BIND_DN"].strip() and not config["LDAP_BIND_PASSWORD"]:
        raise ConfigError(f"{PREFIX}LDAP_BIND_DN is set but {PREFIX}LDAP_BIND_PASSWORD is empty")
    ca_file = config["LDAP_CA_FILE"]
    if ca_file:
        try:
            ssl.create_default_context(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"{PREFIX}LDAP_CA_FILE cannot be read as PEM certificates: {exc}") from None
    if auth == "header":
        if not config["TRUSTED_PROXIES"]:
            raise ConfigError(f"{PREFIX}AUTH=header needs {PREFIX}TRUSTED_PROXIES (the reverse proxy's "
                              "addresses): the sign-in header is honoured only from them")
        if not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", config["SSO_HEADER"]):
            raise ConfigError(f"{PREFIX}SSO_HEADER must be a header name of letters, digits and "
                              f"hyphens (no underscores), got {config['SSO_HEADER']!r}")
    for name in ("LDAP_ATTR_USERNAME", "LDAP_ATTR_DISPLAY_NAME"):
        if not config[name]:
            raise ConfigError(f"{PREFIX}{name} needs at least one attribute name")


class Directory:
    """The directory as the settings describe it. Cheap to build; every
    operation opens its own connections and closes them."""

    def __init__(self, config):
        self.url = config["LDAP_URL"].strip()
        self.starttls = config["LDAP_STARTTLS"]
        self.ca_file = config["LDAP_CA_FILE"] or None
        self.bind_dn = config["LDAP_BIND_DN"]
        self.bind_password = config["LDAP_BIND_PASSWORD"]
        self.user_base = config["LDAP_USER_BASE"].strip()
        self.filter_template = config["LDAP_USER_FILTER"].strip()
        self.connect_timeout = config["LDAP_CONNECT_TIMEOUT"]
        self.receive_timeout = config["LDAP_TIMEOUT"]
        self.attrs = {
            "username": list(config["LDAP_ATTR_USERNAME"]),
            "display_name": list(config["LDAP_ATTR_DISPLAY_NAME"]),
            "email": list(config["LDAP_ATTR_EMAIL"]),
            "department": list(config["LDAP_ATTR_DEPARTMENT"]),
        }
        self.admin_group = config["LDAP_ADMIN_GROUP"].strip()
        self.editor_group = config["LDAP_EDITOR_GROUP"].strip()
        self.member_group = config.get("LDAP_MEMBER_GROUP", "").strip()
        self.nested = config["LDAP_NESTED_GROUPS"]
        # Groups whose members Ambassador remembers: the team leads' and
        # those an item can be meant for.
        self.groups = list(dict.fromkeys(g for g in [config["LDAP_LEAD_GROUP"].strip(),
                                                     *config["LDAP_AUDIENCE_GROUPS"]] if g))

    # -- connections ------------------------------------------------------

    def _server(self):
        use_ssl = self.url.lower().startswith("ldaps://")
        tls = None
        if use_ssl or self.starttls:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file,
                            version=ssl.PROTOCOL_TLS_CLIENT)
        # get_info=NONE: no schema read at every connect, and attribute names
        # not in the schema (AD's on OpenLDAP and back) are simply absent.
        return ldap3.Server(self.url, use_ssl=use_ssl, tls=tls, get_info=ldap3.NONE,
                            connect_timeout=self.connect_timeout)

    def _connect(self, user=None, password=None):
        """An open, bound connection, or ``InvalidCredentials`` if the bind
        was refused. Any failure to talk is ``DirectoryUnavailable``."""
        conn = ldap3.Connection(
            self._server(), user=user or None, password=password if user else None,
            authentication=ldap3.SIMPLE if user else ldap3.ANONYMOUS,
            receive_timeout=self.receive_timeout, read_only=True, auto_referrals=False,
            raise_exceptions=False, return_empty_attributes=True)
        try:
            conn.open()
            if self.starttls:
                conn.start_tls()
            if conn.bind():
                return conn
            code = conn.result.get("result")
        except LDAPException as exc:
            _close(conn)
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        _close(conn)
        if code in REFUSED_BIND:
            raise InvalidCredentials()
        raise DirectoryUnavailable(f"bind refused: {conn.result.get('description')}")

    def _service(self):
        """A connection bound as the service account."""
        try:
            return self._connect(self.bind_dn, self.bind_password)
        except InvalidCredentials:
            raise DirectoryUnavailable(
                f"the service account ({PREFIX}LDAP_BIND_DN) was refused by the directory") from None

    def _search(self, conn, base, search_filter, attributes, scope=ldap3.SUBTREE, size_limit=0):
        try:
            conn.search(base, search_filter, scope, attributes=attributes, size_limit=size_limit)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return conn.result.get("result"), [r for r in conn.response or [] if r.get("type") == "searchResEntry"]

    # -- reading people ---------------------------------------------------

    def _attribute_names(self):
        names = {a for names in self.attrs.values() for a in names}
        return sorted(names | {"memberOf"})

    def _find_entry(self, conn, username):
        """The one entry the filter finds for this user name, else None."""
        # Two are enough to know the answer is not unique.
        code, entries = self._search(conn, self.user_base, user_filter(self.filter_template, username),
                                     self._attribute_names(), size_limit=2)
        if code not in (0, 4) and code != NO_SUCH_OBJECT:  # 4: size limit, i.e. several
            raise DirectoryUnavailable(f"user search failed: {conn.result.get('description')}")
        return entries[0] if code == 0 and len(entries) == 1 else None

    def _first(self, attributes, kind):
        for name in self.attrs[kind]:
            values = attributes.get(name)
            if isinstance(values, (list, tuple)):
                values = next((v for v in values if str(v).strip()), None)
            if values not in (None, "", b"") and str(values).strip():
                return str(values).strip()
        return ""

    def _person(self, entry, is_admin, is_editor, fallback_username="", is_eligible=True, groups=()):
        attributes = entry.get("attributes") or {}
        username = self._first(attributes, "username") or fallback_username
        return DirectoryPerson(
            dn=entry["dn"], username=username,
            display_name=self._first(attributes, "display_name") or username,
            email=self._first(attributes, "email"),
            department=self._first(attributes, "department"),
            is_admin=is_admin, is_editor=is_editor, is_eligible=is_eligible, groups=tuple(groups))

    def _member_of(self, conn, entry, group_dn):
        """Is the entry in the group? From its memberOf values (Active
        Directory, OpenLDAP's memberof overlay), else by asking the group
        entry (groupOfNames / groupOfUniqueNames), or with AD's in-chain
        rule for nested groups."""
        if not group_dn:
            return False
        wanted = normalize_dn(group_dn)
        member_of = (entry.get("attributes") or {}).get("memberOf") or []
        if any(normalize_dn(str(dn)) == wanted for dn in member_of):
            return True
        dn = escape_filter_chars(entry["dn"])
        if self.nested:
            search_filter = f"(member:{IN_CHAIN}:={dn})"
        else:
            search_filter = f"(|(member={dn})(uniqueMember={dn}))"
        code, entries = self._search(conn, group_dn, search_filter, ["1.1"], scope=ldap3.BASE)
        if code not in (0, NO_SUCH_OBJECT):
            raise DirectoryUnavailable(f"group search failed: {conn.result.get('description')}")
        return bool(entries)

    def _with_roles(self, conn, entry, fallback_username=""):
        eligible = not self.member_group or self._member_of(conn, entry, self.member_group)
        return self._person(entry, self._member_of(conn, entry, self.admin_group),
                            self._member_of(conn, entry, self.editor_group), fallback_username, eligible,
                            [g for g in self.groups if self._member_of(conn, entry, g)])

    def authenticate(self, username, password, before_bind=None):
        """Search-then-bind. Returns the ``DirectoryPerson`` or raises
        ``InvalidCredentials`` / ``DirectoryUnavailable``.

        ``before_bind(name)``, if given, is called with the user name of the
        entry found (the person the directory takes the typed name for)
        before the password is tried; whatever it raises stops the sign-in
        there (the login throttle counts that identity too).
        """
        # An empty password would make a simple bind "unauthenticated" and
        # succeed on many servers: refused before the directory is asked.
        if not password or not password.strip() or not valid_username(username):
            raise InvalidCredentials()
        conn = self._service()
        try:
            entry = self._find_entry(conn, username)
            if entry is None:
                raise InvalidCredentials()
            if before_bind is not None:
                before_bind(self._first(entry.get("attributes") or {}, "username") or username)
            _close(self._connect(entry["dn"], password))
            return self._with_roles(conn, entry, username)
        finally:
            _close(conn)

    def lookup(self, username):
        """A person by user name without a password (trusted header mode):
        the ``DirectoryPerson`` or None."""
        if not valid_username(username):
            return None
        conn = self._service()
        try:
            entry = self._find_entry(conn, username)
            return None if entry is None else self._with_roles(conn, entry, username)
        finally:
            _close(conn)

    def everyone(self):
        """Every person the user filter matches, with roles and whether they
        are in the member group, read completely
        or not at all (``IncompleteRead``/``DirectoryUnavailable``)."""
        conn = self._service()
        try:
            # The sign-in filter with a wildcard for the name: the same people.
            everybody = self.filter_template.replace("{username}", "*")
            entries = self._paged(conn, self.user_base, everybody, self._attribute_names())
            admins = self._group_members(conn, self.admin_group)
            editors = self._group_members(conn, self.editor_group)
            pilot = self._group_members(conn, self.member_group)
            groups = {g: self._group_members(conn, g) for g in self.groups}
        finally:
            _close(conn)
        people = []
        for entry in entries:
            dn = normalize_dn(entry["dn"])
            member_of = {normalize_dn(str(v)) for v in (entry.get("attributes") or {}).get("memberOf") or []}
            is_admin = bool(self.admin_group) and (dn in admins or normalize_dn(self.admin_group) in member_of)
            is_editor = bool(self.editor_group) and (dn in editors or normalize_dn(self.editor_group) in member_of)
            is_eligible = not self.member_group or dn in pilot or normalize_dn(self.member_group) in member_of
            person = self._person(entry, is_admin, is_editor, is_eligible=is_eligible,
                                  groups=[g for g in self.groups if dn in groups[g] or normalize_dn(g) in member_of])
            if person.username:
                people.append(person)
        return people

    def group_usernames(self, group_dn):
        """The user names of a group's members (nested groups as for the
        roles), read completely or not at all; a group that cannot be read
        is ``IncompleteRead``."""
        conn = self._service()
        try:
            members = self._group_members(conn, group_dn)
            everybody = self.filter_template.replace("{username}", "*")
            entries = self._paged(conn, self.user_base, everybody, sorted(set(self.attrs["username"]) | {"memberOf"}))
        finally:
            _close(conn)
        wanted = normalize_dn(group_dn)
        names = []
        for entry in entries:
            member_of = {normalize_dn(str(v)) for v in (entry.get("attributes") or {}).get("memberOf") or []}
            if normalize_dn(entry["dn"]) in members or wanted in member_of:
                name = self._first(entry.get("attributes") or {}, "username")
                if name:
                    names.append(name)
        return names

    def _paged(self, conn, base, search_filter, attributes):
        entries, cookie = [], None
        while True:
            try:
                conn.search(base, search_filter, ldap3.SUBTREE, attributes=attributes,
                            paged_size=PAGE_SIZE, paged_cookie=cookie)
            except LDAPException as exc:
                raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
            if conn.result.get("result") != 0:
                raise IncompleteRead(f"search of {base} stopped: {conn.result.get('description')} "
                                     f"{conn.result.get('message') or ''}".strip())
            entries.extend(r for r in conn.response or [] if r.get("type") == "searchResEntry")
            try:
                cookie = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
            except (KeyError, TypeError):
                cookie = None
            if not cookie:
                return entries

    def _group_members(self, conn, group_dn):
        """Normalized DNs of a group's members; a group that cannot be read
        is an incomplete read (roles would otherwise silently vanish)."""
        if not group_dn:
            return set()
        if self.nested:
            entries = self._paged(conn, self.user_base, f"(memberOf:{IN_CHAIN}:={escape_filter_chars(group_dn)})",
                                  ["1.1"])
            return {normalize_dn(e["dn"]) for e in entries}
        code, entries = self._search(conn, group_dn, "(objectClass=*)", ["member", "uniqueMember"],
                                     scope=ldap3.BASE)
        if code != 0 or len(entries) != 1:
            raise IncompleteRead(f"group {group_dn} could not be read: {conn.result.get('description')}")
        attributes = entries[0].get("attributes") or {}
        members = list(attributes.get("member") or []) + list(attributes.get("uniqueMember") or [])
        # uniqueMember values may carry an optional "#'0101'B" UID suffix.
        return {normalize_dn(str(m).split("#", 1)[0]) for m in members}


def _close(conn):
    try:
        conn.unbind()
    except Exception:  # closing a broken connection: nothing left to do
        pass
