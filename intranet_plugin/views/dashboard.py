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

from decimal import ROUND_HALF_UP, Decimal

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from jinja2_fragments.flask import render_block

from intranet_plugin import analytics
from intranet_plugin.analytics import adoption, goals
from intranet_plugin.analytics.dashboard import TABLES, csv_rows, figures
from intranet_plugin.analytics.spreadsheet import csv_text
from intranet_plugin.forms.analytics import (
    AdoptionMonthForm,
    AudienceFilterForm,
    BadPeriod,
    CalculatorForm,
    DashboardPeriodForm,
    RateGoalsForm,
)
from intranet_plugin.labels import KIND_PLURAL_LABELS, NETWORK_LABELS
from intranet_plugin.tracking import totals
from intranet_plugin.views import chart
from sso import role_required

bp = Blueprint("dashboard", __name__, url_prefix="/admin/dashboard")

def requested_period(args, today=None):
    """(name, Period, from text, to text) for ``?period=month|30d|all|custom``
    with ``from`` and ``to`` (inclusive UTC days) for custom; raises
    BadPeriod with the message to show."""
    return DashboardPeriodForm(args).requested(today)


def requested_items(form):
    """The ids of the items the audience filter keeps (a subquery), or
    None for every item; raises BadPeriod with the message to show."""
    audience = form.requested()
    return analytics.audience_items(*audience) if audience else None


# -- the page -----------------------------------------------------------------------------

def _page(status=200, **context):
    """The whole page, or the figures region alone for htmx."""
    if request.htmx and not request.htmx.boosted:
        return _fragment("figures", status, **context)
    response = current_app.make_response((render_template("dashboard/index.html", **context), status))
    response.headers["Vary"] = "HX-Request"
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
    if measured and not any(field in request.args for field in goals.CALCULATOR_FIELDS):
        exact = {"clicks": Decimal(programme["clicks"]),
                 "value": Decimal(str(programme["emv"])).quantize(goals.CENT, ROUND_HALF_UP)}
        return {"inputs": measured, "input_errors": {}, "calculated": exact}
    form = CalculatorForm(request.args)
    errors = form.messages
    return {"inputs": form.typed(), "input_errors": errors,
            "calculated": None if errors else goals.earned_media_value(**form.amounts())}


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
    audience = AudienceFilterForm(request.args)
    context = {"full": full, "labels": labels, "error": None, "tables": TABLES,
               "visitor_cap": totals.visitor_cap(), "audiences": audience.offered,
               "audience": audience.audience.data, "everyone": audience.everyone.data == "1",
               "audience_query": audience.query()}
    try:
        name, period, start_text, end_text = requested_period(request.args, today)
        items = requested_items(audience)
    except BadPeriod as exc:
        form = DashboardPeriodForm(request.args)
        context.update(period_name=form.period.data, period=None, error=str(exc),
                       start_text=form.start._value(), end_text=form.end._value())
        # htmx swaps only 2xx answers: the error must reach the page.
        return _page(200 if request.htmx else 400, **context)
    data = figures(period, full, today, items=items)
    query = {"period": name, **({"from": start_text, "to": end_text} if name == "custom" else {}),
             **audience.query()}
    context.update(period_name=name, period=period, start_text=start_text, end_text=end_text, query=query,
                   chart=chart(data["trend"]), day_start=analytics.utc_day_start(period.end or today),
                   timezone=current_app.config["TIMEZONE"], **data)
    status = 200
    if full:
        measured = goals.measured_inputs(data["programme"])
        context.update(measured=measured, **calculator(measured, data["programme"]))
        if context["input_errors"] and not request.htmx:
            status = 400
    return _page(status, **context)


def _fragment(block, status=200, **context):
    response = current_app.make_response((render_block("dashboard/index.html", block, **context), status))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/<table>.csv")
@role_required("editor")
def export(table):
    """One table of the dashboard as CSV, for the period (and audience)
    asked for."""
    if table not in TABLES:
        abort(404)
    if TABLES[table] == "admin" and not current_user.is_admin:
        abort(403)
    try:
        name, period, _start, _end = requested_period(request.args)
        items = requested_items(AudienceFilterForm(request.args))
    except BadPeriod as exc:
        return Response(str(exc) + "\n", status=400, mimetype="text/plain")
    data = figures(period, current_user.is_admin, tables={table}, items=items)
    span = "-".join(filter(None, [period.start and period.start.isoformat(),
                                  period.end and period.end.isoformat()])) or "all-time"
    response = Response(csv_text(csv_rows(table, data, _labels())), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="ambassador-{table}-{span}.csv"'
    return response


# -- adoption ------------------------------------------------------------------------------

def _adoption_page(status=200, goal_errors=None, goal_values=None):
    form = AdoptionMonthForm(request.args)
    today = analytics.today_utc()
    context = {"error": None, "goal_errors": goal_errors or {}, "month_text": form.month.data or "",
               "goals": goals.rate_goals()}
    try:
        month = form.requested(today)
    except BadPeriod as exc:
        context["error"] = str(exc)
        return render_template("dashboard/adoption.html", **context), 400
    context.update(funnel=adoption.funnel(month, context["goals"]), trend=adoption.trend(month),
                   month=month, goal_values=goal_values or {
                       k: "" if v is None else str(v) for k, v in context["goals"].items()})
    return render_template("dashboard/adoption.html", **context), status


@bp.route("/adoption")
@role_required("admin")
def adoption_funnel():
    """The adoption funnel of a month (this one by default): eligible,
    invited, joined, shared, brought a click; per department; the adoption
    and share rates against the programme lead's goals; the last months."""
    return _adoption_page()


@bp.post("/goals")
@role_required("admin")
def set_goals():
    """The programme lead sets the adoption and share-rate goals."""
    form = RateGoalsForm()
    if not form.validate():
        return _adoption_page(400, form.messages, form.values)
    goals.set_rate_goals(current_user._get_current_object(), adoption_rate=form.adoption_rate.data,
                         share_rate=form.share_rate.data)
    flash(_("The goals are saved."))
    return redirect(url_for(".adoption_funnel", month=request.args.get("month") or None), 303)
