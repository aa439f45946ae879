"""LDAP sign-in against a real OpenLDAP slapd: search-then-bind, one
generic error, injection, escaped and non-ASCII DNs, roles from groups,
TLS, and a directory that dies."""

import pytest

from helpers.slapd import (
    ADMIN_GROUP,
    PEOPLE,
    PEOPLE_ENTRIES,
    SERVICES,
    UNIQUE_EDITOR_GROUP,
    Slapd,
    ldap_login,
    ldap_settings,
    make_tls_files,
)
from intranet_plugin.models import Person
from sso.directory import user_filter
from sso.models import LoginAttempt

pytest_plugins = ["helpers.slapd_fixtures"]

GENERIC = "The user name or password is not correct."
UNAVAILABLE = "Sign-in is unavailable at the moment"


def password(username):
    return PEOPLE_ENTRIES[username][1]


def signed_in_as(client):
    """The name in the top bar of the share page, or None when signed out."""
    response = client.get("/")
    if response.status_code != 200:
        return None
    page = response.get_data(as_text=True)
    return next((p.display_name for p in Person.select()
                 if f"<span>{p.display_name}</span>" in page), None)


def test_good_login_creates_the_person_from_the_directory(ldap_app):
    client = ldap_app.test_client()
    response = ldap_login(client, "emma", password("emma"))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    person = Person.get(username="emma")
    assert (person.display_name, person.email, person.department, person.role, person.is_active) == (
        "Emma de Vries", "emma.devries@example.org", "Communications", "employee", True)
    assert signed_in_as(client) == "Emma de Vries"


def test_login_form_is_the_stable_interface(ldap_app):
    page = ldap_app.test_client().get("/login?next=/%3Fkind%3Dnews").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page
    assert 'type="password"' in page and 'autocomplete="current-password"' in page
    assert 'name="next" value="/?kind=news"' in page


def test_user_name_is_taken_from_the_directory_whatever_the_case_typed(ldap_app):
    client = ldap_app.test_client()
    assert ldap_login(client, "  EMMA ", password("emma")).status_code == 302
    assert ldap_login(ldap_app.test_client(), "emma", password("emma")).status_code == 302
    assert [p.username for p in Person.select()] == ["emma"]


def test_next_is_followed_after_login(ldap_app):
    response = ldap_login(ldap_app.test_client(), "emma", password("emma"), next_url="/?kind=vacancy")
    assert response.headers["Location"] == "/?kind=vacancy"


@pytest.mark.parametrize("username,typed", [
    ("emma", "wrong-password"),
    ("emma", password("emma").upper()),
    ("nobody", "whatever-1"),
    ("nobody", password("emma")),
])
def test_wrong_password_and_unknown_user_get_the_same_answer(ldap_app, username, typed):
    client = ldap_app.test_client()
    response = ldap_login(client, username, typed)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert GENERIC in page
    assert 'value="%s"' % username in page  # the name stays filled in, the password not
    assert typed not in page
    assert client.get("/").status_code == 302  # not signed in
    assert Person.select().count() == 0


@pytest.mark.parametrize("typed", ["", " ", "   \t ", "\n"])
def test_empty_or_blank_password_is_refused_before_any_bind(make_app, own_ldap_server, typed):
    app = make_app(**ldap_settings(own_ldap_server))
    own_ldap_server.stop()  # any attempt to reach the directory would now say "unavailable"
    client = app.test_client()
    response = ldap_login(client, "emma", typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Enter your user name and your password." in page
    assert UNAVAILABLE not in page
    assert LoginAttempt.select().count() == 0  # and it costs no throttle attempt
    assert client.get("/").status_code == 302


def test_empty_user_name_is_refused(ldap_app):
    response = ldap_login(ldap_app.test_client(), "  ", password("emma"))
    assert response.status_code == 400
    assert "Enter your user name and your password." in response.get_data(as_text=True)


INJECTIONS = ["*", "*)(uid=*", "a)(|(uid=*", "emm*", "*mma", "emma)(uid=*", "emma)(|(uid=*",
              "\\", "emma\\", "\\65mma", "\\2a", "e\\29\\28mma"]


@pytest.mark.parametrize("username", INJECTIONS)
def test_filter_injection_signs_nobody_in(ldap_app, username):
    """With emma's own password, no crafted user name reaches her entry
    (or any other): a clear "not correct", not a directory error."""
    client = ldap_app.test_client()
    response = ldap_login(client, username, password("emma"))
    assert response.status_code == 401
    assert GENERIC in response.get_data(as_text=True)
    assert Person.select().count() == 0
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("username", ["emma\x00", "emma\x00)(uid=*", "em\tma", "emma\n", "em\u200bma",
                                      "emma\u202e", "\x85emma"])
def test_control_and_invisible_characters_are_refused_before_the_directory(ldap_app, username):
    """NUL, tabs, line breaks, zero-width and direction marks: a clear 400,
    nobody signed in, no throttle attempt spent."""
    client = ldap_app.test_client()
    response = ldap_login(client, username, password("emma"))
    assert response.status_code == 400
    assert "A user name cannot contain control or invisible characters." in response.get_data(as_text=True)
    assert LoginAttempt.select().count() == 0
    assert Person.select().count() == 0
    assert client.get("/").status_code == 302


def test_filter_values_are_escaped_per_rfc_4515():
    assert user_filter("(uid={username})", "*)(uid=*") == "(uid=\\2a\\29\\28uid=\\2a)"
    assert user_filter("(uid={username})", "a)(|(uid=*") == "(uid=a\\29\\28|\\28uid=\\2a)"
    assert user_filter("(uid={username})", "back\\slash") == "(uid=back\\5cslash)"
    assert user_filter("(uid={username})", "nul\x00") == "(uid=nul\\00)"
    assert user_filter("(&(objectClass=user)(sAMAccountName={username}))", "zoë") == \
        "(&(objectClass=user)(sAMAccountName=zoë))"


def test_special_characters_in_a_real_user_name_still_work(ldap_app, ldap_server):
    """Escaping, not refusing: a user name with parentheses and a star is a
    user name like any other."""
    dn = ldap_server.add_person("kim (hr)*", dn=f"cn=Kim Hr,{PEOPLE}", password="kim-Secret-9",
                                displayName="Kim (HR)")
    try:
        response = ldap_login(ldap_app.test_client(), "kim (hr)*", "kim-Secret-9")
        assert response.status_code == 302
        assert Person.get(username="kim (hr)*").display_name == "Kim (HR)"
        assert ldap_login(ldap_app.test_client(), "kim (hr)", "kim-Secret-9").status_code == 401
    finally:
        ldap_server.delete(dn)


def test_dn_with_an_escaped_comma(ldap_app):
    client = ldap_app.test_client()
    response = ldap_login(client, "abakker", password("abakker"))
    assert response.status_code == 302
    person = Person.get(username="abakker")
    assert person.display_name == "Anouk Bakker"
    assert person.role == "editor"  # the group lists the DN with its escaped comma
    assert signed_in_as(client) == "Anouk Bakker"


def test_non_ascii_user_name_password_and_names(ldap_app):
    client = ldap_app.test_client()
    response = ldap_login(client, "zoë", "wachtwoord-ß€-3")
    assert response.status_code == 302
    person = Person.get(username="zoë")
    assert (person.display_name, person.department) == ("Zoë Çelik", "Recrutering & Ontwikkeling")
    assert person.role == "editor"
    assert "Zoë Çelik" in client.get("/").get_data(as_text=True)
    assert ldap_login(ldap_app.test_client(), "zoë", "wachtwoord-ss€-3").status_code == 401


def test_display_name_falls_back_to_cn(ldap_app):
    assert ldap_login(ldap_app.test_client(), "sanne", password("sanne")).status_code == 302
    assert Person.get(username="sanne").display_name == "Sanne Jansen"


# -- roles -------------------------------------------------------------------

@pytest.mark.parametrize("service", ["ambassador", "no-groups", "no-memberof"],
                         ids=["both", "memberOf-only", "groupOfNames-only"])
@pytest.mark.parametrize("username,role", [("sanne", "admin"), ("abakker", "editor"),
                                           ("zoë", "editor"), ("emma", "employee"),
                                           ("joris", "employee")])
def test_roles_from_groups(make_app, ldap_server, service, username, role):
    """From memberOf (as Active Directory has it), from the groupOfNames
    entries (as plain OpenLDAP has it), or both."""
    app = make_app(**ldap_settings(ldap_server, LDAP_BIND_DN=f"cn={service},{SERVICES}"))
    assert ldap_login(app.test_client(), username, password(username)).status_code == 302
    assert Person.get(username=username).role == role


def test_editor_role_from_a_group_of_unique_names(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_EDITOR_GROUP=UNIQUE_EDITOR_GROUP))
    assert ldap_login(app.test_client(), "emma", password("emma")).status_code == 302
    assert Person.get(username="emma").role == "editor"


def test_role_follows_the_directory_at_each_login(ldap_app, ldap_server):
    assert ldap_login(ldap_app.test_client(), "sanne", password("sanne")).status_code == 302
    assert Person.get(username="sanne").role == "admin"
    before = ldap_server.members(ADMIN_GROUP)
    ldap_server.set_members(ADMIN_GROUP, [PEOPLE_ENTRIES["joris"][0]])
    try:
        assert ldap_login(ldap_app.test_client(), "sanne", password("sanne")).status_code == 302
        assert Person.get(username="sanne").role == "employee"
    finally:
        ldap_server.set_members(ADMIN_GROUP, before)


def test_without_configured_groups_roles_stay_as_set_in_ambassador(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_ADMIN_GROUP="", LDAP_EDITOR_GROUP=""))
    ldap_login(app.test_client(), "joris", password("joris"))
    Person.update(role="editor").where(Person.username == "joris").execute()
    assert ldap_login(app.test_client(), "joris", password("joris")).status_code == 302
    assert Person.get(username="joris").role == "editor"


def test_active_directory_style_settings(make_app, ldap_server):
    """sAMAccountName filter, department attribute, groups from memberOf."""
    app = make_app(**ldap_settings(
        ldap_server, LDAP_USER_FILTER="(&(objectClass=inetOrgPerson)(sAMAccountName={username}))",
        LDAP_ATTR_USERNAME="sAMAccountName", LDAP_ATTR_DEPARTMENT="department",
        LDAP_BIND_DN=f"cn=no-groups,{SERVICES}"))
    assert ldap_login(app.test_client(), "abakker", password("abakker")).status_code == 302
    person = Person.get(username="abakker")
    assert (person.department, person.role) == ("Marketing", "editor")
    assert ldap_login(app.test_client(), "a*", password("abakker")).status_code == 401


# -- a directory that stops answering -----------------------------------------

def test_directory_stopped_mid_session(make_app, own_ldap_server):
    app = make_app(**ldap_settings(own_ldap_server))
    emma = app.test_client()
    assert ldap_login(emma, "emma", password("emma")).status_code == 302

    own_ldap_server.stop()

    assert emma.get("/").status_code == 200  # signed-in people keep working
    assert "Emma de Vries" in emma.get("/").get_data(as_text=True)
    assert app.test_client().get("/healthz").status_code == 200
    response = ldap_login(app.test_client(), "abakker", password("abakker"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert GENERIC not in response.get_data(as_text=True)
    assert LoginAttempt.select().count() == 0  # not held against anyone

    own_ldap_server.restart()
    assert ldap_login(app.test_client(), "abakker", password("abakker")).status_code == 302


def test_hung_directory_gives_up_after_the_timeout(make_app, own_ldap_server):
    """slapd frozen: the connection opens but nothing answers. The receive
    timeout (1 s here) turns that into the "unavailable" message."""
    app = make_app(**ldap_settings(own_ldap_server, LDAP_TIMEOUT=1))
    emma = app.test_client()
    assert ldap_login(emma, "emma", password("emma")).status_code == 302
    own_ldap_server.pause()
    try:
        response = ldap_login(app.test_client(), "joris", password("joris"))
        assert response.status_code == 503
        assert UNAVAILABLE in response.get_data(as_text=True)
        assert emma.get("/").status_code == 200
    finally:
        own_ldap_server.resume()
    assert ldap_login(app.test_client(), "joris", password("joris")).status_code == 302


def test_refused_service_account_is_unavailable_not_wrong_password(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_BIND_PASSWORD="not-the-password"))
    response = ldap_login(app.test_client(), "emma", password("emma"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)


# -- TLS ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    from helpers.slapd_fixtures import require_slapd

    require_slapd()
    tls_dir = make_tls_files(tmp_path_factory.mktemp("tls"))
    server = Slapd(tmp_path_factory.mktemp("slapd-tls"), tls_dir=tls_dir).start()
    yield server
    server.stop()


@pytest.mark.parametrize("mode", ["starttls", "ldaps"])
def test_tls_with_the_company_ca(make_app, tls_server, mode):
    url = tls_server.url if mode == "starttls" else tls_server.ldaps_url
    app = make_app(**ldap_settings(tls_server, LDAP_URL=url, LDAP_STARTTLS=mode == "starttls",
                                   LDAP_CA_FILE=f"{tls_server.tls_dir}/ca.pem"))
    assert ldap_login(app.test_client(), "emma", password("emma")).status_code == 302


@pytest.mark.parametrize("mode", ["starttls", "ldaps"])
def test_tls_certificate_is_verified(make_app, tls_server, mode):
    """A directory whose certificate the configured CA did not sign gets no
    password: sign-in is unavailable."""
    url = tls_server.url if mode == "starttls" else tls_server.ldaps_url
    app = make_app(**ldap_settings(tls_server, LDAP_URL=url, LDAP_STARTTLS=mode == "starttls",
                                   LDAP_CA_FILE=f"{tls_server.tls_dir}/other-ca.pem"))
    response = ldap_login(app.test_client(), "emma", password("emma"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)


def test_nested_groups_use_active_directorys_in_chain_rule(tmp_path, monkeypatch):
    """Active Directory only (slapd has no such rule): the group is asked
    whether the person is a member at any depth."""
    from intranet_plugin.config import load_config
    from sso.directory import Directory

    config = load_config(str(tmp_path), environ={}, overrides={
        "AUTH": "ldap", "LDAP_URL": "ldaps://dc.example.com", "LDAP_USER_BASE": "dc=example,dc=com",
        "LDAP_NESTED_GROUPS": "true"})
    directory = Directory(config)
    asked = []

    def search(conn, base, search_filter, attributes, scope=None, size_limit=0):
        asked.append((base, search_filter))
        return 0, [{"dn": base, "type": "searchResEntry"}]

    monkeypatch.setattr(directory, "_search", search)
    person = {"dn": "CN=Bakker\\, Anouk,OU=Staff,DC=example,DC=com", "attributes": {"memberOf": []}}
    assert directory._member_of(None, person, "CN=Editors,OU=Groups,DC=example,DC=com")
    assert asked == [("CN=Editors,OU=Groups,DC=example,DC=com",
                      "(member:1.2.840.113556.1.4.1941:=CN=Bakker\\5c, Anouk,OU=Staff,DC=example,DC=com)")]
