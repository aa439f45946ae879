"""Trusted reverse-proxy header sign-in (AMBASSADOR_AUTH=header): the
header counts only from a trusted proxy, the person's details and roles
come from the real slapd, and smuggled variants are rejected."""

import http.client
import os
import subprocess
import sys
import threading
import time

import pytest
from werkzeug.serving import make_server

from helpers.slapd import free_port, ldap_settings
from intranet_plugin.models import Person

pytest_plugins = ["helpers.slapd_fixtures"]

PROXY = "192.0.2.10"
OUTSIDER = "203.0.113.66"


def header_settings(server, **extra):
    settings = ldap_settings(server, AUTH="header", TRUSTED_PROXIES=f"{PROXY}, 10.1.0.0/16")
    settings.update(extra)
    return settings


@pytest.fixture
def header_app(make_app, ldap_server):
    return make_app(**header_settings(ldap_server))


def get(client, path="/", peer=PROXY, user=None, headers=None):
    headers = dict(headers or {})
    if user is not None:
        headers["X-Remote-User"] = user
    return client.get(path, headers=headers, environ_base={"REMOTE_ADDR": peer})


def greeting(response):
    page = response.get_data(as_text=True)
    return next((p.display_name for p in Person.select() if f"<span>{p.display_name}</span>" in page), None)


def test_trusted_proxy_signs_the_person_in_with_directory_details(header_app):
    client = header_app.test_client()
    response = get(client, user="sanne")
    assert response.status_code == 200
    assert greeting(response) == "Sanne Jansen"
    sanne = Person.get(username="sanne")
    assert (sanne.email, sanne.department, sanne.role) == ("sanne.jansen@example.org", "Programme office", "admin")
    # the session carries on; the next page needs no directory lookup
    assert get(client, user="sanne").status_code == 200


def test_proxy_in_a_trusted_network_forwarding_for_a_client(header_app):
    response = get(header_app.test_client(), peer="10.1.4.2", user="abakker",
                   headers={"X-Forwarded-For": "198.51.100.23"})
    assert response.status_code == 200
    assert greeting(response) == "Anouk Bakker"


@pytest.mark.parametrize("headers", [{}, {"X-Forwarded-For": PROXY}, {"X-Forwarded-For": f"{OUTSIDER}, {PROXY}"}])
def test_header_from_an_untrusted_peer_is_ignored(header_app, headers):
    client = header_app.test_client()
    response = get(client, peer=OUTSIDER, user="sanne", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    login_page = get(client, "/login", peer=OUTSIDER, user="sanne", headers=headers)
    assert login_page.status_code == 403
    assert "Sign in through the intranet" in login_page.get_data(as_text=True)
    assert 'name="password"' not in login_page.get_data(as_text=True)
    assert Person.select().count() == 0


def test_login_page_redirects_a_proxy_signed_in_person(header_app):
    response = get(header_app.test_client(), "/login?next=/%3Fkind%3Dblog", user="emma")
    assert response.status_code == 302
    assert response.headers["Location"] == "/?kind=blog"


@pytest.mark.parametrize("value", ["mallory, sanne", "sanne,mallory", "sanne, sanne", ",sanne", "sanne,",
                                   "san\x01ne", "x" * 300])
def test_merged_or_malformed_header_is_rejected(header_app, value):
    client = header_app.test_client()
    response = get(client, user=value)
    assert response.status_code == 400
    assert "sign-in information could not be read" in response.get_data(as_text=True)
    assert get(client).status_code == 302
    assert Person.select().count() == 0


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_header_means_nobody(header_app, value):
    response = get(header_app.test_client(), user=value)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_two_header_lines_are_rejected_and_end_the_session(header_app):
    client = header_app.test_client()
    assert get(client, user="emma").status_code == 200
    response = client.get("/", headers=[("X-Remote-User", "sanne"), ("X-Remote-User", "emma")],
                          environ_base={"REMOTE_ADDR": PROXY})
    assert response.status_code == 400
    assert get(client).status_code == 302  # the session is gone


def test_another_user_in_the_header_switches_the_session(header_app):
    client = header_app.test_client()
    assert greeting(get(client, user="emma")) == "Emma de Vries"
    assert greeting(get(client, user="joris")) == "Joris Visser"
    assert greeting(get(client)) == "Joris Visser"


def test_user_unknown_to_the_directory_gets_no_access(header_app):
    response = get(header_app.test_client(), user="mallory")
    assert response.status_code == 403
    assert "not found in the company directory" in response.get_data(as_text=True)
    assert Person.select().count() == 0


def test_directory_down_known_people_keep_working(make_app, own_ldap_server):
    app = make_app(**header_settings(own_ldap_server))
    assert get(app.test_client(), user="emma").status_code == 200  # known from an earlier visit
    own_ldap_server.stop()
    response = get(app.test_client(), user="emma")  # a new browser session
    assert response.status_code == 200 and greeting(response) == "Emma de Vries"
    response = get(app.test_client(), user="joris")  # never seen before
    assert response.status_code == 503
    assert "Sign-in is unavailable at the moment" in response.get_data(as_text=True)


def test_public_routes_do_not_consult_the_header(make_app, own_ldap_server):
    app = make_app(**header_settings(own_ldap_server))
    own_ldap_server.stop()
    client = app.test_client()
    assert get(client, "/healthz", user="joris").status_code == 200
    assert get(client, "/s/doesnotexist", user="joris").status_code == 404


# -- over real HTTP: the servers drop underscore variants ---------------------------

def raw_get(port, header_name, value="sanne"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", "/")
    conn.putheader(header_name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


def test_underscore_variant_is_dropped_by_the_development_server(make_app, ldap_server):
    app = make_app(**header_settings(ldap_server, TRUSTED_PROXIES="127.0.0.1"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert raw_get(server.port, "X_Remote_User")[0] == 302
        assert raw_get(server.port, "x_remote_user")[0] == 302
        assert Person.select().count() == 0
        status, body = raw_get(server.port, "X-Remote-User")
        assert status == 200 and "Sanne Jansen" in body
    finally:
        server.shutdown()
        thread.join(5)


def test_underscore_variant_is_dropped_by_gunicorn(make_app, ldap_server, tmp_path):
    """gunicorn, the production server, as configured by default."""
    app = make_app(**header_settings(ldap_server, TRUSTED_PROXIES="127.0.0.1"))
    port = free_port()
    env = {**os.environ, "AMBASSADOR_INSTANCE_PATH": str(tmp_path), "AMBASSADOR_CLICK_JOURNAL_DIR": "off"}
    for key in ("DATABASE_URL", "SECRET_KEY", "AUTH", "LDAP_URL", "LDAP_BIND_DN", "LDAP_BIND_PASSWORD",
                "LDAP_USER_BASE", "LDAP_ADMIN_GROUP", "LDAP_EDITOR_GROUP", "PUBLIC_URL"):
        env["AMBASSADOR_" + key] = app.config[key]
    env["AMBASSADOR_TRUSTED_PROXIES"] = "127.0.0.1"
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    process = subprocess.Popen([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
                               cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        assert raw_get(port, "X_Remote_User")[0] == 302
        assert Person.select().count() == 0
        status, body = raw_get(port, "X-Remote-User")
        assert status == 200 and "Sanne Jansen" in body
    finally:
        process.terminate()
        process.wait(10)
