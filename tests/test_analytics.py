"""Impact figures against hand-computed expectations: bots, HEAD requests,
repeat visitors on the same and on different days, self-clicks, several
networks, and rolled-up daily totals mixed with raw click rows; and a
constant number of queries whatever the number of people."""

import datetime
import itertools

import pytest

from helpers import count_queries, make_campaign, make_item, make_person, store_click
from intranet_plugin import analytics as a
from intranet_plugin.models import (
    ClickDaily,
    Conversion,
    Setting,
    ShareEvent,
    TrackedLink,
)
from intranet_plugin.tracking.rollup import roll_up_days

TODAY = datetime.date(2026, 3, 18)  # a Wednesday, ISO week 12
MONTH = a.this_month(TODAY)
EVER = a.all_time()
D = datetime.date
_events = itertools.count()


def click(link, day, kind="human", visitor="v", is_self=False, hour=12):
    store_click(link, datetime.datetime.combine(day, datetime.time(hour)), kind, visitor, is_self)


def share(person, item, link, day):
    ShareEvent.create(person=person, item=item, link=link, network=link.network, day=day,
                      created_at=datetime.datetime.combine(day, datetime.time(9)))


@pytest.fixture
def fx(make_app):
    """Emma (Sales, visible), Bob (Sales, hidden), Carl (Ops, visible).

    Cost per click: LinkedIn 3, X 1.5, Facebook 1.
    """
    app = make_app(COST_PER_CLICK="linkedin=3 x=1.5 facebook=1")
    ctx = app.app_context()
    ctx.push()
    old = datetime.datetime(2024, 12, 1)
    emma = make_person("emma", department="Sales", show_on_leaderboard=True)
    bob = make_person("bob", department="Sales")
    carl = make_person("carl", department="Ops", show_on_leaderboard=True)
    spring = make_campaign("spring")
    i1 = make_item("Windpark open", campaign=spring, publish_at=old)
    i2 = make_item("Engineer wanted", kind="vacancy", publish_at=old)
    l1 = TrackedLink.for_share(emma, i1, "linkedin")
    l2 = TrackedLink.for_share(emma, i1, "x")
    l3 = TrackedLink.for_share(emma, i2, "linkedin")
    l4 = TrackedLink.for_share(bob, i1, "linkedin")
    l5 = TrackedLink.for_share(carl, i2, "facebook")
    share(emma, i1, l1, D(2026, 3, 2))
    share(emma, i1, l2, D(2026, 3, 2))
    share(emma, i2, l3, D(2025, 1, 9))
    share(bob, i1, l4, D(2026, 3, 10))
    share(carl, i2, l5, D(2026, 3, 16))

    # L1: a repeat visitor (v1 twice) and v2 on one day, a crawler, a HEAD,
    # Emma's own click; v1 again the next day (hashes rotate: a new visitor).
    for visitor in ("v1", "v1", "v2"):
        click(l1, D(2026, 3, 2), visitor=visitor)
    click(l1, D(2026, 3, 2), kind="crawler", visitor="c1")
    click(l1, D(2026, 3, 2), kind="head", visitor="h1")
    click(l1, D(2026, 3, 2), visitor="emma-own", is_self=True)
    click(l1, D(2026, 3, 3), visitor="v1")
    click(l2, D(2026, 3, 5), visitor="v3")
    click(l2, D(2026, 3, 5), kind="empty", visitor="e1")
    click(l3, D(2026, 2, 10), visitor="v4")
    click(l4, D(2026, 3, 11), visitor="v5")
    click(l4, D(2026, 3, 11), visitor="v6")
    # Rolled up long ago: 4 human clicks by 3 visitors, 2 crawler hits, one own click.
    for visitor in ("r1", "r1", "r2", "r3"):
        click(l3, D(2025, 1, 10), visitor=visitor)
    click(l3, D(2025, 1, 10), kind="crawler", visitor="c1")
    click(l3, D(2025, 1, 10), kind="crawler", visitor="c2")
    click(l1, D(2025, 1, 11), visitor="emma-own", is_self=True)
    assert roll_up_days(D(2025, 1, 10), D(2025, 1, 12)) == 7
    assert ClickDaily.select().count() == 3

    Conversion.create(link=l1, kind="application", external_id="a1", at=datetime.datetime(2026, 3, 4, 10))
    Conversion.create(link=l4, kind="lead", external_id="b1", at=datetime.datetime(2025, 6, 1, 10))

    yield {"app": app, "emma": emma.id, "bob": bob.id, "carl": carl.id, "i1": i1.id, "i2": i2.id,
           "spring": spring.id}
    ctx.pop()


def test_person_totals_all_time_and_this_month(fx):
    everyone = a.person_totals(None, EVER)
    # Emma: L1 3+1 clicks (2+1 visitors), L2 1 (1), L3 1 (1) + rolled up 4 (3).
    assert everyone[fx["emma"]] == a.Totals(shares=3, clicks=10, visitors=8, emv=4 * 3 + 1.5 + 5 * 3,
                                            conversions=1)
    assert everyone[fx["bob"]] == a.Totals(shares=1, clicks=2, visitors=2, emv=6.0, conversions=1)
    assert everyone[fx["carl"]] == a.Totals(shares=1)
    assert everyone[fx["emma"]].points == 8

    month = a.person_totals([fx["emma"], fx["bob"], fx["carl"], 9999], MONTH)
    assert month[fx["emma"]] == a.Totals(shares=2, clicks=5, visitors=4, emv=13.5, conversions=1)
    assert month[fx["bob"]] == a.Totals(shares=1, clicks=2, visitors=2, emv=6.0, conversions=0)
    assert month[9999] == a.Totals()
    assert a.person_totals([], EVER) == {}


def test_periods_are_inclusive_days(fx):
    day = a.Period(D(2026, 3, 2), D(2026, 3, 2))
    assert a.person_totals([fx["emma"]], day)[fx["emma"]] == a.Totals(shares=2, clicks=3, visitors=2,
                                                                     emv=9.0, conversions=0)
    assert a.person_totals([fx["emma"]], a.Period(None, D(2025, 12, 31)))[fx["emma"]] == \
        a.Totals(shares=1, clicks=4, visitors=3, emv=12.0)
    with pytest.raises(ValueError):
        a.Period(D(2026, 3, 2), D(2026, 3, 1))
    assert a.last_weeks(2, TODAY) == a.Period(D(2026, 3, 9), TODAY)


def test_by_network_kind_and_item(fx):
    networks = {row["network"]: row for row in a.by_network(EVER)}
    assert networks["linkedin"] == {"network": "linkedin", "shares": 3, "clicks": 11, "visitors": 9,
                                    "self_clicks": 2, "bot_hits": 4, "emv": 33.0, "cost_per_click": 3.0}
    assert networks["x"] == {"network": "x", "shares": 1, "clicks": 1, "visitors": 1, "self_clicks": 0,
                             "bot_hits": 1, "emv": 1.5, "cost_per_click": 1.5}
    assert networks["facebook"]["shares"] == 1 and networks["facebook"]["clicks"] == 0
    assert [row["network"] for row in a.by_network(EVER)] == ["linkedin", "x", "facebook"]
    assert {row["network"] for row in a.by_network(EVER, fx["bob"])} == {"linkedin"}

    kinds = a.by_kind(EVER)
    assert kinds["clicks"] == 12 and kinds["visitors"] == 10
    assert kinds["self_clicks"] == 2 and kinds["bot_hits"] == 5
    assert kinds["kinds"] == {"human": {"hits": 12, "visitors": 10}, "crawler": {"hits": 3, "visitors": 3},
                              "head": {"hits": 1, "visitors": 1}, "empty": {"hits": 1, "visitors": 1}}
    assert a.by_kind(MONTH, fx["emma"])["bot_hits"] == 3

    items = a.by_item(EVER)
    assert [(r["item_id"], r["shares"], r["clicks"], r["visitors"]) for r in items] == \
        [(fx["i1"], 3, 7, 6), (fx["i2"], 2, 5, 4)]
    assert items[1]["bot_hits"] == 2 and items[0]["emv"] == 4 * 3 + 1.5 + 2 * 3
    # Emma's two items tie on points and clicks: more shares first.
    assert [r["item_id"] for r in a.by_item(EVER, fx["emma"])] == [fx["i1"], fx["i2"]]
    assert len(a.by_item(EVER, limit=1)) == 1


def test_weekly_series_is_zero_filled(fx):
    series = a.weekly_series(4, fx["emma"], today=TODAY)
    assert [(w["week"], w["start"], w["clicks"], w["visitors"]) for w in series] == [
        ("2026-W09", "2026-02-23", 0, 0), ("2026-W10", "2026-03-02", 5, 4),
        ("2026-W11", "2026-03-09", 0, 0), ("2026-W12", "2026-03-16", 0, 0)]
    assert [w["clicks"] for w in a.weekly_series(4, today=TODAY)] == [0, 5, 2, 0]


def test_leaderboard_ranks_by_points_and_hides_names(fx):
    board = a.leaderboard(EVER)
    assert [(r["rank"], r["name"], r["points"]) for r in board] == [(1, "Emma", 8), (2, "Carl", 0)]
    full = a.leaderboard(EVER, include_hidden=True)
    assert [(r["rank"], r["person_id"], r["visible"]) for r in full] == [
        (1, fx["emma"], True), (2, fx["bob"], False), (3, fx["carl"], True)]
    assert full[1]["name"] is None and full[1]["department"] is None
    assert a.rank_of(fx["emma"], EVER) == 1
    assert a.rank_of(fx["bob"], EVER) is None

    Setting.set_value(a.LEADERBOARD_SETTING, "0")
    assert a.leaderboard(EVER) == []
    assert all(r["name"] is None and not r["visible"] for r in a.leaderboard(EVER, include_hidden=True))
    assert a.rank_of(fx["emma"], EVER) is None


def test_leaderboard_ties_by_clicks_then_name(fx):
    i = make_item("Tie")
    for name, clicks in (("zoe", 2), ("anna", 1), ("yves", 1)):
        person = make_person(name, show_on_leaderboard=True)
        link = TrackedLink.for_share(person, i, "linkedin")
        for _n in range(clicks):
            click(link, D(2026, 3, 17), visitor="same")  # one visitor, several clicks
    board = [r["name"] for r in a.leaderboard(a.Period(D(2026, 3, 17), D(2026, 3, 17)))]
    assert board == ["Zoe", "Anna", "Yves"]


def test_a_persons_rank_is_their_place_on_the_board(fx):
    """rank_of counts those ahead instead of ranking everyone: the same
    place as the board's, through ties of points, clicks and names, for
    people with shares only, and never for the hidden."""
    i = make_item("Tie")
    day = D(2026, 3, 17)
    people = {}
    for n, (name, display, clicks, visitors, shares) in enumerate((
            ("zoe", "Zoe", 2, 1, 0), ("anna", "Anna", 1, 1, 0), ("yves", "Yves", 1, 1, 0),
            ("yva", "Yves", 1, 1, 0), ("max", "Max", 3, 3, 1), ("sam", "Sam", 0, 0, 1),
            ("abe", "Abe", 0, 0, 1), ("sam2", "Sam", 0, 0, 1), ("hid", "Hidden", 5, 5, 1))):
        person = make_person(name, display_name=display, show_on_leaderboard=name != "hid")
        people[name] = person.id
        link = TrackedLink.for_share(person, i, ("linkedin", "x")[n % 2])
        for k in range(clicks):
            click(link, day, visitor=f"{name}-{min(k, visitors - 1)}")
        if shares:
            share(person, i, link, day)
    for period in (a.Period(day, day), MONTH, EVER):
        board = {r["person_id"]: r["rank"] for r in a.leaderboard(period)}
        assert len(board) >= 8
        for pid in [*people.values(), fx["emma"], fx["bob"], fx["carl"]]:
            assert a.rank_of(pid, period) == board.get(pid), (period, pid)
    assert a.rank_of(people["hid"], EVER) is None and a.rank_of(fx["bob"], EVER) is None


def test_the_top_of_the_leaderboard_ranked_a_batch_at_a_time_is_the_leaderboards(fx):
    i = make_item("Tie")
    for name, clicks in (("zoe", 2), ("anna", 1), ("yves", 1), ("hidden", 9), ("xena", 0)):
        person = make_person(name, show_on_leaderboard=name != "hidden")
        link = TrackedLink.for_share(person, i, "linkedin")
        share(person, i, link, D(2026, 3, 17))
        for _n in range(clicks):
            click(link, D(2026, 3, 17), visitor="same")
    for period in (EVER, a.Period(D(2026, 3, 17), D(2026, 3, 17))):
        for n in (1, 3, 10):
            expected = a.leaderboard(period, limit=n)
            for batch in (1, 2, 5000):
                assert a.leaderboard_top(period, n, batch=batch) == expected
    Setting.set_value(a.LEADERBOARD_SETTING, "0")
    assert a.leaderboard_top(EVER, 3, batch=2) == []


def test_campaign_board_and_totals(fx):
    board = a.leaderboard(a.this_month(TODAY), campaign_id=fx["spring"], include_hidden=True)
    # Carl shared only a vacancy outside the campaign.
    assert [(r["person_id"], r["points"]) for r in board] == [(fx["emma"], 4), (fx["bob"], 2)]
    assert a.campaign_participants(fx["spring"]) == sorted([fx["emma"], fx["bob"]])
    totals = a.campaign_totals(fx["spring"])
    assert (totals["shares"], totals["sharers"], totals["clicks"], totals["visitors"], totals["bot_hits"],
            totals["conversions"], totals["items"]) == (3, 2, 7, 6, 3, 2, 1)


def test_team_totals(fx):
    teams = a.team_totals(EVER, min_members=1)
    assert teams == [("Sales", a.Totals(shares=4, clicks=12, visitors=10, emv=34.5, conversions=2), 2),
                     ("Ops", a.Totals(shares=1), 1)]
    # Too small to show on their own: folded into one row without a name.
    assert a.team_totals(EVER) == [(None, a.Totals(shares=5, clicks=12, visitors=10, emv=34.5,
                                                   conversions=2), 3)]


def test_programme_totals(fx):
    month = a.programme_totals(MONTH)
    assert month["period"] == {"from": "2026-03-01", "to": "2026-03-18"}
    expected = {"employees": 3, "joined": 3, "active_sharers": 3, "participation_rate": 1.0,
                "shares": 4, "items": 2, "shares_per_ambassador": 1.33, "shares_per_item": 2.0,
                "clicks": 7, "visitors": 6, "points": 6, "self_clicks": 1, "bot_hits": 3,
                "conversions": 1, "applications": 1, "leads": 0, "emv": 19.5}
    assert {k: month[k] for k in expected} == expected
    ever = a.programme_totals(EVER)
    assert (ever["shares"], ever["clicks"], ever["visitors"], ever["bot_hits"], ever["self_clicks"],
            ever["conversions"], ever["emv"]) == (5, 12, 10, 5, 2, 2, 34.5)
    # Totals add up across every breakdown.
    assert sum(t.clicks for t in a.person_totals(None, EVER).values()) == ever["clicks"]
    assert sum(r["visitors"] for r in a.by_network(EVER)) == ever["visitors"]
    assert sum(r["clicks"] for r in a.by_item(EVER)) == ever["clicks"]


def test_streak_counts_consecutive_weeks_of_clicks_not_of_shares(fx):
    person = make_person("stella")
    item = make_item("Streaky")
    link = TrackedLink.for_share(person, item, "linkedin")
    assert a.streak(person.id, TODAY) == 0
    for day in (D(2026, 2, 24), D(2026, 3, 3), D(2026, 3, 4), D(2026, 3, 12), D(2026, 3, 16)):
        share(person, item, link, day)
    assert a.streak(person.id, TODAY) == 0  # pressing share buttons makes no streak
    click(link, D(2026, 3, 16), kind="crawler", visitor="bot")
    click(link, D(2026, 3, 16), visitor="own", is_self=True)
    assert a.streak(person.id, TODAY) == 0  # nor do bots and the sharer's own clicks
    for day in (D(2026, 2, 24), D(2026, 3, 3), D(2026, 3, 4), D(2026, 3, 12)):  # W09, W10, W10, W11
        click(link, day, visitor=f"v{day}")
    assert a.streak(person.id, TODAY) == 3  # nothing yet this week: counted up to last week
    click(link, D(2026, 3, 16), visitor="v-w12")
    assert a.streak(person.id, TODAY) == 4
    assert a.streak(person.id, D(2026, 3, 30)) == 0


def test_default_cost_per_click_without_config(fx):
    fx["app"].config.pop("COST_PER_CLICK")
    assert a.person_totals([fx["emma"]], EVER)[fx["emma"]].emv == 9 * 3.0  # only LinkedIn counts
    assert a.by_network(EVER)[1]["cost_per_click"] == 0.0




def grow(n, offset=0):
    """n more people, each with two items shared, clicked by humans and bots."""
    for k in range(offset, offset + n):
        person = make_person(f"p{k}", department=f"Team {k % 7}", show_on_leaderboard=k % 2 == 0)
        for network in ("linkedin", "x"):
            item = make_item(f"Item {k} {network}")
            link = TrackedLink.for_share(person, item, network)
            share(person, item, link, D(2026, 3, 10))
            click(link, D(2026, 3, 11), visitor=f"a{k}")
            click(link, D(2026, 3, 11), kind="crawler", visitor=f"b{k}")
            click(link, D(2025, 1, 3), visitor=f"old{k}")
            click(link, D(2025, 1, 3), visitor=f"older{k}")
    roll_up_days(D(2025, 1, 3), D(2025, 1, 4))


def test_query_count_does_not_grow_with_people(fx):
    calls = [
        lambda: a.person_totals(None, EVER),
        lambda: a.team_totals(MONTH),
        lambda: a.by_network(EVER),
        lambda: a.by_kind(EVER, fx["emma"]),
        lambda: a.by_item(EVER, limit=5),
        lambda: a.weekly_series(12, today=TODAY),
        lambda: a.leaderboard(EVER, limit=10),
        lambda: a.rank_of(fx["emma"], MONTH),
        lambda: a.streak(fx["emma"], TODAY),
        lambda: a.programme_totals(MONTH),
        lambda: a.campaign_totals(fx["spring"]),
    ]
    grow(10)
    small = [count_queries(call) for call in calls]
    grow(190, offset=10)
    large = [count_queries(call) for call in calls]
    assert small == large
    assert max(small) <= 6
    assert len(a.person_totals(None, EVER)) == 203
