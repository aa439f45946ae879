"""A team's figures for its team lead (advocacy leader): the one home of
team adoption and team share rate.

A team is a department. Adoption: members (active people who joined) ÷
active people of the department. Share rate: members with a counted share
in the period ÷ members. Totals and top items count the department's
people, as the team leaderboard does (``analytics.team_totals``).

Privacy: a team smaller than ``TEAM_MIN_MEMBERS`` members shows no sharing
figures at all (its totals would be a person's), as the leaderboards pool
small teams; individuals appear only as the leaderboard shows them (people
who chose to appear, while people leaderboards are on).
"""

from peewee import fn

from intranet_plugin import analytics
from intranet_plugin.models import Person, ShareEvent
from intranet_plugin.tracking.totals import where_all

TOP_ITEMS = 5


def team_figures(department, period, min_members=analytics.TEAM_MIN_MEMBERS):
    """The team's figures in ``period``: a dict with department, members,
    active, adoption, shown (big enough to show sharing figures), and when
    shown: totals (``Totals``), sharers, share_rate, top_items, people."""
    members = Person.members().where(Person.department == department)
    n_members = members.count()
    n_active = Person.active().where(Person.department == department).count()
    figures = {"department": department, "members": n_members, "active": n_active,
               "adoption": _ratio(n_members, n_active), "shown": n_members >= min_members}
    if not figures["shown"]:
        return figures
    row = next((r for r in analytics.team_totals(period, min_members) if r.department == department), None)
    sharers = where_all(ShareEvent.counted().select(fn.COUNT(ShareEvent.person.distinct())),
                        period.moments(ShareEvent.created_at),
                        ShareEvent.person.in_(members.select(Person.id))).scalar() or 0
    figures.update(
        totals=row.totals if row else analytics.Totals(), sharers=sharers, share_rate=_ratio(sharers, n_members),
        top_items=analytics.by_item(period, limit=TOP_ITEMS, department=department),
        people=[r for r in analytics.leaderboard(period) if r["department"] == department])
    return figures


def _ratio(part, whole):
    return part / whole if whole else 0.0
