"""Prize draws of a campaign contest: winners drawn among the campaign's
participants with a recorded seed, participant list and method, so that
anyone can redo the draw and get the same winners.

Participants are the people whose links to the campaign's items brought at
least one counted visitor in its period (``analytics.campaign_participants``):
real clicks, not presses on a share button. They are published by a
pseudonym of that draw (``pseudonym``), never by their id: a keyed hash of
the draw's seed and the person's id, so the same person has another
pseudonym in every draw and a winner named in one draw tells nothing about
the others. The ids stay on the server, where the programme lead sees who
won (``people_named``).
"""

import hashlib
import hmac
import json
import random
import secrets

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from intranet_plugin import analytics
from intranet_plugin.models import AuditLog, Person, PrizeDraw, db, utcnow

MAX_WINNERS = 100


class DrawRefused(ValueError):
    """Nobody to draw, or a number of winners out of range: the message
    says which."""


def pseudonym(seed, person_id):
    """A participant's name in one draw: 10 hexadecimal digits of an HMAC
    (SHA-256, the app's secret key) of the draw's seed and the person's id."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"ambassador.draw|{seed}|{person_id}".encode(), hashlib.sha256).hexdigest()[:10].upper()


def published(draw):
    """The draw's participants as published, in the order drawn from."""
    return draw.pseudonyms or [pseudonym(draw.seed, pid) for pid in draw.participants]


def method(campaign, period, n):
    """How to redo the draw, stored with it."""
    first = period.start.isoformat() if period.start else _("the beginning")
    last = period.end.isoformat() if period.end else _("today")
    return _("Participants: everyone whose links to items of the campaign “%(name)s” brought at least one "
             "unique visitor (a person following the link, not a press on a share button) from %(first)s to "
             "%(last)s (days in UTC), one entry each, listed by a pseudonym of this draw. Winners: "
             "random.Random(seed).sample(participants, %(n)d) in Python 3 with the recorded seed "
             "string and the participants in the order shown; the same seed and participants always give "
             "the same winners.",
             name=campaign.name, first=first, last=last, n=n)


def verify_command(draw):
    """A shell command that redoes ``draw``: it prints the winners' pseudonyms."""
    return (f"python3 -c 'import random; print(random.Random(\"{draw.seed}\")"
            f".sample({json.dumps(published(draw))}, {len(draw.winners)}))'")


def draw(campaign, n, by):
    """Draw ``n`` winners among the campaign's participants in its period
    and record the draw (with an audit entry)."""
    period = analytics.campaign_period(campaign)
    entrants = analytics.campaign_participants(campaign.id, period)
    if not entrants:
        raise DrawRefused(_("Nobody's links to this campaign's items have brought a visitor yet: "
                            "there is nobody to draw."))
    if not 1 <= n <= min(len(entrants), MAX_WINNERS):
        most = min(len(entrants), MAX_WINNERS)
        raise DrawRefused(ngettext("Choose 1 winner.", "Choose between 1 and %(num)d winners.", most))
    seed = secrets.token_hex(16)
    # In the order of their pseudonyms, which tells nothing about the ids.
    names = {pid: pseudonym(seed, pid) for pid in entrants}
    participants = sorted(entrants, key=names.__getitem__)
    winners = random.Random(seed).sample(participants, n)
    with db.atomic():
        result = PrizeDraw.create(campaign=campaign, seed=seed, participants=participants, winners=winners,
                                  pseudonyms=[names[pid] for pid in participants],
                                  method=method(campaign, period, n), drawn_by=by, drawn_at=utcnow())
        AuditLog.record(by, "draw", result, summary=campaign.name, seed=seed,
                        winners=[names[pid] for pid in winners], participants=len(participants))
    return result


def entries(draw, viewer_id):
    """What a draw's page shows: winners as (person id, pseudonym, is the
    viewer) and participants as (pseudonym, is the viewer). The ids are for
    looking up names on the server, never shown."""
    names = dict(zip(draw.participants, published(draw), strict=True))
    return {"winners": [(pid, names.get(pid) or pseudonym(draw.seed, pid), pid == viewer_id)
                        for pid in draw.winners],
            "participants": [(names[pid], pid == viewer_id) for pid in draw.participants]}


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
