"""Sign-in and sessions that hold against a determined colleague: one
account's attempts whatever the spelling of its name, a logout that ends the
session on the server, a session lifetime, session protection that trusts
only trusted proxies, and nothing of a signed-in person left in a cache."""

import re
import time

import pytest

from helpers import BROWSER, login, make_person
from helpers.slapd import ldap_login, ldap_settings
from intranet_plugin import demo
from intranet_plugin.config import ConfigError
from intranet_plugin.models import Person, TrackedLink
from intranet_plugin.views.assets import asset_version
from sso import sessions
from sso.directory import UnusableUsername, normalize_username, username_key

pytest_plugins = ["helpers.slapd_fixtures"]

THROTTLED = "Too many failed sign-ins."
ZOE_PASSWORD = "zoe-Secret-6"
ZOE_MAIL = "zoe.devries@example.org"
SPELLINGS = ["ｚｏｅ．ｄｅｖｒｉｅｓ", "zｏe.devries", "ＺＯＥ.devries", " zoe.devries "]


@pytest.fixture(scope="module")
def zoe_directory(module_ldap_server):
    """The directory with zoe.devries in it."""
    module_ldap_server.add_person("zoe.devries", password=ZOE_PASSWORD, mail=ZOE_MAIL, displayName="Zoë de Vries")
    return module_ldap_server


def fail(client, username, times=1):
    for _ in range(times):
        response = ldap_login(client, username, "not-the-password", REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 401, (username, response.status_code)


def sign_in(client, username, password=ZOE_PASSWORD):
    return ldap_login(client, username, password, REMOTE_ADDR="198.51.100.7").status_code


# -- user names ------------------------------------------------------------------------------------

def test_the_normalisation_rule():
    assert normalize_username("ｚｏｅ．ｄｅｖｒｉｅｓ") == "zoe.devries"
    assert normalize_username("  ＺＯＥ.devries\u3000") == "ZOE.devries"  # the case is the directory's business
    assert normalize_username("de  vries") == "de vries"
    assert normalize_username("") == ""
    assert {username_key(name) for name in SPELLINGS + ["Zoe.DeVries"]} == {"zoe.devries"}
    assert username_key("Straße") == username_key("STRASSE") == "strasse"
    for bad in ["emma\x00", "em\tma", "emma\n", "em\u200bma", "emma\u202e", "\x85emma", "e" * 257]:
        with pytest.raises(UnusableUsername):
            normalize_username(bad)


def test_spellings_the_directory_folds_sign_in_as_one_person(make_app, zoe_directory):
    app = make_app(**ldap_settings(zoe_directory))
    for spelling in SPELLINGS:
        assert sign_in(app.test_client(), spelling) == 302, spelling
    assert [p.username for p in Person.select()] == ["zoe.devries"]


def test_spellings_of_one_name_share_its_five_attempts(make_app, zoe_directory):
    """The issue's case: full-width, mixed and upper-case spellings each got
    five attempts of their own."""
    app = make_app(**ldap_settings(zoe_directory))
    client = app.test_client()
    fail(client, "ｚｏｅ．ｄｅｖｒｉｅｓ", times=2)
    fail(client, "zｏe.devries", times=2)
    fail(client, "ＺＯＥ.devries")
    for spelling in ["zoe.devries", *SPELLINGS]:
        assert sign_in(app.test_client(), spelling) == 429, spelling
    assert Person.select().count() == 0


def test_a_sixth_spelling_is_refused_before_the_directory_is_asked(make_app, own_ldap_server):
    own_ldap_server.add_person("zoe.devries", password=ZOE_PASSWORD)
    app = make_app(**ldap_settings(own_ldap_server))
    client = app.test_client()
    fail(client, "zoe.devries", times=4)
    fail(client, "ｚｏｅ．ｄｅｖｒｉｅｓ")
    own_ldap_server.stop()  # asking it now would answer "unavailable"
    for spelling in SPELLINGS:
        assert sign_in(client, spelling) == 429, spelling


def test_the_person_the_directory_finds_shares_the_attempts(make_app, zoe_directory):
    """Signing in by user name or by e-mail address: two names, one person,
    one count, and the sixth attempt is refused before the password is tried."""
    app = make_app(**ldap_settings(zoe_directory, LDAP_USER_FILTER="(|(uid={username})(mail={username}))"))
    client = app.test_client()
    fail(client, "zoe.devries", times=3)
    fail(client, ZOE_MAIL, times=2)
    assert sign_in(app.test_client(), ZOE_MAIL) == 429
    assert sign_in(app.test_client(), "ZOE.devries") == 429
    assert Person.select().count() == 0


def test_signing_in_by_either_name_clears_the_persons_count(make_app, zoe_directory):
    app = make_app(**ldap_settings(zoe_directory, LDAP_USER_FILTER="(|(uid={username})(mail={username}))"))
    fail(app.test_client(), "zoe.devries", times=4)
    assert sign_in(app.test_client(), ZOE_MAIL) == 302
    fail(app.test_client(), "zoe.devries", times=4)
    assert sign_in(app.test_client(), "zoe.devries") == 302


def test_the_demo_picker_reads_names_by_the_same_rule(make_app):
    app = make_app()
    make_person("emma")
    client = app.test_client()
    assert client.post("/login", data={"username": "ＥＭＭＡ"}).status_code == 302
    assert "Emma" in client.get("/").get_data(as_text=True)
    refused = app.test_client().post("/login", data={"username": "emma\x00"})
    assert refused.status_code == 200 and "Choose one of the demo people." in refused.get_data(as_text=True)


def test_the_proxy_header_is_read_by_the_same_rule(make_app, zoe_directory):
    app = make_app(**ldap_settings(zoe_directory, AUTH="header", TRUSTED_PROXIES="192.0.2.10"))
    client = app.test_client()
    for spelling in ("ＺＯＥ.devries", "zoe.devries"):
        response = client.get("/", headers={"X-Remote-User": spelling}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
        assert response.status_code == 200
        assert "Zoë de Vries" in response.get_data(as_text=True)
    assert [p.username for p in Person.select()] == ["zoe.devries"]
    smuggled = client.get("/", headers={"X-Remote-User": "zoe\x0b.devries"}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert smuggled.status_code == 400


# -- logout and the session lifetime ------------------------------------------------------------------

def session_cookie(client):
    return client.get_cookie("ambassador_session").value


def browser_with(app, cookie):
    copy = app.test_client()
    copy.environ_base["HTTP_USER_AGENT"] = BROWSER
    copy.set_cookie("ambassador_session", cookie)
    return copy


def test_a_cookie_copied_before_logout_no_longer_works(app, client):
    make_person("emma")
    login(client, "emma")
    copied = session_cookie(client)
    assert browser_with(app, copied).get("/api/v1/me/stats").status_code == 200
    assert client.post("/logout").status_code == 302
    replay = browser_with(app, copied)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert replay.get("/api/v1/me/stats").status_code == 401
    assert replay.post("/language", data={"language": "nl"}).status_code == 302
    assert Person.get(username="emma").locale is None  # nothing done in her name
    login(client, "emma")  # signing in again works, with a new cookie
    assert client.get("/").status_code == 200


def test_sign_out_everywhere_from_the_preferences_page(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    make_person("emma")
    make_person("sanne")
    laptop, phone, sanne = (app.test_client() for _ in range(3))
    for browser, username in ((laptop, "emma"), (phone, "emma"), (sanne, "sanne")):
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").get_data(as_text=True))
        assert browser.post("/login", data={"username": username, "csrf_token": token.group(1)}).status_code == 302
    page = laptop.get("/preferences").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/logout">\s*<input type="hidden" name="csrf_token" '
                     r'value="([^"]+)">\s*<button[^>]*>Sign out everywhere</button>', page)
    assert form, "no sign-out-everywhere form on the preferences page"
    assert laptop.post("/logout").status_code == 400  # no token: nothing happens
    assert phone.get("/").status_code == 200
    assert laptop.post("/logout", data={"csrf_token": form.group(1)}).status_code == 302
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 302
    assert sanne.get("/").status_code == 200


def test_a_session_lasts_twelve_hours_from_sign_in_however_busy(app, client):
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600  # the cookie's signature too
    make_person("emma")
    login(client, "emma")
    for age, status in ((12 * 3600 - 60, 200), (12 * 3600 + 1, 302)):
        with client.session_transaction() as session:
            session[sessions.SIGNED_IN_AT] = int(time.time()) - age
        assert client.get("/").status_code == status, age
        with client.session_transaction() as session:
            assert session.get(sessions.SIGNED_IN_AT, 0) <= int(time.time()) - age  # requests do not extend it


def test_the_session_lifetime_is_a_setting(make_app):
    assert make_app(SESSION_HOURS="2").permanent_session_lifetime.total_seconds() == 2 * 3600
    for bad in ("0", "abc", "1000"):
        with pytest.raises(ConfigError, match="AMBASSADOR_SESSION_HOURS"):
            make_app(SESSION_HOURS=bad)


def test_a_session_from_before_the_generations_is_not_honoured(app, client):
    make_person("emma")
    login(client, "emma")
    with client.session_transaction() as session:
        del session[sessions.GENERATION]
    assert client.get("/").status_code == 302


# -- session protection ---------------------------------------------------------------------------------

def keeps_session(app, at_login, later):
    """Sign in with one set of request details (address, headers), then ask
    for a page with another: is the person still signed in?"""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    response = client.post("/login", data={"username": "emma"}, environ_base=at_login[0], headers=at_login[1])
    assert response.status_code == 302
    return client.get("/", environ_base=later[0], headers=later[1]).status_code == 200


HERE, ELSEWHERE = {"REMOTE_ADDR": "198.51.100.7"}, {"REMOTE_ADDR": "198.51.100.99"}


@pytest.mark.parametrize("forwarded_at_login,forwarded_later", [
    (None, "203.0.113.9"), ("203.0.113.9", "192.0.2.1"), ("203.0.113.9", None), ("1.1.1.1", "1.1.1.1")])
@pytest.mark.parametrize("moved", [False, True])
def test_forwarded_for_from_an_untrusted_client_changes_nothing(app, forwarded_at_login, forwarded_later, moved):
    """No trusted proxy: the session is kept, or lost, exactly as if the
    client had sent no X-Forwarded-For."""
    make_person("emma")
    later = ELSEWHERE if moved else HERE

    def headers(value):
        return {"X-Forwarded-For": value} if value else {}

    without = keeps_session(app, (HERE, {}), (later, {}))
    assert without is not moved
    assert keeps_session(app, (HERE, headers(forwarded_at_login)), (later, headers(forwarded_later))) is without


def test_through_a_trusted_proxy_the_client_it_forwards_for_counts(make_app):
    app = make_app(TRUSTED_PROXIES="10.0.0.1")
    make_person("emma")
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    signed_in = (proxy, {"X-Forwarded-For": "198.51.100.7"})
    # A client that puts its own entry in front of the one the proxy adds keeps its session...
    assert keeps_session(app, signed_in, (proxy, {"X-Forwarded-For": "6.6.6.6, 198.51.100.7"}))
    # ...and a session that turns up from another client is lost.
    assert not keeps_session(app, signed_in, (proxy, {"X-Forwarded-For": "198.51.100.8"}))


# -- no-store -------------------------------------------------------------------------------------------

SAMPLES = {"filename": "app.css", "token": "not-a-token", "network": "linkedin", "table": "people",
           "name": "none.eml", "action": "pin"}
PUBLIC = {"static", "assets.vendor", "system.favicon"}  # files, the same for everyone


@pytest.fixture
def demo_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        demo.build()
    return app


def urls(app):
    """One URL for every route, with the demo's ids and slugs, and its methods."""
    from intranet_plugin.models import Campaign, Item

    values = dict(SAMPLES, slug=Campaign.select().first().slug, version=asset_version("htmx.min.js"))
    item = Item.select().first().id
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            arguments = {name: item if name.endswith("_id") else values[name] for name in rule.arguments}
            yield rule.endpoint, url_for(rule.endpoint, **arguments), rule.methods - {"HEAD", "OPTIONS"}


def test_every_response_for_a_signed_in_person_is_no_store(demo_app):
    """Every route of the app, GET (as a page and as an htmx fragment) and
    POST (refused without a CSRF token), for a signed-in admin."""
    client = demo_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "anouk", "csrf_token": token}).status_code == 302
    checked = []
    for endpoint, url, methods in urls(demo_app):
        if endpoint in PUBLIC:
            continue
        requests = []
        if "GET" in methods:
            requests += [client.get(url), client.get(url, headers={"HX-Request": "true"})]
        if "POST" in methods and endpoint != "auth.logout":
            requests.append(client.post(url))
        for response in requests:
            assert response.headers.get("Cache-Control") == "no-store", (url, response.status_code)
            checked.append(response.status_code)
    assert client.get("/").status_code == 200  # still signed in: every check was as her
    assert len(checked) > 100 and 200 in checked and 400 in checked and 404 in checked
    # the one-time API key page
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/api-keys").get_data(as_text=True))
    response = client.post("/admin/api-keys", data={"name": "Careers site", "csrf_token": token.group(1)})
    assert response.status_code == 200 and "Careers site" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_public_redirect_and_static_files_keep_their_caching(demo_app):
    client = demo_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "emma", "csrf_token": token})
    vendor = client.get(f"/vendor/{asset_version('htmx.min.js')}/htmx.min.js")
    assert vendor.status_code == 200
    assert "max-age=31536000" in vendor.headers["Cache-Control"] and "immutable" in vendor.headers["Cache-Control"]
    static = client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    link = TrackedLink.select().first()
    redirect = client.get(f"/s/{link.code}")
    assert redirect.status_code == 302 and redirect.headers["Location"].startswith("https://www.noordwind.example/")
    # anonymous pages are left as they are
    assert "no-store" not in (demo_app.test_client().get("/healthz").headers.get("Cache-Control") or "")



def test_the_browsers_own_favicon_request_keeps_the_session(app, client):
    """Browsers fetch /favicon.ico by themselves, sometimes with their
    default user agent: that request must not meet the session protection,
    which would end the person's session (it did: a 404 page read the
    session with another browser's identifier)."""
    make_person("emma")
    login(client, "emma")
    assert client.get("/me").status_code == 200

    icon = client.get("/favicon.ico", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156"})

    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert client.get("/me").status_code == 200
