"""The programme dashboard's figures and its CSV tables, for a period.

``figures`` assembles what the page shows from the analytics (the same
functions the personal page, the leaderboard and the API use);
``csv_rows`` lays out one table for a spreadsheet.
"""

import datetime
import math

from flask_babel import gettext as _

from intranet_plugin import analytics
from intranet_plugin.analytics.goals import goal_progress
from intranet_plugin.analytics.spreadsheet import csv_cell
from intranet_plugin.models import Campaign

TOP = 5
# Campaigns shown against their goals: those running in the period, newest
# first. Each costs a fixed number of queries, so the page has a ceiling.
MAX_CAMPAIGNS = 10
MIN_TREND_WEEKS, MAX_TREND_WEEKS = 12, 52
CSV_SHARERS = 100

# Tables and who may have them; "admin" tables hold per-person or
# per-team figures, or the programme's participation.
TABLES = {
    "participation": "admin",
    "conversions": "admin",
    "sharers": "admin",
    "teams": "admin",
    "items": "editor",
    "content": "editor",
    "networks": "editor",
    "visitors": "editor",
    "trend": "editor",
    "campaigns": "editor",
}


def trend_weeks(period, today):
    """How many weeks the trend shows: the period's, within 12 to 52, ending
    with the period (or today)."""
    end = min(period.end or today, today)
    if period.start is None:
        return MAX_TREND_WEEKS, end
    weeks = math.ceil(((end - period.start).days + 1) / 7)
    return max(MIN_TREND_WEEKS, min(MAX_TREND_WEEKS, weeks)), end


def _campaigns_in(period):
    """Campaigns running during the period, newest first (one query)."""
    query = Campaign.select()
    if period.end:
        query = query.where(Campaign.starts_at.is_null()
                            | (Campaign.starts_at < datetime.datetime.combine(
                                period.end + datetime.timedelta(days=1), datetime.time())))
    if period.start:
        query = query.where(Campaign.ends_at.is_null()
                            | (Campaign.ends_at >= datetime.datetime.combine(period.start, datetime.time())))
    return list(query.order_by(Campaign.starts_at.desc(nulls="LAST"), Campaign.id.desc()).limit(MAX_CAMPAIGNS))


def figures(period, full, today=None, tables=None, items=None):
    """The dashboard's figures for a period; ``full`` adds the per-person,
    per-team and participation figures (admins). ``tables`` limits the work
    to the tables named (for a CSV); ``items`` (``analytics.audience_items``)
    to the shares, clicks and conversions of those items."""
    today = today or analytics.today_utc()

    def wanted(*names):
        return tables is None or any(name in tables for name in names)

    result = {}
    if full and wanted("participation", "conversions", "calculator"):
        result["programme"] = analytics.programme_totals(period, items)
    if tables is None:  # the page: the best few
        result["top_items"] = analytics.by_item(period, limit=TOP, items=items)
    elif "items" in tables:  # the spreadsheet: every item
        result["items"] = analytics.by_item(period, items=items)
    if wanted("content"):
        result["content"] = analytics.content_by_kind(period, items=items)
    if wanted("networks"):
        result["networks"] = analytics.by_network(period, items=items)
    if wanted("visitors"):
        result["visitors"] = analytics.by_kind(period, items=items)
    if wanted("trend"):
        weeks, end = trend_weeks(period, today)
        result["trend"] = analytics.weekly_series(weeks, today=end, items=items)
    if wanted("campaigns"):
        running = list(_campaigns_in(period))
        totals = analytics.campaigns_totals(running, items=items)
        result["campaigns"] = [{**totals[c.id], "progress": goal_progress(totals[c.id])} for c in running]
    if full and wanted("sharers"):
        limit = CSV_SHARERS if tables else TOP
        result["sharers"] = analytics.leaderboard(period, limit=limit, include_hidden=True, items=items)
    if full and wanted("teams"):
        result["teams"] = analytics.team_totals(period, items=items)
    return result


def _percent(fraction):
    return f"{fraction * 100:.1f}"


def csv_rows(table, data, labels):
    """The header and rows of one table; hidden people carry no name."""
    if table == "participation":
        p = data["programme"]
        yield ["figure", "value"]
        for key in ("employees", "joined", "active_sharers", "items", "shares", "shares_per_ambassador",
                    "shares_per_item", "clicks", "visitors", "self_clicks", "bot_hits", "emv"):
            yield [key, p[key]]
        yield ["join_rate_percent", _percent(p["join_rate"])]
        yield ["participation_rate_percent", _percent(p["participation_rate"])]
    elif table == "conversions":
        p = data["programme"]
        yield ["figure", "value"]
        for key in ("applications", "leads", "conversions"):
            yield [key, p[key]]
    elif table == "sharers":
        yield ["rank", "name", "department", "points", "clicks", "visitors", "shares", "emv", "conversions"]
        for row in data["sharers"]:
            name = row["name"] if row["visible"] and row["name"] else _("hidden")
            yield [row["rank"], csv_cell(name), csv_cell(row["department"] if row["visible"] else ""),
                   row["points"], row["clicks"], row["visitors"], row["shares"], row["emv"], row["conversions"]]
    elif table == "teams":
        yield ["team", "members", "points", "clicks", "visitors", "shares", "emv", "conversions"]
        for row in data["teams"]:
            team = _("Smaller teams together") if row.department is None else row.department
            t = row.totals
            yield [csv_cell(team), row.members, t.points, t.clicks, t.visitors, t.shares, t.emv, t.conversions]
    elif table == "items":
        yield ["item_id", "title", "kind", "shares", "clicks", "visitors", "bot_hits", "emv"]
        for row in data["items"]:
            yield [row["item_id"], csv_cell(row["title"]), row["kind"], row["shares"], row["clicks"],
                   row["visitors"], row["bot_hits"], row["emv"]]
    elif table == "content":
        yield ["kind", "items", "shares", "clicks", "visitors", "bot_hits", "emv"]
        for row in data["content"]:
            yield [row["kind"], row["items"], row["shares"], row["clicks"], row["visitors"], row["bot_hits"],
                   row["emv"]]
    elif table == "networks":
        yield ["network", "shares", "clicks", "visitors", "self_clicks", "bot_hits", "emv", "cost_per_click"]
        for row in data["networks"]:
            yield [row["network"], row["shares"], row["clicks"], row["visitors"], row["self_clicks"],
                   row["bot_hits"], row["emv"], row["cost_per_click"]]
    elif table == "visitors":
        v = data["visitors"]
        yield ["kind", "hits", "visitors"]
        for kind, entry in v["kinds"].items():
            yield [kind, entry["hits"], entry["visitors"]]
        yield ["self", v["self_clicks"], ""]
        yield ["repeated_from_one_network", "", v["repeated_visitors"]]
    elif table == "trend":
        yield ["week", "start", "clicks", "visitors"]
        for row in data["trend"]:
            yield [row["week"], row["start"], row["clicks"], row["visitors"]]
    elif table == "campaigns":
        yield ["campaign", "from", "to", "goal", "goal_figure", "goal_target", "goal_reached", "goal_percent",
               "items", "shares", "sharers", "clicks", "visitors", "bot_hits", "emv", "applications", "leads"]
        for row in data["campaigns"]:
            goal = row["progress"] or {}
            yield [csv_cell(row["name"]), row["period"]["from"] or "", row["period"]["to"] or "",
                   csv_cell(row["goal"]), goal.get("figure", ""), goal.get("target", ""),
                   goal.get("reached", ""), goal.get("percent", ""), row["items"], row["shares"], row["sharers"],
                   row["clicks"], row["visitors"], row["bot_hits"], row["emv"], row["applications"], row["leads"]]
