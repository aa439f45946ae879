"""A pilot (AMBASSADOR_LDAP_MEMBER_GROUP) against the real slapd: the
group's members may join; others get a friendly page naming the programme
lead, never an error; members who leave the group keep their history but
can no longer share; without the variable everyone may join."""

from helpers import BROWSER, make_item
from helpers.slapd import (
    NESTED_PILOT_GROUP,
    PEOPLE_ENTRIES,
    PILOT_GROUP,
    ldap_settings,
    ldap_signed_in,
    pilot_app,
)
from intranet_plugin.content.sharing import share_token
from intranet_plugin.models import Person, ShareEvent
from intranet_plugin.people import membership

pytest_plugins = ["helpers.slapd_fixtures"]

JOIN = {"networks": ["linkedin", "x"], "kinds": ["news"], "digest": "weekly", "language": "en", "agree": "yes"}


def test_a_member_of_the_pilot_group_may_join(make_app, ldap_server):
    app = pilot_app(make_app, ldap_server)
    emma = ldap_signed_in(app, "emma")
    page = emma.get("/join").get_data(as_text=True)
    assert 'name="agree"' in page and "pilot phase" not in page
    assert emma.post("/join", data=JOIN).status_code == 302
    assert Person.get(username="emma").has_joined


def test_someone_outside_the_pilot_sees_a_friendly_page_naming_the_lead(make_app, ldap_server):
    app = pilot_app(make_app, ldap_server)
    joris = ldap_signed_in(app, "joris")
    for url in ("/", "/join"):
        response = joris.get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "Ambassador is in its pilot phase" in page
        assert "Ask Sanne Jansen." in page and "mailto:sanne.jansen@example.org" in page
        assert 'name="agree"' not in page
    # the form cannot be posted around the page either
    response = joris.post("/join", data=JOIN)
    assert response.status_code == 403 and "pilot phase" in response.get_data(as_text=True)
    assert not Person.get(username="joris").has_joined


def test_sign_in_reads_the_group_as_it_is_now(make_app, ldap_server):
    """Added to the group in the directory: eligible at the next sign-in,
    before any sync."""
    app = pilot_app(make_app, ldap_server)
    assert not Person.get(username="joris").eligible
    members = [PEOPLE_ENTRIES["emma"][0], PEOPLE_ENTRIES["sanne"][0]]
    ldap_server.set_members(PILOT_GROUP, members + [PEOPLE_ENTRIES["joris"][0]])
    try:
        joris = ldap_signed_in(app, "joris")
    finally:
        ldap_server.set_members(PILOT_GROUP, members)
    assert Person.get(username="joris").eligible
    assert joris.post("/join", data=JOIN).status_code == 302


def test_without_the_variable_everyone_may_join(make_app, ldap_server):
    app = pilot_app(make_app, ldap_server)
    assert not Person.get(username="joris").eligible
    # the pilot ends: the variable is removed; nobody needs to sign in again
    # or wait for a sync
    app.config["LDAP_MEMBER_GROUP"] = ""
    joris = ldap_signed_in(app, "joris")
    assert "Ambassador is in its pilot phase" not in joris.get("/").get_data(as_text=True)
    assert joris.post("/join", data=JOIN).status_code == 302
    assert Person.get(username="joris").has_joined
    # and the next sync records everyone as eligible
    assert app.test_cli_runner().invoke(args=["sync-users"]).exit_code == 0
    assert Person.select().where(Person.eligible == False).count() == 0  # noqa: E712


def share_once(app, client, username):
    """The member shares an item; returns the share link's token."""
    item = make_item()
    with app.test_request_context():
        token = share_token(Person.get(username=username).id, item.id, "linkedin")
    assert client.get(f"/share/{token}").status_code == 303
    assert ShareEvent.select().count() == 1
    return token


def left_the_pilot(result, client, username, token):
    """After a sync that found the member out of the group: still a member,
    the earlier share kept, and sharing again refused. Returns the person."""
    assert result.exit_code == 0, result.output
    assert "Updated: " in result.output and username in result.output
    person = Person.get(username=username)
    assert not person.eligible and person.has_joined and person.is_active
    response = client.get(f"/share/{token}")
    assert response.status_code == 200 and "no longer in it" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 1  # nothing recorded; the earlier share stays
    return person


def test_a_member_who_leaves_the_group_keeps_their_history_but_cannot_share(make_app, ldap_server):
    app = pilot_app(make_app, ldap_server)
    emma = ldap_signed_in(app, "emma")
    assert emma.post("/join", data=JOIN).status_code == 302
    token = share_once(app, emma, "emma")
    assert emma.get("/api/v1/me/stats").get_json()["may_share"] is True

    members = [PEOPLE_ENTRIES["emma"][0], PEOPLE_ENTRIES["sanne"][0]]
    ldap_server.set_members(PILOT_GROUP, members[1:])
    try:
        result = app.test_cli_runner().invoke(args=["sync-users"])
    finally:
        ldap_server.set_members(PILOT_GROUP, members)
    person = left_the_pilot(result, emma, "emma", token)
    assert "Ambassador is in its pilot phase" in emma.get("/").get_data(as_text=True)
    assert emma.get("/me").status_code == 200
    stats = emma.get("/api/v1/me/stats").get_json()
    assert stats["may_share"] is False and stats["totals"]["shares"] == 1
    with app.app_context():
        assert person.id not in [p.id for p in membership.sharing_members()]
        assert not membership.may_share(person)


def test_the_demo_is_a_pilot_with_an_invitation_in_the_outbox_and_a_funnel(make_app, tmp_path):
    """What `make run` shows: the demo login, the pilot group set."""
    from intranet_plugin import demo
    from intranet_plugin.mail import outbox

    app = make_app(AUTH="dev", LDAP_MEMBER_GROUP=demo.PILOT_GROUP, MAIL_OUTBOX=str(tmp_path / "outbox"))
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0

    def demo_login(username):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        assert client.post("/login", data={"username": username}).status_code == 302
        return client

    page = demo_login("kees").get("/").get_data(as_text=True)
    # Kees reads Dutch (his language in the demo).
    assert "Ambassador zit in de pilotfase" in page and "Vraag het aan Anouk Bakker." in page
    assert 'name="agree"' in demo_login("noor").get("/join").get_data(as_text=True)

    sent = outbox.messages(str(tmp_path / "outbox"))
    assert len(sent) == 1
    assert "pieter@noordwind.example" in sent[0]["to"] and "Anouk Bakker" in sent[0]["subject"]

    lead = demo_login("anouk")
    page = lead.get("/admin/invitations").get_data(as_text=True)
    # Anouk reads Dutch too.
    assert demo.PILOT_GROUP in page and "12 mensen mogen meedoen" in page and "Pieter de Groot" in page
    assert "Kees Bos" not in page
    assert "invitation" in lead.get("/admin/outbox").get_data(as_text=True).lower()
    page = lead.get("/admin/dashboard/adoption").get_data(as_text=True)
    with app.app_context():
        from intranet_plugin import analytics
        from intranet_plugin.analytics import adoption

        total = adoption.funnel(analytics.today_utc().replace(day=1)).total
    assert (total.eligible, total.invited, total.joined) == (12, 1, 10) and total.shared >= 1 and total.clicked >= 1
    # shares this month whatever the day: a share rate to steer on
    assert total.sharers >= 2 and total.share_rate > 0
    assert "Engineering" in page and "doel 90%" in page and "doel 60%" in page
    # running the demo again invites nobody twice
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    assert len(outbox.messages(str(tmp_path / "outbox"))) == 1


def test_with_the_proxy_header_the_group_is_checked_at_sign_in(make_app, ldap_server):
    """AUTH=header: nobody is synced yet; the directory is asked as each
    person arrives."""
    app = make_app(**ldap_settings(ldap_server, AUTH="header", TRUSTED_PROXIES="192.0.2.10",
                                   LDAP_MEMBER_GROUP=PILOT_GROUP))

    def get(path, user):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        return client.get(path, headers={"X-Remote-User": user}, environ_base={"REMOTE_ADDR": "192.0.2.10"})

    response = get("/", "joris")
    assert response.status_code == 200 and "Ambassador is in its pilot phase" in response.get_data(as_text=True)
    joris = Person.get(username="joris")
    assert not joris.eligible and joris.eligible_checked_at is not None
    response = get("/join", "emma")
    assert response.status_code == 200 and 'name="agree"' in response.get_data(as_text=True)
    assert Person.get(username="emma").eligible


# -- nested groups: a member only through a group inside the pilot group ---------

def pilot_members_without_nested_group(server):
    """Take the group inside the pilot group out of it (Joris leaves the
    pilot); returns the members to put back."""
    members = server.members(PILOT_GROUP)
    assert PEOPLE_ENTRIES["joris"][0] not in members and NESTED_PILOT_GROUP in members
    server.set_members(PILOT_GROUP, [m for m in members if m != NESTED_PILOT_GROUP])
    return members


def test_a_member_through_a_nested_group_signs_in_joins_and_after_leaving_keeps_history(
        make_app, nested_ldap_server):
    """AUTH=ldap and the nightly sync, with Joris in the pilot group only
    through the group inside it."""
    app = make_app(**ldap_settings(nested_ldap_server, LDAP_MEMBER_GROUP=PILOT_GROUP))
    joris = ldap_signed_in(app, "joris")  # before any sync: the sign-in asks the directory
    assert Person.get(username="joris").eligible
    assert 'name="agree"' in joris.get("/join").get_data(as_text=True)
    assert joris.post("/join", data=JOIN).status_code == 302
    result = app.test_cli_runner().invoke(args=["sync-users"])
    assert result.exit_code == 0, result.output
    assert Person.get(username="joris").eligible
    token = share_once(app, joris, "joris")

    members = pilot_members_without_nested_group(nested_ldap_server)
    try:
        result = app.test_cli_runner().invoke(args=["sync-users"])
        again = ldap_signed_in(app, "joris")
    finally:
        nested_ldap_server.set_members(PILOT_GROUP, members)
    person = left_the_pilot(result, joris, "joris", token)
    assert "Ambassador is in its pilot phase" in again.get("/").get_data(as_text=True)
    stats = again.get("/api/v1/me/stats").get_json()
    assert stats["may_share"] is False and stats["totals"]["shares"] == 1
    with app.app_context():
        assert not membership.may_share(person)


def test_with_the_proxy_header_a_member_through_a_nested_group_may_join(make_app, nested_ldap_server):
    """AUTH=header: the group, nested, is asked as the person arrives; once
    out of it, the next arrival finds the pilot page, the membership kept."""
    app = make_app(**ldap_settings(nested_ldap_server, AUTH="header", TRUSTED_PROXIES="192.0.2.10",
                                   LDAP_MEMBER_GROUP=PILOT_GROUP))

    def request(method, path, **kwargs):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = BROWSER
        return client.open(path, method=method, headers={"X-Remote-User": "joris"},
                           environ_base={"REMOTE_ADDR": "192.0.2.10"}, **kwargs)

    response = request("GET", "/join")
    assert response.status_code == 200 and 'name="agree"' in response.get_data(as_text=True)
    assert request("POST", "/join", data=JOIN).status_code == 302
    assert Person.get(username="joris").eligible and Person.get(username="joris").has_joined

    members = pilot_members_without_nested_group(nested_ldap_server)
    try:
        response = request("GET", "/")
    finally:
        nested_ldap_server.set_members(PILOT_GROUP, members)
    assert "Ambassador is in its pilot phase" in response.get_data(as_text=True)
    person = Person.get(username="joris")
    assert not person.eligible and person.has_joined
