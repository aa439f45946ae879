"""The tracked redirect /s/<code>: destination, UTM merge, classification,
unique visitors and self-clicks."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import BROWSER, impact_of, login, make_campaign, make_item, make_person
from intranet_plugin.models import Click, Person, TrackedLink
from intranet_plugin.tracking.links import with_utm

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


@pytest.fixture
def link(app):
    person = make_person("emma")
    item = make_item("Windpark open", url="https://www.example.com/news/windpark?lang=nl&utm_source=old#video")
    return TrackedLink.for_share(person, item, "linkedin")


def follow(client, code, ua=BROWSER, ip="203.0.113.7", method="get", **headers):
    return getattr(client, method)(f"/s/{code}", headers={"User-Agent": ua, **headers},
                                   environ_base={"REMOTE_ADDR": ip})


def test_redirect_is_302_with_utm_merged_and_fragment_kept(client, link):
    response = follow(client, link.code)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "www.example.com", "/news/windpark")
    assert target.fragment == "video"
    query = parse_qs(target.query)
    assert query["lang"] == ["nl"]
    assert query["utm_source"] == ["linkedin"]  # the item's old utm_source is replaced
    assert query["utm_medium"] == ["employee_advocacy"]
    assert query["utm_campaign"] == [link.item.slug]
    assert response.headers["Cache-Control"] == "no-store"


def test_utm_content_is_pseudonymous(client, link):
    query = parse_qs(urlsplit(follow(client, link.code).headers["Location"]).query)
    person = Person.get_by_id(link.person_id)
    assert query["utm_content"] == [person.ref]
    assert "emma" not in query["utm_content"][0].lower()


def test_campaign_slug_and_configured_medium(make_app):
    app = make_app(UTM_MEDIUM="ambassadors")
    with app.app_context():
        campaign = make_campaign("werken-bij")
        link = TrackedLink.for_share(make_person(), make_item(campaign=campaign), "x")
        location = follow(app.test_client(), link.code).headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["utm_campaign"] == ["werken-bij"]
    assert query["utm_medium"] == ["ambassadors"]
    assert query["utm_source"] == ["x"]


def test_with_utm_keeps_order_and_blank_values():
    url = with_utm("https://a.example/p?b=2&a=&b=3#frag", "x", "m", "c", "r")
    assert url == "https://a.example/p?b=2&a=&b=3&utm_source=x&utm_medium=m&utm_campaign=c&utm_content=r#frag"


@pytest.mark.parametrize("code", ["doesnotexist", "abc", "a" * 40, "bad%2Fcode", "....--....", "x' OR 1=1"])
def test_unknown_or_malformed_code_is_404_and_records_nothing(client, link, code):
    assert client.get(f"/s/{code}", headers={"User-Agent": BROWSER}).status_code == 404
    assert Click.select().count() == 0


def test_request_cannot_change_destination(client, link):
    response = client.get(f"/s/{link.code}?next=https://evil.example&url=https://evil.example",
                          headers={"User-Agent": BROWSER, "Host": "evil.example",
                                   "X-Forwarded-Host": "evil.example"})
    assert urlsplit(response.headers["Location"]).netloc == "www.example.com"
    assert "evil" not in response.headers["Location"]


def test_non_http_target_is_never_followed(client):
    link = TrackedLink.for_share(make_person(), make_item(url="javascript:alert(1)"), "x")
    assert follow(client, link.code).status_code == 404


def test_allow_list_of_target_hosts(make_app):
    app = make_app(ALLOWED_TARGET_HOSTS="example.com, careers.example.org")
    with app.app_context():
        person = make_person()
        ok = TrackedLink.for_share(person, make_item("a", url="https://jobs.example.com/1"), "x")
        other = TrackedLink.for_share(person, make_item("b", url="https://example.net/1"), "x")
        client = app.test_client()
        assert follow(client, ok.code).status_code == 302
        assert follow(client, other.code).status_code == 404


@pytest.mark.parametrize("ua,kind", [
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "crawler"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "crawler"),
    ("Twitterbot/1.0", "crawler"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "crawler"),
    ("WhatsApp/2.23.20.0", "crawler"),
    ("", "empty"),
    (BROWSER, "human"),
])
def test_every_request_is_recorded_and_classified(client, link, ua, kind):
    assert follow(client, link.code, ua=ua).status_code == 302
    click = Click.get()
    assert click.kind == kind
    assert click.link_id == link.id


def test_head_request_is_recorded_as_head(client, link):
    assert follow(client, link.code, method="head").status_code == 302
    assert Click.get().kind == "head"
    assert Click.counted().count() == 0


def test_unique_visitors_hash_without_raw_ip(client, link):
    follow(client, link.code, ip="198.51.100.10")
    follow(client, link.code, ip="198.51.100.10")  # the same visitor again
    follow(client, link.code, ip="198.51.100.99")  # same /24 and browser: same visitor
    follow(client, link.code, ip="198.51.100.10", ua=PHONE)  # another device
    follow(client, link.code, ip="192.0.2.5")  # another network
    clicks = list(Click.select())
    assert len(clicks) == 5
    assert len({c.visitor for c in clicks}) == 3
    assert impact_of(Person.get_by_id(link.person_id)) == {"shares": 0, "clicks": 5, "visitors": 3}
    for click in clicks:
        row = Click.select().where(Click.id == click.id).dicts().get()
        assert not any("198.51.100" in str(value) or "192.0.2" in str(value) for value in row.values())


def test_referrer_host_only(client, link):
    follow(client, link.code, Referer="https://www.linkedin.com/feed/update/urn:li:activity:123?x=1")
    assert Click.get().referrer_host == "www.linkedin.com"


def test_own_click_while_signed_in_does_not_count(client, link):
    client.post("/login", data={"username": "emma"})
    follow(client, link.code)
    assert Click.get().is_self
    assert impact_of(Person.get_by_id(link.person_id))["clicks"] == 0


def test_own_click_from_the_sharing_browser_does_not_count(client, app):
    """The sharer shares, then opens their own link in another (signed-out)
    browser session on the same device: recognised by the visitor hash."""
    from intranet_plugin.content.sharing import share_token

    emma = make_person("emma")
    item = make_item()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    client.post("/login", data={"username": "emma"})
    with app.test_request_context():
        token = share_token(emma.id, item.id, "linkedin")
    share = client.get(f"/share/{token}")
    assert share.status_code == 303
    link = TrackedLink.get()
    outsider = app.test_client()
    follow(outsider, link.code, ip="203.0.113.7")  # the sharer, signed out
    follow(outsider, link.code, ip="192.0.2.44")  # a real visitor
    assert sorted(c.is_self for c in Click.select()) == [False, True]
    assert impact_of(Person.get(username="emma")) == {"shares": 1, "clicks": 1, "visitors": 1}


def test_one_network_adds_at_most_three_visitors_to_a_link_a_day(app, client, link):
    """One machine that changes its user agent at every request cannot mint
    visitors (or points); a real audience from many networks counts in
    full. The rest shows on the dashboard as repeated."""
    for n in range(9):
        follow(client, link.code, ua=f"{BROWSER} variant/{n}")
    for n in range(5):
        follow(app.test_client(), link.code, ip=f"192.0.{n}.7")  # five other networks
    assert Click.select().count() == 14
    me = app.test_client()
    login(me, "emma")
    totals = me.get("/api/v1/me/stats?period=all").json["totals"]
    assert (totals["clicks"], totals["visitors"], totals["points"]) == (14, 8, 8)
    make_person("anouk", role="admin")
    admin = app.test_client()
    login(admin, "anouk")
    assert admin.get("/api/v1/stats?period=all").json["programme"]["visitors"] == 8
    page = admin.get("/admin/dashboard?period=all").get_data(as_text=True)
    assert re.search(r"Repeated from one network</th><td></td><td class=\"num\">6<", page)
    csv_text = admin.get("/admin/dashboard/visitors.csv?period=all").get_data(as_text=True)
    assert "repeated_from_one_network,,6" in csv_text
    # The rule is told in plain words.
    assert "adds at most 3 visitors to a link a day" in me.get("/guidelines").get_data(as_text=True)


def test_the_cap_is_configurable(make_app):
    app = make_app(VISITORS_PER_NETWORK="1")
    with app.app_context():
        link = TrackedLink.for_share(make_person("emma"), make_item(), "x")
    client = app.test_client()
    for n in range(4):
        follow(client, link.code, ua=f"{BROWSER} variant/{n}")
    me = app.test_client()
    login(me, "emma")
    assert me.get("/api/v1/me/stats?period=all").json["totals"]["visitors"] == 1
