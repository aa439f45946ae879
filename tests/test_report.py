"""The monthly management report, sent through a real SMTP server: its
figures, hidden people, once per month and recipient, the command line
and the scheduler's job."""

import datetime
import itertools

import pytest

from helpers import make_item, make_person, store_click
from intranet_plugin import analytics
from intranet_plugin.analytics.report import local_today, previous_month, scheduled, send_monthly
from intranet_plugin.mail.smtp import Mailer, SMTPSettings
from intranet_plugin.models import (
    AuditLog,
    Conversion,
    MailLedger,
    ShareEvent,
    TrackedLink,
)

_events = itertools.count()
BOSSES = "ceo@example.com, hr-lead@example.com"


@pytest.fixture
def report_app(make_app, smtp):
    return make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>",
                    REPORT_RECIPIENTS=BOSSES)


def quick_mailer(app):
    """The configured server, without the waits between retries."""
    return Mailer(SMTPSettings.from_url(app.config["SMTP_URL"]), app.config["MAIL_FROM"],
                  delays=(0, 0, 0), sleep=lambda seconds: None)


def share(person, item, network, at, visitors=(), bots=0):
    link = TrackedLink.for_share(person, item, network)
    ShareEvent.create(person=person, item=item, link=link, network=network, day=at.date(), created_at=at)
    for visitor in visitors:
        store_click(link, at, visitor=visitor)
    for _ in range(bots):
        store_click(link, at, "crawler", "b")
    return link


@pytest.fixture
def last_month(report_app):
    """Last month: Visible Victor and Hidden Hanna shared; one application
    came in; something in the month before, for the comparison."""
    first = previous_month(local_today(report_app.config))
    at = datetime.datetime.combine(first + datetime.timedelta(days=3), datetime.time(10))
    victor = make_person("victor", display_name="Visible Victor", department="Sales", show_on_leaderboard=True)
    hanna = make_person("hanna", display_name="Hidden Hanna", department="Sales")
    job = make_item("Engineer wanted", kind="vacancy")
    news = make_item("Wind farm opens", kind="news")
    share(victor, news, "linkedin", at, visitors=["a", "b"], bots=3)
    link = share(hanna, job, "x", at, visitors=["c", "d", "e"])
    Conversion.create(link=link, external_id="A-1", kind="application", at=at)
    before = datetime.datetime.combine(previous_month(first) + datetime.timedelta(days=2), datetime.time(9))
    share(victor, job, "xing", before, visitors=["z"])
    return first


def test_the_report_arrives_with_the_months_figures(report_app, smtp, last_month):
    result = send_monthly(report_app, last_month)
    assert result.ok and sorted(result.sent) == ["ceo@example.com", "hr-lead@example.com"]
    assert sorted(smtp.recipients()) == ["ceo@example.com", "hr-lead@example.com"]
    message = smtp.messages[0]
    month_name = f"{last_month:%B %Y}"
    assert message["Subject"] == f"Ambassador: the programme in {month_name}"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    with report_app.app_context():
        totals = analytics.programme_totals(analytics.Period(last_month, last_month + datetime.timedelta(days=27)))
    assert (totals["shares"], totals["visitors"], totals["applications"]) == (2, 5, 1)
    assert "Shares: 2 (+100 %)" in text
    assert "Website visitors via colleagues: 5 (+400 %)" in text
    assert "Applicants via colleagues: 1" in text
    assert "Engineer wanted: 3 visitors, 1 share" in text
    for body in (text, html):
        assert "Visible Victor" in body
        assert "Hidden Hanna" not in body and "hanna" not in body.lower()
        assert "Engineer wanted" in body and "Wind farm opens" in body
    assert "https://intranet.example.com/ambassador/admin/dashboard?period=custom" in html
    assert AuditLog.get(AuditLog.target_type == "report").detail["month"] == f"{last_month:%Y-%m}"


def test_the_report_goes_out_once_per_month(report_app, smtp, last_month):
    assert len(send_monthly(report_app, last_month).sent) == 2
    again = send_monthly(report_app, last_month)
    assert again.sent == [] and again.nothing_to_do and len(again.earlier) == 2
    assert len(smtp.messages) == 2
    # A recipient added later gets it; the others do not get it twice.
    report_app.config["REPORT_RECIPIENTS"] = ["ceo@example.com", "cfo@example.com"]
    assert send_monthly(report_app, last_month).sent == ["cfo@example.com"]
    assert sorted(smtp.recipients().values()) == [1, 1, 1]


def test_the_command_line_sends_and_refuses_a_second_send(report_app, smtp, last_month):
    runner = report_app.test_cli_runner()
    month = f"{last_month:%Y-%m}"
    dry = runner.invoke(args=["report", "send", "--month", month, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Website visitors via colleagues: 5" in dry.output and "would be sent" in dry.output
    assert smtp.messages == [] and MailLedger.select().count() == 0
    first = runner.invoke(args=["report", "send", "--month", month])
    assert first.exit_code == 0, first.output
    assert "2 sent" in first.output and len(smtp.messages) == 2
    second = runner.invoke(args=["report", "send", "--month", month])
    assert second.exit_code == 1 and "sent before: nothing sent" in second.output
    assert len(smtp.messages) == 2


@pytest.mark.parametrize("month", ["2026-13", "April", "1999-12", "current"])
def test_the_command_line_refuses_a_bad_or_unfinished_month(report_app, smtp, month):
    if month == "current":
        month = f"{local_today(report_app.config):%Y-%m}"
    result = report_app.test_cli_runner().invoke(args=["report", "send", "--month", month])
    assert result.exit_code == 2 and "--month" in result.output
    assert smtp.messages == []


def test_the_scheduler_sends_last_months_report_from_the_report_day(report_app, smtp, last_month):
    report_app.config["REPORT_DAY"] = 3
    this_month = (last_month + datetime.timedelta(days=32)).replace(day=1)

    def at(day):
        return datetime.datetime.combine(this_month.replace(day=day), datetime.time(10))

    with report_app.app_context():
        assert scheduled(report_app, now=at(2)).startswith("skipped")
        assert smtp.messages == []
        assert "2 sent" in scheduled(report_app, now=at(3))
        assert "0 sent" in scheduled(report_app, now=at(4))
    assert len(smtp.messages) == 2


def test_a_temporary_failure_is_tried_again_by_the_next_run(report_app, smtp, last_month):
    smtp.handler.data_replies["ceo@example.com"] = ["451 try later"] * 4
    first = send_monthly(report_app, last_month, mailer=quick_mailer(report_app))
    assert first.sent == ["hr-lead@example.com"] and first.deferred[0][0] == "ceo@example.com"
    second = send_monthly(report_app, last_month, mailer=quick_mailer(report_app))
    assert second.sent == ["ceo@example.com"]
    assert sorted(smtp.recipients().values()) == [1, 1]


def test_a_refused_recipient_is_recorded_and_not_tried_again(report_app, smtp, last_month):
    smtp.handler.rcpt_replies["hr-lead@example.com"] = ["550 no such user"]
    first = send_monthly(report_app, last_month, mailer=quick_mailer(report_app))
    assert first.sent == ["ceo@example.com"] and first.failed[0][0] == "hr-lead@example.com"
    second = send_monthly(report_app, last_month, mailer=quick_mailer(report_app))
    assert second.nothing_to_do and {state for _, state, _ in second.earlier} == {"sent", "failed"}


def test_without_recipients_nothing_is_sent(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url)
    with app.app_context():
        assert scheduled(app).startswith("skipped")
    result = send_monthly(app)
    assert result.error and not result.ok and smtp.messages == []


def test_an_unreachable_server_stops_and_a_rerun_sends(make_app, smtp, last_month):
    from helpers.smtpserver import free_port

    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", REPORT_RECIPIENTS=BOSSES)
    dead = Mailer(SMTPSettings.from_url(app.config["SMTP_URL"]), app.config["MAIL_FROM"], delays=(0,),
                  sleep=lambda s: None)
    result = send_monthly(app, last_month, mailer=dead)
    assert result.error and result.sent == [] and MailLedger.select().count() == 0
    app.config["SMTP_URL"] = smtp.url
    assert len(send_monthly(app, last_month).sent) == 2


def test_report_day_and_recipients_are_checked(make_app):
    from intranet_plugin.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="REPORT_DAY"):
        load_config("/tmp", environ={"AMBASSADOR_REPORT_DAY": "31"})
    with pytest.raises(ConfigError, match="REPORT_RECIPIENTS"):
        load_config("/tmp", environ={"AMBASSADOR_REPORT_RECIPIENTS": "ceo at example.com"})
    config = load_config("/tmp", environ={"AMBASSADOR_REPORT_RECIPIENTS": "a@example.com, b@example.com"})
    assert config["REPORT_RECIPIENTS"] == ["a@example.com", "b@example.com"]
    assert config["REPORT_DAY"] == 1 and config["CLICK_RETENTION_DAYS"] == 400


def test_the_hidden_are_not_named_even_at_the_top(report_app, smtp, last_month):
    at = datetime.datetime.combine(last_month + datetime.timedelta(days=5), datetime.time(10))
    hanna = make_person("hanna2", display_name="Hanna Again", department="HR")
    share(hanna, make_item("Top story"), "linkedin", at, visitors=[f"v{i}" for i in range(30)])
    send_monthly(report_app, last_month)
    for message in smtp.messages:
        for part in ("plain", "html"):
            body = message.get_body((part,)).get_content()
            assert "Hanna" not in body
            assert "Top story" in body  # the item is there, its sharer is not
