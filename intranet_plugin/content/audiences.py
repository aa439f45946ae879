"""Audiences: whom an item is meant for, the one home of "which items may
this person see and share".

An item is meant for everyone, or for chosen departments, directory groups
(``AMBASSADOR_LDAP_AUDIENCE_GROUPS``) and content languages; the rule itself
is ``Audience.admits`` / ``Item.meant_for`` in the models, side by side. The
share page, widget, campaigns, digest, instant alerts, reminders and the API
list items through ``Item.shareable(now, viewer)`` with the person's
``viewer``; sharing refuses an item not meant for the person.
"""

from flask import current_app
from ldap3.utils.dn import parse_dn

from intranet_plugin.models import CONTENT_LANGUAGES, Audience, Item, ItemAudience, Person, db


def viewer(person):
    """The person as an audience sees them (their department, remembered
    directory groups and language)."""
    return person.viewer(current_app.config["DEFAULT_LANGUAGE"])


def company_languages():
    """The languages the company's own content is in
    (``AMBASSADOR_CONTENT_LANGUAGES``). Unset: every content language, so
    that a new install hides nothing from anybody until the company names
    its languages or a person chooses theirs."""
    return current_app.config["CONTENT_LANGUAGES"] or list(CONTENT_LANGUAGES)


def default_content_languages(language):
    """The content languages preselected for a person whose language is
    ``language``: theirs and the company's, so that nobody starts with a
    share page that hides the company's own content."""
    wanted = {language, *company_languages()}
    return [code for code in CONTENT_LANGUAGES if code in wanted]


def content_languages(person, language=None):
    """The content languages ``person`` shares in: their choice, else the
    default for their language (``language``, or theirs as an audience
    sees it). The share page's filter starts from these."""
    chosen = [code for code in CONTENT_LANGUAGES if code in (person.content_languages or ())]
    return chosen or default_content_languages(language or viewer(person).language)


def shareable_for(person, now=None):
    """The shareable items meant for ``person``."""
    return Item.shareable(now, viewer(person))


def is_meant_for(item, person):
    """Is this item meant for the person? (one query)"""
    return audience_of([item.id])[item.id].admits(viewer(person))


def audience_of(item_ids):
    """Each item's ``Audience``, in one query."""
    ids = list(item_ids)
    rows = {i: [] for i in ids}
    if ids:
        for item_id, dimension, value in (ItemAudience.select(ItemAudience.item, ItemAudience.dimension,
                                                              ItemAudience.value)
                                          .where(ItemAudience.item.in_(ids)).tuples()):
            rows[item_id].append((dimension, value))
    return {i: Audience.of(r) for i, r in rows.items()}


def set_audience(item, audience):
    """Make ``audience`` the item's audience (rows replaced)."""
    with db.atomic():
        ItemAudience.delete().where(ItemAudience.item == item.id).execute()
        rows = [{"item": item.id, "dimension": d, "value": v} for d, v in audience.rows()]
        if rows:
            ItemAudience.insert_many(rows).execute()


def known_groups():
    """The groups an item can be meant for: (DN as configured, name)."""
    return [(dn, group_name(dn)) for dn in current_app.config["LDAP_AUDIENCE_GROUPS"]]


def group_name(dn):
    """A group's name for people: the value of its first DN part."""
    try:
        return parse_dn(dn, escape=False)[0][1]
    except Exception:  # not a DN ldap3 can read: shown as configured
        return dn


def known_departments():
    """Departments of the active people, sorted."""
    return [d for (d,) in Person.active().select(Person.department).distinct()
            .where(Person.department != "").order_by(Person.department).tuples()]


def named_audiences():
    """Every (dimension, value) some item is meant for, in one query."""
    return set(ItemAudience.select(ItemAudience.dimension, ItemAudience.value).distinct().tuples())
