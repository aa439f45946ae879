"""The programme: guidelines, joining and leaving with preferences, and
colleagues' suggestions with their review. Forms are posted as a browser
would, with the CSRF token read from the page."""

import datetime
import html as htmllib
import re
from urllib.parse import urlsplit

import pytest

from helpers import BROWSER, counting, impact_of, make_item, make_person, store_click
from helpers.pages import Page
from intranet_plugin.content.sharing import share_token
from intranet_plugin.models import (
    AuditLog,
    Click,
    Item,
    Person,
    Setting,
    ShareEvent,
    Suggestion,
    TrackedLink,
)


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


class Visitor:
    """A signed-in browser: pages are read, forms are posted with the
    page's CSRF token."""

    def __init__(self, app, username):
        self.client = app.test_client()
        self.client.environ_base["HTTP_USER_AGENT"] = BROWSER
        token = self.token("/login")
        response = self.client.post("/login", data={"username": username, "csrf_token": token})
        assert response.status_code == 302, response.data

    def token(self, path="/"):
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def page(self, path):
        response = self.client.get(path)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    def submit(self, page, action, data):
        """Post ``data`` to the form with ``action`` found on ``page``."""
        html = self.page(page)
        assert f'action="{action}"' in html, f"no form posting to {action} on {page}"
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        return self.client.post(action, data={**data, "csrf_token": token})


def location(response):
    return urlsplit(response.headers["Location"]).path


def share_links(html):
    return dict(re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', html))


def fresh(person):
    return Person.get_by_id(person.id)


JOIN_CHOICES = {"agree": "yes", "networks": ["linkedin", "x"], "kinds": ["vacancy"], "digest": "weekly",
                "instant_alerts": "yes", "language": "en"}


# -- joining and leaving ------------------------------------------------------

def test_join_and_leave_round_trip(csrf_app):
    sanne = make_person("sanne", display_name="Sanne Jansen", joined_at=None)
    item = make_item("Wind farm opens")
    browser = Visitor(csrf_app, "sanne")

    share_page = browser.page("/")
    assert 'class="join-banner"' in share_page and 'href="/join"' in share_page
    assert "Join the ambassador programme" in share_page
    assert share_links(share_page) == {}
    assert "Sharing is for members of the programme." in share_page

    join_page = browser.page("/join")
    assert "Our social-media policy" in join_page  # the guidelines come first
    assert re.search(r'name="agree" value="yes" required', join_page)
    # every network and kind is ticked, the leaderboard is not
    assert len(re.findall(r'name="networks" value="\w+" checked', join_page)) == 10
    assert len(re.findall(r'name="kinds" value="\w+" checked', join_page)) == 3
    assert not re.search(r'name="show_on_leaderboard" value="yes" checked', join_page)

    refused = browser.submit("/join", "/join", {**JOIN_CHOICES, "agree": ""})
    assert refused.status_code == 400
    assert "Please confirm that you have read the guidelines" in refused.get_data(as_text=True)
    assert fresh(sanne).joined_at is None

    response = browser.submit("/join", "/join", JOIN_CHOICES)
    assert response.status_code == 302 and location(response) == "/"
    joined = fresh(sanne)
    assert joined.joined_at is not None and joined.left_at is None
    assert (joined.networks, joined.kinds, joined.digest, joined.instant_alerts, joined.locale,
            joined.show_on_leaderboard) == (["linkedin", "x"], ["vacancy"], "weekly", True, "en", False)
    assert AuditLog.get(AuditLog.action == "join").actor_id == sanne.id
    assert Person.members().where(Person.id == sanne.id).exists()

    share_page = browser.page("/")
    assert 'class="join-banner"' not in share_page and "Welcome to the programme!" in share_page
    links = share_links(share_page)
    assert set(links) == {"linkedin", "x", "link", "device"}
    assert browser.get(links["linkedin"]).status_code == 303
    link = TrackedLink.get()
    store_click(link, link.created_at, visitor="v" * 32)

    prefs = browser.page("/preferences")
    assert re.search(r'name="networks" value="x" checked', prefs)
    assert not re.search(r'name="networks" value="facebook" checked', prefs)
    response = browser.submit("/preferences", "/preferences",
                              {"networks": ["linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon",
                                            "telegram", "whatsapp", "email"],
                               "kinds": ["news", "vacancy", "blog"], "digest": "off", "language": "en",
                               "show_on_leaderboard": "yes"})
    assert response.status_code == 302 and location(response) == "/preferences"
    changed = fresh(sanne)
    # everything chosen is stored as "all"
    assert (changed.networks, changed.kinds, changed.digest, changed.show_on_leaderboard) == ([], [], "off", True)
    assert len(share_links(browser.page("/"))) == 12  # every network, the copy link and the share sheet

    # leaving is a POST with the page's token; a forged one changes nothing
    forged = browser.client.post("/leave", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and fresh(sanne).has_joined
    response = browser.submit("/preferences", "/leave", {})
    assert response.status_code == 302 and location(response) == "/"
    left = fresh(sanne)
    assert left.joined_at is None and left.left_at is not None
    assert (left.digest, left.instant_alerts, left.show_on_leaderboard) == ("off", False, False)
    assert not Person.members().where(Person.id == sanne.id).exists()
    assert AuditLog.select().where(AuditLog.action == "leave").count() == 1
    # past figures stay in the programme's totals
    assert ShareEvent.select().count() == 1 and Click.select().count() == 1
    assert impact_of(left) == {"shares": 1, "clicks": 1, "visitors": 1}
    assert Item.get_by_id(item.id).status == "published"

    share_page = browser.page("/")
    assert "left the programme" in share_page and "Welcome back!" in share_page
    assert share_links(share_page) == {}
    assert location(browser.get("/preferences")) == "/join"


def test_joining_needs_a_network_and_a_kind(csrf_app):
    sanne = make_person("sanne", joined_at=None)
    browser = Visitor(csrf_app, "sanne")
    response = browser.submit("/join", "/join", {**JOIN_CHOICES, "networks": [], "kinds": ["nonsense"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose at least one network." in html and "Choose at least one kind of content." in html
    # what was filled in is kept
    assert re.search(r'name="instant_alerts" value="yes" checked', html)
    assert fresh(sanne).joined_at is None


def test_preferences_refuse_bad_choices_and_keep_the_old_ones(csrf_app):
    emma = make_person("emma", networks=["linkedin"])
    browser = Visitor(csrf_app, "emma")
    response = browser.submit("/preferences", "/preferences", {"networks": [], "kinds": ["news"],
                                                               "digest": "daily", "language": "xx"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Choose whether you want the weekly digest." in html and "Choose a language." in html
    assert fresh(emma).networks == ["linkedin"]


def test_not_joined_person_cannot_record_a_share(app, client):
    sanne = make_person("sanne", joined_at=None)
    item = make_item("Wind farm opens")
    client.post("/login", data={"username": "sanne"})
    with app.test_request_context():
        web = share_token(sanne.id, item.id, "linkedin")
        email = share_token(sanne.id, item.id, "x", source="digest")
    response = client.get(f"/share/{web}")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "Sharing is for members of the ambassador programme." in html and 'href="/join"' in html
    assert client.get(f"/share/{email}").status_code == 403
    assert client.get(f"/share/{web}", headers={"HX-Request": "true"}).status_code == 403  # copy link
    assert ShareEvent.select().count() == 0 and TrackedLink.select().count() == 0


def test_someone_who_left_cannot_share_from_an_old_digest(app, client):
    emma = make_person("emma", joined_at=None, left_at=datetime.datetime(2026, 1, 5))
    item = make_item("Wind farm opens")
    with app.test_request_context():
        token = share_token(emma.id, item.id, "linkedin", source="digest")
    assert client.get(f"/share/{token}").status_code == 403
    assert ShareEvent.select().count() == 0


@pytest.mark.parametrize("chosen,shown", [
    (["linkedin", "whatsapp"], {"linkedin", "whatsapp", "link", "device"}),
    ([], {"linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon", "telegram", "whatsapp", "email",
          "link", "device"}),
    (["myspace"], {"linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon", "telegram", "whatsapp",
                   "email", "link", "device"}),
])
def test_network_choice_filters_the_buttons(app, client, chosen, shown):
    make_person("emma", networks=chosen)
    item = make_item("Wind farm opens")
    client.post("/login", data={"username": "emma"})
    assert set(share_links(client.get("/").get_data(as_text=True))) == shown
    assert set(share_links(client.get(f"/items/{item.id}/card").get_data(as_text=True))) == shown


def test_counters_follow_the_chosen_networks(client):
    make_person("emma", networks=["linkedin", "facebook"])
    make_item("Wind farm opens")
    client.post("/login", data={"username": "emma"})
    html = client.get("/").get_data(as_text=True)
    assert 'data-counter="linkedin"' in html and 'data-counter="x"' not in html


# -- guidelines ----------------------------------------------------------------

def test_guidelines_have_a_default_text(client):
    make_person("emma")
    client.post("/login", data={"username": "emma"})
    html = client.get("/guidelines").get_data(as_text=True)
    headings = Page(html).headings
    for heading in ("Our social-media policy", "Brand rules", "Do", "Don't", "Questions? Your programme contact"):
        assert heading in headings, headings
    assert "Edit the guidelines" not in html  # admins only


HOSTILE = """## Our rules

<script>alert("script")</script>
Be kind. [Policy](https://intranet.example.com/policy) and [evil](javascript:alert('link'))
[also evil](JaVaScRiPt:alert(2)) [mail us](mailto:comms@example.com)

<img src="x" onerror="alert('img')"> <a href="#" onclick="alert('a')">click</a>
<iframe src="https://evil.example"></iframe><style>body{display:none}</style>
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
"""


def assert_inert(html):
    assert "<script>alert" not in html and 'alert("script")' not in html
    assert "javascript:" not in html.lower()
    assert "onerror" not in html and "onclick" not in html
    assert "<iframe" not in html and "<style>body" not in html and "data:text/html" not in html


def test_admin_writes_guidelines_in_markdown_rendered_safely(csrf_app):
    make_person("anouk", display_name="Anouk Bakker", role="admin")
    make_person("emma")
    admin = Visitor(csrf_app, "anouk")
    edit = admin.page("/admin/guidelines")
    assert "## Our social-media policy" in edit  # starts from the default text
    response = admin.submit("/admin/guidelines", "/admin/guidelines", {
        "guidelines": HOSTILE,
        "contact": "Anouk Bakker, [anouk@example.com](mailto:anouk@example.com) <img src=x onerror=alert(1)>"})
    assert response.status_code == 302 and location(response) == "/guidelines"
    assert Setting.get_value("guidelines_markdown.en").startswith("## Our rules")
    assert AuditLog.get(AuditLog.action == "update").target_type == "setting"

    html = Visitor(csrf_app, "emma").page("/guidelines")
    assert "<h2>Our rules</h2>" in html
    assert '<a href="https://intranet.example.com/policy" rel="noopener noreferrer">Policy</a>' in html
    assert '<a href="mailto:comms@example.com" rel="noopener noreferrer">mail us</a>' in html
    assert 'href="mailto:anouk@example.com"' in html
    assert "Our social-media policy" not in html
    assert_inert(html)


def test_live_preview_is_sanitised_too(csrf_app):
    make_person("anouk", role="admin")
    admin = Visitor(csrf_app, "anouk")
    page = admin.page("/admin/guidelines")
    assert 'hx-post="/admin/guidelines/preview"' in page
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = admin.client.post("/admin/guidelines/preview", data={"guidelines": HOSTILE, "contact": ""},
                                 headers={"HX-Request": "true", "HX-Target": "preview", "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "<h2>Our rules</h2>" in html
    assert_inert(html)
    assert Setting.get_value("guidelines_markdown.en") == ""  # a preview saves nothing


def test_saving_the_untouched_default_keeps_it_translatable(csrf_app):
    make_person("anouk", role="admin")
    admin = Visitor(csrf_app, "anouk")
    default = re.search(r'<textarea id="guidelines"[^>]*>(.*?)</textarea>', admin.page("/admin/guidelines"),
                        re.S).group(1)
    admin.submit("/admin/guidelines", "/admin/guidelines",
                 {"guidelines": htmllib.unescape(default).replace("\n", "\r\n"), "contact": "Anouk"})
    assert Setting.get_value("guidelines_markdown.en") == ""
    assert Setting.get_value("programme_contact") == "Anouk"


def test_guidelines_are_written_per_language_and_fall_back_to_the_default_language(csrf_app):
    make_person("anouk", role="admin", locale="en")
    make_person("emma", locale="en")
    make_person("sanne", locale="nl")
    admin = Visitor(csrf_app, "anouk")
    dutch_tab = admin.page("/admin/guidelines?language=nl")
    assert '<input type="hidden" name="language" value="nl">' in dutch_tab
    assert 'href="/admin/guidelines?language=en"' in dutch_tab
    assert "No text of its own for Nederlands yet" in dutch_tab

    admin.submit("/admin/guidelines?language=en", "/admin/guidelines",
                 {"guidelines": "## Our rules\n\nBe kind.", "contact": "Anouk", "language": "en"})
    assert "<h2>Our rules</h2>" in Visitor(csrf_app, "emma").page("/guidelines")
    assert "<h2>Our rules</h2>" in Visitor(csrf_app, "sanne").page("/guidelines")  # the default language's
    # The Dutch tab offers the English text as a start; saved unchanged, it keeps following it.
    start = re.search(r'<textarea id="guidelines"[^>]*>(.*?)</textarea>', admin.page("/admin/guidelines?language=nl"),
                      re.S).group(1)
    assert htmllib.unescape(start) == "## Our rules\n\nBe kind."
    admin.submit("/admin/guidelines?language=nl", "/admin/guidelines",
                 {"guidelines": "## Our rules\r\n\r\nBe kind.", "contact": "Anouk", "language": "nl"})
    assert Setting.get_value("guidelines_markdown.nl") == ""

    admin.submit("/admin/guidelines?language=nl", "/admin/guidelines",
                 {"guidelines": "## Onze regels\n\nWees vriendelijk.", "contact": "Anouk", "language": "nl"})
    assert "<h2>Onze regels</h2>" in Visitor(csrf_app, "sanne").page("/guidelines")
    assert "<h2>Our rules</h2>" in Visitor(csrf_app, "emma").page("/guidelines")
    assert "No text of its own" not in admin.page("/admin/guidelines?language=nl")
    assert "Onze regels" in admin.page("/admin/guidelines?language=nl")

    refused = admin.submit("/admin/guidelines", "/admin/guidelines",
                           {"guidelines": "## Hacked", "contact": "", "language": "xx"})
    assert refused.status_code == 400 and "Choose a language." in refused.get_data(as_text=True)
    assert "Onze regels" in Setting.get_value("guidelines_markdown.nl")
    assert Setting.get_value("programme_contact") == "Anouk"


def test_too_long_guidelines_are_refused_and_nothing_is_saved(csrf_app):
    make_person("anouk", role="admin")
    admin = Visitor(csrf_app, "anouk")
    response = admin.submit("/admin/guidelines", "/admin/guidelines", {"guidelines": "x" * 50_001, "contact": ""})
    assert response.status_code == 400
    assert "The guidelines are too long" in response.get_data(as_text=True)
    assert Setting.select().count() == 0


# -- roles -----------------------------------------------------------------------

@pytest.mark.parametrize("username,role", [("emma", "employee"), ("joris", "editor")])
def test_admin_pages_are_for_admins(csrf_app, username, role):
    make_person(username, role=role)
    visitor = Visitor(csrf_app, username)
    token = visitor.token()
    assert visitor.get("/admin/guidelines").status_code == 403
    for path in ("/admin/guidelines", "/admin/guidelines/preview"):
        response = visitor.client.post(path, data={"guidelines": "hacked", "contact": "x", "csrf_token": token})
        assert response.status_code == 403
    assert Setting.select().count() == 0


def test_review_pages_are_for_editors(csrf_app):
    emma = make_person("emma")
    suggestion = Suggestion.create(person=emma, url="https://www.example.com/a", title="A")
    visitor = Visitor(csrf_app, "emma")
    token = visitor.token()
    assert visitor.get("/editor/suggestions").status_code == 403
    for decision in ("approve", "reject"):
        response = visitor.client.post(f"/editor/suggestions/{suggestion.id}", data={
            "decision": decision, "title": "Mine now", "kind": "news", "review_note": "no",
            "csrf_token": token})
        assert response.status_code == 403
    assert Suggestion.get_by_id(suggestion.id).status == "pending" and Item.select().count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in ("/guidelines", "/join", "/preferences", "/suggest", "/suggestions", "/editor/suggestions",
                 "/admin/guidelines"):
        response = client.get(path)
        assert response.status_code == 302 and location(response) == "/login", path


# -- suggestions ------------------------------------------------------------------

def suggest(visitor, **fields):
    data = {"url": "https://www.example.com/blog/heat-pumps?utm_source=newsletter", "title": "Heat pumps",
            "kind": "blog", "caption": "My colleagues explain heat pumps, worth a read!",
            "note": "Saw this on the blog"}
    data.update(fields)
    return visitor.submit("/suggest", "/suggest", data)


def test_suggestion_approved_with_edits_credits_the_colleague(csrf_app):
    emma = make_person("emma", display_name="Emma de Vries", department="Engineering")
    joris = make_person("joris", display_name="Joris van Dijk", role="editor")
    colleague = Visitor(csrf_app, "emma")
    response = suggest(colleague)
    assert response.status_code == 302 and location(response) == "/suggestions"
    mine = colleague.page("/suggestions")
    assert "Heat pumps" in mine and "Waiting for review" in mine
    suggestion = Suggestion.get()
    assert (suggestion.person_id, suggestion.status, suggestion.kind) == (emma.id, "pending", "blog")

    editor = Visitor(csrf_app, "joris")
    queue = editor.page("/editor/suggestions")
    assert "Suggested by Emma de Vries" in queue and "Saw this on the blog" in queue
    assert "My colleagues explain heat pumps" in queue
    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}", {
        "decision": "approve", "title": "Heat pumps, explained by our engineers", "kind": "news",
        "summary": "How a heat pump works, in five minutes.", "caption": "Heat pumps, explained!",
        "hashtags": "#heatpump", "review_note": "Great find, thanks!"})
    # the editor lands on the new draft in the item editor, to finish and publish it
    item = Item.get()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/editor/items/{item.id}?prefill=1")
    assert (item.title, item.kind, item.summary, item.caption, item.hashtags, item.status) == (
        "Heat pumps, explained by our engineers", "news", "How a heat pump works, in five minutes.",
        "Heat pumps, explained!", "#heatpump", "draft")
    assert item.url == suggestion.url and item.suggested_by_id == emma.id and item.created_by_id == joris.id
    suggestion = Suggestion.get_by_id(suggestion.id)
    assert (suggestion.status, suggestion.item_id, suggestion.reviewer_id) == ("approved", item.id, joris.id)
    assert {a.action for a in AuditLog.select().where(AuditLog.actor == joris)} == {"approve", "create"}
    share_page = colleague.page("/")
    assert "Your suggestion “Heat pumps” is approved." in share_page
    assert "An editor is getting it ready" in share_page and f"#item-{item.id}" not in share_page
    Suggestion.update(seen_at=None).execute()  # told again below, once it is published
    item.status = "published"
    item.save()

    # deciding twice creates nothing more
    again = editor.client.post(f"/editor/suggestions/{suggestion.id}", data={
        "decision": "approve", "title": "Twice", "kind": "news", "csrf_token": editor.token()})
    assert again.status_code == 302 and Item.select().count() == 1
    assert "already been reviewed" in editor.page("/editor/suggestions")

    share_page = colleague.page("/")
    assert "Your suggestion “Heat pumps” is approved." in share_page
    assert "Great find, thanks!" in share_page
    assert f"#item-{item.id}" in share_page
    assert "Suggested by Emma de Vries" in share_page  # on the card
    assert Suggestion.get_by_id(suggestion.id).seen_at is not None
    # told once; the credit stays
    share_page = colleague.page("/")
    assert "is approved" not in share_page and "Suggested by Emma de Vries" in share_page
    mine = colleague.page("/suggestions")
    assert "Approved" in mine and f"#item-{item.id}" in mine and "Great find, thanks!" in mine
    # other people see the credit too
    assert "Suggested by Emma de Vries" in editor.page("/")


def test_approved_hashtags_follow_the_editors_rule(csrf_app):
    """An approved suggestion's hashtags pass the item editor's check: a
    word that is no hashtag is refused with the reason, and the ones that
    are land as the editor would save them."""
    make_person("emma")
    make_person("joris", role="editor")
    colleague, editor = Visitor(csrf_app, "emma"), Visitor(csrf_app, "joris")
    suggest(colleague)
    suggestion = Suggestion.get()
    fields = {"decision": "approve", "title": "Heat pumps", "kind": "news", "summary": "", "caption": "",
              "review_note": ""}
    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}",
                             {**fields, "hashtags": "heat pump! <b>"})
    assert response.status_code == 400
    assert "Hashtags may contain only letters, digits and _: pump!, &lt;b&gt;" in response.get_data(as_text=True)
    assert Item.select().count() == 0 and Suggestion.get_by_id(suggestion.id).status == "pending"
    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}",
                             {**fields, "hashtags": "heatpump, #Energy heatpump"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/editor/items/{Item.get().id}?prefill=1")
    assert Item.get().hashtags == "#heatpump #Energy"


def test_htmx_approval_is_sent_to_the_draft_in_the_editor(csrf_app):
    emma = make_person("emma")
    make_person("joris", role="editor")
    suggestion = Suggestion.create(person=emma, url="https://www.example.com/news/a", title="A")
    editor = Visitor(csrf_app, "joris")
    token = editor.token()
    response = editor.client.post(f"/editor/suggestions/{suggestion.id}", headers={"HX-Request": "true"},
                                  data={"decision": "approve", "title": "A", "kind": "news", "csrf_token": token})
    item = Item.get()
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(
        f"/editor/items/{item.id}?prefill=1")
    assert item.status == "draft"


def test_suggestion_rejected_with_a_note(csrf_app):
    make_person("emma")
    make_person("joris", display_name="Joris van Dijk", role="editor")
    colleague, editor = Visitor(csrf_app, "emma"), Visitor(csrf_app, "joris")
    suggest(colleague, title="Our canteen menu")
    suggestion = Suggestion.get()

    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}",
                             {"decision": "reject", "title": "Our canteen menu", "kind": "news", "review_note": ""})
    assert response.status_code == 400
    assert "Write a short note for Emma" in response.get_data(as_text=True)
    assert Suggestion.get_by_id(suggestion.id).status == "pending"

    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}", {
        "decision": "reject", "title": "Our canteen menu", "kind": "news",
        "review_note": "Lovely, but internal only: the menu is not for the public."})
    assert response.status_code == 302
    suggestion = Suggestion.get_by_id(suggestion.id)
    assert suggestion.status == "rejected" and suggestion.item_id is None and Item.select().count() == 0
    assert AuditLog.get(AuditLog.action == "reject").target_id == suggestion.id
    assert "Not taken up" in editor.page("/editor/suggestions")

    share_page = colleague.page("/")
    assert "Your suggestion “Our canteen menu” is not taken up." in share_page
    assert "the menu is not for the public." in share_page and "Joris van Dijk" in share_page
    assert "not taken up" not in colleague.page("/")
    mine = colleague.page("/suggestions")
    assert "Not taken up" in mine and "the menu is not for the public." in mine


def test_outcome_is_not_lost_on_a_fragment_request(client):
    emma = make_person("emma")
    Suggestion.create(person=emma, url="https://www.example.com/a", title="A", status="rejected",
                      review_note="No", reviewed_at=datetime.datetime(2026, 1, 1))
    client.post("/login", data={"username": "emma"})
    client.get("/?q=x", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "is not taken up" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("url", [
    "http://example.com/news/wind-farm/?utm_campaign=spring&fbclid=1#top",
    "https://WWW.EXAMPLE.COM/news/wind-farm",
])
def test_duplicate_of_an_existing_item_is_refused(csrf_app, url):
    make_person("emma")
    make_item("Wind farm opens", url="https://www.example.com/news/wind-farm", status="archived")
    response = suggest(Visitor(csrf_app, "emma"), url=url)
    assert response.status_code == 400
    assert "This link is already in the library: “Wind farm opens”." in response.get_data(as_text=True)
    assert Suggestion.select().count() == 0


def test_duplicate_of_a_pending_suggestion_is_refused(csrf_app):
    make_person("emma")
    make_person("sanne")
    assert suggest(Visitor(csrf_app, "emma")).status_code == 302
    response = suggest(Visitor(csrf_app, "sanne"), url="https://example.com/blog/heat-pumps/")
    assert response.status_code == 400
    assert "already been suggested and is waiting" in response.get_data(as_text=True)
    assert Suggestion.select().count() == 1


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/file", "www.example.com/a", ""])
def test_only_web_addresses_can_be_suggested(csrf_app, url):
    make_person("emma")
    response = suggest(Visitor(csrf_app, "emma"), url=url)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter a web address that starts with http:// or https://." in html
    assert "Heat pumps" in html  # what was typed is kept
    assert Suggestion.select().count() == 0


def test_approving_a_link_that_meanwhile_became_an_item_is_refused(csrf_app):
    emma = make_person("emma")
    make_person("joris", role="editor")
    suggestion = Suggestion.create(person=emma, url="https://www.example.com/news/a", title="A")
    make_item("Already here", url="https://www.example.com/news/a?utm_source=feed")
    editor = Visitor(csrf_app, "joris")
    response = editor.submit("/editor/suggestions", f"/editor/suggestions/{suggestion.id}",
                             {"decision": "approve", "title": "A", "kind": "news"})
    assert response.status_code == 400
    assert "already in the library: “Already here”" in response.get_data(as_text=True)
    assert Suggestion.get_by_id(suggestion.id).status == "pending" and Item.select().count() == 1


def test_suggested_content_is_escaped_for_the_editor(csrf_app):
    emma = make_person("emma", display_name="<b>Emma</b>")
    make_person("joris", role="editor")
    Suggestion.create(person=emma, url="https://www.example.com/x", title="<script>alert(1)</script>",
                      caption="<img src=x onerror=alert(2)>", note="</textarea><script>alert(3)</script>")
    html = Visitor(csrf_app, "joris").page("/editor/suggestions")
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>Emma</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_suggested_by_costs_one_query_for_the_whole_page(client):
    make_person("viewer")
    client.post("/login", data={"username": "viewer"})
    make_item("Suggested 0", suggested_by=make_person("colleague0"))
    client.get("/")
    with counting() as one:
        assert "Suggested by Colleague0" in client.get("/").get_data(as_text=True)
    for n in range(1, 6):
        make_item(f"Suggested {n}", suggested_by=make_person(f"colleague{n}"))
        make_item(f"Editor's pick {n}")
    with counting() as many:
        html = client.get("/").get_data(as_text=True)
    assert html.count("Suggested by Colleague") == 6
    assert len(many) == len(one), many


# -- in a real browser ---------------------------------------------------------------

@pytest.fixture
def site(make_app):
    from helpers.browser import serve

    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base, WTF_CSRF_ENABLED=True)) as (base, app):
        with app.app_context():
            make_person("sanne", display_name="Sanne Jansen", joined_at=None)
            make_person("anouk", display_name="Anouk Bakker", role="admin")
            make_item("Wind farm opens")
        yield base


def browser_page(chromium, base, name):
    from playwright.sync_api import expect

    from helpers.browser import DESKTOP_CHROME, ConsoleLog

    context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME)
    context.set_default_timeout(10_000)
    console = ConsoleLog(context)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("button", name=re.compile(name)).click()
    expect(page.get_by_role("heading", name="Share what we are proud of")).to_be_visible()
    return context, page, console


def test_joining_in_the_browser(chromium, site):
    from playwright.sync_api import expect

    context, page, console = browser_page(chromium, site, "Sanne Jansen")
    card = page.locator("article.card")
    expect(card.locator("[data-share-network]")).to_have_count(0)
    page.locator(".join-banner").get_by_role("link", name="Join the programme").click()
    expect(page.get_by_role("heading", name="Our social-media policy")).to_be_visible()
    page.get_by_label("Facebook").uncheck()
    page.get_by_label("XING").uncheck()
    # the browser itself insists on the agreement
    page.get_by_role("button", name="Join the programme").click()
    expect(page).to_have_url(f"{site}/join")
    page.get_by_label("I have read the guidelines and will follow them.").check()
    page.get_by_role("button", name="Join the programme").click()
    expect(page.get_by_text("Welcome to the programme!")).to_be_visible()
    expect(page.locator(".join-banner")).to_have_count(0)
    networks = card.locator("[data-share-network]").evaluate_all("els => els.map(e => e.dataset.shareNetwork)")
    assert networks == ["linkedin", "x", "bluesky", "threads", "mastodon", "telegram", "whatsapp", "email", "link",
                        "device"]
    assert console.messages == [] and console.csp_violations(page) == []
    context.close()


def test_live_preview_in_the_browser(chromium, site):
    from playwright.sync_api import expect

    context, page, console = browser_page(chromium, site, "Anouk Bakker")
    page.goto("/admin/guidelines")
    page.get_by_label("Guidelines", exact=True).fill("## Be yourself\n\n<img src=x onerror=alert(1)> **Always**")
    preview = page.locator("#preview")
    expect(preview.get_by_role("heading", name="Be yourself")).to_be_visible()
    expect(preview.locator("strong")).to_have_text("Always")
    assert "onerror" not in preview.inner_html()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The guidelines are saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Be yourself")).to_be_visible()
    assert [m for m in console.messages if "/x" not in m] == [] and console.csp_violations(page) == []
    context.close()
