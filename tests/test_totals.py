"""The running click totals: kept exactly as clicks are stored, equal to a
rebuild from the raw rows, and giving the figures a count over raw clicks
gives, for every kind of period."""

import collections
import datetime
import random
import threading

import pytest

from helpers import count_queries, make_campaign, make_item, make_person, store_click
from intranet_plugin import analytics
from intranet_plugin.analytics import milestones
from intranet_plugin.content.audiences import set_audience
from intranet_plugin.models import (
    Audience,
    Campaign,
    Click,
    ClickDaily,
    DayTotal,
    Item,
    LinkDay,
    LinkMonth,
    LinkTotal,
    TrackedLink,
    db,
    utcnow,
)
from intranet_plugin.tracking import totals
from intranet_plugin.tracking.clicks import store
from intranet_plugin.tracking.rollup import roll_up_days

D = datetime.date
COSTS = {"linkedin": 3.0, "x": 1.5, "facebook": 1.0}


def snapshot():
    """Every totals row (``totals.TABLES``), without the zero rows a
    subtraction may leave."""
    def rows(model, keys):
        out = {}
        for row in model.select().dicts():
            values = tuple(row[m] for m in totals.columns_of(model))
            if any(values):
                out[tuple(str(row[k]) for k in keys)] = values
        return out
    return {model.__name__: rows(model, keys) for model, keys, _ in totals.TABLES}


@pytest.fixture
def world(make_app):
    """Three people, four items (two in a campaign), links on three
    networks, and 600 clicks from 40 recurring visitors spread over four
    months: humans, crawlers, HEAD and empty requests, and own clicks."""
    app = make_app(COST_PER_CLICK="linkedin=3 x=1.5 facebook=1")
    ctx = app.app_context()
    ctx.push()
    rng = random.Random(11)
    spring = make_campaign("spring")
    people = [make_person(name, department=dept, show_on_leaderboard=True)
              for name, dept in (("emma", "Sales"), ("bob", "Sales"), ("carl", "Ops"))]
    items = [make_item(f"Item {n}", campaign=spring if n < 2 else None) for n in range(4)]
    links = [TrackedLink.for_share(person, item, network)
             for person in people for item in items for network in ("linkedin", "x", "facebook")]
    start = datetime.datetime(2026, 5, 20)
    rows = []
    for n in range(600):
        at = start + datetime.timedelta(minutes=rng.randrange(110 * 24 * 60))
        kind = rng.choices(["human", "crawler", "head", "empty"], [80, 10, 6, 4])[0]
        visitor = rng.randrange(40)
        rows.append({"event_id": f"w{n}", "link": rng.choice(links).id, "at": at, "day": at.date(),
                     "kind": kind, "visitor": f"v{visitor}", "referrer_host": "",
                     "is_self": kind == "human" and rng.random() < 0.05, "net": f"n{visitor % 8}"})
    # One machine changing its user agent at every request: nine visitors
    # from one network on one link and day, of which three count.
    burst = datetime.datetime(2026, 6, 10, 12)
    rows.extend({"event_id": f"b{n}", "link": links[0].id, "at": burst, "day": burst.date(), "kind": "human",
                 "visitor": f"ua{n}", "referrer_host": "", "is_self": False, "net": "one-machine"}
                for n in range(9))
    # In batches of uneven size, as the journal moves them.
    while rows:
        cut = rng.randrange(1, 90)
        store(rows[:cut])
        rows = rows[cut:]
    yield {"app": app, "people": [p.id for p in people], "campaign": spring.id}
    ctx.pop()


def raw_figures(period, person_id=None, items=None):
    """Clicks, visitors, own clicks, robot hits and EMV counted straight
    from the raw rows, as the definitions in ``analytics`` say."""
    query = (Click.select(Click.link, Click.day, Click.kind, Click.is_self, Click.visitor, Click.net,
                          TrackedLink.network, TrackedLink.person, TrackedLink.item).join(TrackedLink).dicts())
    out = {"clicks": 0, "visitors": collections.defaultdict(set), "self_clicks": 0, "bot_hits": 0, "emv": 0.0}
    for c in query:
        day = c["day"]
        if period.start and day < period.start or period.end and day > period.end:
            continue
        if person_id is not None and c["person"] != person_id:
            continue
        if items is not None and c["item"] not in items:
            continue
        if c["kind"] != "human":
            out["bot_hits"] += 1
        elif c["is_self"]:
            out["self_clicks"] += 1
        else:
            out["clicks"] += 1
            out["visitors"][(c["link"], day, c["net"])].add(c["visitor"])
            out["emv"] += COSTS.get(c["network"], 0)
    # One network adds at most three visitors to a link a day.
    visitors = sum(min(3, len(seen)) for seen in out["visitors"].values())
    repeated = sum(len(seen) - min(3, len(seen)) for seen in out["visitors"].values())
    return {**out, "visitors": visitors, "repeated_visitors": repeated, "emv": round(out["emv"], 2)}


PERIODS = [
    analytics.all_time(),
    analytics.Period(D(2026, 6, 1), D(2026, 6, 30)),  # one whole month
    analytics.Period(D(2026, 6, 1), D(2026, 8, 31)),  # whole months
    analytics.Period(D(2026, 5, 25), D(2026, 7, 10)),  # a month and two edges
    analytics.Period(D(2026, 6, 3), D(2026, 6, 17)),  # within one month
    analytics.Period(None, D(2026, 7, 4)),  # open start
    analytics.Period(D(2026, 7, 15), None),  # open end
    analytics.Period(D(2026, 6, 1), D(2099, 1, 1)),  # ends after today
    analytics.Period(D(2026, 8, 31), D(2026, 8, 31)),  # one day
    analytics.Period(D(2026, 5, 3), D(2026, 7, 28)),  # months less the days left out at either end
    analytics.Period(D(2026, 6, 2), D(2026, 6, 29)),  # most of one month: the month less two days
    analytics.Period(None, D(2026, 7, 27)),  # open start, less the end of its last month
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: f"{p.start}..{p.end}")
def test_figures_from_totals_equal_a_count_of_raw_clicks(world, period):
    programme = analytics.programme_totals(period)
    expected = raw_figures(period)
    figures = ("clicks", "visitors", "self_clicks", "bot_hits", "emv")
    assert {k: programme[k] for k in figures} == {k: expected[k] for k in figures}
    kinds = analytics.by_kind(period)
    assert (kinds["clicks"], kinds["visitors"], kinds["bot_hits"], kinds["repeated_visitors"]) == (
        expected["clicks"], expected["visitors"], expected["bot_hits"], expected["repeated_visitors"])
    networks = analytics.by_network(period)
    assert sum(n["clicks"] for n in networks) == expected["clicks"]
    assert round(sum(n["emv"] for n in networks), 2) == expected["emv"]
    people = analytics.person_totals(world["people"], period)
    for pid in world["people"]:
        mine = raw_figures(period, pid)
        assert (people[pid].clicks, people[pid].visitors, people[pid].emv) == (
            mine["clicks"], mine["visitors"], mine["emv"])
        assert {k: v for k, v in analytics.by_kind(period, pid).items() if k != "kinds"} == {
            k: mine[k] for k in ("clicks", "visitors", "self_clicks", "bot_hits", "repeated_visitors")}
    assert sum(i["visitors"] for i in analytics.by_item(period)) == expected["visitors"]
    assert sum(t.totals.clicks for t in analytics.team_totals(period, min_members=1)) == expected["clicks"]


def test_days_of_a_month_covered_in_part_are_read_from_the_daily_totals(world):
    """A period that covers months in part (and a person's chart, streak,
    best week and milestones) reads the daily totals: with every raw and
    rolled-up click gone, the figures are still those of a raw recount."""
    parts = [analytics.Period(D(2026, 6, 3), D(2026, 6, 17)), analytics.Period(D(2026, 5, 25), D(2026, 7, 10))]
    emma = world["people"][0]
    expected = [(raw_figures(p), raw_figures(p, emma)) for p in parts]
    today = D(2026, 9, 6)
    chart = analytics.weekly_series(20, emma, today)
    streak = analytics.streak(emma, today)
    best = analytics.best_weeks([emma], today)
    reached = milestones.compute([emma])
    assert sum(w["clicks"] for w in chart) > 0 and best and "points_10" in reached[emma]
    Click.delete().execute()
    ClickDaily.delete().execute()
    for period, (everyone, mine) in zip(parts, expected, strict=True):
        programme = analytics.programme_totals(period)
        for key in ("clicks", "visitors", "self_clicks", "bot_hits", "emv"):
            assert programme[key] == everyone[key], key
        items = analytics.by_item(period)
        assert (sum(i["clicks"] for i in items), sum(i["visitors"] for i in items)) == (
            everyone["clicks"], everyone["visitors"])
        person = analytics.person_totals([emma], period)[emma]
        assert (person.clicks, person.visitors, person.emv) == (mine["clicks"], mine["visitors"], mine["emv"])
        assert mine["clicks"] > 0
    assert analytics.weekly_series(20, emma, today) == chart
    assert analytics.streak(emma, today) == streak
    assert analytics.best_weeks([emma], today) == best
    assert milestones.compute([emma]) == reached


@pytest.mark.parametrize("period", PERIODS[:5], ids=lambda p: f"{p.start}..{p.end}")
def test_figures_of_an_audience_equal_a_count_of_raw_clicks_on_its_items(world, period):
    """Narrowed to an audience: the items whose audience names it, and with
    ``everyone`` also those meant for everyone, never those for others."""
    sales, dutch, *everyone = [i.id for i in Item.select().order_by(Item.id)]
    set_audience(Item.get_by_id(sales), Audience(departments=("Sales",)))
    set_audience(Item.get_by_id(dutch), Audience(departments=("Ops",), languages=("nl",)))
    figures = ("clicks", "visitors", "self_clicks", "bot_hits", "emv")
    for audience, members in ((("department", "Sales", False), {sales}),
                              (("department", "Sales", True), {sales, *everyone}),
                              (("language", "nl", False), {dutch})):
        items = analytics.audience_items(*audience)
        expected = raw_figures(period, items=members)
        assert expected["clicks"] > 0
        programme = analytics.programme_totals(period, items)
        assert {k: programme[k] for k in figures} == {k: expected[k] for k in figures}, audience
        assert sum(n["clicks"] for n in analytics.by_network(period, items=items)) == expected["clicks"]
        assert analytics.by_kind(period, items=items)["visitors"] == expected["visitors"]
        assert {i["item_id"] for i in analytics.by_item(period, items=items)} <= members
        assert sum(t.totals.clicks for t in analytics.team_totals(period, min_members=1, items=items)) == \
            expected["clicks"]
        board = analytics.leaderboard(period, include_hidden=True, items=items)
        assert sum(r["clicks"] for r in board) == expected["clicks"]


def test_campaigns_each_over_their_own_period_in_one_go(world):
    """Campaigns read all-time totals, whole months with edges, or days
    within one month; four queries for all of them together."""
    items = list(Item.select().order_by(Item.id))
    spring = Campaign.get_by_id(world["campaign"])  # no dates: all time
    summer = make_campaign("summer", starts_at=datetime.datetime(2026, 5, 28),
                           ends_at=datetime.datetime(2026, 7, 12, 23))
    august = make_campaign("august", starts_at=datetime.datetime(2026, 8, 3), ends_at=datetime.datetime(2026, 8, 20))
    Item.update(campaign=summer).where(Item.id == items[2].id).execute()
    Item.update(campaign=august).where(Item.id == items[3].id).execute()
    campaigns = [spring, Campaign.get_by_id(summer.id), Campaign.get_by_id(august.id)]
    figures = {}
    assert count_queries(lambda: figures.update(analytics.campaigns_totals(campaigns))) == 4
    for campaign, members in ((spring, {items[0].id, items[1].id}), (summer, {items[2].id}),
                              (august, {items[3].id})):
        got = figures[campaign.id]
        expected = raw_figures(analytics.campaign_period(campaign), items=members)
        expected.pop("repeated_visitors")
        assert {k: got[k] for k in expected} == expected, campaign.slug
        assert expected["clicks"] > 0
        assert got == analytics.campaign_totals(campaign.id)


def test_incremental_totals_equal_a_rebuild(world):
    kept = snapshot()
    assert all(kept)
    totals.rebuild()
    assert snapshot() == kept


def test_storing_the_same_clicks_again_adds_nothing(world):
    kept = snapshot()
    again = [{"event_id": c.event_id, "link": c.link_id, "at": c.at, "day": c.day, "kind": c.kind,
              "visitor": c.visitor, "referrer_host": "", "is_self": c.is_self}
             for c in Click.select().order_by(Click.id).limit(300)]
    store(again)  # a journal recovered after its lines were moved already
    assert snapshot() == kept


def test_a_visitor_counts_once_per_link_and_day_across_batches(world):
    link = TrackedLink.select().order_by(TrackedLink.id).first()
    at = datetime.datetime(2026, 10, 2, 8)
    for _ in range(3):
        store_click(link, at, visitor="same")
    store_click(link, at + datetime.timedelta(hours=2), visitor="other")
    store_click(link, at + datetime.timedelta(days=1), visitor="same")  # a new day, a new hash
    month = LinkMonth.get(link=link, month=D(2026, 10, 1))
    assert (month.clicks, month.visitors) == (5, 3)
    day = DayTotal.get(day=D(2026, 10, 2), network=link.network)
    assert (day.clicks, day.visitors) == (4, 2)


def test_late_clicks_of_a_rolled_up_day_count_as_the_roll_up_counts_them(world):
    roll_up_days(D(2026, 5, 1), D(2026, 6, 1))
    link = TrackedLink.select().order_by(TrackedLink.id).first()
    store_click(link, datetime.datetime(2026, 5, 25, 10), visitor="late")
    kept = snapshot()
    totals.rebuild()
    assert snapshot() == kept
    may = analytics.Period(D(2026, 5, 1), D(2026, 5, 31))
    assert analytics.programme_totals(may)["clicks"] == sum(
        t.clicks for t in analytics.person_totals(None, may).values())


def test_forgetting_links_leaves_the_totals_of_the_rest(world):
    emma = world["people"][0]
    links = TrackedLink.select(TrackedLink.id).where(TrackedLink.person == emma)
    with db.atomic():
        totals.forget_links(links)
        for model in (Click, LinkDay, LinkMonth, LinkTotal):
            model.delete().where(model.link.in_(links)).execute()
        TrackedLink.delete().where(TrackedLink.person == emma).execute()
    kept = snapshot()
    totals.rebuild()
    assert snapshot() == kept


def test_the_rebuild_command(world, runner):
    kept = snapshot()
    LinkTotal.delete().execute()
    result = runner.invoke(args=["db", "rebuild-totals"])
    assert result.exit_code == 0, result.output
    assert f"rebuilt for {LinkTotal.select().count()} links" in result.output
    assert snapshot() == kept


def test_plan_reads_whole_months_from_totals_and_only_the_edges_raw():
    today = D(2026, 11, 22)
    plan = analytics.plan
    assert plan(analytics.all_time(), today).all_time
    assert plan(analytics.Period(None, today), today).all_time
    assert plan(analytics.this_month(today), today) == analytics.Plan(months=(D(2026, 11, 1), None))
    assert plan(analytics.Period(D(2026, 10, 24), today), today) == analytics.Plan(
        months=(D(2026, 11, 1), None), edges=(analytics.Period(D(2026, 10, 24), D(2026, 10, 31)),))
    assert plan(analytics.Period(D(2026, 3, 1), D(2026, 5, 31)), today) == analytics.Plan(
        months=(D(2026, 3, 1), D(2026, 6, 1)))
    # Most of a month: the month, less the days left out.
    assert plan(analytics.Period(D(2026, 3, 2), D(2026, 3, 30)), today) == analytics.Plan(
        months=(D(2026, 3, 1), D(2026, 4, 1)),
        less=(analytics.Period(D(2026, 3, 1), D(2026, 3, 1)), analytics.Period(D(2026, 3, 31), D(2026, 3, 31))))
    assert plan(analytics.Period(D(2026, 3, 10), D(2026, 3, 20)), today) == analytics.Plan(
        edges=(analytics.Period(D(2026, 3, 10), D(2026, 3, 20)),))
    assert plan(analytics.Period(None, D(2026, 3, 30)), today) == analytics.Plan(
        months=(None, D(2026, 4, 1)), less=(analytics.Period(D(2026, 3, 31), D(2026, 3, 31)),))
    assert plan(analytics.Period(D(2026, 10, 3), today), today) == analytics.Plan(
        months=(D(2026, 10, 1), None), less=(analytics.Period(D(2026, 10, 1), D(2026, 10, 2)),))
    # The days after today hold no click: only those up to today are taken off.
    assert plan(analytics.Period(D(2026, 11, 2), D(2026, 11, 20)), today) == analytics.Plan(
        months=(D(2026, 11, 1), D(2026, 12, 1)),
        less=(analytics.Period(D(2026, 11, 1), D(2026, 11, 1)), analytics.Period(D(2026, 11, 21), today)))


def test_clicks_stored_today_show_at_once(world):
    link = TrackedLink.select().order_by(TrackedLink.id).first()
    before = analytics.programme_totals(analytics.this_month(analytics.today_utc()))["clicks"]
    store_click(link, utcnow(), visitor="now")
    assert analytics.programme_totals(analytics.this_month(analytics.today_utc()))["clicks"] == before + 1


def test_many_campaigns_in_one_query(world):
    """Hundreds of campaigns, each with its own period, still one query for
    their clicks (and within SQLite's limit on nested expressions)."""
    item = Item.select().order_by(Item.id).first()
    campaigns = [make_campaign(f"c{n}", starts_at=datetime.datetime(2026, 5, 1) + datetime.timedelta(days=n % 90),
                               ends_at=datetime.datetime(2026, 8, 1) + datetime.timedelta(days=n % 30))
                 for n in range(1200)]
    Item.update(campaign=campaigns[0]).where(Item.id == item.id).execute()
    figures = analytics.campaigns_totals(campaigns)
    assert len(figures) == 1200
    expected = raw_figures(analytics.campaign_period(campaigns[0]), items={item.id})
    expected.pop("repeated_visitors")
    assert {k: figures[campaigns[0].id][k] for k in expected} == expected
    assert figures[campaigns[1].id]["clicks"] == 0


def test_concurrent_stores_count_each_visitor_once(world):
    """Four workers move batches at the same time, with the same three
    visitors on one link and day: each visitor counts once."""
    link = TrackedLink.select().order_by(TrackedLink.id).first()
    at = datetime.datetime(2026, 10, 5, 9)
    errors = []

    def worker(n):
        try:
            for batch in range(8):
                store([{"event_id": f"t{n}-{batch}-{k}", "link": link.id, "at": at, "day": at.date(),
                        "kind": "human", "visitor": f"same{k % 3}", "referrer_host": "", "is_self": False}
                       for k in range(5)])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    month = LinkMonth.get(link=link, month=D(2026, 10, 1))
    assert (month.clicks, month.visitors) == (4 * 8 * 5, 3)
    kept = snapshot()
    totals.rebuild()
    assert snapshot() == kept
