"""The web security baseline of the whole app: CSRF (forms and htmx),
security headers on every HTML page, session cookies, safe ``next``,
session renewal, production start-up checks, server-side roles."""

import re

import pytest
from flask import Blueprint

from helpers import login, make_item, make_person
from intranet_plugin.config import ConfigError
from intranet_plugin.models import Person
from intranet_plugin.security import safe_next
from sso import role_required

CSRF_EXPIRED = "The form was too old or came from another site."


def csrf_token(client, path="/"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_app(make_app):
    # No app context held around the requests: each request gets its own,
    # as in production (flask-wtf keeps the token of a request in ``g``).
    app = make_app(WTF_CSRF_ENABLED=True)
    make_person("emma")
    return app


# -- CSRF ----------------------------------------------------------------------

def test_form_post_with_the_right_token_works(csrf_app):
    client = csrf_app.test_client()
    token = csrf_token(client, "/login")
    assert client.post("/login", data={"username": "emma", "csrf_token": token}).status_code == 302
    token = csrf_token(client)
    response = client.post("/language", data={"language": "nl", "csrf_token": token})
    assert response.status_code == 302
    assert Person.get(username="emma").locale == "nl"


@pytest.mark.parametrize("token", [None, "", "wrong", "IjAxMjM0NTY3ODkwMTIzNDU2Nzg5MCI.aaaa.bbbb"])
def test_form_post_without_or_with_a_wrong_token_is_refused(csrf_app, token):
    client = csrf_app.test_client()
    signed_in = client.post("/login", data={"username": "emma", "csrf_token": csrf_token(client, "/login")})
    assert signed_in.status_code == 302
    data = {"language": "nl"}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/language", data=data)
    assert response.status_code == 400
    assert CSRF_EXPIRED in response.get_data(as_text=True)
    assert Person.get(username="emma").locale is None  # nothing changed


def test_login_post_without_a_token_signs_nobody_in(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/login", data={"username": "emma"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_without_a_token_keeps_the_session(csrf_app):
    client = csrf_app.test_client()
    client.post("/login", data={"username": "emma", "csrf_token": csrf_token(client, "/login")})
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert client.get("/").status_code == 302


def test_token_of_another_session_is_refused(csrf_app):
    make_person("sanne")
    emma, sanne = csrf_app.test_client(), csrf_app.test_client()
    emma.post("/login", data={"username": "emma", "csrf_token": csrf_token(emma, "/login")})
    sanne.post("/login", data={"username": "sanne", "csrf_token": csrf_token(sanne, "/login")})
    response = emma.post("/language", data={"language": "nl", "csrf_token": csrf_token(sanne)})
    assert response.status_code == 400
    assert Person.get(username="emma").locale is None


def htmx_headers(token=None):
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}
    if token is not None:
        headers["X-CSRFToken"] = token
    return headers


def test_htmx_post_sends_the_token_in_a_header(csrf_app):
    client = csrf_app.test_client()
    client.post("/login", data={"username": "emma", "csrf_token": csrf_token(client, "/login")})
    page = client.get("/").get_data(as_text=True)
    # base.html gives htmx the token for every request it makes
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post("/language", data={"language": "nl"}, headers=htmx_headers(token))
    assert response.status_code == 302
    assert Person.get(username="emma").locale == "nl"


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_htmx_post_without_or_with_a_wrong_header_token_is_refused(csrf_app, token):
    client = csrf_app.test_client()
    client.post("/login", data={"username": "emma", "csrf_token": csrf_token(client, "/login")})
    response = client.post("/language", data={"language": "nl"}, headers=htmx_headers(token))
    assert response.status_code == 400
    assert CSRF_EXPIRED in response.get_data(as_text=True)
    assert Person.get(username="emma").locale is None


def test_token_is_renewed_at_login(csrf_app):
    """A token seen before signing in (planted by someone else, say) is no
    good afterwards: login starts a fresh session."""
    client = csrf_app.test_client()
    before = csrf_token(client, "/login")
    client.post("/login", data={"username": "emma", "csrf_token": before})
    response = client.post("/language", data={"language": "nl", "csrf_token": before})
    assert response.status_code == 400


# -- security headers ------------------------------------------------------------

@pytest.fixture
def headers_app(make_app):
    app = make_app(FRAME_ANCESTORS="'self' https://intranet.example.com", WTF_CSRF_ENABLED=True)
    make_person("emma")
    make_item("Wind farm opens")
    bp = Blueprint("guarded_headers", __name__)
    bp.add_url_rule("/test/editor", "editor", role_required("editor")(lambda: "editor page"))
    app.register_blueprint(bp)
    return app


def html_pages(app):
    """(name, response) for a page of every kind the app serves as HTML."""
    anonymous = app.test_client()
    yield "login page", anonymous.get("/login")
    yield "not found", anonymous.get("/no/such/page")
    yield "CSRF refusal", anonymous.post("/login", data={"username": "emma"})
    client = app.test_client()
    client.post("/login", data={"username": "emma", "csrf_token": csrf_token(client, "/login")})
    yield "share page", client.get("/")
    yield "htmx fragment", client.get("/?q=wind", headers={"HX-Request": "true", "HX-Target": "results"})
    yield "forbidden", client.get("/test/editor")
    yield "bad request", client.post("/language", data={"language": "xx", "csrf_token": csrf_token(client)})


def test_security_headers_on_every_html_response(headers_app):
    seen = []
    for name, response in html_pages(headers_app):
        assert response.mimetype == "text/html", name
        seen.append((name, response.status_code))
        csp = response.headers.get("Content-Security-Policy", "")
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, name
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", name
        assert directives["default-src"] == "'self'", name
        assert directives["object-src"] == "'none'", name
        assert directives["frame-ancestors"] == "'self' https://intranet.example.com", name
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", name
        page = response.get_data(as_text=True)
        # nothing the policy would block: no inline script, no inline handlers, no style attributes
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), name
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", page), name
        assert not re.search(r"<[^>]*\sstyle\s*=", page), name
    assert [status for _name, status in seen] == [200, 404, 400, 200, 200, 403, 400]


def test_frame_ancestors_default_is_self_only(make_app):
    app = make_app()
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp and "frame-ancestors 'self' " not in csp


# -- cookies ---------------------------------------------------------------------------

def session_cookie(response):
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ambassador_session=")]
    assert cookies, "no session cookie set"
    return {part.strip().split("=")[0].lower(): part.strip() for part in cookies[-1].split(";")}


def test_session_cookie_flags_in_development(make_app):
    app = make_app()
    with app.app_context():
        make_person("emma")
        flags = session_cookie(login(app.test_client(), "emma"))
    assert "httponly" in flags
    assert flags["samesite"].lower() == "samesite=lax"
    assert "secure" not in flags  # http://127.0.0.1 in development


def production_settings(**extra):
    settings = {"ENV": "production", "AUTH": "ldap", "LDAP_URL": "ldaps://ldap.example.com",
                "LDAP_USER_BASE": "ou=people,dc=example,dc=com", "WTF_CSRF_ENABLED": True}
    settings.update(extra)
    return settings


def test_session_cookie_flags_in_production(make_app):
    app = make_app(**production_settings())
    flags = session_cookie(app.test_client().get("/login", base_url="https://ambassador.example.com"))
    assert "httponly" in flags and "secure" in flags
    assert flags["samesite"].lower() == "samesite=lax"


def test_samesite_none_for_an_intranet_on_another_origin_is_always_secure(make_app):
    app = make_app(COOKIE_SAMESITE="None", WTF_CSRF_ENABLED=True)
    flags = session_cookie(app.test_client().get("/login"))
    assert flags["samesite"].lower() == "samesite=none"
    assert "secure" in flags and "httponly" in flags


# -- production start-up checks ------------------------------------------------------------

def test_production_refuses_plain_ldap_without_starttls(make_app):
    with pytest.raises(ConfigError) as error:
        make_app(**production_settings(LDAP_URL="ldap://ldap.example.com"))
    message = str(error.value)
    assert "AMBASSADOR_LDAP_URL" in message and "ldaps://" in message
    assert "AMBASSADOR_LDAP_STARTTLS=true" in message


@pytest.mark.parametrize("extra", [{"LDAP_URL": "ldap://ldap.example.com", "LDAP_STARTTLS": "true"},
                                   {"LDAP_URL": "ldaps://ldap.example.com:636"}])
def test_production_accepts_encrypted_ldap(make_app, extra):
    assert make_app(**production_settings(**extra)).config["ENV"] == "production"


def test_production_refuses_plain_ldap_in_header_mode_too(make_app):
    with pytest.raises(ConfigError, match="LDAP_URL"):
        make_app(**production_settings(AUTH="header", TRUSTED_PROXIES="10.0.0.5",
                                       LDAP_URL="ldap://ldap.example.com"))


@pytest.mark.parametrize("extra,variable", [
    ({"AUTH": "ldap", "LDAP_URL": ""}, "LDAP_URL"),
    ({"AUTH": "ldap", "LDAP_URL": "http://ldap.example.com"}, "LDAP_URL"),
    ({"AUTH": "ldap", "LDAP_USER_BASE": ""}, "LDAP_USER_BASE"),
    ({"AUTH": "ldap", "LDAP_USER_FILTER": "(uid=%s)"}, "LDAP_USER_FILTER"),
    ({"AUTH": "ldap", "LDAP_USER_FILTER": "uid={username}"}, "LDAP_USER_FILTER"),
    ({"AUTH": "ldap", "LDAP_URL": "ldaps://ldap.example.com", "LDAP_STARTTLS": "true"}, "LDAP_STARTTLS"),
    ({"AUTH": "ldap", "LDAP_STARTTLS": "perhaps"}, "LDAP_STARTTLS"),
    ({"AUTH": "ldap", "LDAP_TIMEOUT": "0"}, "LDAP_TIMEOUT"),
    ({"AUTH": "ldap", "LOGIN_THROTTLE_ACCOUNT": "many"}, "LOGIN_THROTTLE_ACCOUNT"),
    ({"AUTH": "ldap", "LDAP_CA_FILE": "/no/such/ca.pem"}, "LDAP_CA_FILE"),
    ({"AUTH": "ldap", "LDAP_BIND_DN": "cn=svc,dc=example,dc=com"}, "LDAP_BIND_PASSWORD"),
    ({"AUTH": "header", "TRUSTED_PROXIES": ""}, "TRUSTED_PROXIES"),
    ({"AUTH": "header", "TRUSTED_PROXIES": "10.0.0.5", "SSO_HEADER": "X_Remote_User"}, "SSO_HEADER"),
])
def test_unusable_sso_settings_stop_the_start_up(make_app, extra, variable):
    settings = {"LDAP_URL": "ldap://127.0.0.1:1", "LDAP_USER_BASE": "ou=people,dc=example,dc=com"}
    settings.update(extra)
    with pytest.raises(ConfigError) as error:
        make_app(**settings)
    assert f"AMBASSADOR_{variable}" in str(error.value)


# -- next, session renewal, logout ----------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", " /evil", "javascript:alert(1)", "evil.example",
    "http:/evil.example", "HTTPS://evil.example", "/%0a/evil", "",
])
def test_next_must_be_a_same_origin_path(make_app, target):
    app = make_app()
    with app.app_context():
        make_person("emma")
        response = app.test_client().post("/login", data={"username": "emma", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == ("/%0a/evil" if target == "/%0a/evil" else "/")


@pytest.mark.parametrize("target", ["/", "/?kind=news&q=wind", "/items/3/card", "/me#impact"])
def test_same_origin_next_is_kept(target):
    assert safe_next(target) == target


def test_session_is_renewed_at_login(make_app):
    app = make_app()
    with app.app_context():
        make_person("emma")
        client = app.test_client()
        with client.session_transaction() as session:
            session["planted"] = "by someone else"
        login(client, "emma")
        with client.session_transaction() as session:
            assert "planted" not in session
            assert session["_user_id"] == str(Person.get(username="emma").id)


def test_deactivated_person_is_signed_out_at_the_next_request(make_app):
    client = make_app().test_client()
    emma = make_person("emma")
    login(client, "emma")
    assert client.get("/").status_code == 200
    Person.update(is_active=False).where(Person.id == emma.id).execute()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# -- roles on the server ---------------------------------------------------------------------------

@pytest.fixture
def guarded_app(make_app):
    """The app with a tiny blueprint of editor and admin routes, as the
    editor and admin pages will use the guard."""
    app = make_app()
    bp = Blueprint("guarded", __name__)

    @bp.route("/test/editor", methods=["GET", "POST"])
    @role_required("editor")
    def editor_page():
        """An editor page."""
        return "editor page"

    @bp.route("/test/admin")
    @role_required("admin")
    def admin_page():
        """An admin page."""
        return "admin page"

    app.register_blueprint(bp)
    for username, role in (("emma", "employee"), ("anouk", "editor"), ("sanne", "admin")):
        make_person(username, role=role)
    return app


@pytest.mark.parametrize("username,editor,admin", [
    ("emma", 403, 403), ("anouk", 200, 403), ("sanne", 200, 200)])
def test_roles_are_enforced_on_the_server(guarded_app, username, editor, admin):
    client = guarded_app.test_client()
    login(client, username)
    assert client.get("/test/editor").status_code == editor
    assert client.post("/test/editor").status_code == editor
    assert client.get("/test/admin").status_code == admin


def test_employee_requesting_an_editor_route_gets_a_clear_403(guarded_app):
    client = guarded_app.test_client()
    login(client, "emma")
    response = client.get("/test/editor")
    assert response.status_code == 403
    assert "You do not have access to this page." in response.get_data(as_text=True)
    assert "editor page" not in response.get_data(as_text=True)


def test_signed_out_visitor_is_sent_to_the_login(guarded_app):
    response = guarded_app.test_client().get("/test/admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Ftest%2Fadmin"


def test_role_change_takes_effect_at_the_next_request(guarded_app):
    client = guarded_app.test_client()
    login(client, "anouk")
    assert client.get("/test/editor").status_code == 200
    Person.update(role="employee").where(Person.username == "anouk").execute()
    assert client.get("/test/editor").status_code == 403


def test_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError):
        role_required("superuser")
