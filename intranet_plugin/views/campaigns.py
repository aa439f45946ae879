"""Campaigns: their pages, open to everyone signed in, and their editor,
open to editors and admins."""

import datetime
import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet_plugin import analytics, models
from intranet_plugin.analytics import draws as prize_draws
from intranet_plugin.content.slugs import unique_slug
from intranet_plugin.models import Campaign, Item, db
from intranet_plugin.views.editor import (
    audit,
    clean_hashtags,
    zone,
)
from sso import role_required

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Words the campaign URLs use themselves.
RESERVED_SLUGS = {"new"}
NAME_MAX = 255
SLUG_MAX = 60
GOAL_MAX = 255
HASHTAG_MAX = 100
DESCRIPTION_MAX = 5000
TRACKED_FIELDS = ("name", "slug", "hashtag", "starts_at", "ends_at", "description", "goal")


def _utc(day, at):
    """Naive UTC of a local date at a local time of day."""
    local = datetime.datetime.combine(day, at, tzinfo=zone())
    return local.astimezone(datetime.UTC).replace(tzinfo=None)


# The campaign's days in the configured zone, for display.
bp.add_app_template_global(analytics.campaign_period, "campaign_period")


class CampaignForm:
    """The campaign editor's fields as typed, and their checks."""

    FIELDS = ("name", "slug", "hashtag", "starts_on", "ends_on", "description", "goal")

    def __init__(self, values, campaign=None):
        self.values = values
        self.campaign = campaign
        self.errors = {}
        self.cleaned = {}

    @classmethod
    def for_campaign(cls, campaign):
        if campaign is None:
            return cls(dict.fromkeys(cls.FIELDS, ""))
        period = analytics.campaign_period(campaign)
        return cls({"name": campaign.name, "slug": campaign.slug, "hashtag": campaign.hashtag,
                    "starts_on": period.start.isoformat() if period.start else "",
                    "ends_on": period.end.isoformat() if period.end else "",
                    "description": campaign.description, "goal": campaign.goal}, campaign)

    @classmethod
    def from_request(cls, data, campaign=None):
        return cls({name: data.get(name, "").replace("\x00", "") for name in cls.FIELDS}, campaign)

    def validate(self):
        v, errors, cleaned = self.values, {}, {}
        name = " ".join(v["name"].split())
        if not name:
            errors["name"] = _("Enter a name.")
        elif len(name) > NAME_MAX:
            errors["name"] = _("The name is too long: at most %(max)d characters.", max=NAME_MAX)
        cleaned["name"] = name

        slug = v["slug"].strip().lower()
        own_id = self.campaign.id if self.campaign else 0
        if slug:
            if not SLUG.fullmatch(slug) or len(slug) > SLUG_MAX:
                errors["slug"] = _("The short name may hold only lower-case letters, digits and single "
                                   "hyphens, at most %(max)d characters.", max=SLUG_MAX)
            elif slug in RESERVED_SLUGS:
                errors["slug"] = _("“%(slug)s” is reserved: choose another short name.", slug=slug)
            elif Campaign.select().where((Campaign.slug == slug) & (Campaign.id != own_id)).exists():
                errors["slug"] = _("Another campaign already has the short name “%(slug)s”.", slug=slug)
        cleaned["slug"] = slug

        tags, refused = clean_hashtags(v["hashtag"])
        if refused or len(tags) > 1 or (tags and len(tags[0]) > HASHTAG_MAX):
            errors["hashtag"] = _("Enter one hashtag of letters, digits and _ (at most %(max)d characters), "
                                  "like #WerkenBij.", max=HASHTAG_MAX)
        cleaned["hashtag"] = tags[0] if tags else ""

        for name, key in (("starts_on", "starts_at"), ("ends_on", "ends_at")):
            cleaned[key] = None
            text = v[name].strip()
            if not text:
                continue
            try:
                day = datetime.date.fromisoformat(text)
            except ValueError:
                errors[name] = _("Enter a date like 2026-05-04.")
                continue
            if not 2000 <= day.year <= 2100:
                errors[name] = _("Enter a date between the years 2000 and 2100.")
                continue
            cleaned[key] = _utc(day, datetime.time.min if key == "starts_at" else datetime.time(23, 59, 59))
        if cleaned["starts_at"] and cleaned["ends_at"] and cleaned["ends_at"] < cleaned["starts_at"]:
            errors["ends_on"] = _("The campaign cannot end before it starts.")

        description = v["description"].strip().replace("\r\n", "\n")
        if len(description) > DESCRIPTION_MAX:
            errors["description"] = _("The description is too long: at most %(max)d characters.",
                                      max=DESCRIPTION_MAX)
        cleaned["description"] = description
        goal = " ".join(v["goal"].split())
        if len(goal) > GOAL_MAX:
            errors["goal"] = _("The goal is too long: at most %(max)d characters.", max=GOAL_MAX)
        cleaned["goal"] = goal
        self.errors, self.cleaned = errors, cleaned
        return not errors


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
        items = Item.shareable(now).where(Item.campaign == campaign)
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
    if request.method == "POST":
        return _save(CampaignForm.from_request(request.form), None)
    return render_template("campaigns/edit.html", form=CampaignForm.for_campaign(None), campaign=None)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@role_required("editor")
def edit(slug):
    """A campaign's editor, and saving it."""
    campaign = Campaign.get_or_none(Campaign.slug == slug) or abort(404)
    if request.method == "POST":
        return _save(CampaignForm.from_request(request.form, campaign), campaign)
    return render_template("campaigns/edit.html", form=CampaignForm.for_campaign(campaign), campaign=campaign)


def _save(form, campaign):
    if not form.validate():
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
    campaign = _campaign(slug)
    period = analytics.campaign_period(campaign)
    enabled = analytics.leaderboard_people_enabled()
    # Ranked among the visible people only: gaps in the ranks would tell
    # where the hidden ones are.
    people = analytics.leaderboard(period, campaign_id=campaign.id)
    mine = next((row for row in people if row["person_id"] == current_user.id), None)
    totals = analytics.campaign_totals(campaign.id, period)
    return render_template("campaigns/board.html", campaign=campaign, period=period, enabled=enabled,
                           people=people[:BOARD_SIZE], mine=mine, hidden=totals["sharers"] - len(people),
                           totals=totals, draws=prize_draws.count(campaign))


@bp.route("/<slug>/draw", methods=["POST"])
@role_required("admin")
def draw(slug):
    """Draw prize winners among the campaign's sharers, recording the seed,
    the participants and the method so that anyone can check the result."""
    campaign = _campaign(slug)
    try:
        n = int(request.form.get("winners", ""))
    except ValueError:
        n = 0
    try:
        prize_draws.draw(campaign, n, by=current_user._get_current_object())
    except prize_draws.DrawRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("campaigns.board", slug=slug)), 303
    flash(_("%(n)d winners drawn.", n=n))
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
                           contacts=contacts, drawers=drawers, verify=prize_draws.verify_command)
