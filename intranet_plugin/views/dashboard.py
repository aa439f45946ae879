"""The programme dashboard: participation, share rate, top items and
sharers, clicks by network and kind, the weekly trend, teams, campaigns
against their goals, conversions, and the earned-media-value calculator;
each table also as CSV.

Admins see everything. Editors see the content figures only (top items,
clicks by network and kind, the trend, campaigns): the per-person and
per-team figures are left out on the server, not hidden in the page.

Every figure comes from ``intranet_plugin.analytics``, the same functions
the personal page, the leaderboard and the JSON API use.
"""

import csv
import datetime
import io
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block

from intranet_plugin import analytics
from intranet_plugin.labels import KIND_PLURAL_LABELS, NETWORK_LABELS
from intranet_plugin.models import Campaign
from intranet_plugin.views.impact import chart, csv_cell
from sso import role_required

bp = Blueprint("dashboard", __name__, url_prefix="/admin/dashboard")

PERIODS = ("month", "30d", "all", "custom")
TOP = 5
# Campaigns shown against their goals: those running in the period, newest
# first. Each costs a fixed number of queries, so the page has a ceiling.
MAX_CAMPAIGNS = 10
MIN_TREND_WEEKS, MAX_TREND_WEEKS = 12, 52
CSV_SHARERS = 100
OLDEST, NEWEST = datetime.date(2000, 1, 1), datetime.date(2100, 12, 31)

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


class BadPeriod(ValueError):
    pass


def _day(text, first):
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or not OLDEST <= day <= NEWEST:
        raise BadPeriod(_("Enter the first day as a date from 2000 to 2100, like 2026-03-01.") if first else
                        _("Enter the last day as a date from 2000 to 2100, like 2026-03-31."))
    return day


def requested_period(args, today=None):
    """(name, Period, from text, to text) for ``?period=month|30d|all|custom``
    with ``from`` and ``to`` (inclusive UTC days) for custom."""
    today = today or analytics.today_utc()
    name = args.get("period", "month")
    start_text, end_text = args.get("from", ""), args.get("to", "")
    if name not in PERIODS:
        raise BadPeriod(_("Choose a period from the list."))
    if name == "month":
        return name, analytics.this_month(today), start_text, end_text
    if name == "30d":
        return name, analytics.Period(today - datetime.timedelta(days=29), today), start_text, end_text
    if name == "all":
        return name, analytics.all_time(), start_text, end_text
    if not start_text.strip() or not end_text.strip():
        raise BadPeriod(_("Enter both dates of the period."))
    start, end = _day(start_text, True), _day(end_text, False)
    if start > end:
        raise BadPeriod(_("The first date must not be after the last one."))
    return name, analytics.Period(start, end), start_text, end_text


def trend_weeks(period, today):
    """How many weeks the trend shows: the period's, within 12 to 52, ending
    with the period (or today)."""
    end = min(period.end or today, today)
    if period.start is None:
        return MAX_TREND_WEEKS, end
    weeks = math.ceil(((end - period.start).days + 1) / 7)
    return max(MIN_TREND_WEEKS, min(MAX_TREND_WEEKS, weeks)), end


# -- goals and the calculator ---------------------------------------------------------

GOAL_WORDS = {
    "click": "clicks", "clicks": "clicks", "klik": "clicks", "klikken": "clicks",
    "visitor": "visitors", "visitors": "visitors", "bezoeker": "visitors", "bezoekers": "visitors",
    "share": "shares", "shares": "shares",
    "applicant": "applications", "applicants": "applications", "application": "applications",
    "applications": "applications", "sollicitant": "applications", "sollicitanten": "applications",
    "sollicitaties": "applications",
    "lead": "leads", "leads": "leads",
}
GOAL = re.compile(r"^\s*(\d{1,3}(?:[.,\s]\d{3})+|\d+)\s+([^\W\d_]+)", re.UNICODE)


def goal_target(text):
    """A campaign goal like "100 applicants via colleagues" or "20,000
    clicks" as (figure, number); None when it names no number of a figure
    the analytics count."""
    match = GOAL.match(text or "")
    if not match:
        return None
    figure = GOAL_WORDS.get(match.group(2).lower())
    number = int(re.sub(r"[.,\s]", "", match.group(1)))
    return (figure, number) if figure and number > 0 else None


def goal_progress(campaign):
    """A campaign's figures against its goal: figure, target, reached,
    percent (capped at 100 for the bar)."""
    target = goal_target(campaign["goal"])
    if target is None:
        return None
    figure, number = target
    reached = campaign[figure]
    return {"figure": figure, "target": number, "reached": reached,
            "percent": min(100, round(100 * reached / number))}


CALCULATOR_FIELDS = ("participants", "posts", "clicks_per_share", "cost_per_click")
CALCULATOR_LIMITS = {"participants": Decimal(10_000_000), "posts": Decimal(10_000),
                     "clicks_per_share": Decimal(1_000_000), "cost_per_click": Decimal(10_000)}
CENT = Decimal("0.01")
PLACES = Decimal("0.0001")


def earned_media_value(participants, posts, clicks_per_share, cost_per_click):
    """participants × posts per person × clicks per share × cost per click,
    in EUR rounded to the cent, with the clicks it assumes."""
    clicks = participants * posts * clicks_per_share
    return {"clicks": clicks.quantize(Decimal(1), ROUND_HALF_UP),
            "value": (clicks * cost_per_click).quantize(CENT, ROUND_HALF_UP)}


def measured_inputs(programme):
    """The calculator's inputs from the programme's own figures, to four
    decimals: their product is the measured earned media value (give or
    take the rounding)."""
    participants, shares, clicks = programme["active_sharers"], programme["shares"], programme["clicks"]
    if clicks:
        cost = Decimal(str(programme["emv"])) / clicks
    else:
        cost = Decimal(str(max(analytics.cost_per_click().values(), default=0)))

    def exact(value):
        return _plain(value.quantize(PLACES, ROUND_HALF_UP))

    return {
        "participants": Decimal(participants),
        "posts": exact(Decimal(shares) / participants) if participants else Decimal(0),
        "clicks_per_share": exact(Decimal(clicks) / shares) if shares else Decimal(0),
        "cost_per_click": exact(cost),
    }


def _plain(value):
    """1.5000 as 1.5, 3E+1 as 30: how a person would type it."""
    return Decimal(format(value.normalize(), "f"))


def parse_inputs(args):
    """The calculator's inputs as typed, checked: ({field: Decimal},
    {field: error})."""
    values, errors = {}, {}
    for field in CALCULATOR_FIELDS:
        text = (args.get(field) or "").strip().replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            errors[field] = _("Enter a number.")
            continue
        if not value.is_finite() or value < 0:
            errors[field] = _("Enter a number of 0 or more.")
        elif value > CALCULATOR_LIMITS[field]:
            errors[field] = _("Enter a number of at most %(max)s.", max=f"{CALCULATOR_LIMITS[field]:,}")
        else:
            values[field] = value
    return values, errors


# -- the figures ------------------------------------------------------------------------

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


def content_by_kind(items):
    """Clicks, visitors, bot hits, shares and EMV per kind of content,
    summed from the per-item figures."""
    kinds = {kind: {"kind": kind, "items": 0, "shares": 0, "clicks": 0, "visitors": 0, "bot_hits": 0,
                    "emv": 0.0} for kind in ("news", "vacancy", "blog")}
    for row in items:
        entry = kinds.setdefault(row["kind"], {"kind": row["kind"], "items": 0, "shares": 0, "clicks": 0,
                                               "visitors": 0, "bot_hits": 0, "emv": 0.0})
        entry["items"] += 1
        for key in ("shares", "clicks", "visitors", "bot_hits"):
            entry[key] += row[key]
        entry["emv"] = round(entry["emv"] + row["emv"], 2)
    return list(kinds.values())


def figures(period, full, today=None, tables=None):
    """The dashboard's figures for a period; ``full`` adds the per-person,
    per-team and participation figures (admins). ``tables`` limits the work
    to the tables named (for a CSV)."""
    today = today or analytics.today_utc()

    def wanted(*names):
        return tables is None or any(name in tables for name in names)

    result = {}
    if full and wanted("participation", "conversions", "calculator"):
        result["programme"] = analytics.programme_totals(period)
    if wanted("items", "content"):
        items = analytics.by_item(period)
        result["items"] = items
        result["top_items"] = items[:TOP]
        result["content"] = content_by_kind(items)
    if wanted("networks"):
        result["networks"] = analytics.by_network(period)
    if wanted("visitors"):
        result["visitors"] = analytics.by_kind(period)
    if wanted("trend"):
        weeks, end = trend_weeks(period, today)
        result["trend"] = analytics.weekly_series(weeks, today=end)
    if wanted("campaigns"):
        running = list(_campaigns_in(period))
        totals = analytics.campaigns_totals(running)
        result["campaigns"] = [{**totals[c.id], "progress": goal_progress(totals[c.id])} for c in running]
    if full and wanted("sharers"):
        limit = CSV_SHARERS if tables else TOP
        result["sharers"] = analytics.leaderboard(period, limit=limit, include_hidden=True)
    if full and wanted("teams"):
        result["teams"] = analytics.team_totals(period)
    return result


# -- the page -----------------------------------------------------------------------------

def _page(status=200, **context):
    """The whole page, or the figures region alone for htmx."""
    if request.htmx and not request.htmx.boosted:
        return _fragment("figures", status, **context)
    response = current_app.make_response((render_template("dashboard/index.html", **context), status))
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _labels():
    return {"networks": NETWORK_LABELS, "kinds": KIND_PLURAL_LABELS,
            "visitor_kinds": {"human": _("People"), "crawler": _("Link-preview bots"),
                              "head": _("Link checkers (HEAD)"), "empty": _("Empty requests")},
            "periods": {"month": _("This month"), "30d": _("Last 30 days"), "all": _("All time"),
                        "custom": _("Custom")},
            "calculator": {"participants": _("Participants"), "posts": _("Posts per person"),
                           "clicks_per_share": _("Clicks per share"),
                           "cost_per_click": _("Cost per click (EUR)")},
            "goal_figures": {"clicks": _("clicks"), "visitors": _("unique visitors"), "shares": _("shares"),
                             "applications": _("applicants"), "leads": _("leads")}}


def calculator(measured, programme=None):
    """The calculator's context: the measured inputs (with the measured
    value, which their rounding could miss by a cent), or the ones typed
    for a forecast, and the value they give."""
    if measured and not any(field in request.args for field in CALCULATOR_FIELDS):
        exact = {"clicks": Decimal(programme["clicks"]),
                 "value": Decimal(str(programme["emv"])).quantize(CENT, ROUND_HALF_UP)}
        return {"inputs": measured, "input_errors": {}, "calculated": exact}
    values, errors = parse_inputs(request.args)
    return {"inputs": {field: request.args.get(field, "") for field in CALCULATOR_FIELDS},
            "input_errors": errors, "calculated": None if errors else earned_media_value(**values)}


@bp.route("")
@role_required("editor")
def index():
    """The programme dashboard for a period (this month by default). The
    period selector swaps the figures region through htmx; the
    earned-media-value calculator (admins) swaps its result, recomputed
    here for the inputs typed."""
    full = current_user.is_admin
    labels = _labels()
    if full and request.htmx and request.htmx.target == "emv-result":
        # Only the calculator: its inputs are all it needs.
        context = calculator({})
        return _fragment("calculator_result", labels=labels, **context)
    today = analytics.today_utc()
    context = {"full": full, "labels": labels, "error": None, "tables": TABLES}
    try:
        name, period, start_text, end_text = requested_period(request.args, today)
    except BadPeriod as exc:
        context.update(period_name=request.args.get("period", "custom"), period=None, error=str(exc),
                       start_text=request.args.get("from", ""), end_text=request.args.get("to", ""))
        # htmx swaps only 2xx answers: the error must reach the page.
        return _page(200 if request.htmx else 400, **context)
    data = figures(period, full, today)
    query = {"period": name, **({"from": start_text, "to": end_text} if name == "custom" else {})}
    context.update(period_name=name, period=period, start_text=start_text, end_text=end_text, query=query,
                   chart=chart(data["trend"]), **data)
    status = 200
    if full:
        measured = measured_inputs(data["programme"])
        context.update(measured=measured, **calculator(measured, data["programme"]))
        if context["input_errors"] and not request.htmx:
            status = 400
    return _page(status, **context)


def _fragment(block, status=200, **context):
    response = current_app.make_response((render_block("dashboard/index.html", block, **context), status))
    response.headers["Vary"] = "HX-Request"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- CSV ---------------------------------------------------------------------------------

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


@bp.route("/<table>.csv")
@role_required("editor")
def export(table):
    """One table of the dashboard as CSV, for the period asked for."""
    if table not in TABLES:
        abort(404)
    if TABLES[table] == "admin" and not current_user.is_admin:
        abort(403)
    try:
        name, period, _start, _end = requested_period(request.args)
    except BadPeriod as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    data = figures(period, current_user.is_admin, tables={table})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(csv_rows(table, data, _labels()))
    span = "-".join(filter(None, [period.start and period.start.isoformat(),
                                  period.end and period.end.isoformat()])) or "all-time"
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="ambassador-{table}-{span}.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
