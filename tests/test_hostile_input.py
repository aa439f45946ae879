"""No input, however odd, gives a 500.

Every route of the app (taken from ``app.url_map``, so a new route is
covered without touching this file) is sent hostile values in every field
any form of the app knows: huge and unicode digits, a URL with a port out of
range, NUL bytes, overlong strings, empty values, several values where one is
expected, dates that do not exist. The answer must never be a 5xx; a refusal
(4xx) must say why and leave the database as it was.

Then each form, filled in as a browser would with valid values, gets one
hostile value at a time in each of its fields: the form must either accept
it (the value is fine for that field) or refuse it with its message, never
crash.
"""

import datetime
import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.routing import UnicodeConverter

from helpers import login, make_campaign, make_item, make_person
from intranet_plugin import forms as app_forms
from intranet_plugin.analytics.goals import CALCULATOR_FIELDS
from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.content.urls import web_address
from intranet_plugin.models import MODELS, ApiKey, Feed, JobLease, MailLedger, Suggestion, db, utcnow
from intranet_plugin.scheduler import LEADER
from sso.models import LoginAttempt

HOSTILE = {
    "huge": "99999999999999999999",
    "superscript two": "²",
    "arabic three": "٣",
    "bad port": "https://example.com:99999/news",
    "NUL": "news\x00<b>",
    "overlong": "x" * 100_000,
    "empty": "",
    "30 February": "2026-02-30",
    "year zero": "0000-01-01",
    "negative": "-1",
    "not a number": "NaN",
}
# Routes that take no fields: whatever is sent along is ignored, so they
# may succeed (and change what they exist to change); they must not crash.
FIELDLESS = {
    "auth.logout", "programme.leave", "feeds.remove", "feeds.import_one", "feeds.import_every",
    "editor.item_action", "editor.share_now", "api_keys.revoke", "share.share", "mail.unsubscribe_post",
    "api.report_conversion", "team.remove_lead",
}
# Files and the health check: no forms behind them.
SKIPPED = {"static", "assets.vendor"}
TEMPLATES = Path(__file__).parent.parent / "intranet_plugin" / "templates"


def field_names():
    """Every field name a form of the app reads: the WTForms fields, and
    whatever the templates post (a field added to either is covered)."""
    names = set()
    for form in app_forms.every_form():
        names.update(form.field_names())
    for template in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'name="([\w-]+)"', template.read_text()))
    names.update(f"captions-{net}" for net in NETWORKS)
    names.update(CALCULATOR_FIELDS)
    names.update(("page", "next"))
    return sorted(names - {"csrf_token", "viewport", "htmx-config"})


COUNTED = [*MODELS, LoginAttempt]
# The rows of every table in one statement: it runs before and after each of
# thousands of requests.
COUNT_ROWS = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{model._meta.table_name}")' for model in COUNTED)


def counts():
    return dict(zip((model.__name__ for model in COUNTED), db.execute_sql(COUNT_ROWS).fetchone(), strict=True))


@pytest.fixture
def world(app):
    admin = make_person("anouk", display_name="Anouk Bakker", role="admin")
    colleague = make_person("emma")
    item = make_item("Wind farm opens")
    campaign = make_campaign("spring")
    feed = Feed.create(url="http://127.0.0.1:9/feed.xml", kind="news")
    # A scheduler runs, so /readyz is ready (and must stay so, whatever is sent).
    JobLease.create(name=LEADER, holder="test", expires_at=utcnow() + datetime.timedelta(days=1))
    key = ApiKey.create(name="Careers", key_hash="0" * 64, created_by=admin)
    suggestion = Suggestion.create(person=colleague, url="https://example.com/suggested", title="Suggested",
                                   kind="news", caption="", note="")
    doubt = MailLedger.create(kind="digest", period="2026-W05", person=colleague, status="sending",
                              claimed_at=utcnow(), claimed_by="gone-host/1/abcd")
    return {"item_id": item.id, "slug": campaign.slug, "feed_id": feed.id, "key_id": key.id,
            "suggestion_id": suggestion.id, "row_id": doubt.id, "network": "x", "action": "pin", "token": "not-a-token",
            "name": "nothing.eml", "table": "top_items", "admin": admin, "person_id": colleague.id}


def routes(app, world):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        path = rule.build({name: world[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def send(client, method, path, data, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    if method == "GET":
        return client.get(path, query_string=data, headers=headers)
    return client.open(path, method=method, data=data, headers=headers)


def check(response, endpoint, method, before, label):
    where = (endpoint, method, label, response.status_code)
    assert response.status_code < 500, where
    if 400 <= response.status_code < 500:
        assert counts() == before, where
        if response.mimetype == "text/html" and endpoint not in FIELDLESS:
            body = response.get_data(as_text=True)
            assert re.search(r'class="(error|form-errors|flash error)', body) or "<h1" in body, where


def hostile_bodies(names):
    for label, value in HOSTILE.items():
        yield label, MultiDict([(name, value) for name in names])
    yield "two values each", MultiDict([(name, value) for name in names for value in ("news", "²")])


def test_every_route_survives_hostile_values_in_every_field(app, client, world):
    names = field_names()
    assert {"winners", "url", "title", "period", "page", "username", "password"} <= set(names)
    seen = set()
    for endpoint, method, path in routes(app, world):
        seen.add(endpoint)
        login(client, "anouk")
        for label, body in hostile_bodies(names):
            for htmx in (False, True):
                before = counts()
                response = send(client, method, path, body, htmx)
                check(response, endpoint, method, before, label)
                if endpoint == "auth.logout":
                    login(client, "anouk")
    assert {"editor.new", "campaigns.draw", "dashboard.index", "share.index", "auth.login"} <= seen


# -- one field at a time, the rest valid ------------------------------------------

def valid_forms(world):
    """(endpoint, method, path, valid fields) of each form, as a browser
    fills it in."""
    item, slug = world["item_id"], world["slug"]
    item_fields = {"kind": "news", "title": "Solar park", "url": "https://example.com/solar",
                   "summary": "Sun", "image_url": "", "caption": "Look", "hashtags": "#sun",
                   "language": "en", "campaign": "", "status": "draft", "publish_at": "",
                   "expires_at": "", "captions-x": "Short"}
    return [
        ("editor.new", "POST", "/editor/items/new", item_fields),
        ("editor.edit", "POST", f"/editor/items/{item}", item_fields),
        ("editor.live_preview", "POST", "/editor/items/preview", {**item_fields, "item_id": str(item)}),
        ("editor.duplicates", "POST", "/editor/items/duplicates", {"url": "https://example.com/a",
                                                                   "item_id": str(item)}),
        ("editor.index", "GET", "/editor/", {"state": "draft", "kind": "news", "q": "wind", "page": "1"}),
        ("editor.audit_log", "GET", "/editor/audit", {"item": str(item), "action": "create", "q": "w",
                                                      "page": "1"}),
        ("editor.decide", "POST", f"/editor/suggestions/{world['suggestion_id']}",
         {"decision": "reject", "title": "Suggested", "summary": "", "caption": "", "kind": "news",
          "hashtags": "", "review_note": "Not for us"}),
        ("campaigns.new", "POST", "/campaigns/new",
         {"name": "Autumn", "slug": "autumn", "hashtag": "#autumn", "starts_on": "2026-09-01",
          "ends_on": "2026-09-30", "description": "", "goal": "100 clicks"}),
        ("campaigns.edit", "POST", f"/campaigns/{slug}/edit",
         {"name": "Spring", "slug": slug, "hashtag": "", "starts_on": "", "ends_on": "", "description": "",
          "goal": ""}),
        ("campaigns.draw", "POST", f"/campaigns/{slug}/draw", {"winners": "1"}),
        ("programme.edit_guidelines", "POST", "/admin/guidelines", {"guidelines": "# Be kind", "contact": "Us"}),
        ("programme.preview_guidelines", "POST", "/admin/guidelines/preview", {"guidelines": "# Hi",
                                                                               "contact": ""}),
        ("programme.preferences", "POST", "/preferences",
         {"networks": "linkedin", "kinds": "news", "digest": "weekly", "language": "en"}),
        ("programme.suggest", "POST", "/suggest",
         {"url": "https://example.com/new", "title": "New", "kind": "news", "caption": "", "note": ""}),
        ("feeds.add", "POST", "/admin/feeds/", {"url": "http://127.0.0.1:9/other.xml", "kind": "news",
                                                "campaign": ""}),
        ("api_keys.create", "POST", "/admin/api-keys", {"name": "Intranet"}),
        ("impact.delete_data", "POST", "/me/delete", {"confirm": "no"}),
        ("impact.leaderboard_settings", "POST", "/leaderboard/settings", {"people": "on"}),
        ("impact.leaderboard", "GET", "/leaderboard", {"period": "all"}),
        ("impact.me", "GET", "/me", {"period": "all"}),
        ("dashboard.index", "GET", "/admin/dashboard",
         {"period": "custom", "from": "2026-01-01", "to": "2026-01-31", "participants": "10", "posts": "2",
          "clicks_per_share": "3", "cost_per_click": "0.5"}),
        ("dashboard.export", "GET", "/admin/dashboard/top_items.csv", {"period": "custom", "from": "2026-01-01",
                                                                       "to": "2026-01-31"}),
        ("share.index", "GET", "/", {"kind": "news", "q": "wind", "campaign": slug, "page": "2"}),
        ("share.set_language", "POST", "/language", {"language": "nl"}),
        ("auth.login", "POST", "/login", {"username": "anouk"}),
    ]


def test_each_field_alone_hostile_never_crashes(app, client, world):
    for endpoint, method, path, fields in valid_forms(world):
        for field in fields:
            for label, value in HOSTILE.items():
                login(client, "anouk")
                before = counts()
                response = send(client, method, path, MultiDict({**fields, field: value}))
                check(response, endpoint, method, before, f"{field}={label}")


CONTROL_MESSAGE = "Remove the control characters (such as NUL) from this field."
ITEM = {"kind": "news", "title": "Port", "language": "en", "status": "draft"}
SUGGESTION = {"title": "Port", "kind": "news"}
FEED = {"kind": "news"}
BAD_ADDRESSES = ["https://example.com:99999/x", "https://example.com:-1/x", "https://example.com:abc/x",
                 "https://example.com:0/x", "https://exa mple.com/x", "https://example.com/a b",
                 "https://example.com/a\r\nb", "https://example.com/\tb", "javascript:alert(1)",
                 "https://[::1/x"]


@pytest.mark.parametrize(("path", "fields", "message"), [
    ("/campaigns/spring/draw", {"winners": "²"}, "Enter a whole number"),
    ("/campaigns/spring/draw", {"winners": "99999999999999999999"}, "Enter a whole number"),
    *[("/editor/items/new", {**ITEM, "url": url}, "starting with https://") for url in BAD_ADDRESSES],
    *[("/suggest", {**SUGGESTION, "url": url}, "http:// or https://") for url in BAD_ADDRESSES],
    *[("/admin/feeds/", {**FEED, "url": url}, "http:// or https://") for url in BAD_ADDRESSES],
    *[(path, {**fields, "url": "https://example.com/" + char}, CONTROL_MESSAGE)
      for path, fields in (("/editor/items/new", ITEM), ("/suggest", SUGGESTION), ("/admin/feeds/", FEED))
      for char in ("\x00", "\x85")],
    ("/suggest", {**SUGGESTION, "url": "https://example.com/ok", "title": "N\x00UL"}, CONTROL_MESSAGE),
    ("/suggest", {**SUGGESTION, "url": "https://example.com/ok", "note": "bell\x07"}, CONTROL_MESSAGE),
    ("/admin/api-keys", {"name": "Careers\x00"}, CONTROL_MESSAGE),
    ("/editor/items/preview", {**ITEM, "item_id": "²"}, "Nothing"),
])
def test_the_inputs_the_issue_names_get_a_message(app, client, world, path, fields, message):
    make_campaign("autumn")
    login(client, "anouk")
    before = counts()
    response = client.post(path, data=fields, follow_redirects=True)
    assert response.status_code == 400, response.status_code
    if message != "Nothing":
        assert message in response.get_data(as_text=True)
    assert counts() == before


@pytest.mark.parametrize("path", ["/editor/items/{}", "/editor/items/{}/preview", "/items/{}/card",
                                  "/items/{}/qr.svg", "/editor/items/{}/share-now"])
@pytest.mark.parametrize("number", [2**63, 2**64, 10**30, "٣"])
def test_an_id_past_what_a_database_holds_is_no_page(app, client, world, path, number):
    login(client, "anouk")
    assert client.get(path.format(number)).status_code == 404
    before = counts()
    for post in ("/admin/feeds/{}/remove", "/admin/api-keys/{}/revoke", "/editor/suggestions/{}"):
        assert client.post(post.format(number), data={"decision": "reject"}).status_code == 404
    assert counts() == before


@pytest.mark.parametrize(("body", "message"), [
    ({"external_id": "A-1", "at": "0001-01-01T00:30:00+01:00"}, "between the years 2000 and 2100"),
    ({"external_id": "A-1", "at": "9999-12-31T23:30:00-01:00"}, "between the years 2000 and 2100"),
    ("[" * 100_000, "JSON object"),
    ('{"a":' * 50_000 + "1" + "}" * 50_000, "JSON object"),
    ({"external_id": "A\x00-1"}, "“external_id” must not hold control characters"),
    ({"external_id": "A-1\x1b"}, "“external_id” must not hold control characters"),
    ({"external_id": "A-1", "code": "\x00"}, "“code” must not hold control characters"),
    ({"external_id": "A-1", "kind": "lead\x00"}, "“kind”"),
    ({"external_id": ["A-1"]}, "“external_id” must be a text"),
    ({"external_id": {"id": 1}}, "“external_id” must be a text"),
    ({"external_id": "A-1", "at": 20260101}, "“at” must be a date and time"),
])
def test_a_conversion_report_with_a_hostile_value_is_refused(app, client, world, body, message):
    from intranet_plugin.analytics.conversions import create_key
    from intranet_plugin.models import TrackedLink

    key, _row = create_key("Careers", world["admin"])
    link = TrackedLink.for_share(world["admin"], make_item("Engineer"), "linkedin")
    if isinstance(body, dict):
        body = json.dumps({"code": link.code, **body})
    before = counts()
    response = client.post("/api/v1/conversions", data=body, content_type="application/json",
                           headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message in response.json["error"]
    assert {k: v for k, v in counts().items() if k != "ApiKey"} == {k: v for k, v in before.items() if k != "ApiKey"}


def test_a_control_character_in_a_path_is_no_page(app, client, world):
    """A code, slug, token or name in the path with NUL or a line break
    names nothing (PostgreSQL would refuse it in a query): 404."""
    login(client, "anouk")
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED:
            continue
        strings = [name for name, converter in rule._converters.items() if isinstance(converter, UnicodeConverter)]
        for name in strings:
            for char in ("\x00", "\n", "\x85"):
                path = rule.build({**{n: world[n] for n in rule.arguments}, name: f"a{char}b"})[1]
                method = "GET" if "GET" in rule.methods else "POST"
                before = counts()
                assert client.open(path, method=method).status_code == 404, (rule.rule, char)
                assert counts() == before
                checked += 1
    assert checked >= 9


@pytest.mark.parametrize("value", BAD_ADDRESSES + ["https://example.com/\x00", "https://example.com/\x85x",
                                                   "https://example.com/\u2028x", "//example.com/x", "https://",
                                                   "https://example.com/" + "x" * 2000, None, 42])
def test_web_address_refuses_what_no_address_holds(value):
    assert web_address(value) is None


@pytest.mark.parametrize(("value", "base", "expected"), [
    ("  https://example.com/a?b=c#d ", None, "https://example.com/a?b=c#d"),
    ("http://example.com:8080/", None, "http://example.com:8080/"),
    ("https://[::1]:65535/x", None, "https://[::1]:65535/x"),
    ("/jobs/1", "https://careers.example/feed.xml", "https://careers.example/jobs/1"),
    ("https://example.com/caf%C3%A9", None, "https://example.com/caf%C3%A9"),
])
def test_web_address_reads_an_address(value, base, expected):
    assert web_address(value, base) == expected
