"""Impact figures: the one place where clicks, shares and conversions are
counted. Every page, API route, export and report uses these functions and
nothing else, so the same question always gets the same number.

Definitions
-----------

*click*
    A ``Click`` with ``kind == "human"`` and ``is_self`` false: a person
    followed the link, and it was not the sharer themself.
*unique visitors*
    The number of distinct (link, day, visitor) among counted clicks.
    Visitor hashes rotate daily, so one visitor can only honestly be
    recognised on one link within one day; this is also exactly what the
    daily roll-up keeps (``ClickDaily.visitors``).
*bot hits*
    Every ``Click`` whose kind is not ``human`` (link-preview crawlers,
    mail scanners, HEAD and empty requests). Recorded, never counted.
*self clicks*
    Human clicks by the sharer themself: recorded, never counted.
*shares*
    Counted ``ShareEvent`` rows (``ShareEvent.counted``): presses on a share
    button, at most one per person, item, network and UTC day; later presses
    are kept as repeats and counted nowhere. They prove intent only.
*points*
    Unique visitors. A share earns points only once its link is clicked, so
    pressing buttons earns nothing. Streaks and prize-draw entries also come
    from counted clicks, never from shares.
*earned media value (EMV)*
    Counted clicks × the cost per click of the link's network, in EUR, from
    ``app.config["COST_PER_CLICK"]`` (network -> EUR; ``{"linkedin": 3.0}``
    when not configured; 0 for a network not listed).
*conversions*
    ``Conversion`` rows (applications and leads reported by the careers
    site) on the links in question.

Sources and periods
-------------------

Raw ``Click`` rows and rolled-up ``ClickDaily`` rows are also kept as
running totals (``totals``): per link for all time (``LinkTotal``), per
link and calendar month (``LinkMonth``), per link and day (``LinkDay``),
per person and day (``PersonDay``) and per day and network for the whole
programme (``DayTotal``). A
``Period`` is a range of whole UTC days, both ends inclusive, either end
open (``None``); ``plan`` decides how it is read:

* the programme's figures, per network, per kind and per week: the day
  totals, a handful of rows per day, for any period;
* figures per person, team, item or campaign: the all-time totals, or the
  monthly totals of the months the period covers entirely plus the daily
  totals of the days of a month it covers in part. Every period reads
  totals only (clicks stored today are in them at once); raw clicks are
  read only for the digest's weeks and a person's own data export;
* a person's history (chart, streak, milestones, best week): their day
  totals, a row a day.

Shares are selected by when they were made, conversions by when they
happened.

Audiences
---------

The programme's figures can be narrowed to the items meant for one
audience (``audience_items``, the rule is ``Item.for_audience``): every
function that takes ``items`` (a subquery of item ids) then counts only the
shares, clicks and conversions of those items, from the per-link totals
instead of the programme's day totals.

Every function runs a constant number of aggregate queries, whatever the
number of people, items or clicks; Python only loops over already
aggregated rows (one per person, week, network...). Their cost grows with
the number of links and days with clicks (at most one total per link and
month, and per link and day), not with the clicks. Everything
returned is plain data (dicts, lists, numbers, ISO date strings), ready for
JSON; ``Totals`` has ``as_dict()``.

Privacy
-------

Leaderboard rows carry a name only for people who chose to appear
(``show_on_leaderboard``, still active) and only while people leaderboards
are switched on (``Setting`` ``leaderboard_people_enabled``). Hidden people
are counted in team and programme figures only. ``team_totals`` folds
teams with fewer than ``TEAM_MIN_MEMBERS`` members into one "other teams"
row (department ``None``), since a team of one is a person by another name.
"""

import dataclasses
import datetime
import functools
import operator
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from peewee import JOIN, SQL, Case, Select, Value, fn

from intranet_plugin.db import is_postgres
from intranet_plugin.models import (
    CLICK_KINDS,
    MEASURES,
    NETWORK_CLICKS,
    SHARE_NETWORKS,
    Campaign,
    Click,
    Conversion,
    DayTotal,
    Item,
    ItemDay,
    ItemMonth,
    ItemTotal,
    LinkDay,
    LinkMonth,
    LinkTotal,
    Person,
    PersonDay,
    PersonMonth,
    PersonTotal,
    Setting,
    ShareEvent,
    TrackedLink,
)
from intranet_plugin.people import membership
from intranet_plugin.tracking.totals import click_source as click_source  # the raw recount, for others
from intranet_plugin.tracking.totals import month_of
from intranet_plugin.tracking.totals import where_all as _where

DEFAULT_COST_PER_CLICK = {"linkedin": 3.0}
LEADERBOARD_SETTING = "leaderboard_people_enabled"
TEAM_MIN_MEMBERS = 3


# -- periods --------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Period:
    """Whole days from ``start`` to ``end``, both inclusive; ``None`` is open."""

    start: datetime.date | None = None
    end: datetime.date | None = None

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError("a period cannot end before it starts")

    @property
    def is_all_time(self):
        return self.start is None and self.end is None

    def days(self, field):
        """Condition on a date column, or None when the period is open."""
        parts = []
        if self.start:
            parts.append(field >= self.start)
        if self.end:
            parts.append(field <= self.end)
        return _and(parts)

    def moments(self, field):
        """Condition on a (naive UTC) timestamp column."""
        parts = []
        if self.start:
            parts.append(field >= datetime.datetime.combine(self.start, datetime.time()))
        if self.end:
            parts.append(field < datetime.datetime.combine(self.end + datetime.timedelta(days=1),
                                                           datetime.time()))
        return _and(parts)

    def as_dict(self):
        return {"from": self.start.isoformat() if self.start else None,
                "to": self.end.isoformat() if self.end else None}


def this_month(today):
    """From the first of ``today``'s month up to and including ``today``."""
    return Period(today.replace(day=1), today)


def all_time():
    return Period(None, None)


def last_weeks(n, today):
    """The ``n`` ISO weeks up to and including ``today``'s (Monday start)."""
    monday = today - datetime.timedelta(days=today.weekday())
    return Period(monday - datetime.timedelta(weeks=n - 1), today)


def today_utc():
    return datetime.datetime.now(datetime.UTC).date()


# -- results ----------------------------------------------------------------------

@dataclasses.dataclass
class Totals:
    shares: int = 0
    clicks: int = 0
    visitors: int = 0
    emv: float = 0.0
    conversions: int = 0

    @property
    def points(self):
        return self.visitors

    def as_dict(self):
        return dict(dataclasses.asdict(self), points=self.points)

    def add(self, other):
        return Totals(self.shares + other.shares, self.clicks + other.clicks,
                      self.visitors + other.visitors, round(self.emv + other.emv, 2),
                      self.conversions + other.conversions)


class TeamRow(NamedTuple):
    department: str | None  # None: the teams too small to show on their own
    totals: Totals
    members: int


# -- building blocks ----------------------------------------------------------------

def _and(parts):
    return functools.reduce(operator.and_, parts) if parts else None




def cost_per_click():
    """EUR per counted click for each network."""
    costs = current_app.config.get("COST_PER_CLICK") if has_app_context() else None
    return dict(DEFAULT_COST_PER_CLICK if costs is None else costs)


def _cost_of(network_column):
    # Value(..., converter=False): next to an integer column peewee would
    # otherwise turn 1.5 into 1.
    costs = {n: float(c) for n, c in cost_per_click().items() if c}
    if not costs:
        return Value(0.0, converter=False)
    return Case(network_column, [(n, Value(c, converter=False)) for n, c in sorted(costs.items())],
                Value(0.0, converter=False))


def audience_items(dimension, value, everyone=False):
    """The ids of the items meant for an audience (``Item.for_audience``),
    as a subquery for the ``items`` of the figures."""
    return Item.select(Item.id).where(Item.for_audience(dimension, value, everyone))


def _links(person_id=None, campaign_id=None, item_id=None, among=None, items=None):
    """Ids of the tracked links in question, as a subquery; None for all.
    ``among``: a subquery of person ids; ``items``: of item ids."""
    conditions = []
    if items is not None:
        conditions.append(TrackedLink.item.in_(items))
    if person_id is not None:
        conditions.append(TrackedLink.person == person_id)
    if among is not None:
        conditions.append(TrackedLink.person.in_(among))
    if item_id is not None:
        conditions.append(TrackedLink.item == item_id)
    if campaign_id is not None:
        conditions.append(TrackedLink.item.in_(Item.select(Item.id).where(Item.campaign == campaign_id)))
    if not conditions:
        return None
    return _where(TrackedLink.select(TrackedLink.id), *conditions)


# -- reading the totals -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Plan:
    """How a period is read: all-time totals, or whole months of the monthly
    totals (``months``: first month and the month after the last, either
    open) plus the daily totals of the days at either end (``edges``), less
    the daily totals of the days in ``less``: where a period covers most of
    a month, the month is read whole and the few days it leaves out are
    taken off, fewer rows than the days it covers."""

    all_time: bool = False
    months: tuple | None = None
    edges: tuple = ()
    less: tuple = ()


def _next_month(month):
    return (month + datetime.timedelta(days=32)).replace(day=1)


def _days(first, last):
    """The days from ``first`` to ``last`` as a Period, or None when none."""
    return Period(first, last) if first <= last else None


def plan(period, today=None):
    """The ``Plan`` for a period. No click is dated after today, so a
    period ending today or later reads as if it had no end: this month so
    far is the monthly total, and all time the all-time total."""
    today = today or today_utc()
    end = period.end if period.end is not None and period.end < today else None
    if period.start is None and end is None:
        return Plan(all_time=True)
    one_day = datetime.timedelta(days=1)
    first = None if period.start is None else (
        period.start if period.start.day == 1 else _next_month(period.start))
    stop = None if end is None else month_of(end + one_day)
    if first is not None and stop is not None and first >= stop:
        # Within one month: its days, or the month less the days around them.
        month = month_of(period.start)
        around = [d for d in (_days(month, period.start - one_day), _days(end + one_day, min(
            _next_month(month) - one_day, today))) if d]
        if sum((d.end - d.start).days + 1 for d in around) < (end - period.start).days + 1:
            return Plan(months=(month, _next_month(month)), less=tuple(around))
        return Plan(edges=(period,))
    edges, less = [], []
    if period.start is not None and period.start < first:
        month = month_of(period.start)
        before = _days(month, period.start - one_day)
        if (before.end - before.start).days + 1 < (first - period.start).days:
            first = month
            less.append(before)
        else:
            edges.append(Period(period.start, first - one_day))
    if stop is not None and stop <= end:
        after = _days(end + one_day, min(_next_month(stop) - one_day, today))
        if after is not None and (after.end - after.start).days + 1 < (end - stop).days + 1:
            stop = _next_month(stop)
            less.append(after)
        else:
            edges.append(Period(stop, end))
    return Plan(months=(first, stop), edges=tuple(edges), less=tuple(less))


def _negated(columns):
    """Columns of totals, each times -1 under its own name: days a plan
    takes off."""
    return [(column * -1).alias(column.name) for column in columns]


def _columns(source):
    """The ``MEASURES`` columns of a model or a subquery."""
    return [getattr(getattr(source, "c", source), m) for m in MEASURES]


def _months(plan, today=None):
    """The first days of a plan's whole months; None when it has no start
    (every month before its ``stop``)."""
    first, stop = plan.months
    if first is None:
        return None
    months, last = [], stop or _next_month(month_of(today or today_utc()))
    while first < last:
        months.append(first)
        first = _next_month(first)
    return months


def _covered(plan, today=None, month=LinkMonth.month):
    """The condition on a monthly totals table's ``month`` for a plan's
    whole months: the months by name, so that the planner reads them
    through the (month, ...) key, where a range would lead it elsewhere."""
    months = _months(plan, today)
    return month < plan.months[1] if months is None else month.in_(months)


def _link_columns(model):
    """A totals table's link columns (link_id, person_id, item_id, network)
    and measures, in the order every part of ``link_totals`` has them."""
    return [model.link.alias("link_id"), model.person_id, model.item_id, model.network, *_columns(model)]


def link_totals(period, links=None, today=None):
    """Every click measure per link for the period, as a subquery ``t`` of
    (link_id, person_id, item_id, network, clicks, visitors, self_clicks,
    crawler_hits, ...): all-time or monthly totals, and daily totals for
    the days of a month the period covers in part. A link may have several
    rows: sum them."""

    def of(model, condition, sign):
        columns = _link_columns(model)
        if sign < 0:
            columns = [*columns[:4], *_negated(_columns(model))]
        return _where(model.select(*columns), condition, model.link.in_(links) if links is not None else None)

    return _planned(plan(period, today), today, (LinkTotal, LinkMonth, LinkDay), of)


def _planned(p, today, tables, of):
    """A plan read from (all-time, monthly, daily) totals, as the subquery
    ``t``: the all-time rows, or the whole months, the days at either end
    and, negated, the days left out. ``of(model, condition, sign)`` gives
    one part's rows (``sign`` -1: its measures negated)."""
    total, monthly, daily = tables
    if p.all_time:
        return of(total, None, 1).alias("t")
    parts = []
    if p.months is not None:
        parts.append(of(monthly, _covered(p, today, monthly.month), 1))
    parts.extend(of(daily, edge.days(daily.day), 1) for edge in p.edges)
    parts.extend(of(daily, days_off.days(daily.day), -1) for days_off in p.less)
    return functools.reduce(operator.add, parts).alias("t")


def _sums(source, groups=False, only=None):
    """Aggregate expressions over rows with the ``MEASURES`` columns and
    ``network`` (the cost per click depends on it), or with ``groups`` the
    clicks per network (``NETWORK_CLICKS``) of the totals per person or
    item; ``only``: the names wanted, when not all (a database computes
    every aggregate it is given)."""
    col = {m: c for m, c in zip(MEASURES, _columns(source), strict=True)}
    columns = getattr(source, "c", source)
    sums = {m: fn.COALESCE(fn.SUM(c), 0) for m, c in col.items()}
    sums["bot_hits"] = fn.COALESCE(fn.SUM(col["crawler_hits"] + col["head_hits"] + col["empty_hits"]), 0)
    sums["emv"] = (_group_emv(columns) if groups
                   else fn.COALESCE(fn.SUM(col["clicks"] * _cost_of(columns.network)), 0))
    return sums if only is None else {name: sums[name] for name in only}


def _group_emv(columns):
    """The earned media value of rows with the clicks per network: each
    network's clicks times its cost per click."""
    costs = {n: float(c) for n, c in cost_per_click().items() if c}
    terms = [fn.SUM(getattr(columns, f"{n}_clicks")) * Value(c, converter=False) for n, c in sorted(costs.items())
             if f"{n}_clicks" in NETWORK_CLICKS]
    if not terms:
        return Value(0.0, converter=False)
    return fn.COALESCE(functools.reduce(operator.add, terms), 0)


def _click_query(period, links, by=None, only=None):
    """Click measures of the links in question, in total or per
    ``person_id``, ``item_id``, ``network`` or ``department`` (column
    ``g0``). The totals carry the link's person, item and network, so only
    the department needs a join."""
    t = link_totals(period, links)
    sums = [expr.alias(name) for name, expr in _sums(t, only=only).items()]
    query = Select([t], sums)
    if by == "department":
        query = (Select([t], [Person.department.alias("g0"), *sums])
                 .join(Person, on=(Person.id == t.c.person_id)).group_by(Person.department))
    elif by is not None:
        query = Select([t], [getattr(t.c, by).alias("g0"), *sums]).group_by(getattr(t.c, by))
    return query.bind(Click._meta.database)


# The totals of a person's or an item's links: (all time, per month, per day).
GROUPS = {"person_id": (PersonTotal, PersonMonth, PersonDay), "item_id": (ItemTotal, ItemMonth, ItemDay)}


def group_totals(period, key, among=None, today=None):
    """Every click measure per person (``key`` "person_id") or per item
    ("item_id") for the period, as a subquery ``t`` of (key, ``MEASURES``,
    ``NETWORK_CLICKS``), read as ``link_totals`` reads the totals per link
    but a row per person or item. ``among``: a subquery or list of the
    people or items in question (None: all). A key may have several rows:
    sum them."""

    def of(model, condition, sign):
        column = getattr(model, key)
        measures = [getattr(model, c) for c in (*MEASURES, *NETWORK_CLICKS)]
        query = model.select(column, *(measures if sign > 0 else _negated(measures)))
        return _where(query, condition, column.in_(among) if among is not None else None)

    return _planned(plan(period, today), today, GROUPS[key], of)


def _group_query(period, key, among=None, by=None, only=None):
    """``_click_query`` from the totals per person or per item: in total,
    or per ``key`` or ``department`` (of the person; column ``g0``)."""
    t = group_totals(period, key, among)
    sums = [expr.alias(name) for name, expr in _sums(t, groups=True, only=only).items()]
    column = getattr(t.c, key)
    if by == "department":
        query = (Select([t], [Person.department.alias("g0"), *sums])
                 .join(Person, on=(Person.id == column)).group_by(Person.department))
    elif by is not None:
        query = Select([t], [column.alias("g0"), *sums]).group_by(column)
    else:
        query = Select([t], sums)
    return query.bind(Click._meta.database)


# The click figures of a person or team (``Totals``).
PEOPLE_SUMS = ("clicks", "visitors", "emv")


def _clicks_by(period, by, person_id=None, campaign_id=None, among=None, items=None, only=None):
    """Click measures per ``by`` (``person_id``, ``department``, ``item_id``
    or ``network``; column ``g0``) of the links in question (as ``_links``
    selects them): from the totals per person or per item where the
    question allows, a row per person or item; else from those per link."""
    if by in ("person_id", "department") and person_id is None and campaign_id is None and items is None:
        return _group_query(period, "person_id", among, by, only)
    if by == "item_id" and person_id is None and among is None:
        chosen = None
        if campaign_id is not None or items is not None:
            chosen = _where(Item.select(Item.id), Item.id.in_(items) if items is not None else None,
                            (Item.campaign == campaign_id) if campaign_id is not None else None)
        return _group_query(period, "item_id", chosen, by, only)
    links = _links(person_id=person_id, campaign_id=campaign_id, among=among, items=items)
    return _click_query(period, links, by, only)


def _programme_query(period, *group):
    """Click measures of the whole programme, from the day totals, grouped
    by columns of ``DayTotal`` (day, network)."""
    query = DayTotal.select(*[g.alias(f"g{i}") for i, g in enumerate(group)],
                            *[expr.alias(name) for name, expr in _sums(DayTotal).items()])
    query = _where(query, period.days(DayTotal.day))
    return query.group_by(*group) if group else query


def _num(row, name):
    return int(row.get(name) or 0)


def _money(value):
    return round(float(value or 0), 2)


def _click_figures(row):
    return {"clicks": _num(row, "clicks"), "visitors": _num(row, "visitors"),
            "self_clicks": _num(row, "self_clicks"), "bot_hits": _num(row, "bot_hits"),
            "emv": _money(row.get("emv"))}


def _share_query(period, person_id=None, campaign_id=None, items=None):
    """The counted shares in question (every share figure starts here)."""
    query = ShareEvent.counted()
    return _where(query, period.moments(ShareEvent.created_at),
                  ShareEvent.item.in_(items) if items is not None else None,
                  (ShareEvent.person == person_id) if person_id is not None else None,
                  ShareEvent.item.in_(Item.select(Item.id).where(Item.campaign == campaign_id))
                  if campaign_id is not None else None)


def _conversion_query(period, links=None):
    query = Conversion.select()
    return _where(query, period.moments(Conversion.at),
                  Conversion.link.in_(links) if links is not None else None)


# -- people and teams ------------------------------------------------------------------

def person_totals(person_ids, period):
    """{person_id: Totals}. With a list of ids, every one of them is in the
    answer (zeros when inactive); with None, everyone with any share, click
    or conversion in the period. Three queries."""
    ids = None if person_ids is None else list(person_ids)
    if ids is not None and not ids:
        return {}
    links = None if ids is None else TrackedLink.select(TrackedLink.id).where(TrackedLink.person.in_(ids))
    result = {pid: Totals() for pid in ids} if ids is not None else {}

    shares = _where(_share_query(period).select(ShareEvent.person, fn.COUNT(ShareEvent.id).alias("n"))
                    .group_by(ShareEvent.person),
                    ShareEvent.person.in_(ids) if ids is not None else None)
    for row in shares.dicts():
        result.setdefault(row["person"], Totals()).shares = int(row["n"])

    for row in _clicks_by(period, "person_id", among=ids, only=PEOPLE_SUMS).dicts():
        t = result.setdefault(row["g0"], Totals())
        t.clicks, t.visitors, t.emv = _num(row, "clicks"), _num(row, "visitors"), _money(row["emv"])

    conversions = (_conversion_query(period, links)
                   .select(TrackedLink.person, fn.COUNT(Conversion.id).alias("n"))
                   .join(TrackedLink).group_by(TrackedLink.person))
    for row in conversions.dicts():
        result.setdefault(row["person"], Totals()).conversions = int(row["n"])

    if ids is None:
        result = {pid: t for pid, t in result.items() if t.shares or t.clicks or t.conversions}
    return result


def team_totals(period, min_members=TEAM_MIN_MEMBERS, items=None):
    """[TeamRow(department, Totals, members)] best first (points, clicks,
    name). ``members``: active people of that department who joined. Teams
    with fewer than ``min_members`` members are folded into one row with
    department None, placed last. Four queries."""
    teams = {}
    links = _links(items=items)

    def team(dept):
        return teams.setdefault(dept, Totals())

    shares = (_share_query(period, items=items).select(Person.department, fn.COUNT(ShareEvent.id).alias("n"))
              .join(Person).group_by(Person.department))
    for row in shares.dicts():
        team(row["department"]).shares = int(row["n"])
    for row in _clicks_by(period, "department", items=items, only=PEOPLE_SUMS).dicts():
        t = team(row["g0"])
        t.clicks, t.visitors, t.emv = _num(row, "clicks"), _num(row, "visitors"), _money(row["emv"])
    conversions = (_conversion_query(period, links).select(Person.department, fn.COUNT(Conversion.id).alias("n"))
                   .join(TrackedLink).join(Person).group_by(Person.department))
    for row in conversions.dicts():
        team(row["department"]).conversions = int(row["n"])
    members = dict(Person.members().select(Person.department, fn.COUNT(Person.id))
                   .group_by(Person.department).tuples())

    rows, other, other_members = [], None, 0
    for dept in set(teams) | set(members):
        totals, n = teams.get(dept, Totals()), members.get(dept, 0)
        if n < min_members:
            other = totals if other is None else other.add(totals)
            other_members += n
        else:
            rows.append(TeamRow(dept, totals, n))
    rows.sort(key=lambda r: (-r.totals.points, -r.totals.clicks, r.department.lower()))
    if other is not None and (other.shares or other.clicks or other.conversions or other_members):
        rows.append(TeamRow(None, other, other_members))
    return rows


def leaderboard_people_enabled():
    """Whether people (not only teams) may be ranked by name: an admin setting."""
    return Setting.get_value(LEADERBOARD_SETTING, "1") != "0"


def leaderboard(period, limit=None, include_hidden=False, campaign_id=None, items=None, people=None):
    """People ranked by points, then clicks, then name: a list of dicts
    (rank, person_id, name, department, visible, points, clicks, visitors,
    shares, emv, conversions).

    Only people with a share or a counted click in the period take part
    (with ``campaign_id``: only people who shared an item of that campaign
    in the period, and only its items count). ``visible`` is true for people
    who chose to appear (and are active) while people leaderboards are on;
    without ``include_hidden`` only they are listed, ranked among
    themselves; hidden people never carry a name. ``people``: only these
    (a list or subquery of ids) take part. Two queries.
    """
    enabled = leaderboard_people_enabled()
    if not include_hidden and not enabled:
        return []
    visible = (Person.show_on_leaderboard == True) & (Person.is_active == True)  # noqa: E712
    taking_part = Person.id.in_(people) if people is not None else None
    # Without the hidden people, only the visible people's links are summed.
    among = (None if include_hidden and people is None
             else _where(Person.select(Person.id), None if include_hidden else visible, taking_part))
    links = _links(campaign_id=campaign_id, among=among, items=items)
    shares = _where(_share_query(period, campaign_id=campaign_id, items=items)
                    .select(ShareEvent.person.alias("person_id"), fn.COUNT(ShareEvent.id).alias("shares"))
                    .group_by(ShareEvent.person),
                    ShareEvent.person.in_(among) if among is not None else None).alias("s")
    clicks = _clicks_by(period, "person_id", campaign_id=campaign_id, among=among, items=items,
                        only=PEOPLE_SUMS).alias("k")
    conversions = (_conversion_query(period, links)
                   .select(TrackedLink.person.alias("person_id"), fn.COUNT(Conversion.id).alias("conversions"))
                   .join(TrackedLink).group_by(TrackedLink.person).alias("v"))
    points = fn.COALESCE(clicks.c.visitors, 0)
    n_clicks = fn.COALESCE(clicks.c.clicks, 0)
    n_shares = fn.COALESCE(shares.c.shares, 0)
    query = (Person.select(Person.id, Person.display_name, Person.department,
                           Person.show_on_leaderboard, Person.is_active,
                           points.alias("points"), n_clicks.alias("clicks"), n_shares.alias("shares"),
                           fn.COALESCE(clicks.c.emv, 0).alias("emv"),
                           fn.COALESCE(conversions.c.conversions, 0).alias("conversions"))
             .join(shares, JOIN.LEFT_OUTER, on=(shares.c.person_id == Person.id))
             .join(clicks, JOIN.LEFT_OUTER, on=(clicks.c.g0 == Person.id))
             .join(conversions, JOIN.LEFT_OUTER, on=(conversions.c.person_id == Person.id))
             .order_by(points.desc(), n_clicks.desc(), Person.display_name, Person.id))
    if campaign_id is not None:
        query = query.where(n_shares > 0)
    else:
        query = query.where((n_shares > 0) | (n_clicks > 0))
    if not include_hidden:
        query = query.where(visible)
    if people is not None:
        query = query.where(taking_part)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for rank, row in enumerate(query.dicts(), start=1):
        shown = enabled and bool(row["show_on_leaderboard"]) and bool(row["is_active"])
        rows.append({"rank": rank, "person_id": row["id"],
                     "name": row["display_name"] if shown else None,
                     "department": row["department"] if shown else None,
                     "visible": shown, "points": int(row["points"]), "clicks": int(row["clicks"]),
                     "visitors": int(row["points"]), "shares": int(row["shares"]),
                     "emv": _money(row["emv"]), "conversions": int(row["conversions"])})
    return rows


def leaderboard_top(period, n, batch=5000):
    """The first ``n`` rows of the public ``leaderboard`` with a memory that
    does not grow with the number of people: ranked a batch of people (by
    id) at a time, the first ``n`` of each batch kept, and those ranked
    again by ``leaderboard`` itself (the first ``n`` of everyone are among
    them). Two queries per batch, and one."""
    candidates, last = [], 0
    visible = (Person.show_on_leaderboard == True) & (Person.is_active == True)  # noqa: E712
    while last is not None:
        # A batch is a range of ids, not a list: a long list in the SQL
        # costs more memory than the query over everyone.
        upto = (Person.select(Person.id).where(visible & (Person.id > last)).order_by(Person.id)
                .offset(batch - 1).limit(1).scalar())
        people = _where(Person.select(Person.id), Person.id > last, Person.id <= upto if upto else None)
        candidates += [row["person_id"] for row in leaderboard(period, limit=n, people=people)]
        last = upto
    return leaderboard(period, limit=n, people=candidates) if candidates else []


def rank_of(person_id, period, totals=None):
    """The person's place on the public leaderboard, or None when they are
    not on it (hidden, boards off, or nothing in the period): one more than
    the people shown ahead of them in ``leaderboard``'s order, counted
    rather than ranking everyone. ``totals``: their ``person_totals`` for
    the period, when known. Two queries at most."""
    if not leaderboard_people_enabled():
        return None
    me = Person.get_or_none(Person.id == person_id)
    visible = (Person.show_on_leaderboard == True) & (Person.is_active == True)  # noqa: E712
    if me is None or not (me.show_on_leaderboard and me.is_active):
        return None
    mine = totals or person_totals([person_id], period)[person_id]
    if not (mine.shares or mine.clicks):
        return None
    among = Person.select(Person.id).where(visible)
    k = _clicks_by(period, "person_id", among=among, only=("clicks", "visitors")).alias("k")
    points, clicks = fn.COALESCE(k.c.visitors, 0), fn.COALESCE(k.c.clicks, 0)
    before_me = (Person.display_name < me.display_name) | (
        (Person.display_name == me.display_name) & (Person.id < me.id))
    if mine.clicks:
        # Ahead of someone with clicks: more points, or as many and more
        # clicks, or as many of both and first by name; all have clicks.
        ahead = (Person.select(fn.COUNT(Person.id)).join(k, on=(k.c.g0 == Person.id))
                 .where(visible, (points > mine.points) | ((points == mine.points) & (
                     (clicks > mine.clicks) | ((clicks == mine.clicks) & before_me)))))
    else:
        # Ahead of someone with shares only: everyone with clicks, and those
        # with shares only who come first by name.
        shared = _share_query(period).select(ShareEvent.person).where(ShareEvent.person.in_(among))
        ahead = (Person.select(fn.COUNT(Person.id)).join(k, JOIN.LEFT_OUTER, on=(k.c.g0 == Person.id))
                 .where(visible, (clicks > 0) | (Person.id.in_(shared) & before_me)))
    return 1 + int(ahead.scalar() or 0)


def streak(person_id, today):
    """Consecutive ISO weeks in which the person's links brought at least
    one counted click, ending this week (or last week, when none came yet
    this week): a streak of real visits, not of button presses. One query."""
    weeks = weeks_with_clicks([person_id]).get(person_id, {})
    week = _monday(today)
    if week not in weeks:
        week -= datetime.timedelta(weeks=1)
    count = 0
    while week in weeks:
        count += 1
        week -= datetime.timedelta(weeks=1)
    return count


def _days_with_clicks(period, links):
    """The counted clicks and visitors of some links per day (days with
    any), from the daily totals: (day, clicks, visitors)."""
    query = LinkDay.select(LinkDay.day.alias("day"), fn.SUM(LinkDay.clicks).alias("clicks"),
                           fn.SUM(LinkDay.visitors).alias("visitors"))
    return _where(query, LinkDay.link.in_(links), LinkDay.clicks > 0,
                  period.days(LinkDay.day) if period is not None else None).group_by(LinkDay.day)


def _person_days(period, person_id):
    """``_days_with_clicks`` of all of one person's links, from their daily
    totals (a row a day, however many links)."""
    query = PersonDay.select(PersonDay.day.alias("day"), PersonDay.clicks.alias("clicks"),
                             PersonDay.visitors.alias("visitors"))
    return _where(query, PersonDay.person_id == person_id, PersonDay.clicks > 0,
                  period.days(PersonDay.day) if period is not None else None)


def weeks_with_clicks(person_ids):
    """{person_id: {Monday: first day with a counted click}} of the ISO
    weeks in which each person's links brought a counted click, from their
    day totals, grouped per week in SQL. One query (even for nobody: a
    page's statements stay the same)."""
    ids = list(person_ids)
    if is_postgres():
        monday = fn.DATE_TRUNC("week", PersonDay.day).cast("date")
    else:
        monday = fn.DATE(PersonDay.day, "weekday 0", "-6 days")  # the Sunday ending the week, less six days
    rows = (PersonDay.select(PersonDay.person_id, monday, fn.MIN(PersonDay.day))
            .where(PersonDay.person_id.in_(ids), PersonDay.clicks > 0)
            .group_by(PersonDay.person_id, monday).tuples())
    weeks = {}
    for pid, week, first in rows:
        weeks.setdefault(pid, {})[_date(week)] = _date(first)
    return weeks


def _date(day):
    return datetime.date.fromisoformat(day[:10]) if isinstance(day, str) else day


def _monday(day):
    return day - datetime.timedelta(days=day.weekday())


# -- breakdowns ----------------------------------------------------------------------

def by_network(period, person_id=None, items=None):
    """Per network with any share or click: shares, clicks, visitors,
    bot hits, self clicks, EMV and the cost per click used; most clicks
    first. Two queries."""
    links = _links(person_id=person_id, items=items)
    costs = cost_per_click()
    rows = {}

    def row_for(network):
        return rows.setdefault(network, {"network": network, "shares": 0, "clicks": 0, "visitors": 0,
                                         "self_clicks": 0, "bot_hits": 0, "emv": 0.0,
                                         "cost_per_click": float(costs.get(network, 0))})

    shares = (_share_query(period, person_id, items=items)
              .select(ShareEvent.network, fn.COUNT(ShareEvent.id).alias("n")).group_by(ShareEvent.network))
    for row in shares.dicts():
        row_for(row["network"])["shares"] = int(row["n"])
    clicks = (_programme_query(period, DayTotal.network) if links is None
              else _click_query(period, links, "network"))
    for row in clicks.dicts():
        row_for(row["g0"]).update(_click_figures(row))
    order = {n: i for i, n in enumerate(SHARE_NETWORKS)}
    return sorted(rows.values(), key=lambda r: (-r["clicks"], -r["shares"], order.get(r["network"], 99),
                                                 r["network"]))


def by_kind(period, person_id=None, items=None):
    """Every request on tracked links by kind of visitor. One query.

    ``kinds`` maps each kind (human, crawler, head, empty) to its hits and
    visitors, human without self clicks; plus the totals ``clicks``,
    ``visitors``, ``self_clicks`` and ``bot_hits`` as defined above, and
    ``repeated_visitors``: visitors beyond the cap of their network, counted
    nowhere else.
    """
    links = _links(person_id=person_id, items=items)
    query = _programme_query(period) if links is None else _click_query(period, links)
    row = query.dicts().get() or {}
    kinds = {"human": {"hits": _num(row, "clicks"), "visitors": _num(row, "visitors")}}
    for kind in CLICK_KINDS[1:]:
        kinds[kind] = {"hits": _num(row, f"{kind}_hits"), "visitors": _num(row, f"{kind}_visitors")}
    return {"clicks": _num(row, "clicks"), "visitors": _num(row, "visitors"),
            "self_clicks": _num(row, "self_clicks"), "bot_hits": _num(row, "bot_hits"),
            "repeated_visitors": _num(row, "repeated_visitors"), "kinds": kinds}


def _item_query(period, person_id=None, campaign_id=None, department=None, items=None):
    """The items with any share, click or bot hit in the period and their
    figures (id, title, slug, kind, shares, clicks, visitors, bot_hits,
    emv), best first: the rule of ``by_item`` as one query."""
    among = Person.select(Person.id).where(Person.department == department) if department is not None else None
    shares = (_where(_share_query(period, person_id, campaign_id, items),
                     ShareEvent.person.in_(among) if among is not None else None)
              .select(ShareEvent.item.alias("item_id"), fn.COUNT(ShareEvent.id).alias("shares"))
              .group_by(ShareEvent.item).alias("s"))
    clicks = _clicks_by(period, "item_id", person_id, campaign_id, among, items,
                        only=("clicks", "visitors", "bot_hits", "emv")).alias("k")
    visitors = fn.COALESCE(clicks.c.visitors, 0)
    n_clicks = fn.COALESCE(clicks.c.clicks, 0)
    n_shares = fn.COALESCE(shares.c.shares, 0)
    return (Item.select(Item.id, Item.title, Item.slug, Item.kind, n_shares.alias("shares"),
                        n_clicks.alias("clicks"), visitors.alias("visitors"),
                        fn.COALESCE(clicks.c.bot_hits, 0).alias("bot_hits"),
                        fn.COALESCE(clicks.c.emv, 0).alias("emv"))
            .join(shares, JOIN.LEFT_OUTER, on=(shares.c.item_id == Item.id))
            .join(clicks, JOIN.LEFT_OUTER, on=(clicks.c.g0 == Item.id))
            .where((n_shares > 0) | (n_clicks > 0) | (fn.COALESCE(clicks.c.bot_hits, 0) > 0))
            .order_by(visitors.desc(), n_clicks.desc(), n_shares.desc(), Item.id.desc()))


def by_item(period, person_id=None, limit=None, campaign_id=None, department=None, items=None):
    """Items with any share or click in the period, best first (points,
    clicks, shares): item_id, title, slug, kind, shares, clicks, visitors,
    points, bot_hits, emv. ``department``: only the shares and clicks of
    that department's people. One query."""
    query = _item_query(period, person_id, campaign_id, department, items)
    if limit is not None:
        query = query.limit(limit)
    return [{"item_id": r["id"], "title": r["title"], "slug": r["slug"], "kind": r["kind"],
             "shares": int(r["shares"]), "clicks": int(r["clicks"]), "visitors": int(r["visitors"]),
             "points": int(r["visitors"]), "bot_hits": int(r["bot_hits"]), "emv": _money(r["emv"])}
            for r in query.dicts()]


CONTENT_KINDS = ("news", "vacancy", "blog")


def content_by_kind(period, items=None):
    """Per kind of content (news, vacancies, blogs, then any other kind):
    the items of ``by_item`` (with any share, click or bot hit), and their
    shares, clicks, visitors, bot hits and EMV summed. One query."""
    rows = _item_query(period, items=items).order_by().alias("i")
    query = (Select([rows], [rows.c.kind, fn.COUNT(rows.c.id).alias("items"),
                             *[fn.SUM(getattr(rows.c, f)).alias(f) for f in ("shares", "clicks", "visitors",
                                                                              "bot_hits", "emv")]])
             .group_by(rows.c.kind).bind(Item._meta.database))
    kinds = {kind: {"kind": kind, "items": 0, "shares": 0, "clicks": 0, "visitors": 0, "bot_hits": 0, "emv": 0.0}
             for kind in CONTENT_KINDS}
    for row in query.dicts():
        kinds[row["kind"]] = {"kind": row["kind"], "items": int(row["items"]),
                              **{f: int(row[f] or 0) for f in ("shares", "clicks", "visitors", "bot_hits")},
                              "emv": _money(row["emv"])}
    return list(kinds.values())


def weekly_series(weeks, person_id=None, today=None, items=None):
    """Counted clicks and visitors per ISO week for the last ``weeks`` weeks
    (oldest first, weeks without clicks included): week ("2026-W07"),
    start (its Monday), clicks, visitors. One query, grouped by day."""
    today = today or today_utc()
    period = last_weeks(weeks, today)
    links = _links(person_id=person_id, items=items)
    if items is None and person_id is not None:
        query = _person_days(period, person_id)
    elif links is None:
        query = _where(DayTotal.select(DayTotal.day.alias("day"), fn.SUM(DayTotal.clicks).alias("clicks"),
                                       fn.SUM(DayTotal.visitors).alias("visitors")),
                       period.days(DayTotal.day)).group_by(DayTotal.day)
    else:
        query = _days_with_clicks(period, links)
    series = []
    for i in range(weeks):
        start = period.start + datetime.timedelta(weeks=i)
        year, week, _ = start.isocalendar()
        series.append({"week": f"{year}-W{week:02d}", "start": start.isoformat(), "clicks": 0, "visitors": 0})
    for row in query.dicts():
        day = _date(row["day"])
        index = (_monday(day) - period.start).days // 7
        if 0 <= index < weeks:
            series[index]["clicks"] += int(row["clicks"] or 0)
            series[index]["visitors"] += int(row["visitors"] or 0)
    return series


class BestWeek(NamedTuple):
    """A person's best week: its first day and its counted clicks."""

    start: datetime.date
    clicks: int


def best_weeks(person_ids, last_day):
    """{person_id: BestWeek} of the people's best seven-day week so far, in
    weeks of seven whole days counted back from ``last_day`` (a Monday digest
    passes Sunday, so they are ISO weeks), clicks counted as everywhere; the
    earliest of equal weeks; people without a counted click are left out.
    One query, grouped by person and week in SQL."""
    ids = list(person_ids)
    if not ids:
        return {}
    if is_postgres():
        days_back = Value(last_day).cast("date") - PersonDay.day  # date - date: whole days
    else:
        days_back = (fn.julianday(Value(last_day.isoformat())) - fn.julianday(PersonDay.day)).cast("INTEGER")
    week = (days_back / 7).alias("week")
    rows = (PersonDay.select(PersonDay.person_id, week, fn.SUM(PersonDay.clicks).alias("clicks"))
            .where(PersonDay.person_id.in_(ids), PersonDay.day <= last_day, PersonDay.clicks > 0)
            .group_by(PersonDay.person_id, SQL("2")))
    best = {}
    for pid, weeks_back, clicks in rows.tuples():
        clicks, weeks_back = int(clicks or 0), int(weeks_back)
        if clicks and (pid not in best or (clicks, weeks_back) > best[pid]):
            best[pid] = (clicks, weeks_back)
    return {pid: BestWeek(last_day - datetime.timedelta(days=7 * weeks_back + 6), clicks)
            for pid, (clicks, weeks_back) in best.items()}


# -- programme and campaigns ----------------------------------------------------------

def _share_counts():
    return [fn.COUNT(ShareEvent.id).alias("shares"), fn.COUNT(fn.DISTINCT(ShareEvent.person)).alias("sharers"),
            fn.COUNT(fn.DISTINCT(ShareEvent.item)).alias("items_shared")]


def _conversion_counts():
    return [fn.COUNT(Conversion.id).alias("all"),
            fn.COALESCE(fn.SUM(Case(None, [(Conversion.kind == "application", 1)], 0)), 0).alias("applications")]


def _figures(shares, clicks, conversions):
    """Shares, sharers, items shared, click measures and conversions from
    rows of ``_share_counts``, ``_sums`` and ``_conversion_counts``."""
    applications = _num(conversions, "applications")
    return {"shares": _num(shares, "shares"), "sharers": _num(shares, "sharers"),
            "items_shared": _num(shares, "items_shared"), **_click_figures(clicks),
            "conversions": _num(conversions, "all"), "applications": applications,
            "leads": _num(conversions, "all") - applications}


def _programme_figures(period, items=None):
    """The whole programme's ``_figures`` (of some items): three queries."""
    links = _links(items=items)
    clicks = _programme_query(period) if links is None else _click_query(period, links)
    return _figures(_share_query(period, items=items).select(*_share_counts()).dicts().get(),
                    clicks.dicts().get(),
                    _conversion_query(period, links).select(*_conversion_counts()).dicts().get())


def _ratio(a, b, digits=2):
    return round(a / b, digits) if b else 0.0


def programme_totals(period, items=None):
    """The programme at a glance (with ``items``: of those items). Five
    queries.

    employees (active people who may take part: in a pilot, the member
    group's; membership.eligible_people), joined (those of them who joined),
    join_rate (joined / employees: the adoption funnel's adoption rate), active_sharers (people who shared at
    least once in the period), participation_rate (active sharers /
    joined), shares, items (published items on offer during the period),
    shares_per_ambassador (shares / active sharers), shares_per_item
    (shares / items), clicks, visitors, points, self_clicks, bot_hits,
    conversions, applications, leads, emv, period. Rates are fractions
    (0.25 = 25 %). ``employees`` and ``joined`` are today's numbers.
    """
    people = (membership.eligible_people().select(fn.COUNT(Person.id).alias("employees"),
                                     fn.COALESCE(fn.SUM(Case(None, [(Person.joined_at.is_null(False), 1)], 0)), 0)
                                     .alias("joined")).dicts().get())
    offered = Item.select(fn.COUNT(Item.id)).where(Item.status == "published")
    if period.end:
        offered = offered.where(Item.publish_at < datetime.datetime.combine(
            period.end + datetime.timedelta(days=1), datetime.time()))
    if period.start:
        offered = offered.where(Item.expires_at.is_null()
                                | (Item.expires_at >= datetime.datetime.combine(period.start, datetime.time())))
    on_offer = _where(offered, Item.id.in_(items) if items is not None else None).scalar() or 0
    figures = _programme_figures(period, items)
    employees, joined = int(people["employees"] or 0), int(people["joined"] or 0)
    sharers = figures.pop("sharers")
    figures.pop("items_shared")
    return {"period": period.as_dict(), "employees": employees, "joined": joined,
            "join_rate": _ratio(joined, employees, 4), "active_sharers": sharers,
            "participation_rate": _ratio(sharers, joined, 4), "items": int(on_offer),
            "shares_per_ambassador": _ratio(figures["shares"], sharers),
            "shares_per_item": _ratio(figures["shares"], on_offer),
            "points": figures["visitors"], **figures}


def _local_day(moment):
    """The date a naive UTC timestamp falls on in the configured zone: a
    campaign "from 1 March" starts at local midnight, stored in UTC."""
    if moment is None:
        return None
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    if not name:
        return moment.date()
    return moment.replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(name)).date()


def utc_day_start(day):
    """When ``day``, a day as the figures count it (a UTC day), begins in
    the configured time zone: an aware datetime. Figures per day, week and
    month are bucketed in UTC days (a click's ``day``, the daily visitor
    hash), so a label of a period says where its days begin."""
    start = datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return start.astimezone(ZoneInfo(name)) if name else start


def campaign_period(campaign):
    """The campaign's own days as its editor entered them (open where it
    has no start or end)."""
    return Period(_local_day(campaign.starts_at), _local_day(campaign.ends_at))


def campaign_totals(campaign_id, period=None):
    """A campaign's figures: shares, sharers, items (of the campaign),
    items_shared, clicks, visitors, points, self_clicks, bot_hits, emv,
    conversions, applications, leads, goal, period. ``period`` defaults to
    the campaign's own."""
    campaign = Campaign.get_by_id(campaign_id)
    return campaigns_totals([campaign], {campaign.id: period} if period else None)[campaign.id]


def _either(conditions):
    """OR of the conditions, as a balanced tree: SQLite limits how deep an
    expression may nest, and a programme collects campaigns over the years."""
    if len(conditions) == 1:
        return conditions[0]
    half = len(conditions) // 2
    return _either(conditions[:half]) | _either(conditions[half:])


def _campaign_clicks(periods, today=None, items=None):
    """Click measures per campaign, each over its own period: one query,
    whatever the number of campaigns. Per plan kind one part of the totals
    per item: all-time, whole months, and the edge days, each part
    selecting every campaign's rows by condition."""
    plans = {cid: plan(period, today) for cid, period in periods.items()}
    tag = Item.campaign.alias("campaign_id")
    meant = Item.id.in_(items) if items is not None else None

    def select(model, sign=1):
        columns = [getattr(model, c) for c in (*MEASURES, *NETWORK_CLICKS)]
        return (model.select(tag, *(columns if sign > 0 else _negated(columns)))
                .join(Item, on=(Item.id == model.item_id)))

    parts = []
    ever = [cid for cid, p in plans.items() if p.all_time]
    if ever:
        parts.append(_where(select(ItemTotal), Item.campaign.in_(ever), meant))
    months = {cid: p for cid, p in plans.items() if p.months}
    if months:
        # The campaigns and their months listed besides the condition per
        # campaign, so that the planner reads only those months of those
        # campaigns' items, by key.
        named = [_months(p, today) for p in months.values()]
        every = None if None in named else sorted(set().union(*named))
        parts.append(_where(select(ItemMonth), Item.campaign.in_(list(months)), meant,
                            ItemMonth.month.in_(every) if every is not None else None,
                            _either([(Item.campaign == cid) & _covered(p, today, ItemMonth.month)
                                     for cid, p in months.items()])))
    for sign, days in ((1, [(cid, edge) for cid, p in plans.items() for edge in p.edges]),
                       (-1, [(cid, off) for cid, p in plans.items() for off in p.less])):
        if days:
            span = Period(min(d.start for _, d in days), max(d.end for _, d in days))
            parts.append(_where(select(ItemDay, sign), span.days(ItemDay.day),
                                Item.campaign.in_({cid for cid, _ in days}), meant,
                                _either([(Item.campaign == cid) & d.days(ItemDay.day) for cid, d in days])))
    if not parts:
        return {}
    t = functools.reduce(operator.add, parts).alias("t")
    sums = [expr.alias(name) for name, expr in _sums(t, groups=True).items()]
    query = Select([t], [t.c.campaign_id.alias("g0"), *sums]).group_by(t.c.campaign_id).bind(Click._meta.database)
    return {row["g0"]: row for row in query.dicts()}


def campaigns_totals(campaigns, periods=None, today=None, items=None):
    """``campaign_totals`` of several campaigns at once, each over its own
    period (``periods``: {campaign id: Period}, default the campaigns'
    own): {campaign id: figures}; with ``items``, of those items only. Four
    queries, whatever the number of campaigns."""
    if not campaigns:
        return {}
    periods = {c.id: (periods or {}).get(c.id) or campaign_period(c) for c in campaigns}

    def within(moment, cid):
        condition = periods[cid].moments(moment)
        return (Item.campaign == cid) & condition if condition is not None else Item.campaign == cid

    meant = Item.id.in_(items) if items is not None else None
    counts = dict(_where(Item.select(Item.campaign, fn.COUNT(Item.id)), Item.campaign.in_(list(periods)), meant)
                  .group_by(Item.campaign).tuples())
    shares = {row["campaign"]: row for row in
              _where(ShareEvent.counted().select(Item.campaign, *_share_counts()).join(Item),
                     _either([within(ShareEvent.created_at, cid) for cid in periods]), meant)
              .group_by(Item.campaign).dicts()}
    conversions = {row["campaign"]: row for row in
                   _where(Conversion.select(Item.campaign, *_conversion_counts()).join(TrackedLink).join(Item),
                          _either([within(Conversion.at, cid) for cid in periods]), meant)
                   .group_by(Item.campaign).dicts()}
    clicks = _campaign_clicks(periods, today, items)
    result = {}
    for campaign in campaigns:
        cid = campaign.id
        figures = _figures(shares.get(cid, {}), clicks.get(cid, {}), conversions.get(cid, {}))
        result[cid] = {"campaign_id": cid, "slug": campaign.slug, "name": campaign.name, "goal": campaign.goal,
                       "period": periods[cid].as_dict(), "items": int(counts.get(cid, 0)),
                       "points": figures["visitors"], **figures}
    return result


def campaign_participants(campaign_id, period=None):
    """Ids of everyone whose links to the campaign's items brought at least
    one unique visitor (a counted click, capped per network) in the period
    (default: the campaign's own), ascending: the prize draw's entrants.
    Pressing a share button enters nobody. One query."""
    campaign = Campaign.get_by_id(campaign_id)
    period = period or campaign_period(campaign)
    rows = _click_query(period, _links(campaign_id=campaign_id), "person_id").dicts()
    return sorted(row["g0"] for row in rows if _num(row, "visitors") > 0)


CHART_WEEKS = 12


def personal_figures(person, today=None):
    """Everything /me and /api/v1/me/stats show, from a fixed number of
    queries."""
    today = today or today_utc()
    month, ever = this_month(today), all_time()
    both = person_totals([person.id], month)[person.id], \
        person_totals([person.id], ever)[person.id]
    enabled = leaderboard_people_enabled()
    visible = enabled and person.show_on_leaderboard and person.is_active
    return {
        "month": both[0], "all": both[1],
        "rank": {"month": rank_of(person.id, month, both[0]) if visible else None,
                 "all": rank_of(person.id, ever, both[1]) if visible else None},
        "on_leaderboard": visible, "leaderboard_enabled": enabled,
        "streak": streak(person.id, today),
        "weekly": weekly_series(CHART_WEEKS, person.id, today),
    }
