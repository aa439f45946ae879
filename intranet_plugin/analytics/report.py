"""The monthly management report: last month's shares, website visitors and
applicants via colleagues, top items and the top sharers who chose to
appear, e-mailed (HTML and text) to ``AMBASSADOR_REPORT_RECIPIENTS``, each
in the language of the person with that address (else the default one).

Each recipient gets a month's report once, through the mail ledger (see
intranet_plugin.mail.ledger): one sender at a time holds the report's send
lease, and a row for (month, address) is written right before the message's
data goes to the server; a second run, the scheduler's or a person's at the
command line, finds the row and sends nothing. Like the digest it prefers
a missing report to a double one: a message left in doubt by a run that
stopped while sending is named, not sent again. A temporary failure is
tried again by the next run.

The figures come from ``intranet_plugin.analytics``, like the dashboard's.
"""

import datetime
import logging
import re
from dataclasses import dataclass, field

from flask import render_template, url_for
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from peewee import fn

from intranet_plugin import analytics
from intranet_plugin.i18n import locale_of
from intranet_plugin.mail.ledger import Ledger, SendLease
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.message import build_message
from intranet_plugin.mail.smtp import (
    Mailer,
    MailError,
    MailServerUnavailable,
    PermanentFailure,
    Taken,
    TemporaryFailure,
)
from intranet_plugin.models import AuditLog, Person, utcnow

log = logging.getLogger(__name__)

TOP = 5
MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadMonth(ValueError):
    pass


def parse_month(text, today):
    """The first day of a finished month given as ``YYYY-MM``."""
    match = MONTH.fullmatch((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
        raise BadMonth(f"the month must look like 2026-04, got {text!r}")
    first = datetime.date(int(match.group(1)), int(match.group(2)), 1)
    if first > today.replace(day=1) - datetime.timedelta(days=1):
        raise BadMonth(f"{text} is not over yet: a report covers a whole month")
    return first


def previous_month(today):
    """The first day of the month before ``today``'s."""
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


def month_period(first):
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return analytics.Period(first, following - datetime.timedelta(days=1))


def local_today(config, now=None):
    from zoneinfo import ZoneInfo

    return (now or utcnow()).replace(tzinfo=datetime.UTC).astimezone(ZoneInfo(config["TIMEZONE"])).date()


def _change(now, before):
    """Change against the month before, in per cent (None without a base)."""
    return None if not before else round(100 * (now - before) / before)


def figures(first):
    """Everything the report says about the month starting ``first``."""
    period = month_period(first)
    totals = analytics.programme_totals(period)
    before = analytics.programme_totals(month_period(previous_month(first)))
    return {
        "month": first.strftime("%Y-%m"),
        "period": period,
        "totals": totals,
        "before": before,
        "change": {key: _change(totals[key], before[key]) for key in ("shares", "visitors", "applications")},
        "top_items": analytics.by_item(period, limit=TOP),
        # Only people who chose to appear: the public leaderboard's rule.
        "top_sharers": analytics.leaderboard(period, limit=TOP),
    }


def recipient_locales(addresses):
    """{address: the language of its report}: that of the active person with
    the address, else the installation's default (one query)."""
    lowered = {address.lower() for address in addresses}
    people = {person.email.lower(): person
              for person in Person.active().where(fn.LOWER(Person.email).in_(list(lowered)))} if lowered else {}
    return {address: locale_of(people[address.lower()]) if address.lower() in people else None
            for address in addresses}


def render(data, config, locale=None):
    """(subject, text, html) in ``locale`` (default: the installation's
    language)."""
    with force_locale(locale or config["DEFAULT_LANGUAGE"]):
        month_name = format_date(data["period"].start, "MMMM y")
        subject = _("Ambassador: the programme in %(month)s", month=month_name)
        dashboard = url_for("dashboard.index", period="custom", **{"from": data["period"].start.isoformat(),
                                                                   "to": data["period"].end.isoformat()},
                            _external=True)
        context = dict(data, month_name=month_name, subject=subject, dashboard=dashboard)
        text = render_template("report/monthly.txt", **context)
        html = render_template("report/monthly.html", **context)
    return subject, text, html


@dataclass
class Result:
    """What a run did; ``summary()`` says it in a few lines."""

    month: str
    dry_run: bool = False
    sent: list = field(default_factory=list)
    earlier: list = field(default_factory=list)  # (address, status, when)
    doubt: list = field(default_factory=list)  # (address, when, by): its sender stopped while handing it over
    failed: list = field(default_factory=list)  # (address, error): refused for good
    deferred: list = field(default_factory=list)  # (address, error): the next run tries again
    error: str = ""
    subject: str = ""
    text: str = ""

    @property
    def ok(self):
        return not self.error and not self.failed and not self.deferred

    @property
    def nothing_to_do(self):
        return not self.sent and not self.failed and not self.deferred and bool(self.earlier)

    def summary(self):
        verb = "would be sent" if self.dry_run else "sent"
        lines = [f"Monthly report {self.month}: {len(self.sent)} {verb}, {len(self.earlier)} done earlier, "
                 f"{len(self.failed)} failed, {len(self.deferred)} deferred."]
        if self.sent:
            lines.append(f"  {'to' if self.dry_run else 'sent to'}: {', '.join(self.sent)}")
        for address, status, when in self.earlier:
            lines.append(f"  {address}: already {status} {when}")
        if self.doubt:
            lines.append("In doubt, not sent again: the sender stopped while the report was with the mail server. "
                         "Check the server's log, then run `ambassador mail resolve --kind report --sent ADDRESS` "
                         "(it went out) or `--resend ADDRESS` (it did not; the next run sends it):")
            lines += [f"  {address}: handed over {when:%Y-%m-%d %H:%M:%S} UTC by {by}"
                      for address, when, by in self.doubt]
        for address, text in self.failed + self.deferred:
            lines.append(f"  {address}: {text}")
        if self.error:
            lines.append(f"Stopped: {self.error}")
        return "\n".join(lines)


def send_monthly(app, month=None, dry_run=False, *, now=None, mailer=None):
    """Send the report of ``month`` (the first day of it; default: last
    month) to every configured recipient who has not had it. Returns a
    Result."""
    config = app.config
    first = month or previous_month(local_today(config, now))
    result = Result(first.strftime("%Y-%m"), dry_run)
    addresses = list(dict.fromkeys(config["REPORT_RECIPIENTS"]))
    if not addresses:
        result.error = "no recipients: set AMBASSADOR_REPORT_RECIPIENTS"
        return result
    ledger = Ledger("report", period=result.month)
    rows = ledger.rows(a.lower() for a in addresses)
    waiting, retry = [], set()
    for address in addresses:
        row = rows.get(address.lower())
        state = ledger.state(row)
        if state in ("open", "retry"):
            waiting.append(address)
            if state == "retry":
                retry.add(address)
        elif state == "doubt":
            result.doubt.append((address, row.claimed_at, row.claimed_by))
        else:
            result.earlier.append((address, row.status, f"{row.sent_at or row.claimed_at:%Y-%m-%d %H:%M} UTC"))
    if not waiting:
        return result
    with mail_context(app):
        data = figures(first)
        locales = recipient_locales(waiting)
        # One rendering per language the recipients read.
        rendered = {locale: render(data, config, locale) for locale in {None, *locales.values()}}
        result.subject, result.text = rendered[None][:2]
        if dry_run:
            result.sent = waiting
            return result
        own_mailer = mailer is None
        send_lease = SendLease("report", ledger.owner)
        if not send_lease.acquire():
            result.error = (f"another sender ({send_lease.holder}) is sending reports right now, "
                            f"its lease runs until {send_lease.until:%Y-%m-%d %H:%M:%S} UTC")
            return result
        try:
            mailer = mailer or Mailer.from_config(config)
            for address in waiting:
                locale = locales[address]
                subject, text, html = rendered[locale]
                message = build_message(config["MAIL_FROM"], address, subject, text, html,
                                        language=locale or config["DEFAULT_LANGUAGE"])

                def hand_over(address=address, message_id=message["Message-ID"]):
                    send_lease.keep()
                    return ledger.hand_over(address.lower(), address in retry, message_id=message_id)

                try:
                    outcome = mailer.send(message, hand_over)
                except Taken:
                    result.earlier.append((address, "sent", "by another run just now"))
                    continue
                except PermanentFailure as exc:
                    outcome = exc
                    result.failed.append((address, str(exc)))
                except TemporaryFailure as exc:
                    outcome = exc
                    result.deferred.append((address, str(exc)))
                except MailServerUnavailable:
                    ledger.release([address.lower()])
                    raise
                else:
                    result.sent.append(address)
                ledger.settle(address.lower(), outcome, address in retry)
        except MailError as exc:
            result.error = str(exc)
            log.error("monthly report %s stopped: %s", result.month, exc)
        finally:
            send_lease.release()
            if own_mailer and mailer is not None:
                mailer.close()
    if result.sent or result.failed:
        AuditLog.create(action="send", target_type="report", summary=f"monthly report {result.month}",
                        detail={"month": result.month, "sent": result.sent,
                                "failed": [a for a, _ in result.failed]})
    return result


def scheduled(app, now=None):
    """The scheduler's job: last month's report, from REPORT_DAY on (a
    scheduler that was down on the day catches up later in the month)."""
    if not app.config["REPORT_RECIPIENTS"]:
        return "skipped: no AMBASSADOR_REPORT_RECIPIENTS"
    today = local_today(app.config, now)
    if today.day < app.config["REPORT_DAY"]:
        return f"skipped: the report goes out from day {app.config['REPORT_DAY']} of the month"
    result = send_monthly(app, previous_month(today), now=now)
    return result.summary()
