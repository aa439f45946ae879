"""Team leads (advocacy leaders): the directory's lead group (the real
slapd) or the programme lead names them; a team lead sees their team's
adoption, share rate, totals and top items, and individuals only when they
chose to appear on the leaderboard; nobody else sees a team's page."""

from helpers import login, make_item, make_person, store_click
from helpers.slapd import LEAD_GROUP, PEOPLE_ENTRIES, ldap_login, ldap_settings
from intranet_plugin.analytics import adoption, this_month, today_utc
from intranet_plugin.analytics.teams import team_figures
from intranet_plugin.models import Person, ShareEvent, TrackedLink, utcnow

pytest_plugins = ["helpers.slapd_fixtures"]


def share(person, item, network="linkedin", clicks=0):
    link = TrackedLink.for_share(person, item, network)
    ShareEvent.create(person=person, item=item, link=link, network=network, day=utcnow().date())
    for n in range(clicks):
        store_click(link, visitor=f"visitor-{person.id}-{n}")


def engineering_team():
    """Four colleagues in Engineering, three of whom joined; one of them
    appears on the leaderboard, one shared without appearing."""
    shown = make_person("shown", display_name="Visible Vera", department="Engineering", show_on_leaderboard=True)
    hidden = make_person("hidden", display_name="Hidden Henk", department="Engineering")
    make_person("quiet", display_name="Quiet Quinten", department="Engineering")
    make_person("outsider", display_name="Not Joined", department="Engineering", joined_at=None)
    make_person("sales", display_name="Sales Sam", department="Sales", show_on_leaderboard=True)
    item = make_item("Wind farm opens")
    share(shown, item, clicks=3)
    share(hidden, item, "x", clicks=2)
    share(Person.get(username="sales"), make_item("Sales news"), clicks=5)
    return item


def page(client, path="/team/"):
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


def test_a_member_of_the_directorys_lead_group_sees_their_teams_figures(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_LEAD_GROUP=LEAD_GROUP))
    engineering_team()
    browser = app.test_client()
    # joris is in the lead group; his department in the directory is Engineering
    assert ldap_login(browser, "joris", PEOPLE_ENTRIES["joris"][1]).status_code == 302
    status, html = page(browser)
    assert status == 200
    assert "Team Engineering" in html
    # adoption: 3 joined of the 5 active colleagues (joris himself has not joined)
    assert "60%" in html
    # share rate: 2 of the 3 who joined shared this month
    assert "67%" in html
    assert "Wind farm opens" in html and "Sales news" not in html
    # individuals: only the one who chose to appear
    assert "Visible Vera" in html and "Hidden Henk" not in html and "Sales Sam" not in html
    assert 'href="/team/"' in page(browser, "/")[1]


def test_someone_outside_the_lead_group_is_refused(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server, LDAP_LEAD_GROUP=LEAD_GROUP))
    engineering_team()
    browser = app.test_client()
    assert ldap_login(browser, "emma", PEOPLE_ENTRIES["emma"][1]).status_code == 302
    status, html = page(browser)
    assert status == 403 and "Wind farm opens" not in html
    assert 'href="/team/"' not in page(browser, "/")[1]
    # nor can a team lead look at another team
    Person.update(lead_of="Sales").where(Person.username == "emma").execute()
    assert page(browser)[0] == 200
    assert page(browser, "/team/?department=Engineering")[1].count("Team Sales") == 1


def test_the_programme_lead_names_and_removes_a_team_lead(client):
    make_person("anouk", role="admin", department="Communications")
    make_person("lisa", department="Sales")
    engineering_team()
    lead = client.application.test_client()
    login(lead, "lisa")
    assert page(lead)[0] == 403

    login(client, "anouk")
    # bad input: clear messages, nothing changed
    response = client.post("/team/leads", data={"username": "nobody", "department": "Engineering"})
    assert response.status_code == 400 and "Nobody active has that user name." in response.get_data(as_text=True)
    response = client.post("/team/leads", data={"username": "lisa", "department": "Atlantis"})
    assert response.status_code == 400 and "Choose a department from the list." in response.get_data(as_text=True)
    assert Person.get(username="lisa").lead_of == ""

    assert client.post("/team/leads", data={"username": "lisa", "department": "Engineering"}).status_code == 303
    status, html = page(lead)
    assert status == 200 and "Team Engineering" in html and "Wind farm opens" in html

    lisa = Person.get(username="lisa")
    assert client.post(f"/team/leads/{lisa.id}/remove").status_code == 303
    assert page(lead)[0] == 403
    # an employee cannot name leads
    assert lead.post("/team/leads", data={"username": "lisa", "department": "Engineering"}).status_code == 403


def test_a_team_too_small_shows_no_sharing_figures(client):
    make_person("lead", department="Tiny", lead_of="Tiny")
    loner = make_person("loner", department="Tiny")
    share(loner, make_item("Lonely post"), clicks=4)
    login(client, "lead")
    status, html = page(client)
    assert status == 200 and "Team Tiny" in html
    assert "Lonely post" not in html and "Share rate" not in html and "Shared this month" not in html
    assert "with fewer, they would be one person" in html
    with client.application.app_context():
        figures = team_figures("Tiny", today_utc())
    assert figures["funnel"].joined == 2 and "totals" not in figures


def test_team_totals_are_the_team_leaderboards(app):
    """The team page's totals are the leaderboard's team row: one rule."""
    from intranet_plugin.analytics import team_totals

    engineering_team()
    period = this_month(today_utc())
    with app.app_context():
        figures = team_figures("Engineering", today_utc())
        [row] = [r for r in team_totals(period) if r.department == "Engineering"]
    assert figures["totals"] == row.totals
    assert (figures["totals"].shares, figures["totals"].clicks) == (2, 5)
    assert figures["funnel"].sharers == 2 and round(figures["funnel"].share_rate, 2) == 0.67
    assert [i["title"] for i in figures["top_items"]] == ["Wind farm opens"]
    assert [p["name"] for p in figures["people"]] == ["Visible Vera"]


def test_the_team_page_shows_the_adoption_funnels_figures_of_its_department(app, client):
    """One rule for adoption (joined ÷ may take part) and share rate
    (members who shared this month ÷ members): the team page shows the
    dashboard funnel's row of its department. In a pilot, a member who left
    the group counts in neither, on either page."""
    make_person("anouk", role="admin", department="Communications")
    engineering_team()
    make_person("also-quiet", display_name="Also Quiet", department="Engineering")
    # Hidden Henk left the pilot group: he keeps his share, but no longer
    # takes part (without the pilot rule: 4 of 5 joined, 2 of those 4 shared).
    Person.update(eligible=False).where(Person.username == "hidden").execute()
    app.config["LDAP_MEMBER_GROUP"] = "cn=pilot,ou=groups,dc=example,dc=org"
    login(client, "anouk")
    html = client.get("/admin/dashboard/adoption").get_data(as_text=True)
    row = html.split("<th scope=\"row\">Engineering</th>")[1].split("</tr>")[0]
    with app.app_context():
        funnel_row = next(r for r in adoption.funnel(today_utc().replace(day=1)).rows if r.department == "Engineering")
        figures = team_figures("Engineering", today_utc())
    assert figures["funnel"] == funnel_row
    # 3 of the 4 who may take part joined; 1 of those 3 shared this month
    assert (funnel_row.eligible, funnel_row.joined, funnel_row.sharers) == (4, 3, 1)
    assert "<td>75%</td><td>33%</td>" in row
    status, team = page(client, "/team/?department=Engineering")
    assert status == 200
    adoption_section = team.split('id="team-adoption"')[1].split("</section>")[0]
    assert "<strong>75%</strong>" in adoption_section and "<strong>33%</strong>" in adoption_section
    assert "80%" not in adoption_section and "50%" not in adoption_section
    # the team's totals still count everything its people shared
    assert figures["totals"].shares == 2


def test_the_demo_has_a_team_lead_with_a_team_view(app, client):
    from intranet_plugin import demo

    with app.app_context():
        demo.build()
    login(client, demo.TEAM_LEAD)
    status, html = page(client)
    assert status == 200 and "Team Engineering" in html
    # with figures this month, whatever the day: the team shared the item
    # meant for it, and Emma (who chose to appear) is on the leaderboard
    with app.app_context():
        figures = team_figures("Engineering", today_utc())
    row = figures["funnel"]
    assert figures["shown"] and row.joined >= 3 and row.adoption_rate > 0
    assert row.sharers >= 2 and row.share_rate > 0
    assert figures["totals"].shares >= 2 and figures["totals"].clicks > 0
    assert demo.ENGINEERING_ONLY[0] in [i["title"] for i in figures["top_items"]]
    assert "Emma de Vries" in [p["name"] for p in figures["people"]]
    assert demo.ENGINEERING_ONLY[0] in html and "Emma de Vries" in html
    assert "Nothing shared in the team this month yet." not in html
