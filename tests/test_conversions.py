"""The conversions API the careers site reports to, and the admin page of
its keys."""

import re

import pytest

from helpers import BROWSER, csrf_token, login, login_with_csrf, make_campaign, make_item, make_person, store_click
from intranet_plugin.analytics.conversions import hash_key, new_key
from intranet_plugin.models import (
    ApiKey,
    AuditLog,
    Conversion,
    TrackedLink,
    utcnow,
)

URL = "/api/v1/conversions"


@pytest.fixture
def key(app):
    key, digest = new_key()
    ApiKey.create(name="Careers site", key_hash=digest)
    return key


@pytest.fixture
def link(app):
    person = make_person("emma")
    return TrackedLink.for_share(person, make_item("Engineer wanted", kind="vacancy"), "linkedin")


def post(client, body, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(URL, json=body, headers=headers, **kwargs)


def test_a_report_by_code_is_stored(client, key, link):
    response = post(client, {"code": link.code, "external_id": "A-1", "at": "2026-03-02T10:30:00+01:00"}, key)
    assert response.status_code == 201
    assert response.json["kind"] == "application" and response.json["code"] == link.code
    conversion = Conversion.get()
    assert (conversion.link_id, conversion.external_id, conversion.kind) == (link.id, "A-1", "application")
    assert conversion.at.isoformat() == "2026-03-02T09:30:00"
    assert ApiKey.get().last_used_at is not None


def test_the_same_report_twice_counts_once(client, key, link):
    assert post(client, {"code": link.code, "external_id": "A-1"}, key).status_code == 201
    again = post(client, {"code": link.code, "external_id": "A-1"}, key)
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert Conversion.select().count() == 1
    # A lead with the same id of the reporter is another conversion.
    assert post(client, {"code": link.code, "external_id": "A-1", "kind": "lead"}, key).status_code == 201
    assert Conversion.select().count() == 2


@pytest.mark.parametrize("header", [None, "Bearer amb_wrong", "Basic dXNlcjpwYXNz", "Bearer "])
def test_a_missing_or_wrong_key_is_refused(client, key, link, header):
    headers = {"Authorization": header} if header else {}
    response = client.post(URL, json={"code": link.code, "external_id": "A-1"}, headers=headers)
    assert response.status_code == 401
    assert "error" in response.json and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert Conversion.select().count() == 0


def test_a_revoked_key_is_refused(client, key, link):
    ApiKey.update(revoked_at=utcnow()).execute()
    assert post(client, {"code": link.code, "external_id": "A-1"}, key).status_code == 401
    assert Conversion.select().count() == 0


def test_only_a_hash_of_the_key_is_stored(app, key):
    row = ApiKey.get()
    assert key not in row.key_hash and row.key_hash == hash_key(key)


def test_an_unknown_code_is_404(client, key, link):
    response = post(client, {"code": "nope", "external_id": "A-1"}, key)
    assert response.status_code == 404 and "error" in response.json
    assert Conversion.select().count() == 0


@pytest.mark.parametrize("body, message", [
    ({"code": "X"}, "external_id"),
    ({"external_id": "A-1"}, "code"),
    ({"code": "X", "external_id": 12}, "external_id"),
    ({"code": "X", "external_id": "A-1", "kind": "hire"}, "kind"),
    ({"code": "X", "external_id": "A-1", "at": "yesterday"}, "at"),
    ({"code": "X", "external_id": "A-1", "at": "1850-01-01T00:00:00"}, "at"),
    ({"code": "X", "external_id": "x" * 300}, "external_id"),
])
def test_bad_fields_get_a_400_that_names_them(client, key, link, body, message):
    body = {k: (link.code if v == "X" else v) for k, v in body.items()}
    response = post(client, body, key)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert Conversion.select().count() == 0


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", '"text"', ""])
def test_a_body_that_is_not_a_json_object_is_400(client, key, link, data):
    response = client.post(URL, data=data, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400 and "JSON" in response.json["error"]
    assert Conversion.select().count() == 0


def test_a_report_by_utm_fields(client, key, app):
    emma = make_person("emma")
    campaign = make_campaign("werken-bij")
    first = make_item("Engineer wanted", kind="vacancy", campaign=campaign)
    second = make_item("Planner wanted", kind="vacancy", campaign=campaign)
    on_linkedin = TrackedLink.for_share(emma, first, "linkedin")
    second_linkedin = TrackedLink.for_share(emma, second, "linkedin")
    copied = TrackedLink.for_share(emma, first, "link")
    now = utcnow()
    store_click(second_linkedin, now)

    def report(**fields):
        return post(client, {"external_id": "id-" + str(len(fields)) + str(sorted(fields.values())),
                             "utm_content": emma.ref, **fields}, key)

    by_url = report(utm_source="linkedin", item_url=first.url + "?utm_source=linkedin")
    assert by_url.status_code == 201 and by_url.json["code"] == on_linkedin.code
    by_item_slug = report(utm_source="copy", utm_campaign=first.slug)
    assert by_item_slug.json["code"] == copied.code
    # A campaign fits two items: the link clicked last gets it.
    by_campaign = report(utm_source="linkedin", utm_campaign="werken-bij")
    assert by_campaign.json["code"] == second_linkedin.code
    assert report(utm_source="linkedin", utm_campaign="other").status_code == 404
    assert post(client, {"external_id": "z", "utm_content": "nobody"}, key).status_code == 404


def test_admins_create_see_once_and_revoke_keys(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    make_person("anouk", role="admin")
    make_person("emma")
    link = TrackedLink.for_share(make_person("sam"), make_item("Open day"), "x")
    login_with_csrf(client, "anouk")
    page = client.get("/admin/api-keys")
    token = csrf_token(page)
    assert client.post("/admin/api-keys", data={"name": "Careers"}).status_code == 400  # no CSRF token
    created = client.post("/admin/api-keys", data={"name": "Careers site", "csrf_token": token})
    assert created.status_code == 200
    key = re.search(r'data-testid="new-api-key">([^<]+)<', created.text).group(1)
    assert key.startswith("amb_")
    assert key not in client.get("/admin/api-keys").text  # shown once
    assert AuditLog.select().where(AuditLog.target_type == "apikey").count() == 1

    api = app.test_client()
    assert post(api, {"code": link.code, "external_id": "A-9"}, key).status_code == 201
    listing = client.get("/admin/api-keys").text
    assert "Careers site" in listing and "Never" not in listing  # last used is shown

    row = ApiKey.get()
    revoked = client.post(f"/admin/api-keys/{row.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 302
    assert ApiKey.get().revoked_at is not None
    assert post(api, {"code": link.code, "external_id": "A-10"}, key).status_code == 401

    login_with_csrf(client, "emma")
    assert client.get("/admin/api-keys").status_code == 403
    assert client.post("/admin/api-keys", data={"name": "x", "csrf_token": csrf_token(client.get("/"))}
                       ).status_code == 403


def test_an_empty_name_is_refused(client, app):
    make_person("anouk", role="admin")
    login(client, "anouk")
    response = client.post("/admin/api-keys", data={"name": "  "})
    assert response.status_code == 400 and ApiKey.select().count() == 0

