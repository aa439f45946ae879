"""Prize draws of a campaign contest: winners drawn among the campaign's
sharers with a recorded seed, participants and method, so that anyone can
redo the draw and get the same winners."""

import json
import random
import secrets

from flask_babel import gettext as _

from intranet_plugin import analytics
from intranet_plugin.models import AuditLog, Person, PrizeDraw, db, utcnow

MAX_WINNERS = 100


class DrawRefused(ValueError):
    """Nobody to draw, or a number of winners out of range: the message
    says which."""


def method(campaign, period, n):
    """How to redo the draw, stored with it."""
    first = period.start.isoformat() if period.start else _("the beginning")
    last = period.end.isoformat() if period.end else _("today")
    return _("Participants: the ids of everyone who shared an item of the campaign “%(name)s” from "
             "%(first)s to %(last)s (days in UTC), in ascending order. Winners: "
             "random.Random(seed).sample(participants, %(n)d) in Python 3 with the recorded seed "
             "string; the same seed and participants always give the same winners.",
             name=campaign.name, first=first, last=last, n=n)


def verify_command(draw):
    """A shell command that redoes ``draw``."""
    return (f"python3 -c 'import random; print(random.Random(\"{draw.seed}\")"
            f".sample({json.dumps(draw.participants)}, {len(draw.winners)}))'")


def draw(campaign, n, by):
    """Draw ``n`` winners among the campaign's sharers in its period and
    record the draw (with an audit entry)."""
    period = analytics.campaign_period(campaign)
    participants = analytics.campaign_participants(campaign.id, period)
    if not participants:
        raise DrawRefused(_("Nobody has shared an item of this campaign yet: there is nobody to draw."))
    if not 1 <= n <= min(len(participants), MAX_WINNERS):
        raise DrawRefused(_("Choose between 1 and %(max)d winners.", max=min(len(participants), MAX_WINNERS)))
    seed = secrets.token_hex(16)
    winners = random.Random(seed).sample(participants, n)
    with db.atomic():
        result = PrizeDraw.create(campaign=campaign, seed=seed, participants=participants, winners=winners,
                                  method=method(campaign, period, n), drawn_by=by, drawn_at=utcnow())
        AuditLog.record(by, "draw", result, summary=campaign.name, seed=seed, winners=winners,
                        participants=len(participants))
    return result


def of_campaign(campaign):
    """The campaign's draws, newest first."""
    return list(PrizeDraw.select().where(PrizeDraw.campaign == campaign).order_by(PrizeDraw.drawn_at.desc()))


def count(campaign):
    return PrizeDraw.select().where(PrizeDraw.campaign == campaign).count()


def people_named(results, show_contacts):
    """(names of winners who appear on leaderboards, winners' contact rows
    for admins, names of who drew) for a list of draws."""
    winner_ids = {pid for d in results for pid in d.winners}
    enabled = analytics.leaderboard_people_enabled()
    names, contacts = {}, {}
    for person in Person.select().where(Person.id.in_(list(winner_ids) or [0])):
        if enabled and person.show_on_leaderboard and person.is_active:
            names[person.id] = person.display_name
        if show_contacts:
            contacts[person.id] = person
    drawers = {p.id: p.display_name for p in
               Person.select().where(Person.id.in_([d.drawn_by_id for d in results if d.drawn_by_id] or [0]))}
    return names, contacts, drawers
