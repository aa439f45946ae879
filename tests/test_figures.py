"""One figure, one number: after the nightly roll-up has turned old clicks
into daily totals, every page, the digest, the API and the CSV files show
the same shares, clicks, unique visitors and points as the analytics.

The programme has clicks older than the retention (rolled up) and recent
ones, and every figure is read where a person reads it: in the page's
tables and figure lists, in the digest's text, in the JSON and in the CSV.
"""

import csv
import datetime
import io
import re
from collections import defaultdict

import pytest

from digest.send import preview
from helpers import BROWSER, login, make_campaign, make_item, make_person, store_click
from helpers.pages import COLUMNS, Page, numbers
from intranet_plugin import analytics
from intranet_plugin.models import Click, ClickDaily, ShareEvent, TrackedLink, utcnow
from intranet_plugin.scheduler import retention

DAY = datetime.timedelta(days=1)
# The networks' names as the pages show them.
NETWORK_NAMES = {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook"}

# What each figure must be, worked out by hand from the clicks below.
# emma: Windpark open on LinkedIn 6 clicks from 5 visitors, Engineer wanted
# on X 3 from 3; sam: Windpark open on Facebook 3 from 3, Open day (not in
# the campaign) on LinkedIn 2 from 2. Points are unique visitors.
EXPECTED = {
    "emma": {"shares": 2, "clicks": 9, "visitors": 8, "points": 8},
    "sam": {"shares": 2, "clicks": 5, "visitors": 5, "points": 5},
    "emma in spring": {"shares": 2, "clicks": 9, "visitors": 8, "points": 8},
    "sam in spring": {"shares": 1, "clicks": 3, "visitors": 3, "points": 3},
    "spring": {"shares": 3, "clicks": 12, "visitors": 11, "points": 11},
    "programme": {"shares": 4, "clicks": 14, "visitors": 13, "points": 13},
    "team Sales": {"shares": 4, "clicks": 14, "visitors": 13, "points": 13},
    "item Windpark open": {"shares": 2, "clicks": 9, "visitors": 8},
    "item Engineer wanted": {"shares": 1, "clicks": 3, "visitors": 3},
    "item Open day": {"shares": 1, "clicks": 2, "visitors": 2},
    "network linkedin": {"shares": 2, "clicks": 8, "visitors": 7},
    "network x": {"shares": 1, "clicks": 3, "visitors": 3},
    "network facebook": {"shares": 1, "clicks": 3, "visitors": 3},
    "emma on linkedin": {"shares": 1, "clicks": 6, "visitors": 5},
    "emma on x": {"shares": 1, "clicks": 3, "visitors": 3},
}


@pytest.fixture
def programme(app):
    """Two sharers of Sales (with a third member, so that the team is shown
    by name), a campaign without dates (so every click is in its period)
    and clicks from 500 and 450 days ago, rolled up, and from two days ago,
    kept raw."""
    emma = make_person("emma", display_name="Emma", department="Sales", show_on_leaderboard=True)
    sam = make_person("sam", display_name="Sam", department="Sales", show_on_leaderboard=True)
    make_person("quinn", display_name="Quinn", department="Sales")
    make_person("anouk", display_name="Anouk", role="admin", department="HR")
    spring = make_campaign("spring", name="Spring")
    windpark = make_item("Windpark open", campaign=spring)
    vacancy = make_item("Engineer wanted", kind="vacancy", campaign=spring)
    open_day = make_item("Open day")
    now = utcnow()
    old, older, recent = now - 450 * DAY, now - 500 * DAY, now - 2 * DAY

    def share(person, item, network, at, clicks):
        link = TrackedLink.for_share(person, item, network)
        ShareEvent.create(person=person, item=item, link=link, network=network, day=at.date(), created_at=at)
        for when, visitor in clicks:
            store_click(link, when, visitor=visitor)
        store_click(link, at, kind="crawler", visitor="bot")  # recorded, never counted
        store_click(link, at, visitor="me", is_self=True)  # the sharer's own: never counted
        return link

    share(emma, windpark, "linkedin", older,
          [(older, "a"), (older, "a"), (older, "b"), (old, "c"), (recent, "d"), (recent, "e")])
    share(emma, vacancy, "x", old, [(old, "f"), (recent, "f"), (recent, "g")])
    share(sam, windpark, "facebook", older, [(older, "h"), (older, "i"), (recent, "j")])
    share(sam, open_day, "linkedin", old, [(old, "k"), (recent, "l")])
    return {"emma": emma, "sam": sam, "spring": spring}


def analytics_figures(programme):
    """EXPECTED's figures as the analytics count them (all time)."""
    ever = analytics.all_time()
    people = analytics.person_totals([p.id for p in (programme["emma"], programme["sam"])], ever)
    board = {row["person_id"]: row for row in analytics.leaderboard(ever, campaign_id=programme["spring"].id)}
    figures = {"emma": people[programme["emma"].id].as_dict(), "sam": people[programme["sam"].id].as_dict(),
               "emma in spring": board[programme["emma"].id], "sam in spring": board[programme["sam"].id],
               "spring": analytics.campaign_totals(programme["spring"].id),
               "programme": analytics.programme_totals(ever)}
    figures.update({f"team {row.department}": row.totals.as_dict() for row in analytics.team_totals(ever)})
    figures.update({f"item {row['title']}": row for row in analytics.by_item(ever)})
    figures.update({f"network {row['network']}": row for row in analytics.by_network(ever)})
    figures.update({f"emma on {row['network']}": row
                    for row in analytics.by_network(ever, programme["emma"].id)})
    return {who: {k: v for k, v in figures[who].items() if k in wanted} for who, wanted in EXPECTED.items()}


# -- reading what a person reads -------------------------------------------------

def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.get_data(as_text=True))


def csv_rows(client, table):
    response = client.get(f"/admin/dashboard/{table}.csv?period=all")
    assert response.status_code == 200 and response.mimetype == "text/csv", table
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def csv_row(rows, column, value):
    return numbers(next(row for row in rows if row[column] == value))


def keyed(rows, prefix, key):
    """{who: row} of the JSON rows EXPECTED names ("team Sales"), after
    checking that each of them is there."""
    rows = {f"{prefix} {row[key]}": row for row in rows}
    wanted = {who for who in EXPECTED if who.startswith(prefix + " ")}
    assert wanted <= set(rows), (prefix, sorted(rows))
    return {who: rows[who] for who in wanted}


def digest_figures(text):
    """The all-time figures of the digest's text part ("Clicks: 3 (all
    time: 9)")."""
    found = {}
    for label, key in COLUMNS.items():
        match = re.search(rf"^{label}: .*\(all time: ([\d,]+)\)$", text, re.M)
        if match:
            found[key] = int(match.group(1).replace(",", ""))
    return found


# -- the test ----------------------------------------------------------------------

def test_every_place_shows_the_same_figures_after_a_roll_up(app, programme):
    with app.app_context():
        assert analytics_figures(programme) == EXPECTED
        message = retention(app)  # the nightly job
    assert "16 old clicks rolled up" in message  # the clicks of 450 and 500 days ago, bots and own included
    cutoff = utcnow() - app.config["CLICK_RETENTION_DAYS"] * DAY
    assert not Click.select().where(Click.at < cutoff).exists() and ClickDaily.select().exists()
    with app.app_context():
        assert analytics_figures(programme) == EXPECTED  # the roll-up changed no figure

    shown = defaultdict(dict)  # (who, figure) -> {place: number}

    def record(who, place, figures):
        assert figures, f"{place}: no figure of {who} found"
        for figure, value in figures.items():
            if figure in EXPECTED[who]:
                shown[who, figure][place] = value

    emma = app.test_client()
    emma.environ_base["HTTP_USER_AGENT"] = BROWSER
    login(emma, "emma")

    campaign = page(emma, "/campaigns/spring")
    record("spring", "campaign page", campaign.dl("Spring"))

    board = page(emma, "/campaigns/spring/board")
    record("spring", "campaign board", board.dl("Campaign leaderboard"))
    record("emma in spring", "campaign board", board.row("Campaign leaderboard", "Emma"))
    record("sam in spring", "campaign board", board.row("Campaign leaderboard", "Sam"))

    me = page(emma, "/me?period=all")
    record("emma", "/me", me.dl("All time"))
    for network in ("linkedin", "x"):
        record(f"emma on {network}", "/me", me.row("By network", NETWORK_NAMES[network]))

    leaderboard = page(emma, "/leaderboard?period=all")
    record("emma", "/leaderboard", leaderboard.row("People", "Emma"))
    record("sam", "/leaderboard", leaderboard.row("People", "Sam"))
    record("team Sales", "/leaderboard", leaderboard.row("Teams", "Sales"))

    mine = emma.get("/api/v1/me/stats?period=all").get_json()
    record("emma", "/api/v1/me/stats totals", mine["totals"])
    record("emma", "/api/v1/me/stats all_time", mine["all_time"])
    for who, row in keyed(mine["by_network"], "emma on", "network").items():
        record(who, "/api/v1/me/stats", row)

    _subject, _html, text, _digest = preview(app, programme["emma"])
    record("emma", "digest", digest_figures(text))

    admin = app.test_client()
    admin.environ_base["HTTP_USER_AGENT"] = BROWSER
    login(admin, "anouk")

    dashboard = page(admin, "/admin/dashboard?period=all")
    record("programme", "dashboard", dashboard.dl("Participation"))
    record("spring", "dashboard", dashboard.row("Campaigns", "Spring"))
    record("emma", "dashboard", dashboard.row("Top sharers", "Emma"))
    record("sam", "dashboard", dashboard.row("Top sharers", "Sam"))
    record("team Sales", "dashboard", dashboard.row("Teams", "Sales"))
    for title in ("Windpark open", "Engineer wanted", "Open day"):
        record(f"item {title}", "dashboard", dashboard.row("Top items", title))
    for network, name in NETWORK_NAMES.items():
        record(f"network {network}", "dashboard", dashboard.row("By network", name))

    stats = admin.get("/api/v1/stats?period=all").get_json()
    record("programme", "/api/v1/stats", stats["programme"])
    for rows, prefix, key in ((stats["teams"], "team", "team"), (stats["top_items"], "item", "title"),
                              (stats["by_network"], "network", "network")):
        for who, row in keyed(rows, prefix, key).items():
            record(who, "/api/v1/stats", row)

    participation = {row["figure"]: row["value"] for row in csv_rows(admin, "participation")}
    record("programme", "participation.csv", numbers(participation))
    record("spring", "campaigns.csv", csv_row(csv_rows(admin, "campaigns"), "campaign", "Spring"))
    sharers = csv_rows(admin, "sharers")
    record("emma", "sharers.csv", csv_row(sharers, "name", "Emma"))
    record("sam", "sharers.csv", csv_row(sharers, "name", "Sam"))
    record("team Sales", "teams.csv", csv_row(csv_rows(admin, "teams"), "team", "Sales"))
    items = csv_rows(admin, "items")
    for title in ("Windpark open", "Engineer wanted", "Open day"):
        record(f"item {title}", "items.csv", csv_row(items, "title", title))
    networks = csv_rows(admin, "networks")
    for network in NETWORK_NAMES:
        record(f"network {network}", "networks.csv", csv_row(networks, "network", network))

    # Every figure was found where it is shown, and is the same there as in
    # the analytics.
    assert {place for places in shown.values() for place in places} >= {
        "campaign page", "campaign board", "/me", "/leaderboard", "dashboard", "digest",
        "/api/v1/me/stats totals", "/api/v1/stats", "campaigns.csv", "sharers.csv", "participation.csv"}
    for (who, figure), places in sorted(shown.items()):
        assert places == dict.fromkeys(places, EXPECTED[who][figure]), f"{figure} of {who}"
