"""Campaigns: their pages, open to everyone signed in, and their editor,
open to editors and admins."""


from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from intranet_plugin import analytics, models
from intranet_plugin.analytics import draws as prize_draws
from intranet_plugin.content.audiences import shareable_for
from intranet_plugin.content.editing import audit
from intranet_plugin.content.slugs import unique_slug
from intranet_plugin.forms.analytics import DrawForm
from intranet_plugin.forms.content import CampaignForm
from intranet_plugin.models import Campaign, Item, db
from sso import role_required

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

TRACKED_FIELDS = ("name", "slug", "hashtag", "starts_at", "ends_at", "description", "goal")


# The campaign's days in the configured zone, for display.
bp.add_app_template_global(analytics.campaign_period, "campaign_period")


@bp.route("/")
@login_required
def index():
    """Every campaign: running and coming ones first, then those that ended."""
    now = models.utcnow()
    campaigns = list(Campaign.select().order_by(Campaign.starts_at.desc(nulls="LAST"), Campaign.name))
    current = [c for c in campaigns if c.ends_at is None or c.ends_at >= now]
    ended = [c for c in campaigns if c not in current]
    return render_template("campaigns/index.html", current=current, ended=ended)


@bp.route("/<slug>")
@login_required
def show(slug):
    """A campaign: what it is about, its goal, how far it got and its items
    (editors also see drafts and scheduled ones)."""
    campaign = Campaign.get_or_none(Campaign.slug == slug) or abort(404)
    now = models.utcnow()
    if current_user.is_editor:
        items = (Item.select().where((Item.campaign == campaign) & (Item.status != "archived")))
    else:
        items = shareable_for(current_user, now).where(Item.campaign == campaign)
    items = list(items.order_by(Item.pinned.desc(), Item.publish_at.desc(), Item.id.desc()))
    # The campaign's figures in its own period, from the analytics: the
    # same numbers as its board, the dashboard, the API and the CSV.
    figures = analytics.campaign_totals(campaign.id, analytics.campaign_period(campaign))
    return render_template("campaigns/show.html", campaign=campaign, items=items, shares=figures["shares"],
                           clicks=figures["clicks"], item_state=lambda item: item.state(now))


@bp.route("/new", methods=["GET", "POST"])
@role_required("editor")
def new():
    """A new campaign: the empty form, and saving it."""
    form = CampaignForm()
    if form.is_submitted():
        return _save(form, None)
    return render_template("campaigns/edit.html", form=form, campaign=None)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@role_required("editor")
def edit(slug):
    """A campaign's editor, and saving it."""
    campaign = Campaign.get_or_none(Campaign.slug == slug) or abort(404)
    period = analytics.campaign_period(campaign)
    first, last = period.start, period.end
    form = CampaignForm(campaign=campaign, data={
        "name": campaign.name, "slug": campaign.slug, "hashtag": campaign.hashtag, "starts_on": first,
        "ends_on": last, "description": campaign.description, "goal": campaign.goal})
    if form.is_submitted():
        return _save(form, campaign)
    return render_template("campaigns/edit.html", form=form, campaign=campaign)


def _save(form, campaign):
    if not form.check():
        return render_template("campaigns/edit.html", form=form, campaign=campaign), 400
    created = campaign is None
    target = campaign or Campaign(created_at=models.utcnow())
    before = {name: getattr(target, name) for name in TRACKED_FIELDS}
    cleaned = dict(form.cleaned)
    with db.atomic():
        if not cleaned["slug"]:
            cleaned["slug"] = target.slug if not created else unique_slug(Campaign, cleaned["name"], "campaign")
        for name in TRACKED_FIELDS:
            setattr(target, name, cleaned[name])
        changed = [name for name in TRACKED_FIELDS if before[name] != getattr(target, name)]
        if not created and not changed:
            flash(_("Nothing changed."))
            return redirect(url_for("campaigns.show", slug=target.slug))
        target.save()
        audit("create" if created else "change", target, changed=[] if created else changed)
    flash(_("Saved: “%(name)s”.", name=target.name))
    return redirect(url_for("campaigns.show", slug=target.slug))


# -- campaign contests ------------------------------------------------------------------

BOARD_SIZE = 50


def _campaign(slug):
    return Campaign.get_or_none(Campaign.slug == slug) or abort(404)


@bp.route("/<slug>/board")
@login_required
def board(slug):
    """A campaign's own leaderboard: people who shared its items in its
    period, ranked by points from those items (same visibility rules)."""
    return _board_page(_campaign(slug))


def _board_page(campaign, form=None, status=200):
    period = analytics.campaign_period(campaign)
    enabled = analytics.leaderboard_people_enabled()
    # Ranked among the visible people only: gaps in the ranks would tell
    # where the hidden ones are.
    people = analytics.leaderboard(period, campaign_id=campaign.id)
    mine = next((row for row in people if row["person_id"] == current_user.id), None)
    totals = analytics.campaign_totals(campaign.id, period)
    return render_template("campaigns/board.html", campaign=campaign, period=period, enabled=enabled,
                           people=people[:BOARD_SIZE], mine=mine, hidden=totals["sharers"] - len(people),
                           totals=totals, draws=prize_draws.count(campaign),
                           entrants=len(analytics.campaign_participants(campaign.id, period)),
                           draw_form=form or DrawForm(formdata=None)), status


@bp.route("/<slug>/draw", methods=["POST"])
@role_required("admin")
def draw(slug):
    """Draw prize winners among the campaign's sharers, recording the seed,
    the participants and the method so that anyone can check the result."""
    campaign = _campaign(slug)
    form = DrawForm()
    if not form.validate():
        return _board_page(campaign, form, 400)
    n = form.winners.data
    try:
        prize_draws.draw(campaign, n, by=current_user._get_current_object())
    except prize_draws.DrawRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("campaigns.board", slug=slug)), 303
    flash(ngettext("%(num)d winner drawn.", "%(num)d winners drawn.", n))
    return redirect(url_for("campaigns.draws", slug=slug), 303)


@bp.route("/<slug>/draws")
@login_required
def draws(slug):
    """Past prize draws of a campaign, with the seed and the participants
    (by number), so that anyone can redo them."""
    campaign = _campaign(slug)
    results = prize_draws.of_campaign(campaign)
    names, contacts, drawers = prize_draws.people_named(results, current_user.is_admin)
    return render_template("campaigns/draws.html", campaign=campaign, results=results, names=names,
                           contacts=contacts, drawers=drawers, verify=prize_draws.verify_command,
                           entries=prize_draws.entries)
