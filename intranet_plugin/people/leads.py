"""Team leads (advocacy leaders): who leads which team, the one home of
that rule.

A person leads their own department when they are in the directory's lead
group (``AMBASSADOR_LDAP_LEAD_GROUP``, remembered at sign-in and sync), or
leads the department the programme lead named them lead of
(``Person.lead_of``). Admins may look at any team.
"""

from flask import current_app

from intranet_plugin.models import AuditLog, Person


def led_team(person):
    """The department ``person`` leads, or None."""
    if not person.is_active:
        return None
    if person.lead_of:
        return person.lead_of
    group = current_app.config["LDAP_LEAD_GROUP"].strip()
    if group and group in (person.groups or ()) and person.department:
        return person.department
    return None


def may_see_team(person, department):
    """May ``person`` see the figures of ``department``'s team?"""
    return bool(department) and (person.is_admin or led_team(person) == department)


def named_leads():
    """People the programme lead named team leads, by department."""
    return list(Person.active().where(Person.lead_of != "").order_by(Person.lead_of, Person.display_name))


def name_lead(person, department, actor):
    """Name the person lead of ``department``."""
    person.lead_of = department
    person.save(only=["lead_of"])
    AuditLog.record(actor, "name-lead", person, summary=department)


def remove_lead(person, actor):
    """The person no longer leads the team they were named lead of."""
    department, person.lead_of = person.lead_of, ""
    person.save(only=["lead_of"])
    AuditLog.record(actor, "remove-lead", person, summary=department)
