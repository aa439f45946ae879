"""Feeds: importing RSS and Atom served over loopback HTTP, what a broken or
hostile feed can and cannot do, the command line and the admin page."""

import datetime
import os
import re

import pytest

from helpers import login, make_campaign, make_item, make_person
from helpers.feedserver import FEEDS, FeedServer
from intranet_plugin.content.feeds import add_feed, import_all, import_feed
from intranet_plugin.models import AuditLog, Feed, Item, utcnow


@pytest.fixture
def server():
    with FeedServer() as feed_server:
        yield feed_server


@pytest.fixture
def app(make_app):
    # The feeds are served on 127.0.0.1, so this app may fetch from it.
    return make_app(FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=1, FETCH_MAX_BYTES=100_000)


def new_feed(app, url, kind="news", **options):
    with app.app_context():
        return add_feed(url, kind, **options)


def run(app, feed, now=None):
    with app.app_context():
        return import_feed(Feed.get_by_id(feed.id), now)


JOBS = "https://careers.northwind.example/jobs/"
HOSTILE = "https://hostile.example/news/"


def titles(html):
    return re.findall(r'<h2><a [^>]*>([^<]+)</a></h2>', html)


def item(key):
    """An item by GUID or link."""
    return Item.get((Item.guid == key) | (Item.url == key))


# -- importing ------------------------------------------------------------------

def test_rss_import(app, server):
    url = server.serve("/news.rss", "news.rss")
    spring = make_campaign("spring")
    feed = new_feed(app, url, campaign_slug="spring")
    result = run(app, feed)
    assert (result.ok, result.new, result.updated, result.expired) == (True, 3, 0, 0)

    wind = item("news-101")
    assert wind.title == "Offshore wind farm & grid link opened"
    assert wind.summary == "Our largest wind farm now powers 400,000 homes. Read how we built it."
    # A relative link is resolved against the feed's address.
    assert wind.url == server.url("/news/offshore-wind-farm-opened")
    assert wind.image_url == "https://cdn.northwind.example/img/windfarm.jpg"  # media:content
    assert wind.publish_at == datetime.datetime(2025, 6, 2, 6, 30)  # +02:00 stored as naive UTC
    assert (wind.kind, wind.status, wind.campaign_id, wind.feed_id) == ("news", "published", spring.id, feed.id)
    assert wind.language == "en" and wind.caption == wind.title
    assert item("https://www.northwind.example/news/apprentices-2025").image_url == server.url(
        "/img/apprentices.png")  # an image enclosure, relative
    report = item("https://www.northwind.example/news/annual-report-2024")
    assert report.image_url == server.url("/img/report-cover.jpg")  # the first <img> of the content
    assert report.summary == "Figures for 2024. Download the PDF."

    feed = Feed.get_by_id(feed.id)
    assert feed.title == "Northwind News" and feed.last_error == ""
    assert feed.etag and feed.last_success_at == feed.last_polled_at
    entry = AuditLog.select().where(AuditLog.action == "import").get()
    assert entry.actor is None and entry.target_id == feed.id
    assert entry.summary == "3 new, 0 updated, 0 expired."


def test_atom_import(app, server):
    feed = new_feed(app, server.serve("/blog.atom", "blog.atom"), kind="blog")
    assert run(app, feed).new == 2
    drones = item("tag:blog.northwind.example,2025:drones")
    assert drones.title == "How we inspect turbine blades with drones"
    assert drones.summary == "Drones & machine learning find cracks early."
    # Relative links and images resolve against xml:base.
    assert drones.url == "https://blog.northwind.example/posts/drones"
    assert drones.image_url == "https://blog.northwind.example/images/drone.jpg"
    assert drones.publish_at == datetime.datetime(2025, 6, 5, 7, 15)
    assert drones.kind == "blog"
    room = item("tag:blog.northwind.example,2025:control-room")
    assert room.summary == "Twenty screens, one grid."
    assert room.publish_at == datetime.datetime(2025, 5, 28, 6, 0)


@pytest.mark.parametrize("name, title", [("rss1.rdf", "Works council election results"),
                                         ("rss091.xml", "Old system, still running")])
def test_rss_1_0_and_0_91(app, server, name, title):
    feed = new_feed(app, server.serve("/" + name, name, content_type="application/rdf+xml"))
    assert run(app, feed).new == 1
    assert Item.get(Item.feed == feed.id).title == title


def test_a_future_date_does_not_hide_an_item(app, server):
    rss = open(os.path.join(FEEDS, "rss091.xml")).read().replace(
        "<description>Since 1999.</description>", "<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>")
    feed = new_feed(app, server.serve("/future.xml", rss))
    now = utcnow()
    run(app, feed, now=now)
    assert Item.get(Item.feed == feed.id).publish_at == now


def test_second_import_sends_the_etag_and_a_304_changes_nothing(app, server):
    feed = new_feed(app, server.serve("/news.rss", "news.rss"))
    first = utcnow()
    run(app, feed, now=first)
    etag = Feed.get_by_id(feed.id).etag
    later = first + datetime.timedelta(minutes=30)
    result = run(app, feed, now=later)
    assert result.not_modified and result.new == 0
    assert server.requests_for("/news.rss")[1]["If-None-Match"] == etag
    assert Item.select().count() == 3
    feed = Feed.get_by_id(feed.id)
    assert feed.last_polled_at == later and feed.etag == etag


def test_last_modified_is_used_when_there_is_no_etag(app, server):
    feed = new_feed(app, server.serve("/news.rss", "news.rss", etag=False))
    run(app, feed)
    assert run(app, feed).not_modified
    assert server.requests_for("/news.rss")[1]["If-Modified-Since"] == Feed.get_by_id(feed.id).last_modified


def test_changed_entries_are_updated_but_an_editors_version_stands(app, server):
    feed = new_feed(app, server.serve("/news.rss", "news.rss"))
    run(app, feed)
    editor = make_person("edith", role="editor")
    Item.update(title="Our editor's title", updated_by=editor).where(Item.guid == "news-101").execute()
    changed = open(os.path.join(FEEDS, "news.rss")).read().replace(
        "Apprentices start their first year", "Forty apprentices start").replace(
        "Offshore wind farm &amp; grid link opened", "Wind farm opened (update)")
    server.serve("/news.rss", changed)
    result = run(app, feed)
    assert (result.new, result.updated) == (0, 1)
    assert item("https://www.northwind.example/news/apprentices-2025").title == "Forty apprentices start"
    assert item("news-101").title == "Our editor's title"


def test_a_vacancy_that_leaves_its_feed_expires_and_one_that_returns_reopens(app, server, client):
    url = server.serve("/careers.xml", "careers-1.xml")
    feed = new_feed(app, url, kind="vacancy")
    assert run(app, feed).new == 4
    # Closing dates from the feed: end of that day in Europe/Amsterdam.
    assert item(JOBS + "1002").expires_at == datetime.datetime(2099, 12, 31, 23, 0)
    assert item(JOBS + "0999").expires_at == datetime.datetime(2020, 1, 31, 23, 0)
    make_person("emma")
    login(client, "emma")
    assert sorted(titles(client.get("/?kind=vacancy").get_data(as_text=True))) == [
        "Data engineer", "Project manager offshore", "Service technician (m/f/d)"]

    server.serve("/careers.xml", "careers-2.xml")
    now = utcnow()
    result = run(app, feed, now=now)
    assert (result.new, result.updated, result.expired) == (0, 0, 1)
    assert item(JOBS + "1003").expires_at == now
    assert item(JOBS + "1001").expires_at is None
    page = client.get("/?kind=vacancy").get_data(as_text=True)
    assert sorted(titles(page)) == ["Data engineer", "Service technician (m/f/d)"]
    assert AuditLog.select().order_by(AuditLog.id.desc()).first().summary == "0 new, 0 updated, 1 expired."

    server.serve("/careers.xml", "careers-1.xml")
    result = run(app, feed)
    assert (result.updated, result.expired) == (1, 0)
    assert item(JOBS + "1003").expires_at is None


def test_a_broken_vacancy_feed_expires_nothing(app, server):
    feed = new_feed(app, server.serve("/careers.xml", "careers-1.xml"), kind="vacancy")
    run(app, feed)
    before = {i.id: i.expires_at for i in Item.select()}
    server.serve("/careers.xml", "malformed.xml")
    assert not run(app, feed).ok
    server.serve("/careers.xml", "<rss version='2.0'><channel><title>Empty</title><item><title>x")
    assert not run(app, feed).ok
    assert {i.id: i.expires_at for i in Item.select()} == before


@pytest.mark.parametrize("path, served, error", [
    ("/malformed.xml", "malformed.xml", "The feed is not valid XML: line 8: mismatched tag"),
    ("/careers.html", "not-a-feed.html", "This address does not serve an RSS or Atom feed."),
    ("/404", None, "The feed's server answered 404 Not Found."),
    ("/loop", None, "Too many redirects (more than 5)"),
    ("/slow", None, "did not answer within 1 second."),
    ("/huge", None, "larger than the limit of 0.1 MB"),
    ("/gzip-bomb", None, "larger than the limit of 0.1 MB"),
    # Bytes that name a local file must be read as a (bad) feed, not open it.
    ("/local-path", os.path.join(FEEDS, "news.rss").encode(), "does not serve an RSS or Atom feed"),
])
def test_a_bad_feed_records_its_error_and_the_others_still_import(app, server, path, served, error):
    good = new_feed(app, server.serve("/news.rss", "news.rss"))
    if served:
        server.serve(path, served)
    bad = new_feed(app, server.url(path))
    with app.app_context():
        results = import_all()
    assert [r.ok for r in results] == [True, False]
    bad = Feed.get_by_id(bad.id)
    assert error in bad.last_error
    assert bad.last_polled_at is not None and bad.last_success_at is None and bad.etag is None
    assert Item.select().where(Item.feed == bad.id).count() == 0
    assert Item.select().where(Item.feed == good.id).count() == 3
    assert Feed.get_by_id(good.id).last_error == ""
    failed = AuditLog.select().where(AuditLog.target_id == bad.id, AuditLog.action == "import").get()
    assert failed.actor is None and failed.summary.startswith("Import failed:")


def test_a_feed_that_breaks_keeps_its_items_and_state(app, server):
    feed = new_feed(app, server.serve("/news.rss", "news.rss"))
    run(app, feed)
    before = Feed.get_by_id(feed.id)
    items = list(Item.select().order_by(Item.id).dicts())
    server.serve("/news.rss", "malformed.xml")
    result = run(app, feed)
    assert not result.ok
    after = Feed.get_by_id(feed.id)
    assert (after.etag, after.last_success_at, after.title) == (before.etag, before.last_success_at, before.title)
    assert "not valid XML" in after.last_error
    assert list(Item.select().order_by(Item.id).dicts()) == items
    # Fixed again: the error goes away.
    server.serve("/news.rss", "news.rss")
    assert run(app, feed).ok and Feed.get_by_id(feed.id).last_error == ""


def test_nothing_executable_from_a_hostile_feed_is_stored_or_rendered(app, server, client):
    make_person("emma")
    login(client, "emma")
    scripts_on_an_empty_page = client.get("/").get_data(as_text=True).count("<script")
    feed = new_feed(app, server.serve("/hostile.rss", "hostile.rss"))
    result = run(app, feed)
    assert (result.new, result.skipped) == (2, 3)  # javascript:, tab-split javascript: and data: links
    first, second = item(HOSTILE + "1"), item(HOSTILE + "2")
    # The titles are text (feedparser reads no HTML in them): kept as they
    # are, and escaped wherever they are shown.
    title = 'Breaking <script>alert("title")</script>news <img src=x onerror=alert("img")>'
    assert first.title == title
    assert first.summary == "Hello click world"
    assert first.image_url == ""  # javascript: media and a data: enclosure are not images
    assert second.title == "gnp.exe Reversed text"  # no right-to-left override, no zero-width space
    assert second.image_url == server.url("/safe.png") and second.summary == "Styled"
    assert Feed.get_by_id(feed.id).title == 'Hostile <script>alert("feed")</script> feed'
    for row in Item.select():
        for value in (row.summary, row.url, row.image_url):
            assert not re.search(r"<|javascript|alert|data:|onerror|\u202e", value, re.I), value
        assert not re.search(r"javascript|\u202e", row.title + row.caption, re.I)
        assert row.url.startswith(("http://", "https://"))

    page = client.get("/").get_data(as_text=True)
    assert "Breaking &lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;news" in page and "Hello click world" in page
    assert page.count("<script") == scripts_on_an_empty_page
    assert not re.search(r"javascript:|<img src=x|<iframe", page, re.I)
    assert not re.search(r'<[a-z]+(\s+[\w-]+(="[^"]*")?)*\s+on\w+=', page, re.I)  # no event handler
    admin = make_person("ada", role="admin")
    login(client, admin.username)
    admin_page = client.get("/admin/feeds/").get_data(as_text=True)
    assert "Hostile &lt;script&gt;alert(&#34;feed&#34;)&lt;/script&gt; feed" in admin_page
    assert admin_page.count("<script") == scripts_on_an_empty_page and "javascript:" not in admin_page


@pytest.mark.parametrize("name, content_type", [
    ("latin1.rss", "application/rss+xml"),  # encoding in the XML declaration
    ("latin1-header.rss", "application/rss+xml; charset=ISO-8859-1"),  # only in Content-Type
    ("wrong-encoding.rss", "application/rss+xml"),  # declares UTF-8, is Latin-1
])
def test_non_utf8_feeds_decode_correctly(app, server, name, content_type):
    feed = new_feed(app, server.serve("/" + name, name, content_type=content_type))
    assert run(app, feed).new == 1
    imported = Item.get(Item.feed == feed.id)
    assert imported.title == "Café in Zürich eröffnet"
    assert imported.summary == "Crème brûlée für alle Mitarbeitenden: ½ Preis."
    assert Feed.get_by_id(feed.id).title == "Nieuws uit Zürich"


def test_the_same_link_is_imported_once(app, server):
    make_item("Group results by hand", url="https://www.group.example/results/?utm_source=intranet")
    a = new_feed(app, server.serve("/a.rss", "duplicate-a.rss"))
    b = new_feed(app, server.serve("/b.rss", "duplicate-b.rss"))
    with app.app_context():
        first, second = import_all()
    # a: the same link twice in one feed (once with utm_ parameters)
    assert (first.new, first.duplicates) == (1, 1)
    # b: the same link as a's (no www, a trailing slash, a fragment) and a hand-made item's
    assert (second.new, second.duplicates) == (0, 2)
    assert Item.select().where(Item.normalized_url == "https://northwind.example/press/baltic-tender").count() == 1
    assert Item.select().count() == 2
    with app.app_context():
        again = import_all()
    assert [r.not_modified for r in again] == [True, True]
    assert Feed.get_by_id(b.id).last_error == "" and Feed.get_by_id(a.id).last_error == ""


def test_items_of_a_review_feed_wait_until_published(app, server, client):
    feed = new_feed(app, server.serve("/news.rss", "news.rss"), needs_review=True)
    run(app, feed)
    assert {i.status for i in Item.select()} == {"review"}
    make_person("emma")
    login(client, "emma")
    assert titles(client.get("/").get_data(as_text=True)) == []
    Item.update(status="published").where(Item.guid == "news-101").execute()
    assert titles(client.get("/").get_data(as_text=True)) == ["Offshore wind farm &amp; grid link opened"]


# -- command line ---------------------------------------------------------------

def test_cli_add_list_import_remove(app, server):
    runner = app.test_cli_runner()
    make_campaign("spring")
    news = server.serve("/news.rss", "news.rss")
    result = runner.invoke(args=["feeds", "add", news, "--kind", "news", "--campaign", "spring", "--review"])
    assert result.exit_code == 0, result.output
    feed = Feed.get(Feed.url == news)
    assert result.output == f"Added feed {feed.id}: {news} (news, campaign spring, needs review).\n"
    assert feed.needs_review and feed.campaign.slug == "spring"
    broken = runner.invoke(args=["feeds", "add", server.url("/404"), "--kind", "vacancy"])
    assert broken.exit_code == 0

    result = runner.invoke(args=["import-feeds"])
    assert result.exit_code == 1  # one feed failed ...
    assert f"Feed {feed.id} ({news}): 3 new, 0 updated, 0 expired." in result.output
    assert "404 Not Found" in result.output
    assert Item.select().count() == 3  # ... and the other imported all the same

    listing = runner.invoke(args=["feeds", "list"]).output
    assert f"{news}  [news, review, campaign spring]  last polled: " in listing
    assert "error: The feed's server answered 404 Not Found." in listing

    result = runner.invoke(args=["feeds", "remove", str(feed.id)])
    assert result.exit_code == 0 and result.output == f"Removed feed {feed.id}: {news}.\n"
    assert Feed.get_or_none(Feed.id == feed.id) is None
    assert Item.select().where(Item.feed.is_null()).count() == 3  # the items stay


def test_cli_import_one_feed_and_no_feeds(app, server):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["import-feeds"]).output == "There are no active feeds.\n"
    assert runner.invoke(args=["feeds", "list"]).output.startswith("No feeds yet.")
    feed = new_feed(app, server.serve("/news.rss", "news.rss"))
    result = runner.invoke(args=["import-feeds", "--feed", str(feed.id)])
    assert result.exit_code == 0 and "3 new" in result.output


@pytest.mark.parametrize("args, exit_code, message", [
    (["feeds", "add", "https://example.com/feed.xml", "--kind", "podcast"], 2, "Invalid value for '--kind'"),
    (["feeds", "add", "https://example.com/feed.xml"], 2, "Missing option '--kind'"),
    (["feeds", "add", "https://example.com/feed.xml", "--kind", "news", "--campaign", "nope"], 1,
     "There is no campaign “nope”."),
    (["feeds", "add", "ftp://example.com/feed.xml", "--kind", "news"], 1,
     "A feed address must start with http:// or https://"),
    (["feeds", "add", "https://www.example.com/feed.xml/?utm_source=x", "--kind", "blog"], 1,
     "This feed is already there (feed "),
    (["feeds", "remove", "999"], 1, "There is no feed with id 999."),
    (["feeds", "remove", "abc"], 2, "'abc' is not a valid integer"),
    (["import-feeds", "--feed", "999"], 1, "There is no feed with id 999."),
])
def test_cli_errors_are_clear_and_change_nothing(app, args, exit_code, message):
    new_feed(app, "https://example.com/feed.xml")
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == exit_code
    assert message in result.output
    assert Feed.select().count() == 1


# -- admin page -----------------------------------------------------------------

def csrf_token(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True, FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=1)


def sign_in(client, username):
    response = client.post("/login", data={"username": username, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["employee", "editor"])
def test_admin_page_is_for_admins_only(csrf_app, role):
    feed = new_feed(csrf_app, "https://example.com/feed.xml")
    client = csrf_app.test_client()
    assert client.get("/admin/feeds/").status_code == 302  # signed out: to the login page
    make_person("emma", role=role)
    sign_in(client, "emma")
    token = csrf_token(client, "/")
    assert client.get("/admin/feeds/").status_code == 403
    for path in ("/admin/feeds/", f"/admin/feeds/{feed.id}/remove", f"/admin/feeds/{feed.id}/import",
                 "/admin/feeds/import"):
        assert client.post(path, data={"csrf_token": token, "url": "https://example.org/x.xml",
                                       "kind": "news"}).status_code == 403
    assert Feed.select().count() == 1 and Feed.get_by_id(feed.id).last_polled_at is None


def test_admin_adds_imports_and_removes_feeds(csrf_app, server):
    make_campaign("spring", name="Spring hiring")
    make_person("ada", role="admin")
    client = csrf_app.test_client()
    sign_in(client, "ada")
    page = client.get("/admin/feeds/").get_data(as_text=True)
    assert "No feeds yet" in page

    careers = server.serve("/careers.xml", "careers-1.xml")
    token = csrf_token(client, "/admin/feeds/")
    form = {"url": careers, "kind": "vacancy", "campaign": "spring", "needs_review": "1"}
    assert client.post("/admin/feeds/", data=form).status_code == 400  # no CSRF token
    assert Feed.select().count() == 0
    response = client.post("/admin/feeds/", data={**form, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Feed added: Northwind Careers. 4 new, 0 updated, 0 expired." in page
    feed = Feed.get(Feed.url == careers)
    assert (feed.kind, feed.campaign.slug, feed.needs_review) == ("vacancy", "spring", True)
    assert "Spring hiring" in page and "Wait for review" in page
    assert AuditLog.get(AuditLog.action == "create").actor.username == "ada"

    broken = server.url("/404")
    response = client.post("/admin/feeds/", data={"url": broken, "kind": "news", "csrf_token": token},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    # one message: added, why the first import failed, what happens next; no "Feed added." beside it
    flashes = re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)
    assert flashes == ["Feed added, but its first import failed: The feed&#39;s server answered 404 Not Found. "
                       "It is tried again with every import, every 30 minutes; correct or remove the feed "
                       "if the problem stays."]
    row = page[page.index(f'id="feed-{Feed.get(Feed.url == broken).id}"'):]
    row = row[:row.index("</tr>")]
    assert row.count(broken) == 2  # the address once: the link's text and its href
    problems = page[page.index('class="feed-problems"'):page.index("</div>", page.index('class="feed-problems"'))]
    assert "The feed&#39;s server answered 404 Not Found." in problems
    assert 'class="has-error"' in page

    server.serve("/careers.xml", "careers-2.xml")
    response = client.post(f"/admin/feeds/{feed.id}/import", data={"csrf_token": token}, follow_redirects=True)
    assert "Northwind Careers: 0 new, 0 updated, 1 expired." in response.get_data(as_text=True)
    response = client.post("/admin/feeds/import", data={"csrf_token": token}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "2 feeds imported: 0 new, 0 updated, 0 expired." in page
    assert "1 feed could not be imported: see its error below." in page

    response = client.post(f"/admin/feeds/{feed.id}/remove", data={"csrf_token": token}, follow_redirects=True)
    assert f"Feed removed: {careers}. Its items stay in the library." in response.get_data(as_text=True)
    assert Feed.get_or_none(Feed.id == feed.id) is None and Item.select().count() == 4


@pytest.mark.parametrize("form, message", [
    ({"url": "javascript:alert(1)", "kind": "news"}, "A feed address must start with http:// or https://"),
    ({"url": "https://example.com/x.xml", "kind": "podcast"}, "Unknown kind “podcast”"),
    ({"url": "https://example.com/x.xml", "kind": "news", "campaign": "gone"}, "There is no campaign “gone”."),
])
def test_admin_form_errors_keep_the_input_and_add_nothing(csrf_app, form, message):
    make_person("ada", role="admin")
    client = csrf_app.test_client()
    sign_in(client, "ada")
    response = client.post("/admin/feeds/", data={**form, "csrf_token": csrf_token(client, "/admin/feeds/")})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page.replace("&#34;", '"')
    assert f'value="{form["url"]}"' in page
    assert Feed.select().count() == 0


def test_long_fields_fit_their_columns(app, server):
    title = " ".join(["Turbine"] * 80)  # 639 characters
    guid = "urn:x-" + "g" * 400
    rss = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>{"Long " * 100}</title>
      <item><title>{title}</title><link>https://long.example/a</link><guid isPermaLink="false">{guid}</guid>
        <description>{"word " * 500}</description></item>
      <item><title>Second</title><link>https://long.example/b</link>
        <guid isPermaLink="false">{guid[:-1] + "h"}</guid></item></channel></rss>"""
    feed = new_feed(app, server.serve("/long.rss", rss))
    assert run(app, feed).new == 2
    first = item("https://long.example/a")
    assert len(first.title) <= 255 and first.title.endswith("Turbine…")
    assert len(first.summary) <= 600 and first.summary.endswith("…")
    assert len(first.guid) <= 255 and first.guid != item("https://long.example/b").guid
    assert len(Feed.get_by_id(feed.id).title) <= 255
    assert run(app, feed).not_modified


def test_an_entity_bomb_is_refused(app, server):
    lol = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    rss = f"""<?xml version="1.0"?><!DOCTYPE rss [{lol}]>
      <rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>
      <link>https://bomb.example/1</link></item></channel></rss>"""
    feed = new_feed(app, server.serve("/bomb.rss", rss))
    result = run(app, feed)
    assert not result.ok and "not valid XML" in result.error
    assert Item.select().count() == 0


def test_a_title_declared_as_text_keeps_its_angle_brackets(app, server, client):
    """'Developer &lt;remote&gt;' in the XML is the text "Developer
    <remote>": shown as such (escaped), not sanitised away as a tag. Only
    HTML is reduced to its text."""
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
      <title type="text">Jobs &lt;all&gt;</title><id>urn:jobs</id><updated>2026-01-01T00:00:00Z</updated>
      <entry><title type="text">Engineer &lt;b&gt;senior&lt;/b&gt;</title><id>urn:a</id>
        <link href="https://jobs.example/a"/><updated>2026-01-01T00:00:00Z</updated>
        <summary type="text">Work from &lt;anywhere&gt;</summary></entry>
      <entry><title type="html">Tester &lt;b&gt;junior&lt;/b&gt; &amp;lt;hybrid&amp;gt;</title><id>urn:b</id>
        <link href="https://jobs.example/b"/><updated>2026-01-01T00:00:00Z</updated>
        <summary type="html">&lt;p&gt;Join &lt;em&gt;us&lt;/em&gt;&lt;/p&gt;</summary></entry></feed>"""
    rss = """<?xml version="1.0"?><rss version="2.0"><channel><title>Careers</title>
      <item><title>Developer &lt;remote&gt;</title><link>https://jobs.example/c</link></item></channel></rss>"""
    new_feed(app, server.serve("/jobs.atom", atom, "application/atom+xml"), "vacancy")
    new_feed(app, server.serve("/jobs.rss", rss), "vacancy")
    for feed in list(Feed.select()):
        assert run(app, feed).ok
    assert item("https://jobs.example/c").title == "Developer <remote>"
    text = item("urn:a")
    assert (text.title, text.summary) == ("Engineer <b>senior</b>", "Work from <anywhere>")
    markup = item("urn:b")
    assert (markup.title, markup.summary) == ("Tester junior", "Join us")
    assert Feed.get(Feed.url.endswith("jobs.atom")).title == "Jobs <all>"

    make_person("emma")
    login(client, "emma")
    page = client.get("/?kind=vacancy").get_data(as_text=True)
    assert "Developer &lt;remote&gt;" in page and "<remote>" not in page
    assert "Engineer &lt;b&gt;senior&lt;/b&gt;" in page
