"""Mounted inside a host Flask intranet, or served under a path prefix."""

import re
from importlib.metadata import version

from flask import Flask

import intranet_plugin
from helpers import make_item, make_person
from intranet_plugin import db as database
from intranet_plugin.models import db


def test_init_app_mounts_ambassador_in_a_host_intranet(database_url_factory):
    host = Flask("intranet")
    host.config["SECRET_KEY"] = "host-secret-" + "h" * 32

    @host.route("/")
    def home():
        return "intranet home"

    ambassador = intranet_plugin.init_app(host, url_prefix="/ambassador", config={
        "DATABASE_URL": database_url_factory(), "CLICK_JOURNAL_DIR": "off", "WTF_CSRF_ENABLED": False,
        "PUBLIC_URL": "https://intranet.example.com/ambassador"})
    with ambassador.app_context():
        database.upgrade()
        make_person("emma")
        make_item("Wind farm opens")
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "intranet home"
    login = client.get("/ambassador/login")
    assert login.status_code == 200
    client.post("/ambassador/login", data={"username": "emma"})
    page = client.get("/ambassador/").get_data(as_text=True)
    assert "Wind farm opens" in page
    # every URL Ambassador builds carries the prefix
    assert 'href="/ambassador/static/app.css' in page
    assert re.search(r'href="/ambassador/share/[^"]+"', page)
    assert re.search(r'src="/ambassador/vendor/[0-9.]+/htmx.min.js"', page)
    assert host.extensions["ambassador"] is ambassador
    db.close()


def test_works_under_a_script_name_behind_a_proxy(client, app):
    make_person("emma")
    make_item("Wind farm opens")
    base = "http://intranet.example.com/advocacy/"
    client.post("/login", data={"username": "emma"}, base_url=base)
    response = client.get("/", base_url=base)
    html = response.get_data(as_text=True)
    assert 'href="/advocacy/static/app.css' in html
    assert 'action="/advocacy/language"' in html


def test_trusted_proxy_prefix_header(make_app):
    app = make_app(TRUSTED_PROXIES="127.0.0.1")
    with app.app_context():
        client = app.test_client()
        page = client.get("/login", headers={"X-Forwarded-Prefix": "/amb"}).get_data(as_text=True)
        assert 'href="/amb/static/app.css' in page
        untrusted = client.get("/login", headers={"X-Forwarded-Prefix": "/amb"},
                               environ_base={"REMOTE_ADDR": "192.0.2.9"}).get_data(as_text=True)
        assert 'href="/static/app.css' in untrusted


def test_htmx_is_served_from_the_installed_package_under_a_versioned_url(client):
    make_person("emma")
    client.post("/login", data={"username": "emma"})
    page = client.get("/").get_data(as_text=True)
    src = re.search(r'<script src="(/vendor/[^"]+/htmx.min.js)"', page).group(1)
    assert src == f"/vendor/{version('django-js-lib-htmx')}/htmx.min.js"
    response = client.get(src)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.cache_control.max_age == 365 * 24 * 3600 and response.cache_control.immutable
    assert 'version:"2.' in response.get_data(as_text=True).replace(" ", "")
    # a page cached before an upgrade asks for the old version: sent on
    old = client.get("/vendor/1.9.0/htmx.min.js")
    assert old.status_code == 302 and old.headers["Location"].endswith(src)
    assert client.get(src.replace("htmx.min.js", "jquery.js")).status_code == 404


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
