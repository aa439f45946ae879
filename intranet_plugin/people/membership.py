"""Joining the programme, one's preferences, and leaving it: voluntary,
one click each way. And who may: in a pilot, only the member group.

The one home of "may this person join, may they share": the join and
share views, the share buttons, the digest, the alerts and the API all ask
here.
"""

from flask import current_app

from intranet_plugin.content.audiences import content_languages, default_content_languages
from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.models import DIGEST_CHOICES, KINDS, AuditLog, Person, db, utcnow


def pilot_group():
    """The member group's DN while the programme is a pilot, else ""."""
    return (current_app.config.get("LDAP_MEMBER_GROUP") or "").strip()


def is_eligible(person):
    """May this person take part at all? Everyone without a pilot; in a
    pilot, the member group's members (as the directory said at sign-in or
    at the last sync)."""
    return bool(person.is_active) and (not pilot_group() or bool(person.eligible))


def may_share(person):
    """A member who may share now: joined, and (in a pilot) still in the
    member group. One who left the group keeps their history."""
    return person.has_joined and is_eligible(person)


def eligible_people():
    """Active people who may take part (a Person query)."""
    query = Person.active()
    if pilot_group():
        query = query.where(Person.eligible == True)  # noqa: E712
    return query


def sharing_members():
    """Members who may share (a Person query): the people the digest and
    the alerts go to."""
    query = Person.members()
    if pilot_group():
        query = query.where(Person.eligible == True)  # noqa: E712
    return query


def programme_leads():
    """The people to ask about taking part: the active admins."""
    return list(Person.active().where(Person.role == "admin").order_by(Person.display_name))


def preferences_of(person, default_locale):
    """A person's choices as the forms show them (an empty list means all)."""
    locale = person.locale if person.locale in LANGUAGES else default_locale
    return {
        "networks": list(person.networks or NETWORKS),
        "kinds": list(person.kinds or KINDS),
        "digest": person.digest if person.digest in DIGEST_CHOICES else "weekly",
        "instant_alerts": person.instant_alerts,
        "reminders": person.reminders,
        "locale": locale,
        "show_on_leaderboard": person.show_on_leaderboard,
        "mastodon_server": person.mastodon_server or "",
        "content_languages": content_languages(person, locale),
    }


def stored_fields(prefs):
    """Person fields for these choices. Everything chosen is stored as an
    empty list (all), so a network or kind added later is included too;
    content languages that are the default for the person's language (or
    none), as an empty list too: the default, which follows their language."""
    languages = list(prefs.get("content_languages") or ())
    return {
        "networks": [] if len(prefs["networks"]) == len(NETWORKS) else list(prefs["networks"]),
        "kinds": [] if len(prefs["kinds"]) == len(KINDS) else list(prefs["kinds"]),
        "digest": prefs["digest"],
        "instant_alerts": prefs["instant_alerts"],
        "reminders": prefs["reminders"],
        "locale": prefs["locale"],
        "show_on_leaderboard": prefs["show_on_leaderboard"],
        "mastodon_server": prefs.get("mastodon_server", ""),
        "content_languages": [] if languages in ([], default_content_languages(prefs["locale"])) else languages,
    }


class NotEligible(Exception):
    """The programme is a pilot and this person is not in its group."""


def join(person, prefs):
    """``person`` joins with these choices (after agreeing to the
    guidelines); ``NotEligible`` outside a pilot's group."""
    if not is_eligible(person):
        raise NotEligible(person.username)
    fields = stored_fields(prefs)
    with db.atomic():
        Person.update(joined_at=utcnow(), left_at=None, **fields).where(Person.id == person.id).execute()
        AuditLog.record(person, "join", person, summary=person.display_name, **fields)


def save_preferences(person, prefs):
    fields = stored_fields(prefs)
    with db.atomic():
        Person.update(**fields).where(Person.id == person.id).execute()
        AuditLog.record(person, "preferences", person, summary=person.display_name, **fields)


def leave(person):
    """Leave the programme: no more e-mails, off the leaderboard. Past
    shares and clicks stay in the programme's totals. False when the person
    had not joined."""
    if not person.has_joined:
        return False
    with db.atomic():
        Person.update(joined_at=None, left_at=utcnow(), digest="off", instant_alerts=False, reminders=False,
                      show_on_leaderboard=False).where(Person.id == person.id).execute()
        AuditLog.record(person, "leave", person, summary=person.display_name)
    return True


def unsubscribe(person, list_name):
    """Switch off one list ("digest", "alerts" or "reminders") for a
    person, from an e-mail's unsubscribe link."""
    with db.atomic():
        if list_name == "digest" and person.digest != "off":
            Person.update(digest="off").where(Person.id == person.id).execute()
            AuditLog.record(person, "unsubscribe", person, summary="digest")
        elif list_name == "alerts" and person.instant_alerts:
            Person.update(instant_alerts=False).where(Person.id == person.id).execute()
            AuditLog.record(person, "unsubscribe", person, summary="alerts")
        elif list_name == "reminders" and person.reminders:
            Person.update(reminders=False).where(Person.id == person.id).execute()
            AuditLog.record(person, "unsubscribe", person, summary="reminders")
