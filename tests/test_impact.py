"""The impact pages and API as their users meet them: one's own figures and
nobody else's, one's data to download and to delete, leaderboards that name
only those who chose it, campaign boards, prize draws anyone can redo, and
JSON for widgets."""

import csv
import datetime
import io
import itertools
import json
import random
import re

import pytest

from helpers import BROWSER, login, make_campaign, make_item, make_person, store_click
from helpers.pages import Page
from intranet_plugin import analytics
from intranet_plugin.models import (
    AuditLog,
    Click,
    Conversion,
    Item,
    Person,
    PrizeDraw,
    Setting,
    ShareEvent,
    TrackedLink,
    utcnow,
)
from intranet_plugin.tracking.rollup import roll_up_days

_events = itertools.count()


def click(link, kind="human", visitor="v", is_self=False, at=None):
    at = at or utcnow()
    store_click(link, at, kind, visitor, is_self)


def share(person, item, network="linkedin", at=None):
    at = at or utcnow()
    link = TrackedLink.for_share(person, item, network)
    ShareEvent.create(person=person, item=item, link=link, network=network, day=at.date(), created_at=at)
    return link


def world():
    """Emma (visible), Bob (hidden, the most clicks), Carl (visible), and
    Anna the admin; a running campaign that Emma and Bob shared in."""
    now = utcnow()
    emma = make_person("emma", display_name="Emma Visible", department="Sales", show_on_leaderboard=True)
    bob = make_person("bob", display_name="Bob Hidden", department="Sales", show_on_leaderboard=False)
    carl = make_person("carl", display_name="Carl Visible", department="Ops", show_on_leaderboard=True)
    anna = make_person("anna", display_name="Anna Admin", role="admin", department="Comms")
    spring = make_campaign("spring", name="Spring", starts_at=now - datetime.timedelta(days=5),
                           ends_at=now + datetime.timedelta(days=5))
    windpark = make_item("Windpark opens", campaign=spring)
    secret = make_item("Bob's own pick")
    vacancy = make_item("Engineer wanted", kind="vacancy")
    link = share(emma, windpark)
    for visitor in ("emma-visitor-1", "emma-visitor-1", "emma-visitor-2"):
        click(link, visitor=visitor)
    click(link, kind="crawler", visitor="bot")
    click(link, visitor="emma-self", is_self=True)
    xlink = share(emma, windpark, "x")
    click(xlink, visitor="e3")
    bob_link = share(bob, windpark)
    for visitor in ("b1", "b2", "b3", "b4", "b5"):
        click(bob_link, visitor=visitor)
    click(share(bob, secret), visitor="b6")
    share(carl, vacancy, "facebook")
    Conversion.create(link=bob_link, kind="application", external_id="x1", at=now)
    return {"emma": emma, "bob": bob, "carl": carl, "anna": anna, "spring": spring}


@pytest.fixture
def people(app):
    return world()


def text(response):
    return response.get_data(as_text=True)


class Browser:
    """A signed-in browser that posts forms with the page's CSRF token."""

    def __init__(self, app, username):
        self.client = app.test_client()
        self.client.environ_base["HTTP_USER_AGENT"] = BROWSER
        response = self.client.post("/login", data={"username": username, "csrf_token": self.token("/login")})
        assert response.status_code == 302

    def token(self, path):
        return re.search(r'name="csrf_token" value="([^"]+)"', text(self.client.get(path))).group(1)

    def post(self, page, action, data):
        return self.client.post(action, data={**data, "csrf_token": self.token(page)})


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


# -- /me --------------------------------------------------------------------------

def test_me_needs_sign_in(client):
    assert client.get("/me").status_code == 302
    assert client.get("/me/export.json").status_code == 302


def test_me_shows_own_figures_and_nobody_elses(client, people):
    login(client, "emma")
    page = text(client.get("/me"))
    totals = analytics.person_totals([people["emma"].id], analytics.all_time())[people["emma"].id]
    assert (totals.shares, totals.clicks, totals.visitors) == (2, 4, 3)
    figures = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page)
    assert ("Shares", "2") in figures and ("Clicks", "4") in figures and ("Unique visitors", "3") in figures
    assert "€10.00" in page  # 3 LinkedIn clicks × €3 + 1 X click × €1 (the default costs)
    assert "Windpark opens" in page
    assert "Bob" not in page and "Bob's own pick" not in page and "Engineer wanted" not in page
    # The weekly chart is an image with a title, and a table for those who cannot see it.
    assert re.search(r'<svg[^>]+role="img"', page) and "<title id=\"chart-title\">" in page
    assert "<table" in page
    assert "number 1 on this month" in page  # Emma leads the visible people


def test_me_chart_names_weeks_by_their_dates(client, people):
    """The chart's axis reads dates ("16 Mar"), as the digest does, not ISO
    week numbers; the table names each week by its first day."""
    login(client, "emma")
    page = text(client.get("/me"))
    svg = page[page.index("<svg"):page.index("</svg>")]
    today = analytics.today_utc()
    monday = today - datetime.timedelta(days=today.weekday())
    eleven_weeks_back = monday - datetime.timedelta(weeks=11)
    axis = re.findall(r'<text class="axis"[^>]*>([^<]+)</text>', svg)
    assert f"{monday.day} {monday:%b}" in axis and f"{eleven_weeks_back.day} {eleven_weeks_back:%b}" in axis
    assert "Week starting" in axis and "ISO week" not in page and not re.search(r">\d\d</text>", svg)
    assert f'<time datetime="{monday.isoformat()}">{monday.day} {monday:%b} {monday.year}</time>' in page


def test_best_items_can_be_shared_again(client, people):
    login(client, "emma")
    page = text(client.get("/me"))
    windpark = Item.get(Item.title == "Windpark opens")
    best = page[page.index('<ol class="best-items">'):page.index("</ol>")]
    assert re.search(rf'<a class="[^"]*share-again" href="/\?q=Windpark\+opens#item-{windpark.id}">Share again'
                     r'<span class="visually-hidden">: Windpark opens</span></a>', best)
    windpark.status = "archived"
    windpark.save()
    best = text(client.get("/me"))
    best = best[best.index('<ol class="best-items">'):best.index("</ol>")]
    assert "Share again" not in best and "No longer on the share page" in best


def test_me_period_tabs_swap_a_fragment(client, people):
    login(client, "emma")
    response = client.get("/me?period=month", headers={"HX-Request": "true"})
    assert "HX-Request" in response.headers["Vary"]
    assert text(response).lstrip().startswith('<section id="breakdown"')


def test_hidden_person_is_told_how_to_appear(client, people):
    login(client, "bob")
    page = text(client.get("/me"))
    assert "You are not on the leaderboard" in page and "/preferences" in page
    assert "number 1" not in page


def test_export_json_holds_own_data_only(client, people):
    login(client, "emma")
    response = client.get("/me/export.json")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(text(response))
    assert data["profile"]["username"] == "emma"
    assert {s["network"] for s in data["shares"]} == {"linkedin", "x"}
    assert sorted((r["network"], r["clicks"], r["visitors"]) for r in data["clicks_per_day"]) == \
        [("linkedin", 3, 2), ("x", 1, 1)]
    assert data["totals"]["points"] == 3
    raw = text(response)
    # No visitor hash either, not even of Emma's own visitors.
    for foreign in ("bob", "Bob", "carl", "emma-visitor", "bot", "emma-self", "Bob's own pick"):
        assert foreign not in raw


def test_export_csv_is_one_table_safe_for_spreadsheets(client, people):
    item = make_item("=HYPERLINK(\"http://evil\")")
    share(people["emma"], item)
    login(client, "emma")
    response = client.get("/me/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response).lstrip("\ufeff"))))
    assert rows[0] == ["record", "day", "item", "network", "source", "field", "value", "clicks", "visitors"]
    assert ["profile", "", "", "", "", "username", "emma", "", ""] in rows
    assert any(r[0] == "share" and r[2].startswith("'=HYPERLINK") for r in rows)
    assert sum(int(r[7]) for r in rows if r[0] == "clicks") == 4
    assert "bob" not in text(response).lower()


# -- deleting one's data -------------------------------------------------------------

def test_delete_my_data(csrf_app):
    people = world()
    emma = people["emma"]
    AuditLog.record(emma, "join", emma, summary=emma.display_name)
    # Rolled up long ago: 7 clicks by 5 visitors.
    old = datetime.datetime(2024, 1, 5, 12)
    for visitor in ("a", "a", "a", "b", "c", "d", "e"):
        store_click(TrackedLink.get(person=emma, network="linkedin"), old, visitor=visitor)
    assert roll_up_days(old.date(), old.date() + datetime.timedelta(days=1)) == 7
    ever = analytics.all_time()
    with csrf_app.app_context():
        before = analytics.programme_totals(ever)
        own = analytics.person_totals([emma.id], ever)[emma.id]
    browser = Browser(csrf_app, "emma")

    # Without the confirmation nothing happens.
    refused = browser.post("/me/delete", "/me/delete", {})
    assert refused.status_code == 400 and "Tick the box" in text(refused)
    assert ShareEvent.select().where(ShareEvent.person == emma).count() == 2
    # Without the CSRF token neither.
    assert browser.client.post("/me/delete", data={"confirm": "yes"}).status_code == 400

    done = browser.post("/me/delete", "/me/delete", {"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert browser.client.get("/me").status_code == 302  # signed out

    gone = Person.get_by_id(emma.id)
    assert not gone.is_active and gone.email == "" and gone.department == ""
    assert "Emma" not in gone.display_name and gone.username != "emma" and gone.ref != emma.ref
    assert not gone.show_on_leaderboard and gone.joined_at is None
    assert ShareEvent.select().where(ShareEvent.person == emma).count() == 0
    assert TrackedLink.select().where(TrackedLink.person == emma).count() == 0
    assert Click.select().count() == 6  # Bob's, none of Emma's
    assert not AuditLog.select().where(AuditLog.summary.contains("Emma")).exists()
    assert AuditLog.get(AuditLog.action == "erase").target_id == emma.id

    with csrf_app.app_context():
        after = analytics.programme_totals(ever)
        remaining = analytics.person_totals(None, ever)
    for field in ("shares", "clicks", "visitors", "emv", "conversions"):
        assert after[field] == pytest.approx(before[field] - getattr(own, field))
        assert after[field] == pytest.approx(sum(getattr(t, field) for t in remaining.values()))
    assert emma.id not in remaining
    assert "Emma" not in text(Browser(csrf_app, "anna").client.get("/leaderboard?period=all"))


# -- leaderboards ------------------------------------------------------------------

HIDDEN = ("Bob Hidden", "bob@example.com")


def assert_hidden(body):
    """Bob's name is nowhere (but in the page header, when Bob himself is signed in)."""
    body = body.split("</header>")[-1]
    for needle in HIDDEN:
        assert needle not in body


def test_leaderboard_names_only_those_who_chose_it(client, people):
    login(client, "emma")
    for period in ("month", "all"):
        page = text(client.get(f"/leaderboard?period={period}"))
        assert_hidden(page)
        names = re.findall(r'<th scope="row">([^<]+?)\s*(?:<span|</th>)', page)
        assert names[:2] == ["Emma Visible", "Carl Visible"]
        # Bob's clicks count for Sales, folded with the small teams.
        assert "Smaller teams together" in page
    assert re.search(r'<tr class="you" aria-current="true">\s*<td class="num">1</td>', page)


def test_leaderboard_invites_hidden_person(client, people):
    people["bob"].joined_at = utcnow()
    people["bob"].save()
    login(client, "bob")
    page = text(client.get("/leaderboard"))
    assert_hidden(page)
    assert "/preferences" in page and "You are not on the leaderboard" in page
    assert 'class="you"' not in page.split("<h2>Teams</h2>")[0]


def test_leaderboard_tab_is_a_fragment(client, people):
    login(client, "emma")
    response = client.get("/leaderboard?period=all", headers={"HX-Request": "true"})
    assert text(response).lstrip().startswith('<section id="board"')
    assert "HX-Request" in response.headers["Vary"]


def test_admin_switches_people_leaderboards_off(csrf_app):
    world()
    emma = Browser(csrf_app, "emma")
    assert emma.client.post("/leaderboard/settings", data={}).status_code == 400  # no CSRF token
    refused = emma.post("/leaderboard", "/leaderboard/settings", {})
    assert refused.status_code == 403
    assert Setting.get_value(analytics.LEADERBOARD_SETTING, "1") == "1"

    admin = Browser(csrf_app, "anna")
    assert admin.post("/leaderboard", "/leaderboard/settings", {}).status_code == 302
    assert Setting.get_value(analytics.LEADERBOARD_SETTING) == "0"
    page = text(emma.client.get("/leaderboard"))
    assert "switched off" in page
    for name in ("Emma Visible", "Carl Visible", "Bob Hidden"):
        assert name not in page.split("</header>")[1]
    # Teams are still ranked, with their figures: Sales, Ops and Comms are
    # each too small to show alone (emma's 4 clicks from 3 visitors, bob's
    # 6 from 6; 5 shares with carl's).
    # Together they are no team, so nothing is ranked.
    assert "No team is large enough to be ranked yet." in page
    pooled = re.search(r'<p class="pooled-teams">(.*?)</p>', page, re.S).group(1)
    assert " ".join(re.sub("<[^>]+>", "", pooled).split()) == (
        "Smaller teams together, not ranked: 4 members · 9 points · 10 clicks · 5 shares")
    me = json.loads(text(emma.client.get("/api/v1/me/stats")))
    assert me["rank"] == {"this_month": None, "all_time": None} and me["on_leaderboard"] is False
    assert "switched off" in text(emma.client.get("/me"))

    assert admin.post("/leaderboard", "/leaderboard/settings", {"people": "on"}).status_code == 302
    assert "Emma Visible" in text(emma.client.get("/leaderboard"))


def test_small_teams_together_are_shown_apart_from_the_ranking(client, people):
    """A ranked team and the small teams pooled for privacy: the pool has
    more points, yet it is no team, so it is not in the ranking at all."""
    item = make_item("Team news")
    for n in range(3):
        member = make_person(f"ops{n}", department="Operations", joined_at=utcnow())
        if n == 0:
            click(share(member, item), visitor="ops-visitor")
    login(client, "emma")
    page = text(client.get("/leaderboard?period=all"))
    teams = page.split("<h2>Teams</h2>")[1]
    ranked = re.findall(r'<td class="num">(\d+)</td>\s*<th scope="row">([^<]+)</th>', teams)
    assert ranked == [("1", "Operations")]
    assert Page(page).row("Teams", "Operations") == {"points": 1, "clicks": 1, "shares": 1}
    table = teams[:teams.index("</table>")]
    assert "Smaller teams together" not in table
    pooled = re.search(r'<p class="pooled-teams">(.*?)</p>', teams, re.S).group(1)
    assert "9 points" in pooled and "not ranked" in pooled
    assert "Clicks count every visit" in page  # what differs between points and clicks


# -- campaign contests ---------------------------------------------------------------

def test_campaign_board_respects_visibility(client, people):
    login(client, "carl")
    response = client.get("/campaigns/spring/board")
    page = text(response)
    assert response.status_code == 200
    assert_hidden(page)
    assert "Emma Visible" in page
    assert "Carl Visible" not in page.split("</header>")[1]  # he did not share in the campaign
    assert "1 more person shared without appearing by name" in page
    # Ranked among the visible: no gap where Bob (more points) would be.
    assert re.search(r'<td class="num">1</td>\s*<th scope="row">Emma Visible', page)
    assert client.get("/campaigns/nope/board").status_code == 404


def test_prize_draw_is_reproducible_from_its_record(csrf_app):
    people = world()
    make_person("dora")  # shared nothing: not a participant
    outside = make_item("Old news", campaign=people["spring"])
    share(people["carl"], outside, at=utcnow() - datetime.timedelta(days=30))  # before the campaign

    emma = Browser(csrf_app, "emma")
    assert emma.post("/campaigns/spring/board", "/campaigns/spring/draw", {"winners": "1"}).status_code == 403
    admin = Browser(csrf_app, "anna")
    assert admin.client.post("/campaigns/spring/draw", data={"winners": "1"}).status_code == 400  # CSRF
    too_many = admin.post("/campaigns/spring/board", "/campaigns/spring/draw", {"winners": "3"})
    assert too_many.status_code == 303 and PrizeDraw.select().count() == 0

    response = admin.post("/campaigns/spring/board", "/campaigns/spring/draw", {"winners": "1"})
    assert response.status_code == 303
    draw = PrizeDraw.get()
    assert sorted(draw.participants) == sorted([people["emma"].id, people["bob"].id])
    assert draw.winners == random.Random(draw.seed).sample(draw.participants, 1)
    assert re.fullmatch(r"[0-9a-f]{32}", draw.seed) and draw.drawn_by_id == people["anna"].id
    assert "random.Random(seed).sample(participants, 1)" in draw.method
    assert AuditLog.get(AuditLog.action == "draw").detail["seed"] == draw.seed

    page = text(emma.client.get("/campaigns/spring/draws"))
    assert draw.seed in page
    published = draw.pseudonyms  # a pseudonym of this draw for each participant, ids never shown
    assert len(published) == 2 and all(re.fullmatch(r"[0-9A-F]{10}", p) for p in published)
    assert ", ".join(published) in re.sub(r"</?mark[^>]*>", "", page)
    assert_hidden(page)
    listed = json.dumps(published).replace('"', "&#34;")
    assert f"random.Random(&#34;{draw.seed}&#34;).sample({listed}, 1)" in page
    assert random.Random(draw.seed).sample(published, 1) == [published[draw.participants.index(draw.winners[0])]]


# -- the API ---------------------------------------------------------------------------

def test_api_me_stats(client, people):
    response = client.get("/api/v1/me/stats")
    assert response.status_code == 401 and response.is_json and "error" in response.json
    login(client, "emma")
    data = client.get("/api/v1/me/stats").json
    assert data["period"]["name"] == "month"
    assert data["totals"] == data["this_month"] == {"shares": 2, "clicks": 4, "visitors": 3, "points": 3,
                                                    "emv": 10.0, "conversions": 0}
    assert data["rank"]["all_time"] == 1 and data["streak_weeks"] == 1
    assert len(data["weekly"]) == 12
    assert "Bob" not in json.dumps(data)
    today = analytics.today_utc().isoformat()
    custom = client.get(f"/api/v1/me/stats?from={today}&to={today}").json
    assert custom["period"] == {"name": "custom", "from": today, "to": today} and custom["totals"]["clicks"] == 4


@pytest.mark.parametrize("query", ["period=year", "from=2026-13-01", "from=yesterday", "to=2026-1-1",
                                   "from=2026-03-02&to=2026-03-01", "period=all&from=2026-01-01",
                                   "limit=5", "from=1900-01-01"])
def test_api_bad_parameters_are_400_json(client, people, query):
    login(client, "anna")
    for path in ("/api/v1/me/stats", "/api/v1/stats"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400 and response.is_json
        assert response.json["error"]


def test_api_programme_stats_for_admins_only(client, people):
    assert client.get("/api/v1/stats").status_code == 401
    login(client, "emma")
    response = client.get("/api/v1/stats")
    assert response.status_code == 403 and response.is_json
    login(client, "anna")
    data = client.get("/api/v1/stats?period=all").json
    assert (data["programme"]["shares"], data["programme"]["clicks"], data["programme"]["visitors"],
            data["programme"]["bot_hits"], data["programme"]["conversions"]) == (5, 10, 9, 1, 1)
    assert data["by_kind"]["self_clicks"] == 1
    assert_hidden(json.dumps(data))
    week = client.get("/api/v1/stats?period=week").json
    assert week["period"]["name"] == "week"


def test_openapi_describes_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    doc = json.loads(text(response))
    assert doc["openapi"].startswith("3.1")
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")}
    assert routes <= set(doc["paths"])
    assert {"/api/v1/me/stats", "/api/v1/stats", "/api/v1/conversions", "/api/v1/openapi.json"} <= set(doc["paths"])
    conversions = doc["paths"]["/api/v1/conversions"]["post"]
    assert set(conversions["responses"]) == {"200", "201", "400", "401", "404"}
    assert conversions["security"] == [{"apiKey": []}]
    # Every reference resolves.
    for ref in re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(doc)):
        assert ref in doc["components"]["schemas"]
