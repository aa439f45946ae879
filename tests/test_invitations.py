"""Invitations against the real slapd and an SMTP server: the programme lead
picks people (department, directory group, pasted names), previews, sends a
test to themself, and sends through the exactly-once mail ledger; nobody is
invited twice in 30 days, leavers only if they ask; the join link is
signed, personal and expiring, and opens the guidelines and the join form
with nothing ticked."""

import datetime
import re
import uuid

import pytest

from helpers.slapd import PILOT_GROUP, ldap_settings, ldap_signed_in
from intranet_plugin.models import Invitation, MailLedger, Person
from intranet_plugin.people import invitations, membership

pytest_plugins = ["helpers.slapd_fixtures"]

EMMA = "emma.devries@example.org"
SANNE = "sanne.jansen@example.org"


@pytest.fixture
def app(make_app, ldap_server, smtp):
    app = make_app(**ldap_settings(ldap_server, LDAP_MEMBER_GROUP=PILOT_GROUP, SMTP_URL=smtp.url,
                                   MAIL_FROM="Ambassador <ambassador@example.org>"))
    assert app.test_cli_runner().invoke(args=["sync-users"]).exit_code == 0
    return app


@pytest.fixture
def lead(app):
    return ldap_signed_in(app, "sanne")


def preview(lead, **choice):
    response = lead.post("/admin/invitations/preview", data=choice)
    return response, response.get_data(as_text=True)


def send(lead, **choice):
    """Preview, then press send; with nobody to invite the page has no send
    button, so the request a stale page would send is posted instead."""
    response, page = preview(lead, **choice)
    found = re.search(r'name="round" value="([0-9a-f]{32})"', page)
    round_id = found.group(1) if found else uuid.uuid4().hex
    return lead.post("/admin/invitations/send", data={**choice, "round": round_id}), round_id


def join_path(message):
    return re.search(r"/join/invited/[^\s\"<>]+", message.get_body(("plain",)).get_content()).group(0)


def test_the_preview_shows_who_is_invited_and_the_mail_and_sends_nothing(app, lead, smtp):
    response, page = preview(lead, usernames="emma\njoris, nobody-here")
    assert response.status_code == 200
    assert "1 person will be invited" in page and "Emma de Vries" in page
    assert "Joris Visser" in page and "not in the pilot group" in page
    assert "Nobody has these user names: nobody-here" in page
    assert "Sanne Jansen invites you to Ambassador" in page and "Read the guidelines and join" in page
    assert smtp.messages == [] and Invitation.select().count() == 0
    assert lead.get("/admin/invitations/message").status_code == 200


def test_a_choice_naming_nobody_is_refused_with_a_message(app, lead):
    response, page = preview(lead, department="", usernames="  ")
    assert response.status_code == 400
    assert "Choose a department or a group, or paste a list of user names." in page
    response, page = preview(lead, department="No such department")
    assert response.status_code == 400 and "Choose one of the departments." in page


def test_people_are_picked_by_department_and_by_directory_group(app, lead):
    _response, page = preview(lead, department="Communications")
    assert "1 person will be invited" in page and "Emma de Vries" in page
    _response, page = preview(lead, group=PILOT_GROUP)
    # the group's members: Emma, and Sanne herself (not a member of the programme yet)
    assert "2 people will be invited" in page and "Emma de Vries" in page
    response, page = preview(lead, group="cn=no-such-group,ou=groups,dc=example,dc=org")
    assert response.status_code == 400 and "could not be read from the directory" in page


def test_a_test_goes_to_the_lead_alone_and_records_nothing(app, lead, smtp):
    assert lead.post("/admin/invitations/test").status_code == 303
    assert list(smtp.recipients()) == [SANNE]
    assert smtp.messages[0]["Subject"] == "[TEST] Sanne Jansen invites you to Ambassador"
    assert Invitation.select().count() == 0 and MailLedger.select().count() == 0


def test_a_round_sent_twice_sends_one_mail_and_nobody_is_invited_twice_in_30_days(app, lead, smtp):
    (response, round_id) = send(lead, usernames="emma")
    assert response.status_code == 303
    assert "1 invitation sent." in lead.get("/admin/invitations").get_data(as_text=True)
    # the same round again (a double press): nobody gets two
    again = lead.post("/admin/invitations/send", data={"usernames": "emma", "round": round_id})
    assert again.status_code == 303
    assert smtp.recipients()[EMMA] == 1
    row = MailLedger.get((MailLedger.kind == "invitation") & (MailLedger.period == round_id))
    assert row.status == "sent" and row.person_id == Person.get(username="emma").id
    invitation = Invitation.get()
    assert invitation.sent_at is not None and invitation.invited_by.username == "sanne"
    message = smtp.messages[0]
    assert message["Subject"] == "Sanne Jansen invites you to Ambassador"
    assert message.get_body(("html",)) is not None

    # another round within 30 days: Emma is left out, and says why
    _response, page = preview(lead, usernames="emma")
    assert "0 people will be invited" in page and "invited in the last 30 days" in page
    send(lead, usernames="emma")
    assert smtp.recipients()[EMMA] == 1
    # after 30 days she may be invited again
    Invitation.update(created_at=datetime.datetime.now() - datetime.timedelta(days=31)).execute()
    send(lead, usernames="emma")
    assert smtp.recipients()[EMMA] == 2


def test_one_sender_of_invitations_at_a_time(app, lead, smtp):
    """A round runs under the invitations' send lease, as every kind of mail
    does: while another sender holds it, a press sends nothing and says so;
    its rows between hand-over and verdict are never "in doubt"."""
    from intranet_plugin.mail.ledger import SendLease

    other = SendLease("invitation", "elsewhere/1/x")
    assert other.acquire()
    send(lead, usernames="emma")
    assert smtp.recipients()[EMMA] == 0 and not Invitation.select().exists()
    page = lead.get("/admin/invitations").get_data(as_text=True)
    assert "Another round of invitations is being sent right now" in page
    other.release()
    send(lead, usernames="emma")
    assert smtp.recipients()[EMMA] == 1


def test_people_who_left_are_not_invited_again_unless_they_asked(app, lead, smtp):
    emma = ldap_signed_in(app, "emma")
    assert emma.post("/join", data={"networks": ["x"], "kinds": ["news"], "digest": "weekly",
                                    "language": "en", "agree": "yes"}).status_code == 302
    _response, page = preview(lead, usernames="emma")
    assert "a member already" in page
    assert emma.post("/leave").status_code == 302
    _response, page = preview(lead, usernames="emma")
    assert "0 people will be invited" in page and "left the programme" in page
    # a department pick never brings them back either
    send(lead, department="Communications")
    assert smtp.messages == []
    send(lead, usernames="emma", asked="yes")
    assert smtp.recipients()[EMMA] == 1


def test_the_join_link_is_personal_signed_and_expiring(app, lead, smtp, monkeypatch):
    send(lead, usernames="emma")
    path = join_path(smtp.messages[0])
    emma = ldap_signed_in(app, "emma")
    response = emma.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Our guidelines" in page and 'name="agree"' in page
    form = page[page.index("<form method=\"post\" action=\"/join\""):]
    assert " checked" not in form[:form.index("</form>")]
    # joining from it works as joining does
    assert emma.post("/join", data={"networks": ["x"], "kinds": ["news"], "digest": "weekly",
                                    "language": "en", "agree": "yes"}).status_code == 302
    assert Person.get(username="emma").has_joined

    # someone else's link
    joris = ldap_signed_in(app, "joris")
    response = joris.get(path)
    assert response.status_code == 403 and "belongs to someone else" in response.get_data(as_text=True)
    # tampered
    response = emma.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    # expired
    monkeypatch.setattr(invitations, "LINK_AGE", -1)
    response = emma.get(path)
    assert response.status_code == 410 and "has expired" in response.get_data(as_text=True)
    # signed out: sign in first, then the link
    assert app.test_client().get(path).status_code == 302


def test_the_admin_page_shows_who_is_eligible(app, lead):
    page = lead.get("/admin/invitations").get_data(as_text=True)
    assert PILOT_GROUP in page
    assert "2 people may take part" in page
    assert "Emma de Vries" in page and "Joris Visser" not in page
    with app.app_context():
        assert sorted(p.username for p in membership.eligible_people()) == ["emma", "sanne"]


def test_the_command_line_invites_a_directory_group_by_the_same_rules(app, smtp):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["invite", "--group", PILOT_GROUP, "--by", "sanne", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: would invite 2: " in result.output and smtp.messages == []
    result = runner.invoke(args=["invite", "--user", "emma", "--user", "joris", "--by", "sanne"])
    assert result.exit_code == 0, result.output
    assert "Not invited: joris (not in the pilot group)" in result.output and "1 sent" in result.output
    assert list(smtp.recipients()) == [EMMA]
    result = runner.invoke(args=["invite", "--user", "emma", "--by", "sanne"])
    assert "invited in the last 30 days" in result.output and smtp.recipients()[EMMA] == 1
    # only a programme lead invites
    result = runner.invoke(args=["invite", "--user", "emma", "--by", "joris"])
    assert result.exit_code != 0 and "not an active programme lead" in result.output


def test_a_refused_address_is_not_counted_as_invited(app, lead, smtp):
    smtp.handler.rcpt_replies[EMMA] = ["550 no such mailbox"]
    send(lead, usernames="emma")
    assert smtp.messages == [] and Invitation.select().count() == 0
    assert "1 could not be sent." in lead.get("/admin/invitations").get_data(as_text=True)
    send(lead, usernames="emma")  # a later round tries again
    assert smtp.recipients()[EMMA] == 1
