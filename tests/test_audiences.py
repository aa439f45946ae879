"""Audiences: an item meant for some departments, directory groups or
languages is shown, mailed and shareable only to the people it is meant
for; editors choose and see the audience; a feed's audience goes to its
items. Group memberships come from the real slapd."""

import datetime
import itertools
import re

from digest.alerts import send_pending_alerts
from digest.send import send_weekly
from helpers import login, make_item, make_person
from helpers.feedserver import FeedServer
from helpers.slapd import AUDIENCE_GROUP, LEAD_GROUP, PEOPLE_ENTRIES, ldap_login, ldap_settings
from intranet_plugin.content.audiences import audience_of, set_audience
from intranet_plugin.content.feeds import add_feed, import_feed
from intranet_plugin.content.sharing import share_token
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import Audience, Item, Person, ShareEvent, Viewer, utcnow

pytest_plugins = ["helpers.slapd_fixtures"]


def meant(item, **audience):
    set_audience(item, Audience.of(audience))
    return item


def titles(html):
    return set(re.findall(r'<h2><a href="[^"]*" rel="noopener" target="_blank">([^<]+)</a></h2>', html))


def page(client, path="/"):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_share_page_and_widget_show_each_department_its_own_items(client):
    make_person("emma", department="Sales")
    make_person("joris", department="Engineering")
    make_item("For everyone")
    meant(make_item("Sales kick-off"), departments=["Sales"])
    meant(make_item("Only in Dutch"), languages=["nl"])

    login(client, "emma")
    assert titles(page(client)) == {"For everyone", "Sales kick-off"}
    widget = page(client, "/widget/latest")
    assert "Sales kick-off" in widget and "Only in Dutch" not in widget

    other = client.application.test_client()
    login(other, "joris")
    assert titles(page(other)) == {"For everyone"}
    assert "Sales kick-off" not in page(other, "/widget/latest")


def test_the_api_lists_only_the_items_meant_for_the_person(client):
    make_person("joris", department="Engineering")
    make_item("For everyone")
    meant(make_item("Sales kick-off"), departments=["Sales"])
    assert client.get("/api/v1/me/items").status_code == 401
    login(client, "joris")
    response = client.get("/api/v1/me/items")
    assert response.status_code == 200
    assert [i["title"] for i in response.get_json()["items"]] == ["For everyone"]


def test_a_language_audience_follows_the_persons_language(client):
    make_person("sanne", department="Sales", locale="nl")
    meant(make_item("Sales, Dutch"), departments=["Sales"], languages=["nl"])
    meant(make_item("Sales, English"), departments=["Sales"], languages=["en"])
    login(client, "sanne")
    assert titles(page(client)) == {"Sales, Dutch"}


def test_sharing_an_item_not_meant_for_the_person_is_refused_and_records_nothing(client):
    make_person("joris", department="Engineering")
    item = meant(make_item("Sales kick-off"), departments=["Sales"])
    login(client, "joris")
    joris = Person.get(username="joris")
    # a token made for him (say, before the audience changed), used by him
    with client.application.test_request_context():
        token = share_token(joris.id, item.id, "linkedin")
    response = client.get(f"/share/{token}")
    assert response.status_code == 403
    assert "meant for another part of the company" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0
    # nor does its card show
    assert client.get(f"/items/{item.id}/card").status_code == 404


def test_the_digest_and_instant_alerts_carry_only_items_meant_for_the_person(mail_app, smtp):
    make_person("emma", department="Sales", instant_alerts=True)
    make_person("joris", department="Engineering", instant_alerts=True)
    make_item("For everyone")
    meant(make_item("Sales kick-off", share_now_at=utcnow()), departments=["Sales"])

    with Mailer.from_config(mail_app.config, sleep=lambda s: None) as mailer:
        send_weekly(mail_app, mailer=mailer)
    digests = {m["To"].addresses[0].username: m.get_body(("plain",)).get_content() for m in smtp.messages}
    assert "Sales kick-off" in digests["emma"] and "For everyone" in digests["emma"]
    assert "Sales kick-off" not in digests["joris"] and "For everyone" in digests["joris"]

    with Mailer.from_config(mail_app.config, sleep=lambda s: None) as mailer:
        report = send_pending_alerts(mail_app, mailer=mailer)
    # one alert more, for emma only
    assert smtp.recipients() == {"emma@example.com": 2, "joris@example.com": 1}
    assert report.sent == 1


def test_a_directory_group_audience_reaches_its_members_through_slapd(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_AUDIENCE_GROUPS=AUDIENCE_GROUP))
    meant(make_item("For the sales team"), groups=[AUDIENCE_GROUP])
    make_item("For everyone")
    seen = {}
    for username in ("emma", "abakker"):  # emma is in the group, Anouk is not
        browser = app.test_client()
        assert ldap_login(browser, username, PEOPLE_ENTRIES[username][1]).status_code == 302
        Person.update(joined_at=utcnow()).where(Person.username == username).execute()
        seen[username] = titles(page(browser))
    assert seen == {"emma": {"For the sales team", "For everyone"}, "abakker": {"For everyone"}}
    assert Person.get(username="emma").groups == [AUDIENCE_GROUP]


def test_sync_remembers_group_memberships_and_takes_them_away(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_AUDIENCE_GROUPS=AUDIENCE_GROUP, LDAP_LEAD_GROUP=LEAD_GROUP))
    result = app.test_cli_runner().invoke(args=["sync-users"])
    assert result.exit_code == 0, result.output
    groups = {p.username: p.groups for p in Person.select()}
    assert groups["emma"] == [AUDIENCE_GROUP]
    assert groups["joris"] == [LEAD_GROUP, AUDIENCE_GROUP]
    assert groups["abakker"] == []
    before = [PEOPLE_ENTRIES["emma"][0], PEOPLE_ENTRIES["joris"][0]]
    ldap_server.set_members(AUDIENCE_GROUP, [PEOPLE_ENTRIES["joris"][0]])
    try:
        result = app.test_cli_runner().invoke(args=["sync-users"])
    finally:
        ldap_server.set_members(AUDIENCE_GROUP, before)
    assert "Updated: emma" in result.output or "1 updated" in result.output, result.output
    assert Person.get(username="emma").groups == []


def test_a_feeds_audience_goes_to_the_items_it_imports(make_app):
    app = make_app(FETCH_ALLOW_PRIVATE=True, FETCH_TIMEOUT=1)
    with FeedServer() as server, app.app_context():
        feed = add_feed(server.serve("/news.rss", "news.rss"), "news",
                        audience=Audience.of({"departments": ["Sales"]}))
        result = import_feed(feed)
    assert result.ok, result.error
    items = list(Item.select().where(Item.feed == feed))
    assert items
    assert set(audience_of([i.id for i in items]).values()) == {Audience(departments=("Sales",))}


def test_the_editor_chooses_the_audience_and_sees_it_in_the_library(client):
    make_person("sanne", role="editor", department="Communications")
    make_person("emma", department="Sales")
    login(client, "sanne")
    form = page(client, "/editor/items/new")
    assert 'name="audience_departments"' in form and '<option value="Sales">Sales</option>' in form
    response = client.post("/editor/items/new", data={
        "kind": "news", "title": "Sales kick-off", "url": "https://www.example.com/kick-off", "language": "en",
        "status": "published", "audience_departments": ["Sales"], "audience_languages": ["nl", "en"]})
    assert response.status_code == 302, response.get_data(as_text=True)
    item = Item.get(title="Sales kick-off")
    assert audience_of([item.id])[item.id] == Audience(("Sales",), (), ("en", "nl"))
    library = page(client, "/editor/")
    assert '<td class="audience">Sales, English, Dutch</td>' in library
    # an audience that is not offered is refused, and nothing changes
    response = client.post(f"/editor/items/{item.id}", data={
        "kind": "news", "title": "Sales kick-off", "url": "https://www.example.com/kick-off", "language": "en",
        "status": "published", "audience_departments": ["Nobody's department"]})
    assert response.status_code == 400
    assert "Choose departments from the list." in response.get_data(as_text=True)
    assert audience_of([item.id])[item.id].departments == ("Sales",)
    # the editor sees the audience on the share page's cards too
    meant(make_item("Press day"), departments=["Communications"])
    assert "For: Communications" in page(client)


def test_the_sql_rule_and_the_python_rule_agree(app):
    """The digest filters in Python (``Audience.admits``), the pages in SQL
    (``Item.meant_for``): the two agree on every combination of a small
    world (two departments, two groups, two languages)."""
    subsets = [(), ("a",), ("b",), ("a", "b")]
    items = {}
    for departments, groups, languages in itertools.product(subsets, repeat=3):
        audience = Audience(departments, tuple("g" + g for g in groups), tuple("l" + x for x in languages))
        items[make_item("Probe %d" % len(items)).id] = audience
        set_audience(Item.get_by_id(max(items)), audience)
    for department, groups, language in itertools.product(("a", "b", ""), subsets, ("la", "lb")):
        viewer = Viewer(department, tuple("g" + g for g in groups), language)
        in_sql = {i for (i,) in Item.select(Item.id).where(Item.meant_for(viewer)).tuples()}
        assert in_sql == {i for i, audience in items.items() if audience.admits(viewer)}, viewer


def test_an_item_left_meant_for_everyone_stays_so(client):
    make_person("joris", department="")
    make_item("For everyone", publish_at=utcnow() - datetime.timedelta(hours=1))
    login(client, "joris")
    assert titles(page(client)) == {"For everyone"}


def test_the_demo_has_an_item_for_engineering_only(app, client):
    from intranet_plugin import demo

    with app.app_context():
        demo.build()
    title = demo.ENGINEERING_ONLY[0]
    login(client, "emma")  # Engineering
    assert title in page(client)
    other = app.test_client()
    login(other, "lisa")  # Sales
    assert title not in page(other) and title not in page(other, "/widget/latest")
