"""The programme lead's digest page: finding a person by name for the
preview, a test sent to oneself, sending to everyone now through the
ledger (nobody gets two), and the schedule; against a real SMTP server."""

import datetime
import time

import pytest

from digest import manual
from digest.send import send_weekly
from helpers import csrf_token, login, login_with_csrf, make_item, make_person
from helpers.pages import Page
from intranet_plugin.models import AuditLog, MailLedger, Person, utcnow


def page_text(response):
    return response.get_data(as_text=True)


@pytest.fixture
def admin_client(mail_app):
    make_person("anouk", display_name="Anouk Jansen", role="admin")
    client = mail_app.test_client()
    login(client, "anouk")
    return client


def wait_for_the_run(app):
    """Until the run started from the page has finished (the thread records
    its end); a run that hangs fails the test instead of blocking it."""
    deadline = time.monotonic() + 60
    with app.app_context():
        while manual.last_run().running:
            assert time.monotonic() < deadline, "the digest run did not finish"
            time.sleep(0.05)


# -- preview by name ---------------------------------------------------------------

def test_the_preview_finds_people_by_name(mail_app, admin_client):
    make_person("evries", display_name="Emma de Vries")
    make_person("dvries", display_name="Daan de Vries")
    make_person("rene", display_name="René Bakker")
    make_item("Windpark open")

    for typed in ("Emma de Vries", "emma de vries", "Emma", "evries", "EMMA DE"):
        page = admin_client.get("/admin/digest/preview", query_string={"user": typed})
        assert page.status_code == 200, typed
        assert "To: Emma de Vries (evries@example.com)" in page_text(page), typed
        assert "/admin/digest/preview/message?user=evries" in page_text(page)

    accent = admin_client.get("/admin/digest/preview", query_string={"user": "rene bakker"})
    assert "To: René Bakker" in page_text(accent)

    several = admin_client.get("/admin/digest/preview", query_string={"user": "vries"})
    assert several.status_code == 200
    text = page_text(several)
    assert "2 people match “vries”: pick one." in text
    assert "/admin/digest/preview?user=evries" in text and "/admin/digest/preview?user=dvries" in text
    assert "To: " not in text

    nobody = admin_client.get("/admin/digest/preview", query_string={"user": "Xander"})
    assert nobody.status_code == 404
    assert "Nobody matches “Xander”" in page_text(nobody)
    assert MailLedger.select().count() == 0


# -- a test to oneself ---------------------------------------------------------------

def test_send_a_test_to_me_reaches_the_admin_alone_and_leaves_the_week_alone(mail_app, smtp, admin_client):
    emma = make_person("emma", display_name="Emma de Vries")
    make_item("Windpark open")

    response = admin_client.post("/admin/digest/test", data={"user": "emma"})

    assert response.status_code == 303
    assert smtp.recipients() == {"anouk@example.com": 1}
    [message] = smtp.messages
    assert message["Subject"].startswith("[TEST] Your Ambassador week, ")
    text = message.get_body(("plain",)).get_content()
    assert "the digest of Emma de Vries" in text and "Hello Emma de Vries," in text and "Windpark open" in text
    page = admin_client.get(response.headers["Location"])
    assert "Test sent to anouk@example.com" in page_text(page)
    assert MailLedger.select().count() == 0

    # The week's real digest still goes out.
    report = send_weekly(mail_app)
    assert report.sent == 2 and smtp.recipients()["emma@example.com"] == 1
    assert MailLedger.get(MailLedger.person == emma.id).status == "sent"


def test_a_test_without_an_address_or_for_nobody_says_why(mail_app, smtp, admin_client):
    make_person("silent", role="admin", email="")
    make_item("Windpark open")

    assert admin_client.post("/admin/digest/test", data={"user": "nobody"}).status_code == 303
    assert "Nobody has the user name “nobody”." in page_text(admin_client.get("/admin/digest/preview"))

    other = mail_app.test_client()
    login(other, "silent")
    other.post("/admin/digest/test", data={})
    assert "You have no e-mail address" in page_text(other.get("/admin/digest/preview"))
    assert smtp.messages == []


# -- send to everyone now --------------------------------------------------------------

def test_send_now_twice_and_the_schedule_after_it_send_nobody_two(mail_app, smtp, admin_client):
    for name in ("emma", "lisa", "joris"):
        make_person(name)
    make_item("Windpark open")

    confirm = admin_client.get("/admin/digest/send-now")
    assert "4 people have not had this week's digest yet" in page_text(confirm)

    first = admin_client.post("/admin/digest/send-now", data={"confirm": "yes"})
    assert first.status_code == 303
    wait_for_the_run(mail_app)
    admin_client.post("/admin/digest/send-now", data={"confirm": "yes"})
    wait_for_the_run(mail_app)
    send_weekly(mail_app)  # the scheduled run of the same week

    assert smtp.recipients() == {f"{n}@example.com": 1 for n in ("anouk", "emma", "lisa", "joris")}
    page = page_text(admin_client.get("/admin/digest/preview"))
    assert "This week: 4 sent, 0 skipped" in page
    assert "0 people have not had this week's digest yet" in page
    assert "Last sent from this page by anouk" in page


def test_send_now_asks_first_and_refuses_without_a_csrf_token(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True)
    make_person("anouk", role="admin")
    make_item("Windpark open")
    client = app.test_client()
    page = client.get("/login")
    token = page_text(page).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "anouk", "csrf_token": token}).status_code == 302

    assert client.post("/admin/digest/send-now", data={"confirm": "yes"}).status_code == 400  # no token
    form = page_text(client.get("/admin/digest/send-now"))
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    unconfirmed = client.post("/admin/digest/send-now", data={"csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "Confirm that this week's digest should be sent to everyone now." in page_text(unconfirmed)
    with app.app_context():
        assert manual.last_run().started_at is None
    assert smtp.messages == []


def test_the_page_shows_the_next_run_in_the_configured_time_zone(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, DIGEST_SCHEDULE="tue 09:30", TIMEZONE="Europe/Amsterdam")
    make_person("anouk", role="admin")
    client = app.test_client()
    login(client, "anouk")
    text = page_text(client.get("/admin/digest/preview"))
    assert "Next weekly digest: Tuesday " in text and ", 09:30 (Europe/Amsterdam)." in text


def test_the_digest_page_is_for_admins_only(mail_app, smtp):
    make_person("emma")
    client = mail_app.test_client()
    login(client, "emma")
    assert client.get("/admin/digest/send-now").status_code == 403
    assert client.post("/admin/digest/send-now", data={"confirm": "yes"}).status_code == 403
    assert client.post("/admin/digest/test", data={}).status_code == 403
    assert client.get("/admin/digest/status").status_code == 403
    assert smtp.messages == []


def test_a_run_whose_process_stopped_does_not_block_the_next(mail_app, smtp, admin_client):
    make_person("emma")
    make_item("Windpark open")
    with mail_app.app_context():
        anouk = Person.get(Person.username == "anouk")
        assert manual._take(anouk, utcnow() - manual.RUN_LEASE - datetime.timedelta(minutes=1))  # never finished
    page = page_text(admin_client.get("/admin/digest/preview"))
    assert "did not finish: its process stopped" in page

    admin_client.post("/admin/digest/send-now", data={"confirm": "yes"})
    wait_for_the_run(mail_app)
    assert smtp.recipients() == {"anouk@example.com": 1, "emma@example.com": 1}


# -- messages in doubt -----------------------------------------------------------

def in_doubt(person, kind="digest", period="2026-W05"):
    """A row whose sender (a process on another host) stopped long ago."""
    return MailLedger.create(kind=kind, period=period, person=person, status="sending",
                             claimed_at=utcnow() - datetime.timedelta(hours=2), claimed_by="gone-host/1/abcd",
                             message_id=f"<{kind}.{person.id}@example.com>")


def test_admins_see_the_messages_in_doubt_from_the_digest_page(admin_client):
    emma = make_person("emma")
    in_doubt(emma)
    in_doubt(emma, kind="reminder", period="2026-04")

    digest_page = page_text(admin_client.get("/admin/digest/preview"))
    assert "2 messages are in doubt" in digest_page and 'href="/admin/mail/doubts"' in digest_page
    page = admin_client.get("/admin/mail/doubts")
    assert page.status_code == 200
    [table] = Page(page_text(page)).tables
    assert [(row["Mail"], row["To"]) for row in table["rows"]] == [("Weekly digest 2026-W05", "emma"),
                                                                  ("Monthly reminder 2026-04", "emma")]
    assert f"&lt;digest.{emma.id}@example.com&gt;" in page_text(page)


def test_an_admin_settles_a_message_in_doubt_and_the_audit_log_says_so(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True)
    anouk = make_person("anouk", role="admin")
    emma, daan = make_person("emma"), make_person("daan")
    sent, resend = in_doubt(emma), in_doubt(daan)
    client = app.test_client()
    login_with_csrf(client, "anouk")
    token = csrf_token(client.get("/admin/mail/doubts"))

    # Without the CSRF token nothing changes.
    assert client.post(f"/admin/mail/doubts/{sent.id}", data={"verdict": "sent"}).status_code == 400
    assert MailLedger.get_by_id(sent.id).status == "sending"

    response = client.post(f"/admin/mail/doubts/{sent.id}", data={"verdict": "sent", "csrf_token": token})
    assert response.status_code == 303
    assert "The message to emma is recorded as sent." in page_text(client.get("/admin/mail/doubts"))
    assert MailLedger.get_by_id(sent.id).status == "sent"
    client.post(f"/admin/mail/doubts/{resend.id}", data={"verdict": "resend", "csrf_token": token})
    assert MailLedger.get_or_none(MailLedger.id == resend.id) is None  # the next run sends it
    assert "No message is in doubt." in page_text(client.get("/admin/mail/doubts"))

    entries = [(e.actor_id, e.action, e.target_type, e.target_id, e.detail["verdict"])
               for e in AuditLog.select().where(AuditLog.action == "resolve-mail").order_by(AuditLog.id)]
    assert entries == [(anouk.id, "resolve-mail", "mailledger", sent.id, "sent"),
                       (anouk.id, "resolve-mail", "mailledger", resend.id, "resend")]

    # Settled already, or a verdict that is none: a clear refusal, nothing changes.
    again = client.post(f"/admin/mail/doubts/{sent.id}", data={"verdict": "resend", "csrf_token": token})
    assert again.status_code == 409 and "no longer in doubt" in page_text(again)
    assert MailLedger.get_by_id(sent.id).status == "sent"
    other = in_doubt(emma, period="2026-W06")
    bad = client.post(f"/admin/mail/doubts/{other.id}", data={"verdict": "maybe", "csrf_token": token})
    assert bad.status_code == 400 and "Say whether the mail server" in page_text(bad)
    assert MailLedger.get_by_id(other.id).status == "sending"


@pytest.mark.parametrize("role", ["editor", "member"])
def test_only_admins_see_or_settle_messages_in_doubt(client, role):
    make_person("erik", role=role)
    row = in_doubt(make_person("emma"))
    login(client, "erik")
    assert client.get("/admin/mail/doubts").status_code == 403
    assert client.post(f"/admin/mail/doubts/{row.id}", data={"verdict": "sent"}).status_code == 403
    assert MailLedger.get_by_id(row.id).status == "sending"
    assert AuditLog.select().where(AuditLog.action == "resolve-mail").count() == 0
