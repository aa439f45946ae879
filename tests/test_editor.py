"""The editor pages: items and campaigns through their forms (with CSRF, as
a browser sends them), roles, scheduling and expiry on the share page with a
controlled clock, pinning, archiving, caption variants, validation,
duplicates, the audit log, the Open Graph prefill from a page served over
loopback HTTP, the share preview, and escaping."""

import datetime
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from helpers import BROWSER, make_campaign, make_item, make_person
from helpers.feedserver import FeedServer
from intranet_plugin import models
from intranet_plugin.content.opengraph import parse
from intranet_plugin.models import AuditLog, Campaign, Item
from intranet_plugin.views import editor

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
# A Tuesday in March, before the change to summer time (UTC+1 in Amsterdam).
NOW = datetime.datetime(2026, 3, 10, 9, 0)


# -- a browser, as far as forms go --------------------------------------------

class _FormReader(HTMLParser):
    """The fields a browser would submit from one form: its inputs (checked
    boxes only), textareas and selects, and inputs outside it that name it
    with form="..."."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.found = form_id, False, False
        self.action, self.fields = None, MultiDict()
        self._textarea = self._select = None
        self._options = []

    def _ours(self, attrs):
        return self.inside or (self.form_id and attrs.get("form") == self.form_id)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.found and (self.form_id is None or a.get("id") == self.form_id):
            self.inside = self.found = True
            self.action = a.get("action")
            return
        if not self._ours(a) and not (tag == "option" and self._select):
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.add(a["name"], a.get("value") or ("on" if kind in ("checkbox", "radio") else ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self._select, self._options, self._multiple = a["name"], [], "multiple" in a
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_data(self, data):
        if self._textarea:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea" and self._textarea:
            self.fields.add(*self._textarea)
            self._textarea = None
        elif tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected]
            if self._multiple:  # as browsers do: every chosen value, or none
                for value in chosen:
                    self.fields.add(self._select, value)
            elif chosen := chosen or [v for v, _ in self._options[:1]]:
                self.fields.add(self._select, chosen[0])
            self._select = None


def read_form(html, form_id=None):
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.found, f"no form {form_id or ''} on the page"
    return reader.action, reader.fields


class Browser:
    """A test client that signs in through the login page and submits forms
    with the values (and CSRF token) the page holds."""

    def __init__(self, app):
        self.client = app.test_client()
        self.client.environ_base["HTTP_USER_AGENT"] = BROWSER

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def page(self, path):
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def token(self, path="/"):
        return re.search(r'name="csrf_token" value="([^"]+)"', self.page(path)).group(1)

    def sign_in(self, username):
        response = self.client.post("/login", data={"username": username, "csrf_token": self.token("/login")})
        assert response.status_code == 302
        return self

    def submit(self, path, changes=None, form_id="item-form", extra=None):
        """Open ``path``, change fields of its form and submit it."""
        action, fields = read_form(self.page(path), form_id)
        for name, value in (changes or {}).items():
            if value is None:
                fields.poplist(name)
            else:
                fields.setlist(name, value if isinstance(value, list) else [value])
        for name, value in (extra or {}).items():
            fields.add(name, value)
        return self.client.post(action or path, data=fields)

    def htmx(self, method, path, data=None, token_from="/editor/", **headers):
        """A request as htmx sends it: the CSRF token in a header."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.token(token_from), **headers}
        return self.client.open(path, method=method, data=data, headers=headers)


@pytest.fixture
def app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True, TIMEZONE="Europe/Amsterdam")
    make_person("joris", display_name="Joris van Dijk", role="editor")
    make_person("anouk", display_name="Anouk Bakker", role="admin")
    make_person("emma", display_name="Emma de Vries")
    return app


@pytest.fixture
def joris(app):
    return Browser(app).sign_in("joris")


@pytest.fixture
def emma(app):
    return Browser(app).sign_in("emma")


@pytest.fixture
def clock(monkeypatch):
    """The time everyone sees: ``clock.now``, moved with ``clock.set``."""

    class Clock:
        now = NOW

        def set(self, value):
            self.now = value

    c = Clock()
    monkeypatch.setattr(models, "utcnow", lambda: c.now)
    return c


def new_item_form(**changes):
    values = {"url": "https://www.example.com/news/wind-farm", "title": "Wind farm opens",
              "summary": "The first turbine turns.", "kind": "news", "language": "en",
              "caption": "Proud of this!", "hashtags": "wind, #energy", "status": "published"}
    values.update(changes)
    return values


def audit_actions(item):
    rows = AuditLog.select().where((AuditLog.target_type == "item") & (AuditLog.target_id == item.id))
    return [(row.action, row.detail.get("changed")) for row in rows.order_by(AuditLog.id)]


def share_titles(browser):
    return re.findall(r'<h2><a [^>]*>([^<]+)</a></h2>', browser.page("/"))


# -- roles ---------------------------------------------------------------------

def editor_urls(app, item, campaign):
    """Every editor route (and the campaign editor), with arguments filled in."""
    values = {"item_id": item.id, "network": "x", "action": "pin", "slug": campaign.slug, "suggestion_id": 1}
    urls = []
    for rule in app.url_map.iter_rules():
        if not (rule.endpoint.startswith("editor.") or rule.endpoint in ("campaigns.new", "campaigns.edit")):
            continue
        path = rule.build({k: values[k] for k in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_employees_get_403_on_every_editor_route(app, emma):
    item, campaign = make_item("Wind farm opens"), make_campaign("spring")
    urls = editor_urls(app, item, campaign)
    assert len(urls) >= 15
    token = emma.token("/")
    for method, path in urls:
        response = emma.client.open(path, method=method, data={"title": "Hacked", "name": "Hacked"},
                                    headers={"X-CSRFToken": token})
        assert response.status_code == 403, (method, path, response.status_code)
    item = Item.get_by_id(item.id)
    assert (item.title, item.pinned) == ("Wind farm opens", False)
    assert Campaign.get_by_id(campaign.id).name == "Spring"
    assert AuditLog.select().count() == 0


def test_signed_out_visitors_go_to_the_login_page(app):
    item, campaign = make_item("Wind farm opens"), make_campaign("spring")
    browser = Browser(app)
    token = browser.token("/login")
    paths = editor_urls(app, item, campaign) + [("GET", "/campaigns/"), ("GET", "/campaigns/spring")]
    for method, path in paths:
        response = browser.client.open(path, method=method, headers={"X-CSRFToken": token})
        assert response.status_code == 302, (method, path)
        assert urlsplit(response.headers["Location"]).path == "/login"


def test_admins_and_editors_may_edit(app, joris):
    anouk = Browser(app).sign_in("anouk")
    assert "<h1>Content</h1>" in anouk.page("/editor/")
    assert "<h1>Content</h1>" in joris.page("/editor/")


def test_a_post_without_the_csrf_token_saves_nothing(joris):
    response = joris.client.post("/editor/items/new", data=new_item_form())
    assert response.status_code == 400
    assert Item.select().count() == 0


# -- creating and editing ------------------------------------------------------

def test_create_an_item_through_the_form(joris, clock):
    response = joris.submit("/editor/items/new", new_item_form(**{
        "captions-x": "Short and sweet for X",
        "captions-linkedin": "A longer text for LinkedIn",
        "publish_at": "", "expires_at": "2026-04-30T17:00"}))
    assert response.status_code == 302
    item = Item.get()
    assert urlsplit(response.headers["Location"]).path == f"/editor/items/{item.id}"
    assert (item.title, item.kind, item.language, item.status) == ("Wind farm opens", "news", "en", "published")
    assert item.hashtags == "#wind #energy"
    assert item.captions == {"x": ["Short and sweet for X"], "linkedin": ["A longer text for LinkedIn"]}
    assert item.publish_at == NOW
    # 17:00 summer time in Amsterdam is 15:00 UTC
    assert item.expires_at == datetime.datetime(2026, 4, 30, 15, 0)
    assert item.normalized_url == "https://example.com/news/wind-farm"
    assert item.slug == "wind-farm-opens"
    assert item.created_by.username == item.updated_by.username == "joris"
    assert audit_actions(item) == [("create", []), ("publish", ["status", "publish_at"])]
    page = joris.page(f"/editor/items/{item.id}")
    assert "Saved: “Wind farm opens”." in page
    # the form shows the local times again
    assert 'value="2026-04-30T17:00"' in page


def test_times_are_entered_in_the_configured_time_zone(joris, clock):
    joris.submit("/editor/items/new", new_item_form(publish_at="2026-01-15T10:00"))
    assert Item.get().publish_at == datetime.datetime(2026, 1, 15, 9, 0)  # winter: UTC+1
    response = joris.submit("/editor/items/new", new_item_form(
        url="https://www.example.com/other", publish_at="2026-03-29T02:30"))
    assert response.status_code == 400
    assert "02:30 does not exist in Europe/Amsterdam" in response.get_data(as_text=True)
    assert Item.select().count() == 1


def test_every_kind_can_be_created(joris):
    for kind in ("news", "vacancy", "blog"):
        response = joris.submit("/editor/items/new", new_item_form(
            kind=kind, url=f"https://www.example.com/{kind}", title=f"A {kind}"))
        assert response.status_code == 302
    assert sorted(i.kind for i in Item.select()) == ["blog", "news", "vacancy"]


def test_caption_variants_per_network_are_saved_in_order(joris):
    joris.submit("/editor/items/new", new_item_form(**{
        "captions-x": ["First for X", "", "  Second for X  "], "captions-whatsapp": ["Hi all"]}))
    item = Item.get()
    assert item.captions == {"x": ["First for X", "Second for X"], "whatsapp": ["Hi all"]}
    page = joris.page(f"/editor/items/{item.id}")
    assert page.count('name="captions-x"') == 2
    # a variant is removed by emptying it
    joris.submit(f"/editor/items/{item.id}", {"captions-x": ["", "Second for X"]})
    assert Item.get().captions == {"x": ["Second for X"], "whatsapp": ["Hi all"]}


def test_add_a_variant_with_htmx_and_without_javascript(joris):
    response = joris.get("/editor/captions/x/variant", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.count('name="captions-x"') == 1 and 'data-limit="280"' in html
    assert joris.get("/editor/captions/myspace/variant").status_code == 404
    # without JavaScript the button submits the form, which comes back with
    # one more field and saves nothing
    response = joris.submit("/editor/items/new", new_item_form(**{"captions-x": "One"}), extra={"add_variant": "x"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('name="captions-x"') == 2 and ">One</textarea>" in html
    assert Item.select().count() == 0


def test_editing_records_the_changed_fields(joris, clock):
    item = make_item("Wind farm opens", publish_at=NOW - datetime.timedelta(days=1, seconds=17))
    response = joris.submit(f"/editor/items/{item.id}", {"title": "Wind farm opens today", "hashtags": "#wind"})
    assert response.status_code == 302
    item = Item.get_by_id(item.id)
    assert (item.title, item.hashtags) == ("Wind farm opens today", "#wind")
    # the untouched time keeps its seconds: not a change
    assert item.publish_at == NOW - datetime.timedelta(days=1, seconds=17)
    assert audit_actions(item) == [("change", ["title", "hashtags"])]
    # saving again without changes records nothing
    joris.submit(f"/editor/items/{item.id}")
    assert len(audit_actions(item)) == 1
    assert "Nothing changed." in joris.page(f"/editor/items/{item.id}")


@pytest.mark.parametrize("changes,message", [
    ({"title": "   "}, "Enter a title."),
    ({"title": "x" * 256}, "The title is too long"),
    ({"url": "javascript:alert(1)"}, "Enter the full address of the page"),
    ({"url": "www.example.com/no-scheme"}, "Enter the full address of the page"),
    ({"image_url": "ftp://example.com/a.jpg"}, "The image address must start with https:// or http://."),
    ({"image_url": "data:image/png;base64,AAAA"}, "The image address must start with https:// or http://."),
    ({"publish_at": "2026-05-01T10:00", "expires_at": "2026-05-01T09:00"},
     "The expiry must be after the publication time."),
    ({"expires_at": "tomorrow"}, "Enter a date and time like"),
    ({"captions-x": "x" * 257}, "X, variant 1 counts 281 characters, more than the 280 allowed."),
    ({"caption": "y" * 300, "captions-x": ""}, "On X this text counts 324 characters, more than the 280 allowed."),
    ({"hashtags": "#good bad-tag"}, "Hashtags may contain only letters, digits and _: bad-tag"),
    ({"kind": "podcast"}, "Choose what kind of content this is."),
    ({"status": "archived"}, "Choose a status."),
    ({"campaign": "999"}, "That campaign does not exist any more"),
])
def test_invalid_input_is_refused_and_changes_nothing(joris, clock, changes, message):
    item = make_item("Wind farm opens", captions={"x": ["Old X text"]}, hashtags="#wind",
                     publish_at=NOW - datetime.timedelta(days=1))
    before = Item.get_by_id(item.id).__data__.copy()
    response = joris.submit(f"/editor/items/{item.id}", changes)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was saved." in html
    assert message in html
    assert Item.get_by_id(item.id).__data__ == before
    assert AuditLog.select().count() == 0
    # what was typed is shown again, not lost
    for name, value in changes.items():
        if name not in ("kind", "status", "campaign") and value.strip():
            assert value in html


def test_nul_characters_never_reach_the_database(joris):
    for fields in ({"title": "Wind\x00 farm"}, {"caption": "Proud\x07"}, {"summary": "Sun\x7f"}):
        response = joris.submit("/editor/items/new", new_item_form(**fields))
        assert response.status_code == 400
        assert "Remove the control characters (such as NUL) from this field." in response.get_data(as_text=True)
    assert Item.select().count() == 0
    found = parse('<meta property="og:title" content="A\x00B\x07C">', "https://a.example/")
    assert found["title"] == "A B C"


def test_caption_limits_count_like_the_networks(joris):
    # X: text, a space and the link (23): 256 + 1 + 23 = 280 fits
    response = joris.submit("/editor/items/new", new_item_form(**{"captions-x": "x" * 256, "caption": "z" * 256}))
    assert response.status_code == 302
    assert Item.get().captions == {"x": ["x" * 256]}
    # a long default text is fine when X and Bluesky (300) have their own texts
    response = joris.submit("/editor/items/new", new_item_form(**{
        "url": "https://www.example.com/2", "captions-x": "short", "captions-bluesky": "short",
        "caption": "y" * 400}))
    assert response.status_code == 302


def test_counters_are_shown_for_every_text(joris):
    item = make_item("Wind farm opens", caption="Hello", captions={"x": ["x" * 300]})
    html = joris.page(f"/editor/items/{item.id}")
    assert re.search(r'data-counter="x" data-limit="280">X: <b>29</b>/280', html)  # 5 + 1 + 23
    assert re.search(r'data-counter="x" data-limit="280" class="over">X: <b>324</b>/280', html)
    assert 'src="/static/editor.js"' in html


# -- scheduling, expiry, pinning, archiving ------------------------------------

def test_a_scheduled_item_appears_and_expires_on_the_share_page_at_its_times(app, joris, emma, clock):
    # 10:00 and 18:00 on 12 March in Amsterdam (UTC+1)
    joris.submit("/editor/items/new", new_item_form(publish_at="2026-03-12T10:00", expires_at="2026-03-12T18:00"))
    item = Item.get()
    assert (item.publish_at, item.expires_at) == (datetime.datetime(2026, 3, 12, 9), datetime.datetime(2026, 3, 12, 17))
    assert audit_actions(item)[-1] == ("schedule", ["status", "publish_at"])
    assert "Wind farm opens" not in share_titles(emma)
    assert "Wind farm opens" in joris.page("/editor/?state=scheduled")

    clock.set(datetime.datetime(2026, 3, 12, 8, 59))
    assert share_titles(emma) == []
    clock.set(datetime.datetime(2026, 3, 12, 9, 0))
    assert share_titles(emma) == ["Wind farm opens"]
    assert "Wind farm opens" in joris.page("/editor/?state=published")
    clock.set(datetime.datetime(2026, 3, 12, 16, 59))
    assert share_titles(emma) == ["Wind farm opens"]
    clock.set(datetime.datetime(2026, 3, 12, 17, 0))
    assert share_titles(emma) == []
    assert "Wind farm opens" in joris.page("/editor/?state=expired")
    assert "Wind farm opens" not in joris.page("/editor/?state=published")


def test_a_draft_is_not_shared_until_published_now(joris, emma, clock):
    joris.submit("/editor/items/new", new_item_form(status="draft"))
    item = Item.get()
    assert share_titles(emma) == [] and item.status == "draft"
    clock.set(NOW + datetime.timedelta(hours=3))
    response = joris.submit(f"/editor/items/{item.id}")  # nothing changed
    assert response.status_code == 302
    response = joris.client.post(f"/editor/items/{item.id}/publish",
                                 data={"csrf_token": joris.token("/editor/"), "next": "/editor/"})
    assert response.status_code == 302 and response.headers["Location"] == "/editor/"
    item = Item.get_by_id(item.id)
    # dated when it went out, not when the draft was written
    assert (item.status, item.publish_at) == ("published", NOW + datetime.timedelta(hours=3))
    assert share_titles(emma) == ["Wind farm opens"]
    assert audit_actions(item)[-1] == ("publish", ["status", "publish_at"])


def test_publishing_a_draft_through_the_form_dates_it_now(joris, clock):
    joris.submit("/editor/items/new", new_item_form(status="draft"))
    item = Item.get()
    clock.set(NOW + datetime.timedelta(days=2))
    joris.submit(f"/editor/items/{item.id}", {"status": "published", "title": "Wind farm opened"})
    item = Item.get_by_id(item.id)
    assert item.publish_at == NOW + datetime.timedelta(days=2)
    assert audit_actions(item)[1:] == [("change", ["title"]), ("publish", ["status", "publish_at"])]


def row_action(browser, item, action):
    """Press an action button in the item's row of the library, as htmx does."""
    html = browser.page("/editor/")
    assert f'/editor/items/{item.id}/{action}' in html
    return browser.htmx("POST", f"/editor/items/{item.id}/{action}", data={"next": "/editor/"})


def test_pin_puts_an_item_first_on_the_share_page(joris, emma, clock):
    make_item("Newest", publish_at=NOW - datetime.timedelta(hours=1))
    older = make_item("Older", publish_at=NOW - datetime.timedelta(days=3))
    assert share_titles(emma) == ["Newest", "Older"]
    response = row_action(joris, older, "pin")
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="row-{older.id}"')  # the row alone, for htmx to swap
    assert "<html" not in row and "Unpin" in row
    assert share_titles(emma) == ["Older", "Newest"]
    row_action(joris, older, "unpin")
    assert share_titles(emma) == ["Newest", "Older"]
    assert audit_actions(older) == [("pin", ["pinned"]), ("unpin", ["pinned"])]


def test_archive_and_restore(joris, emma, clock):
    item = make_item("Wind farm opens", publish_at=NOW - datetime.timedelta(days=1))
    row = row_action(joris, item, "archive").get_data(as_text=True)
    assert "Archived" in row and "Restore" in row
    assert Item.get_by_id(item.id).status == "archived"
    assert share_titles(emma) == []
    assert "Wind farm opens" not in joris.page("/editor/")
    assert "Wind farm opens" in joris.page("/editor/?state=archived")
    # restored as a draft: an editor decides again whether it goes out
    row_action_response = joris.htmx("POST", f"/editor/items/{item.id}/restore", data={"next": "/editor/"})
    assert "Draft" in row_action_response.get_data(as_text=True)
    assert Item.get_by_id(item.id).status == "draft"
    assert share_titles(emma) == []
    assert audit_actions(item) == [("archive", ["status"]), ("restore", ["status"])]


def test_an_action_that_does_not_apply_changes_nothing(joris):
    item = make_item("Wind farm opens")
    token = joris.token("/editor/")
    joris.client.post(f"/editor/items/{item.id}/restore", data={"csrf_token": token})
    joris.client.post(f"/editor/items/{item.id}/unpin", data={"csrf_token": token})
    assert Item.get_by_id(item.id).status == "published"
    assert AuditLog.select().count() == 0
    response = joris.client.post(f"/editor/items/{item.id}/pin", data={"csrf_token": token, "next": "https://evil.example/"})
    assert response.headers["Location"] == "/editor/"  # never off-site


def test_expire_now(joris, emma, clock):
    item = make_item("Vacancy: engineer", kind="vacancy", publish_at=NOW - datetime.timedelta(days=1))
    joris.client.post(f"/editor/items/{item.id}/expire", data={"csrf_token": joris.token("/editor/")})
    assert Item.get_by_id(item.id).expires_at == NOW
    assert share_titles(emma) == []
    assert audit_actions(item) == [("expire", ["expires_at"])]


# -- the library -----------------------------------------------------------------

def test_library_filters_search_and_pages_without_reloading(joris, clock, monkeypatch):
    monkeypatch.setattr(editor, "PAGE", 2)
    for n in range(5):
        make_item(f"News {n}", publish_at=NOW - datetime.timedelta(hours=n))
    make_item("A vacancy", kind="vacancy", publish_at=NOW - datetime.timedelta(days=2))
    make_item("A draft", status="draft", publish_at=NOW - datetime.timedelta(days=3))
    titles = lambda html: re.findall(r'<td class="title">\s*<a href="[^"]+">([^<]+)</a>', html)  # noqa: E731

    page = joris.page("/editor/")
    assert titles(page) == ["News 0", "News 1"] and "Page 1 of 4" in page
    response = joris.get("/editor/?page=2", headers={"HX-Request": "true", "HX-Target": "results"})
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and titles(fragment) == ["News 2", "News 3"]
    assert "HX-Request" in response.headers["Vary"]
    assert titles(joris.page("/editor/?kind=vacancy")) == ["A vacancy"]
    assert titles(joris.page("/editor/?state=draft")) == ["A draft"]
    assert titles(joris.page("/editor/?q=vacan")) == ["A vacancy"]
    assert "Nothing matches" in joris.page("/editor/?q=%25")
    # the state tabs count what the search and kind leave
    assert re.search(r'Draft <span class="n">1</span>', page)


def test_boosted_navigation_to_the_editor_loads_the_whole_page(joris):
    response = joris.get("/editor/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert response.headers["HX-Redirect"] == "/editor/"


# -- duplicates --------------------------------------------------------------------

def test_a_second_item_with_the_same_page_needs_confirmation(joris):
    first = make_item("Wind farm opens", url="https://www.example.com/news/wind?utm_source=x")
    response = joris.submit("/editor/items/new", new_item_form(url="http://EXAMPLE.com/news/wind/#top", title="Again"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Another item already links to this page." in html
    assert f'href="/editor/items/{first.id}"' in html
    assert Item.select().count() == 1
    # the editor confirms
    response = joris.submit("/editor/items/new", new_item_form(url="http://EXAMPLE.com/news/wind/#top", title="Again"),
                            extra={"confirm_duplicate": "1"})
    assert response.status_code == 302
    second = Item.get(Item.title == "Again")
    assert second.normalized_url == first.normalized_url
    # the warning stays on its page, but editing it does not ask again
    page = joris.page(f"/editor/items/{second.id}")
    assert "Another item already links to this page" in page and f'href="/editor/items/{first.id}"' in page
    assert joris.submit(f"/editor/items/{second.id}", {"title": "Again, edited"}).status_code == 302
    # moving another item onto the same page does ask
    third = make_item("Third", url="https://www.example.com/elsewhere")
    assert joris.submit(f"/editor/items/{third.id}", {"url": "https://example.com/news/wind"}).status_code == 400


def test_duplicates_are_checked_while_typing(joris):
    first = make_item("Wind farm opens", url="https://www.example.com/news/wind")
    response = joris.htmx("POST", "/editor/items/duplicates", data={"url": "https://example.com/news/wind/"})
    html = response.get_data(as_text=True)
    assert "Another item already links to this page:" in html and f'href="/editor/items/{first.id}"' in html
    # an item is no duplicate of itself
    response = joris.htmx("POST", "/editor/items/duplicates",
                          data={"url": "https://example.com/news/wind", "item_id": str(first.id)})
    assert response.get_data(as_text=True).strip() == ""


# -- Open Graph prefill --------------------------------------------------------------

PAGE = """<!doctype html><html lang="nl-NL"><head>
<meta charset="utf-8">
<title>Plain title | Noordwind</title>
<meta property="og:title" content="Windpark Noordzee-Oost: eerste stroom &amp; feest">
<meta property="og:description" content="  De eerste   turbine draait.  ">
<meta property="og:image" content="/images/turbine.jpg">
<meta name="description" content="Not this one">
</head><body><h1>Ignored</h1></body></html>"""


def test_parse_prefers_open_graph_then_twitter_then_plain_tags():
    found = parse(PAGE, "https://www.noordwind.example/nieuws/windpark")
    assert found == {"title": "Windpark Noordzee-Oost: eerste stroom & feest",
                     "description": "De eerste turbine draait.",
                     "image": "https://www.noordwind.example/images/turbine.jpg", "language": "nl"}
    twitter = parse('<meta name="twitter:title" content="T"><meta name="twitter:image" content="//cdn.example/i.png">'
                    '<meta name="description" content="D"><title>Plain</title>', "https://a.example/x")
    assert twitter == {"title": "T", "description": "D", "image": "https://cdn.example/i.png", "language": ""}
    plain = parse("<html><head><title>\n  Just a title\n</title></head></html>", "https://a.example/")
    assert plain == {"title": "Just a title", "description": "", "image": "", "language": ""}
    assert parse('<meta property="og:locale" content="de_DE">', "https://a.example/")["language"] == "de"
    based = parse('<base href="https://static.example/img/"><meta property="og:image" content="a.jpg">', "https://a.example/")
    assert based["image"] == "https://static.example/img/a.jpg"
    hostile = parse('<meta property="og:image" content="javascript:alert(1)">', "https://a.example/")
    assert hostile["image"] == ""


@pytest.fixture
def web():
    with FeedServer() as server:
        yield server


def test_prefill_from_a_page_served_over_loopback(make_app, web):
    app = make_app(WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=True)
    make_person("joris", role="editor")
    joris = Browser(app).sign_in("joris")
    url = web.serve("/nieuws/windpark", PAGE, content_type="text/html; charset=utf-8")
    response = joris.htmx("POST", "/editor/items/prefill", data={"url": url, "title": "", "kind": "news"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<fieldset id="basics"')
    assert 'value="Windpark Noordzee-Oost: eerste stroom &amp; feest"' in html
    assert ">De eerste turbine draait.</textarea>" in html
    assert f'value="http://127.0.0.1:{web.port}/images/turbine.jpg"' in html
    assert response.headers["HX-Trigger-After-Swap"] == "ambassador:refresh-preview"
    # without JavaScript (the library's "new item from a page"), the whole
    # new-item page comes back prefilled
    response = joris.submit("/editor/", {"url": url}, form_id="quick-start")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<html" in page and 'value="Windpark Noordzee-Oost: eerste stroom &amp; feest"' in page
    assert '<option value="nl" selected>' in page  # the page's language
    assert Item.select().count() == 0  # prefilling saves nothing


@pytest.mark.parametrize("allow_private,path,message", [
    (False, "/nieuws/windpark", "Could not read that page: 127.0.0.1 points to an internal address"),
    (True, "/missing", "Could not read that page: it answered with HTTP status 404."),
    (True, "/feed.xml", "That address is not a web page (it is application/rss+xml)."),
])
def test_a_page_that_cannot_be_read_changes_nothing(make_app, web, allow_private, path, message):
    app = make_app(WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=allow_private)
    make_person("joris", role="editor")
    joris = Browser(app).sign_in("joris")
    web.serve("/nieuws/windpark", PAGE, content_type="text/html; charset=utf-8")
    web.serve("/feed.xml", "<rss/>")
    typed = {"url": web.url(path), "title": "My own title", "summary": "Mine", "image_url": ""}
    response = joris.htmx("POST", "/editor/items/prefill", data=typed)
    html = response.get_data(as_text=True)
    assert message in html
    assert 'value="My own title"' in html and ">Mine</textarea>" in html
    if not allow_private:
        assert web.requests == []  # never even connected


def test_a_draft_opened_to_prefill_fills_only_its_empty_fields(make_app, web):
    """An approved suggestion's draft (``?prefill=1``) gets the page's
    summary and image where it has none, keeps the colleague's title, and
    stores nothing; a page that cannot be read says why and leaves the
    draft as it was; a published item is never prefilled."""
    app = make_app(WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=True)
    make_person("joris", role="editor")
    joris = Browser(app).sign_in("joris")
    url = web.serve("/nieuws/windpark", PAGE, content_type="text/html; charset=utf-8")
    draft = make_item("Our own title", url=url, summary="", status="draft")
    html = joris.get(f"/editor/items/{draft.id}?prefill=1").get_data(as_text=True)
    assert 'value="Our own title"' in html and ">De eerste turbine draait.</textarea>" in html
    assert f'value="http://127.0.0.1:{web.port}/images/turbine.jpg"' in html
    assert "The empty fields were filled in from the page" in html
    assert Item.get_by_id(draft.id).summary == ""  # nothing stored until saved
    broken = make_item("Broken", url=web.url("/missing"), status="draft")
    html = joris.get(f"/editor/items/{broken.id}?prefill=1").get_data(as_text=True)
    assert "Could not read that page: it answered with HTTP status 404." in html and 'value="Broken"' in html
    published = make_item("Live", url=url, summary="")
    requests = len(web.requests)
    html = joris.get(f"/editor/items/{published.id}?prefill=1").get_data(as_text=True)
    assert "filled in from the page" not in html and len(web.requests) == requests


def test_prefill_refuses_what_is_not_a_web_address(joris):
    html = joris.htmx("POST", "/editor/items/prefill", data={"url": "file:///etc/passwd"}).get_data(as_text=True)
    assert "Enter the full address of the page" in html


# -- share preview -------------------------------------------------------------------

def test_live_preview_of_what_is_typed(joris):
    response = joris.htmx("POST", "/editor/items/preview", data={
        "url": "https://www.noordwind.example/nieuws/x", "title": "Eerste turbine", "summary": "Het draait",
        "image_url": "https://www.noordwind.example/i.jpg", "caption": "Trots!", "hashtags": "#wind",
        "captions-x": "Kort voor X", "kind": "news"})
    html = response.get_data(as_text=True)
    assert "<html" not in html
    for net in ("linkedin", "facebook", "x"):
        assert f"lp-{net}" in html
    assert html.count("Eerste turbine") >= 4  # three link cards and the share page card
    assert "noordwind.example" in html and "From noordwind.example" in html
    assert 'src="https://www.noordwind.example/i.jpg"' in html
    assert "Kort voor X #wind" in html  # X gets the hashtags, as the share button sends it
    assert Item.select().count() == 0
    # only web images are shown
    html = joris.htmx("POST", "/editor/items/preview",
                      data={"title": "T", "image_url": "javascript:alert(1)"}).get_data(as_text=True)
    assert "javascript:" not in html and "No image" in html


def test_preview_page_of_a_saved_item(joris):
    item = make_item("Wind farm opens", image_url="https://www.example.com/a.jpg")
    html = joris.page(f"/editor/items/{item.id}/preview")
    assert "How it looks when shared" in html and 'src="https://www.example.com/a.jpg"' in html
    assert "inert" in html  # the share page card in the preview cannot be pressed


# -- escaping --------------------------------------------------------------------------

def test_hostile_titles_are_escaped_everywhere(joris, emma):
    campaign = make_campaign("spring", name=HOSTILE, description=HOSTILE, goal=HOSTILE, hashtag="#spring")
    item = make_item(HOSTILE, summary=HOSTILE, caption=HOSTILE, captions={"x": [HOSTILE]}, hashtags="#a",
                     campaign=campaign)
    joris.client.post(f"/editor/items/{item.id}/pin", data={"csrf_token": joris.token("/editor/")})
    pages = [joris.page(path) for path in (
        "/editor/", f"/editor/items/{item.id}", f"/editor/items/{item.id}/preview", "/editor/audit",
        "/campaigns/", "/campaigns/spring", "/campaigns/spring/edit")]
    pages.append(joris.htmx("POST", "/editor/items/preview", data={"title": HOSTILE, "summary": HOSTILE,
                                                                    "caption": HOSTILE}).get_data(as_text=True))
    pages.append(emma.page("/campaigns/spring"))
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;" in html


# -- audit log ---------------------------------------------------------------------------

def test_audit_log_lists_newest_first_with_paging_and_a_filter_by_item(joris, clock, monkeypatch):
    monkeypatch.setattr(editor, "PAGE", 3)
    joris.submit("/editor/items/new", new_item_form(title="First item"))
    first = Item.get(Item.title == "First item")
    clock.set(NOW + datetime.timedelta(minutes=1))
    joris.submit("/editor/items/new",
                 new_item_form(title="Second item", url="https://www.example.com/2", status="draft"))
    second = Item.get(Item.title == "Second item")
    clock.set(NOW + datetime.timedelta(minutes=2))
    joris.client.post(f"/editor/items/{first.id}/archive", data={"csrf_token": joris.token("/editor/")})
    clock.set(NOW + datetime.timedelta(minutes=3))
    joris.submit(f"/editor/items/{second.id}", {"summary": "New summary", "language": "nl"})

    rows = lambda html: re.findall(r'<span class="action act-(\w+)">', html)  # noqa: E731
    page = joris.page("/editor/audit")
    assert rows(page) == ["change", "archive", "create"]
    assert "Joris van Dijk" in page and "summary, language" in page and "Page 1 of 2" in page
    more = joris.get("/editor/audit?page=2", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in more.get_data(as_text=True) and rows(more.get_data(as_text=True)) == ["publish", "create"]
    only_first = joris.page(f"/editor/audit?item={first.id}")
    assert rows(only_first) == ["archive", "publish", "create"] and "Only the history of “First item”." in only_first
    assert rows(joris.page("/editor/audit?action=archive")) == ["archive"]
    # the item's page links to its history
    assert f'href="/editor/audit?item={first.id}"' in joris.page(f"/editor/items/{first.id}")


# -- campaigns ---------------------------------------------------------------------------

def campaign_form(**changes):
    values = {"name": "Werken bij Noordwind", "slug": "", "hashtag": "WerkenBijNoordwind",
              "starts_on": "2026-03-01", "ends_on": "2026-05-31", "description": "Recruitment drive",
              "goal": "100 applicants via colleagues"}
    values.update(changes)
    return values


def test_create_and_edit_a_campaign(joris):
    response = joris.submit("/campaigns/new", form_id="campaign-form", changes=campaign_form())
    assert response.status_code == 302 and response.headers["Location"] == "/campaigns/werken-bij-noordwind"
    campaign = Campaign.get()
    assert (campaign.name, campaign.hashtag, campaign.goal) == ("Werken bij Noordwind", "#WerkenBijNoordwind",
                                                                "100 applicants via colleagues")
    # whole days in Amsterdam: from midnight (UTC+1) to the end of the last day (UTC+2 by then)
    assert campaign.starts_at == datetime.datetime(2026, 2, 28, 23, 0)
    assert campaign.ends_at == datetime.datetime(2026, 5, 31, 21, 59, 59)
    response = joris.submit("/campaigns/werken-bij-noordwind/edit", form_id="campaign-form",
                            changes={"goal": "150 applicants"})
    assert response.status_code == 302
    assert Campaign.get().goal == "150 applicants"
    entries = [(e.action, e.detail["changed"]) for e in AuditLog.select().order_by(AuditLog.id)]
    assert entries == [("create", []), ("change", ["goal"])]
    page = joris.page("/editor/audit")
    assert 'href="/campaigns/werken-bij-noordwind"' in page


@pytest.mark.parametrize("changes,message", [
    ({"name": ""}, "Enter a name."),
    ({"slug": "Not A Slug"}, "The short name may hold only lower-case letters"),
    ({"slug": "new"}, "“new” is reserved"),
    ({"slug": "spring"}, "Another campaign already has the short name “spring”."),
    ({"hashtag": "#one #two"}, "Enter one hashtag"),
    ({"ends_on": "2026-02-01"}, "The campaign cannot end before it starts."),
    ({"starts_on": "1 March"}, "Enter a date like 2026-05-04."),
])
def test_invalid_campaigns_are_refused(joris, changes, message):
    make_campaign("spring")
    response = joris.submit("/campaigns/new", form_id="campaign-form", changes=campaign_form(**changes))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Nothing was saved." in html and message in html
    assert Campaign.select().count() == 1 and AuditLog.select().count() == 0


def test_the_campaign_page_for_employees_and_editors(joris, emma, clock):
    campaign = make_campaign("offshore", name="Offshore 2027", hashtag="#Offshore2027", goal="20,000 clicks")
    make_item("Live one", campaign=campaign, publish_at=NOW - datetime.timedelta(days=1))
    make_item("Planned one", campaign=campaign, publish_at=NOW + datetime.timedelta(days=1))
    make_item("Draft one", campaign=campaign, status="draft")
    make_item("Other campaign")
    page = emma.page("/campaigns/offshore")
    assert "Live one" in page and "Planned one" not in page and "Draft one" not in page
    assert "Other campaign" not in page and "20,000 clicks" in page
    assert 'href="/?campaign=offshore"' in page
    assert "Edit the campaign" not in page
    assert emma.get("/campaigns/offshore/edit").status_code == 403
    assert "Offshore 2027" in emma.page("/campaigns/")
    editor_page = joris.page("/campaigns/offshore")
    assert "Planned one" in editor_page and "Draft one" in editor_page and "Edit the campaign" in editor_page
    assert emma.get("/campaigns/nope").status_code == 404
    # a new item can start in the campaign
    assert f'<option value="{campaign.id}" selected>' in joris.page("/editor/items/new?campaign=offshore")


# -- in a real browser ---------------------------------------------------------------------

def test_the_editor_in_a_browser(make_app, web, chromium):
    """Start from a page address, watch the preview and the counters follow
    the typing, add and remove a variant, save, then pin from the library
    and search it, all without a page reload where htmx does the work."""
    from playwright.sync_api import expect

    from helpers.browser import DESKTOP_CHROME, ConsoleLog, serve

    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=True)

    with serve(build) as (base, app):
        make_person("joris", display_name="Joris van Dijk", role="editor")
        make_item("An older item", url="https://www.example.com/older")
        page_url = web.serve("/nieuws/windpark", PAGE.replace("/images/turbine.jpg", base + "/static/favicon.svg"),
                             content_type="text/html; charset=utf-8")
        context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, locale="en-GB",
                                       viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        console = ConsoleLog(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_role("button", name=re.compile("Joris van Dijk")).click()
        expect(page.get_by_role("heading", name="Share what we are proud of")).to_be_visible()

        page.goto("/editor/")
        page.get_by_label("New item from a page").fill(page_url)
        page.get_by_role("button", name="Start").click()
        title = page.get_by_label("Title", exact=True)
        expect(title).to_have_value("Windpark Noordzee-Oost: eerste stroom & feest")
        expect(page.get_by_label("Summary")).to_have_value("De eerste turbine draait.")
        linkedin = page.locator(".lp-linkedin .lp-title")
        expect(linkedin).to_have_text("Windpark Noordzee-Oost: eerste stroom & feest")
        expect(page.locator(".lp-linkedin .lp-host")).to_have_text("127.0.0.1")

        title.fill("Windpark <b>Noordzee-Oost</b> draait")
        expect(linkedin).to_have_text("Windpark <b>Noordzee-Oost</b> draait")  # live, and as text

        caption = page.get_by_label("Default text")
        x_counter = page.locator("#f-caption ~ .counters [data-counter=x]")
        caption.fill("w" * 256)
        expect(x_counter).to_have_text("X: 280/280")
        expect(x_counter).not_to_have_class(re.compile("over"))
        caption.press("End")
        caption.type("!")
        expect(x_counter).to_have_text("X: 281/280")
        expect(x_counter).to_have_class(re.compile("over"))
        caption.fill("Proud of our first turbine")

        page.locator("#f-captions-x summary").click()
        page.locator("#f-captions-x").get_by_role("button", name="Add a variant").click()
        variants = page.locator("textarea[name=captions-x]")
        expect(variants).to_have_count(2)
        variants.nth(0).fill("First for X")
        variants.nth(1).fill("Second for X, a bit longer")
        expect(page.locator("#f-captions-x .variant").nth(1).locator("[data-counter]")).to_have_text("X: 50/280")
        expect(page.locator(".lp-x .lp-post")).to_contain_text("First for X")
        page.locator("#f-captions-x .variant").nth(0).get_by_role("button", name="Remove").click()
        expect(variants).to_have_count(1)
        expect(page.locator(".lp-x .lp-post")).to_contain_text("Second for X")

        page.get_by_label("Published").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash")).to_contain_text("Saved")
        item = Item.get(Item.url == page_url)
        assert item.title == "Windpark <b>Noordzee-Oost</b> draait"
        assert item.captions == {"x": ["Second for X, a bit longer"]}
        assert item.status == "published"

        page.goto("/editor/")
        page.evaluate("window.__notReloaded = true")
        row = page.locator(f"#row-{item.id}")
        row.get_by_role("button", name="Pin", exact=True).click()
        expect(row.get_by_role("button", name="Unpin")).to_be_visible()
        assert Item.get_by_id(item.id).pinned
        page.get_by_label("Search").fill("older")
        expect(page.locator("#results td.title a")).to_have_text(["An older item"])
        page.get_by_role("link", name=re.compile("^Archived")).click()
        expect(page.locator("#results .empty")).to_be_visible()
        assert page.evaluate("window.__notReloaded") is True
        assert "q=older" in page.url and "state=archived" in page.url

        assert console.messages == []
        assert ConsoleLog.csp_violations(page) == []
        context.close()


def test_a_suggestion_becomes_a_draft_and_the_library_answers_in_a_browser(make_app, web, chromium):
    """Approving a colleague's suggestion lands the editor in the item editor
    on a draft, its address kept and the blank fields filled in from the
    page; it is not on the share page until published. A refused save puts
    the focus on the error summary; the prefill message leaves when the
    address changes. The library's actions say what they did, keep the
    focus in the row and update the tab counts."""
    from playwright.sync_api import expect

    from helpers.browser import DESKTOP_CHROME, ConsoleLog, serve
    from intranet_plugin.models import Suggestion

    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=True)

    with serve(build) as (base, app):
        emma = make_person("emma", display_name="Emma de Vries")
        make_person("joris", display_name="Joris van Dijk", role="editor")
        page_url = web.serve("/nieuws/windpark", PAGE.replace("/images/turbine.jpg", base + "/static/favicon.svg"),
                             content_type="text/html; charset=utf-8")
        Suggestion.create(person=emma, url=page_url, title="Our wind farm is running", kind="news",
                          caption="Proud of my colleagues!")
        context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, locale="en-GB",
                                       viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        console = ConsoleLog(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_role("button", name=re.compile("Joris van Dijk")).click()
        expect(page.get_by_role("heading", name="Share what we are proud of")).to_be_visible()

        page.goto("/editor/suggestions")
        page.get_by_label("Hashtags").fill("wind, #energy")
        page.get_by_role("button", name="Approve and open as a draft").click()
        item = Item.get()
        expect(page).to_have_url(re.compile(rf"/editor/items/{item.id}\?prefill=1$"))
        expect(page.locator(".flash")).to_contain_text("is a draft now")
        expect(page.get_by_label("Address of the page")).to_have_value(page_url)
        expect(page.get_by_label("Title", exact=True)).to_have_value("Our wind farm is running")  # the colleague's
        expect(page.get_by_label("Summary")).to_have_value("De eerste turbine draait.")  # from the page
        expect(page.get_by_label("Hashtags")).to_have_value("#wind #energy")
        expect(page.get_by_label("Default text")).to_have_value("Proud of my colleagues!")
        expect(page.get_by_label("Draft")).to_be_checked()
        assert (item.status, item.suggested_by_id) == ("draft", emma.id)
        page.goto("/")
        expect(page.get_by_role("heading", name="Share what we are proud of")).to_be_visible()
        expect(page.locator(f"#item-{item.id}")).to_have_count(0)

        page.goto(f"/editor/items/{item.id}?prefill=1")
        message = page.locator("[data-prefill-message]")
        expect(message).to_have_text("The empty fields were filled in from the page: check them.")
        page.get_by_label("Address of the page").fill(page_url + "?v=2")
        expect(message).to_have_count(0)
        page.get_by_label("Address of the page").fill(page_url)
        page.get_by_label("Title", exact=True).fill("")
        page.get_by_label("Title", exact=True).evaluate("el => el.removeAttribute('required')")
        page.get_by_role("button", name="Save", exact=True).click()
        summary = page.locator(".form-errors")
        expect(summary).to_contain_text("Nothing was saved.")
        expect(summary).to_be_focused()

        page.get_by_label("Title", exact=True).fill("Our wind farm is running")
        page.get_by_label("Published").check()
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".flash")).to_contain_text("Saved")
        page.goto("/")
        expect(page.locator(f"#item-{item.id}")).to_be_visible()

        page.goto("/editor/")
        page.evaluate("window.__notReloaded = true")
        archived_tab = page.locator("#library-tabs a", has_text="Archived").locator(".n")
        expect(archived_tab).to_have_text("0")
        row = page.locator(f"#row-{item.id}")
        row.get_by_role("button", name="Pin", exact=True).click()
        status = page.locator("#library-status")
        expect(status).to_have_text("Pinned: “Our wind farm is running” now shows first on the share page.")
        expect(row.get_by_role("button", name="Unpin")).to_be_focused()
        row.get_by_role("button", name="Archive").click()
        expect(status).to_have_text("Archived: “Our wind farm is running”.")
        expect(archived_tab).to_have_text("1")
        expect(row.get_by_role("button", name="Restore")).to_be_focused()
        assert page.evaluate("window.__notReloaded") is True

        # the refused save answered 400 on purpose; nothing else went wrong
        assert [m for m in console.messages if "status of 400 (BAD REQUEST)" not in m] == []
        assert ConsoleLog.csp_violations(page) == []
        context.close()
