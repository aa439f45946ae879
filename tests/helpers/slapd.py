"""A real OpenLDAP ``slapd`` for the tests, on a free loopback port.

``Slapd(tmp_dir).start()`` writes a slapd.conf (mdb backend, memberof
overlay, access rules like a company directory: nobody may search without
binding), starts slapd in the foreground and loads the test directory below
over LDAP, so that the memberof overlay sees every group change. ``stop()``
ends it; ``pause()``/``resume()`` freeze it, as a hung directory server.

The directory (dc=example,dc=org):

- people, including a DN with an escaped comma (``cn=Bakker\\, Anouk``) and
  non-ASCII names and user names;
- groupOfNames admin and editor groups, a groupOfUniqueNames editor group,
  a groupOfNames pilot (member) group;
- service accounts: ``ambassador`` reads everything but passwords,
  ``no-groups`` cannot see the group entries (roles only from memberOf, as
  in Active Directory), ``no-memberof`` cannot see memberOf (roles only from
  the group entries, as in a plain OpenLDAP), ``limited`` gets at most two
  entries per search (a directory's size limit).

``Slapd(tmp_dir, nested=True)`` is the same directory with nested groups
as OpenLDAP serves them: the dynlist overlay (instead of memberof) gives
each person the memberOf values of every group they are in at any depth,
as a directory that answers "nested groups" does. In it, Joris is in the
pilot group only through a group inside it (``NESTED_PILOT_GROUP``).
"""

import os
import shutil
import signal
import socket
import subprocess
import time

import ldap3

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SCHEMA_DIR = "/etc/ldap/schema"
MODULE_DIR = "/usr/lib/ldap"

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
SERVICES = f"ou=services,{BASE}"
ROOT_DN = f"cn=admin,{BASE}"
ROOT_PASSWORD = "root-secret"
SERVICE_DN = f"cn=ambassador,{SERVICES}"
SERVICE_PASSWORD = "service-secret"
ADMIN_GROUP = f"cn=ambassador-admins,{GROUPS}"
EDITOR_GROUP = f"cn=ambassador-editors,{GROUPS}"
UNIQUE_EDITOR_GROUP = f"cn=communications,{GROUPS}"
# A pilot's member group (AMBASSADOR_LDAP_MEMBER_GROUP): Emma and Sanne.
PILOT_GROUP = f"cn=ambassador-pilot,{GROUPS}"
# In the nested directory only: a group inside the pilot group, with Joris.
NESTED_PILOT_GROUP = f"cn=pilot-engineering,{GROUPS}"
# Team leads, and a group items can be meant for.
LEAD_GROUP = f"cn=ambassador-leads,{GROUPS}"
AUDIENCE_GROUP = f"cn=Sales Team,{GROUPS}"

# username -> (dn, password, attributes)
PEOPLE_ENTRIES = {
    "emma": (f"uid=emma,{PEOPLE}", "emma-Secret-1", {
        "cn": "Emma de Vries", "sn": "de Vries", "displayName": "Emma de Vries",
        "mail": "emma.devries@example.org", "departmentNumber": "Communications"}),
    "abakker": (f"cn=Bakker\\, Anouk,{PEOPLE}", "anouk-Secret-2", {
        "cn": "Bakker, Anouk", "sn": "Bakker", "displayName": "Anouk Bakker",
        "mail": "anouk.bakker@example.org", "department": "Marketing"}),
    "zoë": (f"cn=Zoë Çelik,{PEOPLE}", "wachtwoord-ß€-3", {
        "cn": "Zoë Çelik", "sn": "Çelik", "displayName": "Zoë Çelik",
        "mail": "zoe.celik@example.org", "department": "Recrutering & Ontwikkeling"}),
    "sanne": (f"uid=sanne,{PEOPLE}", "sanne-Secret-4", {
        "cn": "Sanne Jansen", "sn": "Jansen", "mail": "sanne.jansen@example.org",
        "department": "Programme office"}),
    "joris": (f"uid=joris,{PEOPLE}", "joris-Secret-5", {
        "cn": "Joris Visser", "sn": "Visser", "displayName": "Joris Visser",
        "mail": "joris.visser@example.org", "department": "Engineering"}),
}

TEST_SCHEMA = """\
# Two Active Directory attribute names, so that the AD-style settings can be
# tried against slapd. Test-only OIDs.
attributetype ( 1.3.6.1.4.1.4203.666.11.900.1 NAME 'sAMAccountName'
    EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
    SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.900.2 NAME 'department'
    EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.900.3 NAME 'adLikeUser' SUP top AUXILIARY
    MAY ( sAMAccountName $ department ) )
"""

SLAPD_CONF = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
include {dir}/test.schema
{extra_schema}
modulepath {modules}
moduleload back_mdb
moduleload {group_module}
pidfile {dir}/slapd.pid
{tls}
database mdb
maxsize 67108864
suffix "{base}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/data
limits dn.exact="cn=limited,{services}" size=2
{group_overlay}
access to attrs=userPassword
    by anonymous auth
    by * none
access to dn.subtree="{groups}"
    by dn.exact="cn=no-groups,{services}" none
    by users read
    by * none
access to attrs=memberOf
    by dn.exact="cn=no-memberof,{services}" none
    by users read
    by * none
access to *
    by users read
    by * none
"""


def ldap_settings(server, **extra):
    """App settings for signing in against ``server``."""
    settings = {
        "AUTH": "ldap",
        "LDAP_URL": server.url,
        "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LDAP_USER_BASE": PEOPLE,
        "LDAP_ADMIN_GROUP": ADMIN_GROUP,
        "LDAP_EDITOR_GROUP": EDITOR_GROUP,
        "LDAP_CONNECT_TIMEOUT": 2,
        "LDAP_TIMEOUT": 2,
        # Failed sign-ins are held back to a common duration; tests never
        # measure time, so no need to wait.
        "LOGIN_FAILURE_SECONDS": 0,
    }
    settings.update(extra)
    return settings


def ldap_login(client, username, password, next_url=None, **environ):
    """Post the login form as a browser would."""
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data=data, environ_base=environ)


def ldap_signed_in(app, username):
    """A browser signed in through the login form as ``username`` of the
    test directory (PEOPLE_ENTRIES holds their password)."""
    from helpers import BROWSER

    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    assert ldap_login(client, username, PEOPLE_ENTRIES[username][1]).status_code == 302
    return client


def pilot_app(make_app, server, **extra):
    """An app signing in against ``server`` whose member group is the
    pilot group, with the directory synced."""
    app = make_app(**ldap_settings(server, LDAP_MEMBER_GROUP=PILOT_GROUP, **extra))
    assert app.test_cli_runner().invoke(args=["sync-users"]).exit_code == 0
    return app


def slapd_installed():
    return os.path.exists(SLAPD) and os.path.isdir(SCHEMA_DIR)


def _die_with_parent():
    """Linux: slapd gets SIGTERM when the test process dies, even killed,
    so no directory server outlives an aborted run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slapd:
    """One slapd process with the test directory."""

    def __init__(self, tmp_dir, tls_dir=None, nested=False):
        self.dir = str(tmp_dir)
        self.tls_dir = tls_dir
        self.nested = nested
        self.port = free_port()
        self.tls_port = free_port() if tls_dir else None
        self.process = None

    @property
    def url(self):
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self):
        return f"ldaps://127.0.0.1:{self.tls_port}"

    def start(self):
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        tls = ""
        if self.tls_dir:
            tls = (f"TLSCACertificateFile {self.tls_dir}/ca.pem\n"
                   f"TLSCertificateFile {self.tls_dir}/server.pem\n"
                   f"TLSCertificateKeyFile {self.tls_dir}/server.key")
        with open(os.path.join(self.dir, "test.schema"), "w") as f:
            f.write(TEST_SCHEMA)
        if self.nested:
            # memberOf of static groups at any depth ("*"), computed at search time
            groups = dict(extra_schema=f"include {SCHEMA_DIR}/dyngroup.schema", group_module="dynlist",
                          group_overlay="overlay dynlist\n"
                                        "dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*")
        else:
            groups = dict(extra_schema="", group_module="memberof", group_overlay="overlay memberof")
        with open(os.path.join(self.dir, "slapd.conf"), "w") as f:
            f.write(SLAPD_CONF.format(schema=SCHEMA_DIR, modules=MODULE_DIR, dir=self.dir, tls=tls, **groups,
                                      base=BASE, root_dn=ROOT_DN, root_password=ROOT_PASSWORD,
                                      groups=GROUPS, services=SERVICES))
        self._run()
        self._load()
        return self

    def _run(self):
        # -d 0: stay in the foreground, so the test owns the process.
        self.log = open(os.path.join(self.dir, "slapd.log"), "ab")
        urls = f"ldap://127.0.0.1:{self.port}/"
        if self.tls_port:
            urls += f" ldaps://127.0.0.1:{self.tls_port}/"
        self.process = subprocess.Popen(
            [SLAPD, "-d", "0", "-h", urls,
             "-f", os.path.join(self.dir, "slapd.conf")],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited with {self.process.returncode}; see {self.dir}/slapd.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start listening within 15 seconds")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if getattr(self, "log", None):
            self.log.close()

    def restart(self):
        """Start again on the same port with the same data."""
        self._run()

    def pause(self):
        """Freeze slapd: connections are accepted by the kernel, nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    # -- writing to the directory, as its administrator ------------------

    def admin(self):
        conn = ldap3.Connection(ldap3.Server(self.url, get_info=ldap3.NONE), ROOT_DN, ROOT_PASSWORD,
                                raise_exceptions=True, receive_timeout=10)
        conn.bind()
        return conn

    def _load(self):
        with self.admin() as conn:
            conn.add(BASE, ["dcObject", "organization"], {"dc": "example", "o": "Example"})
            for ou in ("people", "groups", "services"):
                conn.add(f"ou={ou},{BASE}", ["organizationalUnit"], {"ou": ou})
            for name in ("ambassador", "no-groups", "no-memberof", "limited"):
                conn.add(f"cn={name},{SERVICES}", ["organizationalRole", "simpleSecurityObject"],
                         {"cn": name, "userPassword": SERVICE_PASSWORD})
            for username in PEOPLE_ENTRIES:
                self.add_person(username, conn=conn)
            conn.add(ADMIN_GROUP, ["groupOfNames"], {
                "cn": "ambassador-admins", "member": [PEOPLE_ENTRIES["sanne"][0]]})
            conn.add(EDITOR_GROUP, ["groupOfNames"], {
                "cn": "ambassador-editors",
                "member": [PEOPLE_ENTRIES["abakker"][0], PEOPLE_ENTRIES["zoë"][0]]})
            conn.add(UNIQUE_EDITOR_GROUP, ["groupOfUniqueNames"], {
                "cn": "communications", "uniqueMember": [PEOPLE_ENTRIES["emma"][0]]})
            pilot = [PEOPLE_ENTRIES["emma"][0], PEOPLE_ENTRIES["sanne"][0]]
            if self.nested:
                conn.add(NESTED_PILOT_GROUP, ["groupOfNames"], {
                    "cn": "pilot-engineering", "member": [PEOPLE_ENTRIES["joris"][0]]})
                pilot.append(NESTED_PILOT_GROUP)
            conn.add(PILOT_GROUP, ["groupOfNames"], {"cn": "ambassador-pilot", "member": pilot})
            conn.add(LEAD_GROUP, ["groupOfNames"], {
                "cn": "ambassador-leads", "member": [PEOPLE_ENTRIES["joris"][0]]})
            conn.add(AUDIENCE_GROUP, ["groupOfNames"], {
                "cn": "Sales Team", "member": [PEOPLE_ENTRIES["emma"][0], PEOPLE_ENTRIES["joris"][0]]})

    def add_person(self, username, dn=None, password=None, conn=None, **attributes):
        """Add a person (one of PEOPLE_ENTRIES, or a new one)."""
        if username in PEOPLE_ENTRIES and dn is None:
            dn, password, defaults = PEOPLE_ENTRIES[username]
            attributes = {**defaults, **attributes}
        dn = dn or f"uid={username},{PEOPLE}"
        attributes.setdefault("cn", username.title())
        attributes.setdefault("sn", username.title())
        attributes.update(uid=username, sAMAccountName=username)
        if password:
            attributes["userPassword"] = password
        if conn is None:
            with self.admin() as own:
                own.add(dn, ["inetOrgPerson", "adLikeUser"], attributes)
        else:
            conn.add(dn, ["inetOrgPerson", "adLikeUser"], attributes)
        return dn

    def delete(self, dn):
        """Remove an entry; one that is gone already is fine."""
        with self.admin() as conn:
            try:
                conn.delete(dn)
            except ldap3.core.exceptions.LDAPNoSuchObjectResult:
                pass

    def set_members(self, group_dn, members, attribute="member"):
        with self.admin() as conn:
            conn.modify(group_dn, {attribute: [(ldap3.MODIFY_REPLACE, list(members))]})

    def members(self, group_dn, attribute="member"):
        with self.admin() as conn:
            conn.search(group_dn, "(objectClass=*)", ldap3.BASE, attributes=[attribute])
            return list(conn.entries[0][attribute].values)


def make_tls_files(directory):
    """A throw-away CA and a server certificate for 127.0.0.1 (openssl CLI).

    Returns the directory; ``other-ca.pem`` is a CA that did not sign it.
    """
    directory = str(directory)

    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=Test {ca}",
                "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", "server.key", "-out", "server.csr")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    os.chmod(os.path.join(directory, "server.key"), 0o600)
    return directory

