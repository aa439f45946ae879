"""The adoption funnel: eligible → invited → joined → shared at least once
→ brought at least one human click, per month and per department, with
the adoption rate (joined ÷ eligible) and the share rate (members who
shared in the month ÷ members) against the programme lead's goals.

Each stage is counted as it stood at the end of the month, among the
people who may take part now (``membership.eligible_people``: everyone, or
a pilot's group), so every stage is part of the one before, except
"invited": people may join without an invitation. Shares are the counted
shares of ``analytics`` (the dashboard's and the API's), clicks the
counted human clicks of the running monthly totals (``LinkMonth``): a
figure here means what it means on every other page.

One query per month, grouped by department: the cost does not grow with
the number of people, shares or clicks. The team page
(``analytics.teams``) asks for its department's row: one rule, the same
figures.
"""

import datetime
from dataclasses import dataclass

from peewee import Case, fn

from intranet_plugin import analytics
from intranet_plugin.analytics.goals import rate_goals
from intranet_plugin.models import Invitation, LinkMonth, Person, ShareEvent
from intranet_plugin.people import membership

STAGES = ("eligible", "invited", "joined", "shared", "clicked")
MONTHS = 6  # months in the trend


@dataclass
class FunnelRow:
    department: str
    eligible: int = 0
    invited: int = 0
    joined: int = 0
    shared: int = 0
    clicked: int = 0
    sharers: int = 0  # members who shared in the month

    @property
    def adoption_rate(self):
        """joined ÷ eligible, a fraction (0.25 = 25 %)."""
        return analytics._ratio(self.joined, self.eligible, 4)

    @property
    def share_rate(self):
        """members who shared in the month ÷ members, a fraction."""
        return analytics._ratio(self.sharers, self.joined, 4)

    def add(self, other):
        for name in (*STAGES, "sharers"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Funnel:
    month: datetime.date  # its first day
    rows: list  # FunnelRow per department, by name ("" = no department)
    total: FunnelRow
    goals: dict  # {"adoption_rate": percent or None, "share_rate": ...}


def month_period(month):
    """The Period of the month starting on ``month``."""
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return analytics.Period(month, following - datetime.timedelta(days=1))


def _count(condition):
    return fn.COALESCE(fn.SUM(Case(None, [(condition, 1)], 0)), 0)


def funnel(month, goals=None, department=None):
    """The funnel of the month starting on ``month`` (a date, the 1st),
    per department and in all; with ``department``, of that one only."""
    period = month_period(month)
    end = datetime.datetime.combine(period.end + datetime.timedelta(days=1), datetime.time())
    joined = Person.joined_at.is_null(False) & (Person.joined_at < end)
    ever = analytics.Period(None, period.end)
    shared = Person.id.in_(analytics._share_query(ever).select(ShareEvent.person))
    shared_now = Person.id.in_(analytics._share_query(period).select(ShareEvent.person))
    clicked = Person.id.in_(LinkMonth.select(LinkMonth.person_id)
                            .where((LinkMonth.month <= month) & (LinkMonth.clicks > 0)))
    invited = Person.id.in_(Invitation.select(Invitation.person)
                            .where(Invitation.sent_at.is_null(False) & (Invitation.sent_at < end)))
    people = membership.eligible_people()
    if department is not None:
        people = people.where(Person.department == department)
    query = (people
             .select(Person.department, fn.COUNT(Person.id).alias("eligible"), _count(invited).alias("invited"),
                     _count(joined).alias("joined"), _count(joined & shared).alias("shared"),
                     _count(joined & clicked).alias("clicked"), _count(joined & shared_now).alias("sharers"))
             .where(Person.created_at < end)
             .group_by(Person.department).order_by(Person.department).dicts())
    rows, total = [], FunnelRow("")
    for row in query:
        entry = FunnelRow(row["department"] or "", **{k: int(row[k] or 0) for k in (*STAGES, "sharers")})
        rows.append(entry)
        total.add(entry)
    return Funnel(month, rows, total, rate_goals() if goals is None else goals)


def months_back(month, count=MONTHS):
    """The first days of ``count`` months ending with ``month``, oldest first."""
    months = [month]
    while len(months) < count:
        months.append((months[-1] - datetime.timedelta(days=1)).replace(day=1))
    return months[::-1]


def trend(month, count=MONTHS):
    """The funnel's totals for ``count`` months up to ``month``: one query
    a month."""
    goals = rate_goals()
    return [funnel(m, goals) for m in months_back(month, count)]
