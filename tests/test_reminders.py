"""Monthly reminders, end to end against a real SMTP server: opt-in and
off by default, only after 30 days without a share, at most one a month,
never to people who left, with the three newest items meant for the person
and one-click share buttons that record a share."""

import datetime
import html
import re
from urllib.parse import urlsplit

from digest.reminders import send_reminders
from helpers import login, make_item, make_person
from intranet_plugin.content.audiences import set_audience
from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import Audience, MailLedger, Person, ShareEvent, TrackedLink, utcnow

DAY = datetime.timedelta(days=1)
LONG_AGO = utcnow() - 90 * DAY


def run(app, **options):
    with Mailer.from_config(app.config, sleep=lambda seconds: None) as mailer:
        return send_reminders(app, mailer=mailer, **options)


def member(username, **fields):
    fields.setdefault("reminders", True)
    fields.setdefault("joined_at", LONG_AGO)
    return make_person(username, **fields)


def shared(person, days_ago):
    item = make_item(f"Shared {days_ago} days ago by {person.username}", publish_at=LONG_AGO)
    at = utcnow() - days_ago * DAY
    ShareEvent.create(person=person, item=item, link=TrackedLink.for_share(person, item, "x"), network="x",
                      day=at.date(), created_at=at)


def titles(message):
    return re.findall(r"^== (.+) ==\r?$", message.get_body(("plain",)).get_content(), re.M)


def test_reminders_are_off_by_default_and_opt_in_on_the_preferences_page(mail_app, smtp, client):
    make_person("emma", joined_at=LONG_AGO)
    make_item("Wind farm opens")
    assert Person.get(username="emma").reminders is False
    assert run(mail_app).sent == 0 and smtp.messages == []

    login(client, "emma")
    page = client.get("/preferences").get_data(as_text=True)
    assert 'name="reminders"' in page and 'name="reminders" value="yes" checked' not in page
    response = client.post("/preferences", data={"networks": ["linkedin", "x"], "kinds": ["news"],
                                                 "digest": "weekly", "language": "en", "reminders": "yes"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    assert Person.get(username="emma").reminders is True
    assert run(mail_app).sent == 1
    assert smtp.recipients() == {"emma@example.com": 1}


def test_only_after_30_days_without_a_share_and_never_to_leavers(mail_app, smtp):
    member("quiet")
    shared(member("recent"), days_ago=10)
    shared(member("earlier"), days_ago=40)
    member("newcomer", joined_at=utcnow() - 5 * DAY)  # has not had 30 days yet
    member("left-programme", joined_at=None, left_at=utcnow() - 40 * DAY)
    member("left-company", is_active=False)
    member("nomail", email="")
    make_item("Wind farm opens")

    report = run(mail_app)

    assert smtp.recipients() == {"quiet@example.com": 1, "earlier@example.com": 1}
    assert report.sent == 2


def test_at_most_one_a_month_whatever_the_runs(mail_app, smtp):
    emma = member("emma")
    make_item("Wind farm opens")
    assert run(mail_app).sent == 1
    assert run(mail_app).sent == 0  # a second run, or a second scheduler
    [row] = MailLedger.select().where(MailLedger.kind == "reminder")
    assert (row.period, row.status) == (utcnow().strftime("%Y-%m"), "sent")
    # even were the last one long ago: this month's round has had hers
    row.sent_at = utcnow() - 31 * DAY
    row.save()
    report = run(mail_app)
    assert (report.sent, report.earlier) == (0, 1)
    assert smtp.recipients() == {"emma@example.com": 1}

    # last month's reminder, 25 days ago: not yet another one, even in a new month
    row.period, row.sent_at = "2000-01", utcnow() - 25 * DAY
    row.save()
    assert run(mail_app).sent == 0
    row.sent_at = utcnow() - 31 * DAY
    row.save()
    assert run(mail_app).sent == 1
    assert smtp.recipients() == {"emma@example.com": 2}
    assert MailLedger.select().where((MailLedger.kind == "reminder") & (MailLedger.person == emma.id)).count() == 2


def test_the_three_newest_items_meant_for_the_person_with_share_buttons_that_work(mail_app, smtp, client):
    member("emma", department="Engineering")
    for n in range(5):
        make_item(f"News {n}", publish_at=utcnow() - (10 - n) * DAY)
    set_audience(make_item("Sales only", publish_at=utcnow() - DAY), Audience(departments=("Sales",)))
    make_item("Draft", status="draft")

    run(mail_app)

    [message] = smtp.messages
    assert message["Subject"] == "Something to share this month?"
    assert titles(message) == ["News 4", "News 3", "News 2"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    body = message.get_body(("html",)).get_content()
    links = re.findall(r'<a href="([^"]+)" data-share-network="([a-z]+)"', body)
    # every network for someone who chose none, but Mastodon (no server given)
    assert len(links) == 3 * (len(NETWORKS) - 1)
    # one click from the e-mail records the share, without signing in
    url = html.unescape(links[0][0])
    path = urlsplit(url).path[len("/ambassador"):]
    response = client.get(path, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"})
    assert response.status_code == 303
    [share] = ShareEvent.select()
    assert (share.source, share.item.title) == ("reminder", "News 4")


def test_turning_reminders_off_from_the_email(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True)
    member("emma")
    make_item("Wind farm opens")
    run(app)
    path = smtp.messages[0]["List-Unsubscribe"][1:-1].split("/ambassador", 1)[1]
    response = app.test_client().post(path, data="List-Unsubscribe=One-Click",
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    emma = Person.get(username="emma")
    assert emma.reminders is False and emma.digest == "weekly"


def test_the_command_line_dry_run_sends_and_claims_nothing(mail_app, smtp):
    member("emma")
    make_item("Wind farm opens")
    result = mail_app.test_cli_runner().invoke(args=["reminders", "send", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Monthly reminders" in result.output and "1 would send" in result.output
    assert smtp.messages == [] and MailLedger.select().count() == 0
    result = mail_app.test_cli_runner().invoke(args=["reminders", "send"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert smtp.recipients() == {"emma@example.com": 1}


def test_the_scheduler_runs_the_reminders(app):
    from intranet_plugin import scheduler

    jobs = {job.id: job for job in scheduler.Scheduler(app, holder="x").aps.get_jobs()}
    assert jobs["monthly-reminders"].args[1] is scheduler.monthly_reminders
