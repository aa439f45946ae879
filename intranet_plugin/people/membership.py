"""Joining the programme, one's preferences, and leaving it: voluntary,
one click each way."""

from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.models import DIGEST_CHOICES, KINDS, AuditLog, Person, db, utcnow


def preferences_of(person, default_locale):
    """A person's choices as the forms show them (an empty list means all)."""
    return {
        "networks": list(person.networks or NETWORKS),
        "kinds": list(person.kinds or KINDS),
        "digest": person.digest if person.digest in DIGEST_CHOICES else "weekly",
        "instant_alerts": person.instant_alerts,
        "locale": person.locale if person.locale in LANGUAGES else default_locale,
        "show_on_leaderboard": person.show_on_leaderboard,
        "mastodon_server": person.mastodon_server or "",
    }


def stored_fields(prefs):
    """Person fields for these choices. Everything chosen is stored as an
    empty list (all), so a network or kind added later is included too."""
    return {
        "networks": [] if len(prefs["networks"]) == len(NETWORKS) else list(prefs["networks"]),
        "kinds": [] if len(prefs["kinds"]) == len(KINDS) else list(prefs["kinds"]),
        "digest": prefs["digest"],
        "instant_alerts": prefs["instant_alerts"],
        "locale": prefs["locale"],
        "show_on_leaderboard": prefs["show_on_leaderboard"],
        "mastodon_server": prefs.get("mastodon_server", ""),
    }


def join(person, prefs):
    """``person`` joins with these choices (after agreeing to the guidelines)."""
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
        Person.update(joined_at=None, left_at=utcnow(), digest="off", instant_alerts=False,
                      show_on_leaderboard=False).where(Person.id == person.id).execute()
        AuditLog.record(person, "leave", person, summary=person.display_name)
    return True


def unsubscribe(person, list_name):
    """Switch off one list ("digest" or "alerts") for a person, from an
    e-mail's unsubscribe link."""
    with db.atomic():
        if list_name == "digest" and person.digest != "off":
            Person.update(digest="off").where(Person.id == person.id).execute()
            AuditLog.record(person, "unsubscribe", person, summary="digest")
        elif list_name == "alerts" and person.instant_alerts:
            Person.update(instant_alerts=False).where(Person.id == person.id).execute()
            AuditLog.record(person, "unsubscribe", person, summary="alerts")
