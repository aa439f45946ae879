"""``ambassador sync-users`` against a real slapd: people created and
updated, leavers deactivated (history kept), and a failed or partial
directory read that deactivates nobody."""

from helpers import make_item, make_person
from helpers.slapd import ADMIN_GROUP, PEOPLE, PEOPLE_ENTRIES, SERVICES, ldap_login, ldap_settings
from intranet_plugin.models import Person, TrackedLink

pytest_plugins = ["helpers.slapd_fixtures"]

EVERYONE = sorted(PEOPLE_ENTRIES)


def sync(app, *args):
    return app.test_cli_runner().invoke(args=["sync-users", *args])


def active_usernames():
    return sorted(p.username for p in Person.active())


def test_sync_creates_everyone_with_details_and_roles(ldap_app):
    result = sync(ldap_app)
    assert result.exit_code == 0, result.output
    assert f"{len(EVERYONE)} created" in result.output
    assert active_usernames() == EVERYONE
    roles = {p.username: p.role for p in Person.select()}
    assert roles == {"emma": "employee", "abakker": "editor", "zoë": "editor", "sanne": "admin",
                     "joris": "employee"}
    anouk = Person.get(username="abakker")
    assert (anouk.display_name, anouk.email) == ("Anouk Bakker", "anouk.bakker@example.org")


def test_second_sync_changes_nothing(ldap_app):
    sync(ldap_app)
    result = sync(ldap_app)
    assert result.exit_code == 0, result.output
    assert f"0 created, 0 updated, 0 reactivated, 0 deactivated, {len(EVERYONE)} unchanged" in result.output


def test_leaver_is_deactivated_and_their_history_kept(ldap_app, ldap_server):
    dn = ldap_server.add_person("pieter", password="pieter-Secret-7", displayName="Pieter Smit")
    try:
        assert "Created: " in sync(ldap_app).output
        pieter_browser = ldap_app.test_client()
        assert ldap_login(pieter_browser, "pieter", "pieter-Secret-7").status_code == 302
        link = TrackedLink.for_share(Person.get(username="pieter"), make_item(), "linkedin")

        ldap_server.delete(dn)
        result = sync(ldap_app)
    finally:
        ldap_server.delete(dn)  # in case the test stopped before
    assert result.exit_code == 0, result.output
    assert "Deactivated: pieter" in result.output
    pieter = Person.get(username="pieter")
    assert not pieter.is_active
    assert active_usernames() == EVERYONE
    # their shared links keep working for the public
    assert ldap_app.test_client().get(f"/s/{link.code}").status_code == 302
    assert TrackedLink.select().where(TrackedLink.person == pieter).count() == 1
    # their open session ends, and they cannot sign in again
    assert pieter_browser.get("/").status_code == 302
    assert ldap_login(ldap_app.test_client(), "pieter", "pieter-Secret-7").status_code == 401


def test_returning_person_is_reactivated(ldap_app, ldap_server):
    make_person("emma", display_name="Emma (old)", is_active=False)
    result = sync(ldap_app)
    assert "Reactivated: emma" in result.output
    emma = Person.get(username="emma")
    assert emma.is_active and emma.display_name == "Emma de Vries"


def test_role_taken_away_in_the_directory_is_taken_away_here(ldap_app, ldap_server):
    sync(ldap_app)
    before = ldap_server.members(ADMIN_GROUP)
    ldap_server.set_members(ADMIN_GROUP, [PEOPLE_ENTRIES["joris"][0]])
    try:
        result = sync(ldap_app)
    finally:
        ldap_server.set_members(ADMIN_GROUP, before)
    assert "Updated: joris, sanne" in result.output
    assert Person.get(username="sanne").role == "employee"
    assert Person.get(username="joris").role == "admin"


def test_dry_run_changes_nothing(ldap_app):
    make_person("leaver")
    result = sync(ldap_app, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Deactivated: leaver" in result.output and "Dry run, nothing changed" in result.output
    assert active_usernames() == ["leaver"]


def stopped_with_nothing_changed(result):
    assert result.exit_code != 0
    assert "nothing was changed" in result.output
    return True


def test_directory_down_deactivates_nobody(make_app, own_ldap_server):
    app = make_app(**ldap_settings(own_ldap_server))
    assert sync(app).exit_code == 0
    own_ldap_server.stop()
    result = sync(app)
    assert stopped_with_nothing_changed(result)
    assert active_usernames() == EVERYONE


def test_size_limited_read_deactivates_nobody(make_app, ldap_server):
    """The directory stops after two entries (its size limit): a partial
    list is not a list of leavers."""
    app = make_app(**ldap_settings(ldap_server))
    assert sync(app).exit_code == 0
    app.config["LDAP_BIND_DN"] = f"cn=limited,{SERVICES}"
    result = sync(app)
    assert stopped_with_nothing_changed(result)
    assert "sizeLimitExceeded" in result.output
    assert active_usernames() == EVERYONE


def test_unreadable_group_changes_nobody(make_app, ldap_server):
    app = make_app(**ldap_settings(ldap_server))
    assert sync(app).exit_code == 0
    app.config["LDAP_BIND_DN"] = f"cn=no-groups,{SERVICES}"
    app.config["LDAP_EDITOR_GROUP"] = f"cn=no-such-group,{PEOPLE}"
    result = sync(app)
    assert stopped_with_nothing_changed(result)
    assert "could not be read" in result.output
    assert {p.username: p.role for p in Person.select()}["abakker"] == "editor"


def test_empty_answer_deactivates_nobody(make_app, ldap_server):
    """A user base without people (a typo, a moved OU) finds nobody: that
    is a setting to fix, not the whole company leaving."""
    app = make_app(**ldap_settings(ldap_server))
    assert sync(app).exit_code == 0
    app.config["LDAP_USER_BASE"] = SERVICES
    result = sync(app)
    assert stopped_with_nothing_changed(result)
    assert "returned nobody" in result.output
    assert active_usernames() == EVERYONE


def test_mass_deactivation_needs_force(ldap_app):
    for n in range(12):
        make_person(f"temp{n:02}")
    result = sync(ldap_app)
    assert stopped_with_nothing_changed(result)
    assert "--force" in result.output
    assert len(active_usernames()) == 12
    result = sync(ldap_app, "--force")
    assert result.exit_code == 0, result.output
    assert active_usernames() == EVERYONE


def test_sync_users_needs_the_directory_settings(make_app):
    result = sync(make_app())
    assert result.exit_code != 0
    assert "AMBASSADOR_AUTH=ldap" in result.output
