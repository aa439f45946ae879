"""A person's own data: everything Ambassador keeps about them, to
download (JSON or CSV), and its erasure at their request."""

import datetime
import json

from flask_babel import gettext as _
from peewee import Select, fn

from intranet_plugin import analytics
from intranet_plugin.analytics.spreadsheet import csv_cell, csv_text
from intranet_plugin.models import (
    AuditLog,
    Click,
    ClickDaily,
    Conversion,
    Item,
    LinkDay,
    LinkMonth,
    LinkTotal,
    MailLedger,
    Milestone,
    Person,
    PersonDay,
    PersonMonth,
    PersonTotal,
    ShareEvent,
    Suggestion,
    TrackedLink,
    db,
    new_code,
    utcnow,
)
from intranet_plugin.tracking import totals

PROFILE_FIELDS = ("username", "display_name", "email", "department", "role", "locale", "is_active",
                  "joined_at", "left_at", "show_on_leaderboard", "networks", "kinds", "digest",
                  "instant_alerts", "reminders", "groups", "lead_of", "ref", "created_at",
                  "content_languages")


def _plain(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def personal_data(person):
    """All that Ambassador keeps about one person, and nothing about anyone
    else: no visitor hashes (not even their own), no colleagues."""
    profile = {f: _plain(getattr(person, f)) for f in PROFILE_FIELDS}
    shares = [{"at": _plain(s.created_at), "day": _plain(s.day), "item": s.item.title, "url": s.item.url,
               "network": s.network, "source": s.source, "repeat": s.is_repeat}
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
    figures = analytics.person_totals([person.id], analytics.all_time())[person.id]
    return {"exported_at": _plain(utcnow()), "profile": profile, "totals": figures.as_dict(),
            "shares": shares,
            "links": [{"code": link.code, "item": link.item.title, "network": link.network,
                       "created_at": _plain(link.created_at)} for link in links.values()],
            "clicks_per_day": clicks, "suggestions": suggestions}


def export_json(person):
    """The person's own data as a JSON text."""
    return json.dumps(personal_data(person), ensure_ascii=False, indent=2)


def export_csv(person):
    """The person's own data as one CSV table: profile fields, shares, and
    counted clicks per link and day, one record per line."""
    data = personal_data(person)
    rows = [["record", "day", "item", "network", "source", "field", "value", "clicks", "visitors"]]
    for field, value in data["profile"].items():
        rows.append(["profile", "", "", "", "", field, csv_cell(value), "", ""])
    for s in data["shares"]:
        # A repeated press that day is kept, but is not a share of its own.
        rows.append(["repeated share" if s["repeat"] else "share", s["day"], csv_cell(s["item"]), s["network"],
                     s["source"], "", "", "", ""])
    for row in data["clicks_per_day"]:
        rows.append(["clicks", row["day"], csv_cell(row["item"]), row["network"], "", "link", row["link"],
                     row["clicks"], row["visitors"]])
    for s in data["suggestions"]:
        rows.append(["suggestion", s["at"][:10], csv_cell(s["title"]), "", "", "url", csv_cell(s["url"]), "", ""])
    return csv_text(rows)


def erase_person(person):
    """Delete a person's data at their request, and anonymise the person.

    Deleted: their share events, their tracked links with every click,
    daily total and conversion on them (so the links they posted stop
    redirecting), their digest and alert records, their milestones and
    their suggestions.
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
    with db.atomic():
        return _erase(person)


def _erase(person):
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
    for model in (Click, ClickDaily, Conversion, LinkDay, LinkMonth, LinkTotal):
        model.delete().where(model.link.in_(links)).execute()
    TrackedLink.delete().where(TrackedLink.person == person).execute()
    Item.update(suggested_by=None).where(Item.suggested_by == person).execute()
    Suggestion.delete().where(Suggestion.person == person).execute()
    MailLedger.delete().where(MailLedger.person == person).execute()
    Milestone.delete().where(Milestone.person == person).execute()
    for model in (PersonTotal, PersonMonth, PersonDay):  # zero since forget_links
        model.delete().where(model.person_id == person.id).execute()
    AuditLog.update(summary="", detail={}).where(
        (AuditLog.target_type == "person") & (AuditLog.target_id == person.id)).execute()
    Person.update(username=f"deleted-{new_code(9)}", display_name=_("Former ambassador"), email="",
                  department="", role="employee", locale=None, is_active=False, joined_at=None,
                  left_at=utcnow(), show_on_leaderboard=False, networks=[], kinds=[], digest="off",
                  instant_alerts=False, content_languages=[], ref=new_code(6)).where(Person.id == person.id).execute()
    AuditLog.record(person.id, "erase", person, summary="", **counts)
    return counts
