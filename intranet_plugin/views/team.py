"""The team page of team leads (advocacy leaders), and the programme
lead's page naming them.

A team lead sees their team's figures (``analytics.teams``): adoption and
share rate as the dashboard's adoption funnel counts them, totals and top
items, and individuals only as the leaderboard shows them. Who leads which team is ``people.leads``; admins may look at
any team. Everyone else gets 403, on the server.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intranet_plugin import analytics
from intranet_plugin.analytics.teams import team_figures
from intranet_plugin.content.audiences import known_departments
from intranet_plugin.forms.teams import LeadForm, TeamArgsForm
from intranet_plugin.models import Person
from intranet_plugin.people import leads
from sso import role_required

bp = Blueprint("team", __name__, url_prefix="/team")


@bp.route("/")
@login_required
def index():
    """The figures of the team the signed-in person leads (admins: of the
    team asked for with ``?department=``)."""
    department = leads.led_team(current_user)
    if current_user.is_admin:
        department = TeamArgsForm(request.args).value("department") or department
    if not department and current_user.is_admin:
        return render_template("team/index.html", figures=None, departments=known_departments())
    if not leads.may_see_team(current_user, department):
        abort(403)
    return render_template("team/index.html", figures=team_figures(department, analytics.today_utc()),
                           departments=known_departments() if current_user.is_admin else [],
                           min_members=analytics.TEAM_MIN_MEMBERS)


def _leads_page(form=None, status=200):
    return render_template("team/leads.html", leads=leads.named_leads(), form=form or LeadForm(formdata=None),
                           departments=known_departments()), status


@bp.get("/leads")
@role_required("admin")
def leads_page():
    """The team leads the programme lead named, and the form to name one."""
    return _leads_page()


@bp.post("/leads")
@role_required("admin")
def name_lead():
    """Name a person team lead of a department."""
    form = LeadForm()
    if not form.validate():
        return _leads_page(form, 400)
    leads.name_lead(form.person, form.department.data, current_user.id)
    flash(_("%(name)s now leads the team %(team)s.", name=form.person.display_name, team=form.department.data))
    return redirect(url_for(".leads_page"), 303)


@bp.post("/leads/<int:person_id>/remove")
@role_required("admin")
def remove_lead(person_id):
    """The person no longer leads the team they were named lead of."""
    person = Person.get_or_none(Person.id == person_id) or abort(404)
    leads.remove_lead(person, current_user.id)
    flash(_("%(name)s no longer leads a team.", name=person.display_name))
    return redirect(url_for(".leads_page"), 303)


@bp.app_template_global()
def leads_a_team():
    """Does the signed-in person lead a team? (the navigation's team link)"""
    return leads.led_team(current_user) is not None
