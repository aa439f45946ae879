"""Impact: each person's own figures (and their data, to download or
delete), the opt-in leaderboards, and campaign contests with auditable
prize draws. Every figure comes from ``intranet_plugin.analytics``."""

import csv
import datetime
import io
import json
import random
import secrets

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from peewee import Select, fn

from intranet_plugin import analytics
from intranet_plugin.models import (
    AuditLog,
    Campaign,
    Click,
    ClickDaily,
    Conversion,
    Item,
    LinkMonth,
    LinkTotal,
    MailLedger,
    Person,
    PrizeDraw,
    Setting,
    ShareEvent,
    Suggestion,
    TrackedLink,
    db,
    new_code,
    utcnow,
)
from intranet_plugin.tracking import totals
from intranet_plugin.views import fragment_or_page
from sso import role_required

bp = Blueprint("impact", __name__)

CHART_WEEKS = 12
BEST_ITEMS = 5
BOARD_SIZE = 50
MAX_WINNERS = 100
PERIODS = ("month", "all")


def _me():
    return current_user._get_current_object()


def period_for(name, today=None):
    today = today or analytics.today_utc()
    return analytics.this_month(today) if name == "month" else analytics.all_time()


def period_labels():
    return {"month": _("This month"), "all": _("All time")}


def network_labels():
    return {"linkedin": "LinkedIn", "x": "X", "facebook": "Facebook", "xing": "XING",
            "whatsapp": "WhatsApp", "email": _("E-mail"), "link": _("Copied link")}


@bp.context_processor
def labels():
    """Labels the impact pages share."""
    return {"PERIOD_LABELS": period_labels(), "NETWORK_LABELS": network_labels()}


def _period_arg():
    name = request.args.get("period", "month")
    return name if name in PERIODS else "month"


# -- the personal page ---------------------------------------------------------------

def chart(series, width=880, height=240):
    """Geometry of a bar chart of weekly clicks, for an inline SVG."""
    top, bottom, left, right = 24, 34, 36, 8
    peak = max([w["clicks"] for w in series] + [0])
    step = max(1, -(-peak // 4))  # four grid lines, whole numbers
    scale_max = step * 4
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / len(series)
    bars = []
    for i, week in enumerate(series):
        h = plot_h * week["clicks"] / scale_max
        start = datetime.date.fromisoformat(week["start"])
        bars.append({"x": round(left + i * slot + slot * 0.15, 1), "w": round(slot * 0.7, 1),
                     "y": round(top + plot_h - h, 1), "h": round(h, 1),
                     "cx": round(left + i * slot + slot / 2, 1), "week": week,
                     "label": week["week"].split("-W")[1], "start": start})
    grid = [{"y": round(top + plot_h - plot_h * k / 4, 1), "value": step * k} for k in range(5)]
    return {"width": width, "height": height, "bars": bars, "grid": grid, "left": left,
            "right": width - right, "base": top + plot_h, "total": sum(w["clicks"] for w in series)}


def personal_figures(person, today=None):
    """Everything /me and /api/v1/me/stats show, from a fixed number of
    queries."""
    today = today or analytics.today_utc()
    month, ever = analytics.this_month(today), analytics.all_time()
    both = analytics.person_totals([person.id], month)[person.id], \
        analytics.person_totals([person.id], ever)[person.id]
    enabled = analytics.leaderboard_people_enabled()
    visible = enabled and person.show_on_leaderboard and person.is_active
    return {
        "month": both[0], "all": both[1],
        "rank": {"month": analytics.rank_of(person.id, month) if visible else None,
                 "all": analytics.rank_of(person.id, ever) if visible else None},
        "on_leaderboard": visible, "leaderboard_enabled": enabled,
        "streak": analytics.streak(person.id, today),
        "weekly": analytics.weekly_series(CHART_WEEKS, person.id, today),
    }


@bp.route("/me")
@login_required
def me():
    """The signed-in person's own impact: this month and all time, by
    network and by item, week by week; their rank and streak; their data."""
    person = _me()
    name = request.args.get("period", "all")
    name = name if name in PERIODS else "all"
    period = period_for(name)
    context = {
        "figures": personal_figures(person),
        "period": name,
        "networks": analytics.by_network(period, person.id),
        "items": analytics.by_item(period, person.id, limit=BEST_ITEMS),
    }
    context["chart"] = chart(context["figures"]["weekly"])
    return fragment_or_page("impact/me.html", "breakdown", **context)


# -- the person's own data --------------------------------------------------------

PROFILE_FIELDS = ("username", "display_name", "email", "department", "role", "locale", "is_active",
                  "joined_at", "left_at", "show_on_leaderboard", "networks", "kinds", "digest",
                  "instant_alerts", "ref", "created_at")


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def personal_data(person):
    """All that Ambassador keeps about one person, and nothing about anyone
    else: no visitor hashes (not even their own), no colleagues."""
    profile = {f: _plain(getattr(person, f)) for f in PROFILE_FIELDS}
    shares = [{"at": _plain(s.created_at), "day": _plain(s.day), "item": s.item.title, "url": s.item.url,
               "network": s.network, "source": s.source}
              for s in (ShareEvent.select(ShareEvent, Item).join(Item)
                        .where(ShareEvent.person == person).order_by(ShareEvent.created_at))]
    links = {link.id: link for link in TrackedLink.select(TrackedLink, Item).join(Item)
             .where(TrackedLink.person == person)}
    src = analytics.click_source(analytics.all_time(),
                                 TrackedLink.select(TrackedLink.id).where(TrackedLink.person == person))
    c = src.c
    counted = (c.kind == "human") & (c.is_self == False)  # noqa: E712
    rows = (Select([src], [c.link_id, c.day, fn.SUM(c.clicks).alias("clicks"),
                           fn.SUM(c.visitors).alias("visitors")])
            .where(counted).group_by(c.link_id, c.day).order_by(c.day, c.link_id)
            .bind(db.obj).dicts())
    clicks = []
    for row in rows:
        link = links[row["link_id"]]
        clicks.append({"day": _plain(row["day"])[:10], "item": link.item.title, "network": link.network,
                       "link": link.code, "clicks": int(row["clicks"]), "visitors": int(row["visitors"])})
    suggestions = [{"at": _plain(s.created_at), "url": s.url, "title": s.title, "caption": s.caption,
                    "note": s.note, "status": s.status}
                   for s in Suggestion.select().where(Suggestion.person == person).order_by(Suggestion.id)]
    totals = analytics.person_totals([person.id], analytics.all_time())[person.id]
    return {"exported_at": _plain(utcnow()), "profile": profile, "totals": totals.as_dict(),
            "shares": shares,
            "links": [{"code": link.code, "item": link.item.title, "network": link.network,
                       "created_at": _plain(link.created_at)} for link in links.values()],
            "clicks_per_day": clicks, "suggestions": suggestions}


def _download(body, mimetype, extension):
    filename = f"ambassador-my-data-{analytics.today_utc().isoformat()}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/me/export.json")
@login_required
def export_json():
    """The signed-in person's own data as JSON."""
    body = json.dumps(personal_data(_me()), ensure_ascii=False, indent=2)
    return _download(body, "application/json", "json")


def csv_cell(value):
    """A spreadsheet must not run a title that starts with = as a formula."""
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.route("/me/export.csv")
@login_required
def export_csv():
    """The signed-in person's own data as one CSV table: profile fields,
    shares, and counted clicks per link and day, one record per line."""
    data = personal_data(_me())
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record", "day", "item", "network", "source", "field", "value", "clicks", "visitors"])
    for field, value in data["profile"].items():
        writer.writerow(["profile", "", "", "", "", field, csv_cell(value), "", ""])
    for s in data["shares"]:
        writer.writerow(["share", s["day"], csv_cell(s["item"]), s["network"], s["source"], "", "", "", ""])
    for row in data["clicks_per_day"]:
        writer.writerow(["clicks", row["day"], csv_cell(row["item"]), row["network"], "", "link", row["link"],
                         row["clicks"], row["visitors"]])
    for s in data["suggestions"]:
        writer.writerow(["suggestion", s["at"][:10], csv_cell(s["title"]), "", "", "url", csv_cell(s["url"]),
                         "", ""])
    return _download("\ufeff" + out.getvalue(), "text/csv; charset=utf-8", "csv")


def erase_person(person):
    """Delete a person's data at their request, and anonymise the person.

    Deleted: their share events, their tracked links with every click,
    daily total and conversion on them (so the links they posted stop
    redirecting), their digest and alert records and their suggestions.
    Kept, unnamed: the person row itself (name, user name, e-mail,
    department, pseudonymous reference and preferences replaced), because
    audit entries and recorded prize draws refer to it; audit entries about
    their membership lose their summary and details.

    Why delete the clicks instead of keeping them under an anonymous
    "former ambassador": their links sit in their public posts, so any
    figure still tied to those links could be traced back to them.
    Their clicks are taken out of the programme's running totals too, so
    programme figures no longer include this person; reports already sent
    stay as they were.
    """
    counts = {
        "shares": ShareEvent.delete().where(ShareEvent.person == person).execute(),
        "links": TrackedLink.select().where(TrackedLink.person == person).count(),
        "suggestions": Suggestion.select().where(Suggestion.person == person).count(),
    }
    # Explicitly rather than by the foreign keys' cascade: what goes must not
    # depend on how a database was set up.
    links = TrackedLink.select(TrackedLink.id).where(TrackedLink.person == person)
    totals.lock_for_store()  # no click of theirs is being stored meanwhile
    totals.forget_links(links)
    for model in (Click, ClickDaily, Conversion, LinkMonth, LinkTotal):
        model.delete().where(model.link.in_(links)).execute()
    TrackedLink.delete().where(TrackedLink.person == person).execute()
    Item.update(suggested_by=None).where(Item.suggested_by == person).execute()
    Suggestion.delete().where(Suggestion.person == person).execute()
    MailLedger.delete().where(MailLedger.person == person).execute()
    AuditLog.update(summary="", detail={}).where(
        (AuditLog.target_type == "person") & (AuditLog.target_id == person.id)).execute()
    Person.update(username=f"deleted-{new_code(9)}", display_name=_("Former ambassador"), email="",
                  department="", role="employee", locale=None, is_active=False, joined_at=None,
                  left_at=utcnow(), show_on_leaderboard=False, networks=[], kinds=[], digest="off",
                  instant_alerts=False, ref=new_code(6)).where(Person.id == person.id).execute()
    AuditLog.record(person.id, "erase", person, summary="", **counts)
    return counts


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
    if request.form.get("confirm") != "yes":
        return render_template("impact/delete.html",
                               error=_("Tick the box to confirm that your data should be deleted.")), 400
    person = _me()
    with db.atomic():
        erase_person(person)
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
    return {"period": name, "enabled": enabled, "people": people[:BOARD_SIZE], "mine": mine,
            "teams": analytics.team_totals(period), "min_members": analytics.TEAM_MIN_MEMBERS}


@bp.route("/leaderboard")
@login_required
def leaderboard():
    """People who chose to appear and teams, ranked by points (unique
    visitors through their links), this month or all time."""
    return fragment_or_page("impact/leaderboard.html", "board", **leaderboard_context(_period_arg()))


@bp.route("/leaderboard/settings", methods=["POST"])
@role_required("admin")
def leaderboard_settings():
    """Admins switch the people leaderboards on or off (teams stay)."""
    on = request.form.get("people") == "on"
    with db.atomic():
        Setting.set_value(analytics.LEADERBOARD_SETTING, "1" if on else "0", by=_me())
        AuditLog.record(_me(), "update", Setting.get_by_id(analytics.LEADERBOARD_SETTING),
                        summary=analytics.LEADERBOARD_SETTING, value=on)
    flash(_("People leaderboards are switched on.") if on else
          _("People leaderboards are switched off: only teams are ranked."))
    return redirect(url_for("impact.leaderboard"))


# -- campaign contests ------------------------------------------------------------------

def _campaign(slug):
    return Campaign.get_or_none(Campaign.slug == slug) or abort(404)


@bp.route("/campaigns/<slug>/board")
@login_required
def campaign_board(slug):
    """A campaign's own leaderboard: people who shared its items in its
    period, ranked by points from those items (same visibility rules)."""
    campaign = _campaign(slug)
    period = analytics.campaign_period(campaign)
    enabled = analytics.leaderboard_people_enabled()
    # Ranked among the visible people only: gaps in the ranks would tell
    # where the hidden ones are.
    people = analytics.leaderboard(period, campaign_id=campaign.id)
    mine = next((row for row in people if row["person_id"] == current_user.id), None)
    totals = analytics.campaign_totals(campaign.id, period)
    return render_template("impact/campaign_board.html", campaign=campaign, period=period, enabled=enabled,
                           people=people[:BOARD_SIZE], mine=mine, hidden=totals["sharers"] - len(people),
                           totals=totals,
                           draws=PrizeDraw.select().where(PrizeDraw.campaign == campaign).count())


def draw_method(campaign, period, n):
    """How to redo the draw, stored with it."""
    first = period.start.isoformat() if period.start else _("the beginning")
    last = period.end.isoformat() if period.end else _("today")
    return _("Participants: the ids of everyone who shared an item of the campaign “%(name)s” from "
             "%(first)s to %(last)s (days in UTC), in ascending order. Winners: "
             "random.Random(seed).sample(participants, %(n)d) in Python 3 with the recorded seed "
             "string; the same seed and participants always give the same winners.",
             name=campaign.name, first=first, last=last, n=n)


def verify_command(draw):
    return (f"python3 -c 'import random; print(random.Random(\"{draw.seed}\")"
            f".sample({json.dumps(draw.participants)}, {len(draw.winners)}))'")


@bp.route("/campaigns/<slug>/draw", methods=["POST"])
@role_required("admin")
def draw(slug):
    """Draw prize winners among the campaign's sharers, recording the seed,
    the participants and the method so that anyone can check the result."""
    campaign = _campaign(slug)
    try:
        n = int(request.form.get("winners", ""))
    except ValueError:
        n = 0
    period = analytics.campaign_period(campaign)
    participants = analytics.campaign_participants(campaign.id, period)
    if not participants:
        flash(_("Nobody has shared an item of this campaign yet: there is nobody to draw."), "error")
        return redirect(url_for("impact.campaign_board", slug=slug)), 303
    if not 1 <= n <= min(len(participants), MAX_WINNERS):
        flash(_("Choose between 1 and %(max)d winners.", max=min(len(participants), MAX_WINNERS)), "error")
        return redirect(url_for("impact.campaign_board", slug=slug)), 303
    seed = secrets.token_hex(16)
    winners = random.Random(seed).sample(participants, n)
    with db.atomic():
        result = PrizeDraw.create(campaign=campaign, seed=seed, participants=participants, winners=winners,
                                  method=draw_method(campaign, period, n), drawn_by=_me(), drawn_at=utcnow())
        AuditLog.record(_me(), "draw", result, summary=campaign.name, seed=seed, winners=winners,
                        participants=len(participants))
    flash(_("%(n)d winners drawn.", n=n))
    return redirect(url_for("impact.draws", slug=slug), 303)


@bp.route("/campaigns/<slug>/draws")
@login_required
def draws(slug):
    """Past prize draws of a campaign, with the seed and the participants
    (by number), so that anyone can redo them."""
    campaign = _campaign(slug)
    results = list(PrizeDraw.select().where(PrizeDraw.campaign == campaign).order_by(PrizeDraw.drawn_at.desc()))
    winner_ids = {pid for d in results for pid in d.winners}
    enabled = analytics.leaderboard_people_enabled()
    names, contacts = {}, {}
    for person in Person.select().where(Person.id.in_(list(winner_ids) or [0])):
        if enabled and person.show_on_leaderboard and person.is_active:
            names[person.id] = person.display_name
        if current_user.is_admin:
            contacts[person.id] = person
    drawers = {p.id: p.display_name for p in
               Person.select().where(Person.id.in_([d.drawn_by_id for d in results if d.drawn_by_id] or [0]))}
    return render_template("impact/draws.html", campaign=campaign, results=results, names=names,
                           contacts=contacts, drawers=drawers, verify=verify_command)
