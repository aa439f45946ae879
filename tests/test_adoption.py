"""The adoption funnel against the real slapd (a pilot group), with
invitations sent to an SMTP server: eligible → invited → joined → shared
→ brought a human click, per month and department, with the adoption and
share rates against the programme lead's goals."""

import datetime

import pytest

from helpers import make_item, store_click
from helpers.slapd import PILOT_GROUP, ldap_settings, ldap_signed_in
from intranet_plugin import analytics
from intranet_plugin.analytics import adoption
from intranet_plugin.content.sharing import share_token
from intranet_plugin.models import Person, Setting, ShareEvent, TrackedLink

pytest_plugins = ["helpers.slapd_fixtures"]

JOIN = {"networks": ["linkedin"], "kinds": ["news"], "digest": "weekly", "language": "en", "agree": "yes"}


@pytest.fixture
def programme(make_app, ldap_server, smtp):
    """A pilot of Emma (Communications) and Sanne (Programme office, the
    lead): Sanne invites Emma, both join, Emma shares and her link brings a
    visitor; Joris and the others are outside the pilot."""
    app = make_app(**ldap_settings(ldap_server, LDAP_MEMBER_GROUP=PILOT_GROUP, SMTP_URL=smtp.url,
                                   MAIL_FROM="Ambassador <ambassador@example.org>"))
    assert app.test_cli_runner().invoke(args=["sync-users"]).exit_code == 0
    lead, emma = ldap_signed_in(app, "sanne"), ldap_signed_in(app, "emma")
    page = lead.post("/admin/invitations/preview", data={"usernames": "emma"}).get_data(as_text=True)
    round_id = page.split('name="round" value="')[1][:32]
    assert lead.post("/admin/invitations/send", data={"usernames": "emma", "round": round_id}).status_code == 303
    assert emma.post("/join", data=JOIN).status_code == 302
    assert lead.post("/join", data=JOIN).status_code == 302
    item = make_item()
    with app.test_request_context():
        token = share_token(Person.get(username="emma").id, item.id, "linkedin")
    assert emma.get(f"/share/{token}").status_code == 303
    return app, lead, emma, TrackedLink.get()


def this_month():
    return analytics.today_utc().replace(day=1)


def figures(row):
    return (row.eligible, row.invited, row.joined, row.shared, row.clicked)


def test_the_funnel_per_department_with_rates(programme):
    app, lead, _emma, link = programme
    store_click(link, is_self=True)  # the sharer's own click is no click
    with app.app_context():
        funnel = adoption.funnel(this_month())
        assert figures(funnel.total) == (2, 1, 2, 1, 0)
        store_click(link, visitor="someone")
        funnel = adoption.funnel(this_month())
    assert figures(funnel.total) == (2, 1, 2, 1, 1)
    assert funnel.total.adoption_rate == 1.0 and funnel.total.share_rate == 0.5
    by_department = {r.department: figures(r) for r in funnel.rows}
    assert by_department == {"Communications": (1, 1, 1, 1, 1), "Programme office": (1, 0, 1, 0, 0)}

    page = lead.get("/admin/dashboard/adoption").get_data(as_text=True)
    assert "Communications" in page and "Programme office" in page and "Joris" not in page
    assert "100%" in page and "50%" in page


def test_months_count_what_stood_at_the_end_of_each(programme):
    app, lead, _emma, _link = programme
    last_month = (this_month() - datetime.timedelta(days=1)).replace(day=1)
    with app.app_context():
        assert figures(adoption.funnel(last_month).total) == (0, 0, 0, 0, 0)
        # Emma joined two months ago: last month she was a member who did not share
        Person.update(joined_at=datetime.datetime.combine(last_month, datetime.time()) - datetime.timedelta(days=3),
                      created_at=datetime.datetime(2026, 1, 1)).where(Person.username == "emma").execute()
        before = adoption.funnel(last_month).total
        assert figures(before) == (1, 0, 1, 0, 0) and before.share_rate == 0.0
        # her share moves to last month: she shared then, not this month
        ShareEvent.update(created_at=datetime.datetime.combine(last_month, datetime.time(9)),
                          day=last_month).execute()
        before, now = adoption.funnel(last_month).total, adoption.funnel(this_month()).total
        assert figures(before) == (1, 0, 1, 1, 0) and before.share_rate == 1.0
        assert now.shared == 1 and now.share_rate == 0.0
        trend = adoption.trend(this_month())
    assert [f.month for f in trend][-2:] == [last_month, this_month()] and len(trend) == adoption.MONTHS
    page = lead.get("/admin/dashboard/adoption", query_string={"month": last_month.isoformat()[:7]})
    assert page.status_code == 200
    response = lead.get("/admin/dashboard/adoption", query_string={"month": "2026-13"})
    assert response.status_code == 400 and "like 2026-05" in response.get_data(as_text=True)


def test_the_lead_sets_goals_and_the_rates_are_shown_against_them(programme):
    _app, lead, emma, _link = programme
    response = lead.post("/admin/dashboard/goals", data={"adoption_rate": "80", "share_rate": "60"})
    assert response.status_code == 303
    page = lead.get("/admin/dashboard/adoption").get_data(as_text=True)
    assert "goal 80% reached" in page and "goal 60%" in page and "goal 60% reached" not in page

    for bad in ("150", "abc", "0"):
        response = lead.post("/admin/dashboard/goals", data={"adoption_rate": bad, "share_rate": "60"})
        assert response.status_code == 400, bad
        assert "whole percentage from 1 to 100" in response.get_data(as_text=True)
    assert Setting.get_value("goal_adoption_rate") == "80"
    # only the programme lead
    assert emma.get("/admin/dashboard/adoption").status_code == 403
    assert emma.post("/admin/dashboard/goals", data={"adoption_rate": "10"}).status_code == 403
