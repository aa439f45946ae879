"""Retention: old raw clicks become daily totals, and no figure changes."""

import datetime
import itertools

import pytest

from helpers import make_campaign, make_item, make_person, store_click
from intranet_plugin import analytics
from intranet_plugin.models import Click, ClickDaily, TrackedLink, utcnow
from intranet_plugin.scheduler import retention
from intranet_plugin.tracking.rollup import roll_up, roll_up_days

TODAY = datetime.date(2026, 5, 20)
_events = itertools.count()


def click(link, day, visitor, kind="human", is_self=False, hour=12):
    store_click(link, datetime.datetime.combine(day, datetime.time(hour)), kind, visitor, is_self)


@pytest.fixture
def clicks(app):
    """Two teams, two kinds, three networks; bots, repeat visitors and
    self-clicks; clicks on both sides of the cutoff, some on its last day."""
    emma = make_person("emma", department="Sales", show_on_leaderboard=True)
    sam = make_person("sam", department="Engineering")
    campaign = make_campaign("spring", goal="100 clicks")
    news = make_item("Windpark open", campaign=campaign)
    job = make_item("Engineer wanted", kind="vacancy")
    links = [TrackedLink.for_share(emma, news, "linkedin"), TrackedLink.for_share(emma, job, "x"),
             TrackedLink.for_share(sam, news, "facebook"), TrackedLink.for_share(sam, job, "linkedin")]
    old = TODAY - datetime.timedelta(days=500)
    edge = TODAY - datetime.timedelta(days=401)  # the last day rolled up
    kept = TODAY - datetime.timedelta(days=400)  # the first day kept
    recent = TODAY - datetime.timedelta(days=3)
    for n, link in enumerate(links):
        for day in (old, old + datetime.timedelta(days=9), edge, kept, recent):
            for visitor in ("v1", "v1", "v2", f"v{n + 3}"):  # a repeat visitor
                click(link, day, visitor)
            click(link, day, "bot", kind="crawler")
            click(link, day, "scan", kind="head")
            click(link, day, "me", is_self=True)
        click(link, edge, "late", hour=23)
        click(link, kept, "early", hour=0)
    return links


def figures(app, links):
    """Every total the analytics give, for all time and for periods that
    cross the cutoff."""
    people = sorted({link.person_id for link in links})
    campaign = links[0].item.campaign_id
    periods = [analytics.all_time(),
               analytics.Period(TODAY - datetime.timedelta(days=600), TODAY + datetime.timedelta(days=1)),
               analytics.Period(TODAY - datetime.timedelta(days=401), TODAY - datetime.timedelta(days=399)),
               analytics.Period(TODAY - datetime.timedelta(days=500), TODAY - datetime.timedelta(days=500))]
    out = []
    with app.app_context():  # the configured cost per click, for EMV
        for period in periods:
            out.append(analytics.programme_totals(period))
            out.append(analytics.person_totals(None, period))
            out.append(analytics.person_totals(people, period))
            out.append(analytics.team_totals(period, min_members=1))
            out.append(analytics.by_network(period))
            out.append([analytics.by_network(period, person) for person in people])
            out.append(analytics.by_kind(period))
            out.append(analytics.by_item(period))
            out.append(analytics.campaign_totals(campaign, period))
            out.append(analytics.leaderboard(period, include_hidden=True))
        out.append(analytics.weekly_series(80, today=TODAY - datetime.timedelta(days=380)))
    return out


def test_a_roll_up_keeps_every_total(app, clicks):
    before = figures(app, clicks)
    moved, _ = roll_up(400, today=TODAY)
    assert moved == 4 * 3 * 7 + 4  # three old days of 7 rows per link, and the late ones
    assert Click.select().where(Click.day < TODAY - datetime.timedelta(days=400)).count() == 0
    assert Click.select().count() == 4 * 2 * 7 + 4
    assert figures(app, clicks) == before
    assert before[0]["clicks"] == 4 * 5 * 4 + 4 * 2  # humans on five days, and the late and early ones
    assert before[0]["visitors"] == 4 * 5 * 3 + 4 * 2
    assert before[0]["bot_hits"] == 4 * 5 * 2


def test_daily_rows_hold_clicks_and_distinct_visitors(clicks):
    roll_up(400, today=TODAY)
    link = clicks[0]
    old = TODAY - datetime.timedelta(days=500)
    rows = {(r.kind, r.is_self): (r.clicks, r.visitors)
            for r in ClickDaily.select().where((ClickDaily.link == link) & (ClickDaily.day == old))}
    assert rows == {("human", False): (4, 3), ("crawler", False): (1, 1), ("head", False): (1, 1),
                    ("human", True): (1, 1)}


def test_a_second_run_changes_nothing(app, clicks):
    roll_up(400, today=TODAY)
    daily = sorted(ClickDaily.select().tuples())
    before = figures(app, clicks)
    assert roll_up(400, today=TODAY) == (0, 0)
    assert sorted(ClickDaily.select().tuples()) == daily
    assert figures(app, clicks) == before


def test_late_clicks_of_a_rolled_up_day_are_added(clicks):
    roll_up(400, today=TODAY)
    old = TODAY - datetime.timedelta(days=500)
    click(clicks[0], old, "v9")
    click(clicks[0], old, "v9")
    roll_up(400, today=TODAY)
    row = ClickDaily.get((ClickDaily.link == clicks[0]) & (ClickDaily.day == old)
                         & (ClickDaily.kind == "human") & (ClickDaily.is_self == False))  # noqa: E712
    assert (row.clicks, row.visitors) == (6, 4)


def test_batches_of_days(clicks):
    moved, batches = roll_up(400, today=TODAY, batch_days=1)
    assert batches == 3  # one per day that has clicks, however far apart
    assert moved == 4 * 3 * 7 + 4


def test_a_failing_batch_leaves_the_raw_rows(clicks, monkeypatch):
    from intranet_plugin.tracking import rollup

    def failing_delete(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rollup.Click, "delete", failing_delete)
    before = Click.select().count()
    with pytest.raises(RuntimeError):
        roll_up_days(TODAY - datetime.timedelta(days=600), TODAY)
    assert Click.select().count() == before
    assert ClickDaily.select().count() == 0


def test_the_scheduler_job_rolls_up(make_app):
    app = make_app(CLICK_RETENTION_DAYS="30")
    link = TrackedLink.for_share(make_person("emma"), make_item("Old news"), "linkedin")
    click(link, utcnow().date() - datetime.timedelta(days=45), "v1")
    click(link, utcnow().date(), "v1")
    with app.app_context():
        message = retention(app)
    assert "1 old clicks rolled up" in message
    assert Click.select().count() == 1 and ClickDaily.select().count() == 1
