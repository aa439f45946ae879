"""A team's figures for its team lead (advocacy leader).

A team is a department. Its adoption and share rate are the adoption
funnel's row for the department (``analytics.adoption``), the one home of
both rules: adoption = joined ÷ people who may take part, share rate =
members who shared this month ÷ members, as the dashboard shows them.
Totals and top items count the department's people, as the team
leaderboard does (``analytics.team_totals``).

Privacy: a team smaller than ``TEAM_MIN_MEMBERS`` members shows no sharing
figures at all (its totals would be a person's), as the leaderboards pool
small teams; individuals appear only as the leaderboard shows them (people
who chose to appear, while people leaderboards are on).
"""

from intranet_plugin import analytics
from intranet_plugin.analytics import adoption

TOP_ITEMS = 5


def team_figures(department, today, min_members=analytics.TEAM_MIN_MEMBERS):
    """The team's figures this month (``today``'s): a dict with department,
    funnel (the adoption funnel's ``FunnelRow``: eligible, joined, sharers,
    adoption_rate, share_rate...), goals, shown (big enough to show sharing
    figures), and when shown: totals and all_time (``Totals``), top_items,
    people."""
    month = today.replace(day=1)
    team = adoption.funnel(month, department=department)
    row = team.rows[0] if team.rows else adoption.FunnelRow(department)
    figures = {"department": department, "funnel": row, "goals": team.goals, "shown": row.joined >= min_members}
    if not figures["shown"]:
        return figures
    period = analytics.this_month(today)
    figures.update(
        totals=_team_totals(department, period, min_members),
        all_time=_team_totals(department, analytics.all_time(), min_members),
        top_items=analytics.by_item(period, limit=TOP_ITEMS, department=department),
        people=[r for r in analytics.leaderboard(period) if r["department"] == department])
    return figures


def _team_totals(department, period, min_members):
    row = next((r for r in analytics.team_totals(period, min_members) if r.department == department), None)
    return row.totals if row else analytics.Totals()
