"""Instant alerts: an editor marks an item "share now"; members who asked for
alerts get one short e-mail about it, once, with one-click share buttons."""

import datetime
import re

import pytest

from digest.alerts import ALERT_WINDOW, send_pending_alerts
from helpers import login, make_item, make_person
from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import (
    AuditLog,
    Item,
    MailLedger,
    Person,
    ShareEvent,
    TrackedLink,
    utcnow,
)


def run(app):
    with Mailer.from_config(app.config, sleep=lambda seconds: None) as mailer:
        return send_pending_alerts(app, mailer=mailer)


def test_an_editor_marks_an_item_and_alerted_members_get_it_once(mail_app, smtp, client):
    make_person("joris", role="editor")
    make_person("emma", instant_alerts=True)
    make_person("lisa", instant_alerts=False)
    make_person("vacancies-only", instant_alerts=True, kinds=["vacancy"])
    make_person("left", instant_alerts=True, joined_at=None)
    sharer = make_person("sharer", instant_alerts=True)
    item = make_item("Minister opens the wind farm today")
    link = TrackedLink.for_share(sharer, item, "x")
    ShareEvent.create(person=sharer, item=item, link=link, network="x", day=utcnow().date())
    login(client, "joris")

    response = client.post(f"/editor/items/{item.id}/share-now", data={"next": "/editor/", "confirm": "yes"})

    assert response.status_code == 303 and response.headers["Location"].endswith("/editor/")
    assert Item.get_by_id(item.id).share_now_at is not None
    entry = AuditLog.get(AuditLog.action == "share-now")
    assert (entry.target_type, entry.target_id) == ("item", item.id)

    report = run(mail_app)

    assert smtp.recipients() == {"emma@example.com": 1}
    assert (report.sent, report.skipped) == (1, 2)  # the sharer, and kinds not followed
    [message] = smtp.messages
    assert message["Subject"] == "Share now: Minister opens the wind farm today"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = message.get_body(("html",)).get_content()
    # every network (all chosen) but Mastodon, which needs Emma's server first
    assert len(re.findall(r'data-share-network="[a-z]+"', body)) == len(NETWORKS) - 1
    assert run(mail_app).sent == 0  # once per item
    assert smtp.recipients() == {"emma@example.com": 1}


def test_marking_twice_alerts_once_and_a_draft_cannot_be_marked(mail_app, client):
    make_person("joris", role="editor")
    make_person("emma")
    item = make_item("Urgent")
    draft = make_item("Not yet", status="draft")
    login(client, "joris")
    client.post(f"/editor/items/{item.id}/share-now", data={"confirm": "yes"})
    first = Item.get_by_id(item.id).share_now_at

    response = client.post(f"/editor/items/{item.id}/share-now", data={"confirm": "yes"})

    assert response.status_code == 409
    assert "already marked for an instant alert" in response.get_data(as_text=True)
    assert Item.get_by_id(item.id).share_now_at == first
    response = client.post(f"/editor/items/{draft.id}/share-now", data={"confirm": "yes"})
    assert response.status_code == 409
    assert "Only a published, unexpired item" in response.get_data(as_text=True)
    assert Item.get_by_id(draft.id).share_now_at is None
    assert client.post("/editor/items/99999/share-now").status_code == 404


def test_share_now_is_for_editors(mail_app, client):
    make_person("emma")
    item = make_item("Urgent")
    login(client, "emma")
    assert client.post(f"/editor/items/{item.id}/share-now").status_code == 403
    assert Item.get_by_id(item.id).share_now_at is None


def test_old_alerts_are_not_sent_to_newcomers(mail_app, smtp):
    make_person("emma", instant_alerts=True)
    make_item("Last week's news", share_now_at=utcnow() - ALERT_WINDOW - datetime.timedelta(hours=1))
    report = run(mail_app)
    assert report.sent == 0 and smtp.messages == []


def test_nothing_due_does_not_touch_the_mail_server(make_app):
    app = make_app(SMTP_URL="smtp://127.0.0.1:1")  # nobody listens there
    make_person("emma", instant_alerts=True)
    report = send_pending_alerts(app)
    assert report.ok and report.sent == 0


def test_a_refused_alert_is_recorded_and_the_others_are_sent(mail_app, smtp):
    make_person("emma", instant_alerts=True)
    make_person("bob", instant_alerts=True)
    make_item("Urgent", share_now_at=utcnow())
    smtp.handler.rcpt_replies["bob@example.com"] = ["550 5.1.1 No such user"]

    report = run(mail_app)

    assert (report.sent, report.failed) == (1, 1)
    assert MailLedger.get(MailLedger.person == Person.get(username="bob").id).error.startswith("550")


def test_turning_alerts_off_from_the_email(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True)
    emma = make_person("emma", instant_alerts=True)
    make_item("Urgent", share_now_at=utcnow())
    run(app)
    url = smtp.messages[0]["List-Unsubscribe"][1:-1]
    path = url.split("/ambassador", 1)[1]

    response = app.test_client().post(path, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    emma = Person.get_by_id(emma.id)
    assert emma.instant_alerts is False and emma.digest == "weekly"


class Crash(Exception):
    """Stands for the process dying."""


def test_an_alert_in_flight_when_its_sender_died_is_named_and_not_sent_twice(mail_app, smtp):
    make_person("anna", instant_alerts=True)
    make_person("bob", instant_alerts=True)
    item = make_item("Urgent", share_now_at=utcnow())

    class DyingMailer(Mailer):
        def send(self, message, hand_over=None):
            super().send(message, hand_over)
            raise Crash()  # the server took anna's alert; the sender died before recording it

    with pytest.raises(Crash), DyingMailer.from_config(mail_app.config) as mailer:
        send_pending_alerts(mail_app, mailer=mailer)
    assert smtp.recipients() == {"anna@example.com": 1}

    report = run(mail_app)

    assert report.sent == 1 and report.busy == 0  # bob, never handed over, is sent now
    assert report.doubt_count == 1 and report.doubt[0][0] == "anna"
    assert "anna: handed over" in report.summary() and "--kind alert" in report.summary()
    assert smtp.recipients() == {"anna@example.com": 1, "bob@example.com": 1}
    result = mail_app.test_cli_runner().invoke(args=["mail", "resolve", "--sent", "anna", "--kind", "alert",
                                                     "--round", str(item.id)])
    assert "recorded as sent" in result.output
    assert run(mail_app).doubt_count == 0
