"""Impact: each person's own figures (and their data, to download or
delete) and the opt-in leaderboards. Every figure comes from
``intranet_plugin.analytics``."""

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from intranet_plugin import analytics
from intranet_plugin.analytics import milestones
from intranet_plugin.content.audiences import viewer
from intranet_plugin.content.items import shareable_ids
from intranet_plugin.forms.analytics import ImpactPeriodForm
from intranet_plugin.forms.programme import DeleteDataForm, LeaderboardSettingsForm
from intranet_plugin.models import AuditLog, Setting, db, utcnow
from intranet_plugin.people import data
from intranet_plugin.views import chart, fragment_or_page
from sso import role_required

bp = Blueprint("impact", __name__)

BEST_ITEMS = 5
BOARD_SIZE = 50


def _me():
    return current_user._get_current_object()


def period_for(name, today=None):
    today = today or analytics.today_utc()
    return analytics.this_month(today) if name == "month" else analytics.all_time()


def period_labels():
    return {"month": _("This month"), "all": _("All time")}


@bp.context_processor
def labels():
    """Labels the impact pages share."""
    return {"PERIOD_LABELS": period_labels()}


def _period_arg(default):
    return ImpactPeriodForm(request.args).value("period") or default


# -- the personal page ---------------------------------------------------------------

@bp.route("/me")
@login_required
def me():
    """The signed-in person's own impact: this month and all time, by
    network and by item, week by week; their rank, streak and milestones
    (newly reached ones stored here, so the digest can announce them); their
    data."""
    person = _me()
    name = _period_arg("all")
    period = period_for(name)
    context = {
        "figures": analytics.personal_figures(person),
        "period": name,
        "networks": analytics.by_network(period, person.id),
        "items": analytics.by_item(period, person.id, limit=BEST_ITEMS),
        "milestones": milestones.sync([person.id])[person.id],
    }
    # "Share again" goes to an item's card, for the items still on the share page.
    context["shareable"] = shareable_ids({row["item_id"] for row in context["items"]}, utcnow(), viewer(person))
    context["chart"] = chart(context["figures"]["weekly"])
    return fragment_or_page("impact/me.html", "breakdown", **context)


# -- the person's own data --------------------------------------------------------

def _download(body, mimetype, extension):
    filename = f"ambassador-my-data-{analytics.today_utc().isoformat()}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/me/export.json")
@login_required
def export_json():
    """The signed-in person's own data as JSON."""
    return _download(data.export_json(_me()), "application/json", "json")


@bp.route("/me/export.csv")
@login_required
def export_csv():
    """The signed-in person's own data as one CSV table: profile fields,
    shares, and counted clicks per link and day, one record per line."""
    return _download(data.export_csv(_me()), "text/csv; charset=utf-8", "csv")


@bp.route("/me/delete", methods=["GET"])
@login_required
def delete_confirm():
    """What deleting one's data means, and the form to confirm it."""
    return render_template("impact/delete.html", error=None)


@bp.route("/me/delete", methods=["POST"])
@login_required
def delete_data():
    """Delete the signed-in person's data and sign them out, once they have
    confirmed it."""
    form = DeleteDataForm()
    if not form.validate():
        return render_template("impact/delete.html", error=form.messages["confirm"]), 400
    data.erase_person(_me())
    # This process forgets the links at once; others within the cache's TTL,
    # and a click they still journal is dropped for want of its link.
    current_app.extensions["ambassador.targets"].clear()
    logout_user()
    session.clear()
    flash(_("Your data has been deleted and you are signed out."), "info")
    return redirect(url_for("auth.login"))


# -- leaderboards -------------------------------------------------------------------

def leaderboard_context(name):
    period = period_for(name)
    enabled = analytics.leaderboard_people_enabled()
    people = analytics.leaderboard(period) if enabled else []
    mine = next((row for row in people if row["person_id"] == current_user.id), None)
    # Only people who chose to appear are listed, so only they show a badge.
    shown = [row["person_id"] for row in people[:BOARD_SIZE]] + ([mine["person_id"]] if mine else [])
    return {"period": name, "enabled": enabled, "people": people[:BOARD_SIZE], "mine": mine,
            "milestones": milestones.counts(shown),
            "teams": analytics.team_totals(period), "min_members": analytics.TEAM_MIN_MEMBERS}


@bp.route("/leaderboard")
@login_required
def leaderboard():
    """People who chose to appear and teams, ranked by points (unique
    visitors through their links), this month or all time."""
    return fragment_or_page("impact/leaderboard.html", "board", **leaderboard_context(_period_arg("month")))


@bp.route("/leaderboard/settings", methods=["POST"])
@role_required("admin")
def leaderboard_settings():
    """Admins switch the people leaderboards on or off (teams stay)."""
    form = LeaderboardSettingsForm()
    if not form.validate():
        flash(form.messages["people"], "error")
        return redirect(url_for("impact.leaderboard")), 303
    on = form.people.data == "on"
    with db.atomic():
        Setting.set_value(analytics.LEADERBOARD_SETTING, "1" if on else "0", by=_me())
        AuditLog.record(_me(), "update", Setting.get_by_id(analytics.LEADERBOARD_SETTING),
                        summary=analytics.LEADERBOARD_SETTING, value=on)
    flash(_("People leaderboards are switched on.") if on else
          _("People leaderboards are switched off: only teams are ranked."))
    return redirect(url_for("impact.leaderboard"))
