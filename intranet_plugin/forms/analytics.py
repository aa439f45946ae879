"""Forms of the figures pages: the dashboard's period and its
earned-media-value calculator, the period tabs of the impact pages, and the
prize draw of a campaign."""

import datetime
import re

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import NumberRange, Optional

from intranet_plugin import analytics
from intranet_plugin.analytics.goals import CALCULATOR_FIELDS, CALCULATOR_LIMITS
from intranet_plugin.forms.base import DayField, FilterForm, Form, NumberField, WholeNumberField, choice_of, present

DASHBOARD_PERIODS = ("month", "30d", "all", "custom")
IMPACT_PERIODS = ("month", "all")


class BadPeriod(ValueError):
    pass


class DashboardPeriodForm(FilterForm):
    """``?period=month|30d|all|custom``, with ``from`` and ``to`` (inclusive
    UTC days) for custom. Unlike the other filters, a period that cannot be
    read is refused with its message: the figures would otherwise be those
    of another period than the one asked for."""

    period = StringField(default="month", validators=[
        choice_of(DASHBOARD_PERIODS, _l("Choose a period from the list."))])
    start = DayField(name="from", message=_l("Enter the first day as a date from 2000 to 2100, like 2026-03-01."),
                     range_message=_l("Enter the first day as a date from 2000 to 2100, like 2026-03-01."))
    end = DayField(name="to", message=_l("Enter the last day as a date from 2000 to 2100, like 2026-03-31."),
                   range_message=_l("Enter the last day as a date from 2000 to 2100, like 2026-03-31."))

    def requested(self, today=None):
        """(name, Period, from as typed, to as typed); raises BadPeriod
        with the message to show."""
        today = today or analytics.today_utc()
        name, start_text, end_text = self.period.data, self.start._value(), self.end._value()
        if self.period.errors:
            raise BadPeriod(self.period.errors[0])
        if name == "month":
            return name, analytics.this_month(today), start_text, end_text
        if name == "30d":
            return name, analytics.Period(today - datetime.timedelta(days=29), today), start_text, end_text
        if name == "all":
            return name, analytics.all_time(), start_text, end_text
        if not start_text.strip() or not end_text.strip():
            raise BadPeriod(_l("Enter both dates of the period."))
        for field in (self.start, self.end):
            if field.errors:
                raise BadPeriod(field.errors[0])
        if self.start.data > self.end.data:
            raise BadPeriod(_l("The first date must not be after the last one."))
        return name, analytics.Period(self.start.data, self.end.data), start_text, end_text


API_PERIODS = ("month", "all", "week")
API_PARAMETERS = ("period", "from", "to")


def _api_day(name):
    message = _l("“%(name)s” must be a date like 2026-03-31.", name=name)
    return DayField(name=name, message=message, range_message=message)


class ApiPeriodForm(FilterForm):
    """The JSON API's period: ``?period=month|all|week`` (default month) or
    ``?from=&to=`` (inclusive days, either may be left out). The API refuses
    what it cannot read, with the reason, instead of answering for another
    period; so does a parameter it does not know."""

    period = StringField(validators=[Optional(), choice_of(
        API_PERIODS, _l("“period” must be one of: %(names)s.", names=", ".join(API_PERIODS)))])
    start = _api_day("from")
    end = _api_day("to")

    def requested(self, args, today=None):
        """(name, Period); raises BadPeriod with the message to send."""
        today = today or analytics.today_utc()
        unknown = sorted(set(args) - set(API_PARAMETERS))
        if unknown:
            raise BadPeriod(_l("Unknown parameter: %(names)s.", names=", ".join(unknown)))
        for field in (self.start, self.end):
            # 2026-03-31 exactly: the ISO forms Python also reads (20260331,
            # 2026-W13-2) are not what the API documents.
            if field.errors or (field.data and len(field._value().strip()) != 10):
                raise BadPeriod(field.message)
        start, end = self.start.data, self.end.data
        if "period" in args and (start or end):
            raise BadPeriod(_l("Give either “period” or “from” and “to”, not both."))
        if start or end:
            if start and end and start > end:
                raise BadPeriod(_l("“from” must not be after “to”."))
            return "custom", analytics.Period(start, end)
        if self.period.errors:
            raise BadPeriod(self.period.errors[0])
        name = self.period.data or "month"
        if name == "week":
            return name, analytics.last_weeks(1, today)
        return name, analytics.this_month(today) if name == "month" else analytics.all_time()


def _amount(field):
    limit = CALCULATOR_LIMITS[field]
    return NumberField(validators=[
        present(_l("Enter a number.")),
        NumberRange(min=0, message=_l("Enter a number of 0 or more.")),
        NumberRange(max=limit, message=_l("Enter a number of at most %(max)s.", max=f"{limit:,}")),
    ], message=_l("Enter a number."))


class CalculatorForm(FilterForm):
    """The earned-media-value calculator's inputs (a GET form: it computes,
    it stores nothing); the limits are the analytics' own."""

    participants = _amount("participants")
    posts = _amount("posts")
    clicks_per_share = _amount("clicks_per_share")
    cost_per_click = _amount("cost_per_click")

    def typed(self):
        return {field: self[field]._value() for field in CALCULATOR_FIELDS}

    def amounts(self):
        return {field: self[field].data for field in CALCULATOR_FIELDS}


class ImpactPeriodForm(FilterForm):
    """The period tabs of the personal page and the leaderboard."""

    period = StringField(validators=[Optional(), choice_of(IMPACT_PERIODS, "")])


class DrawForm(Form):
    """How many winners to draw; whether there are that many sharers is the
    draw's own rule (``analytics.draws``)."""

    winners = WholeNumberField(validators=[present(_l("Enter the number of winners.")),
                                           NumberRange(min=1, message=_l("Draw at least one winner."))])


MONTH = re.compile(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")


class AdoptionMonthForm(FilterForm):
    """``?month=2026-05`` for the adoption funnel (this month by default);
    a month that cannot be read is refused with its message."""

    month = StringField(default="", filters=[lambda v: (v or "").strip()])

    def requested(self, today=None):
        """The first day of the month asked for; raises BadPeriod."""
        today = today or analytics.today_utc()
        text = self.month.data or ""
        if not text:
            return today.replace(day=1)
        if not MONTH.match(text):
            raise BadPeriod(_l("Enter the month as a year and month from 2000 to 2100, like 2026-05."))
        return datetime.date(int(text[:4]), int(text[5:]), 1)


class RateGoalsForm(Form):
    """The programme lead's goals for the adoption rate and the share rate,
    in whole percent (empty: no goal)."""

    adoption_rate = WholeNumberField(message=_l("Enter the adoption goal as a whole percentage from 1 to 100."),
                                     validators=[Optional(), NumberRange(1, 100, message=_l(
                                         "Enter the adoption goal as a whole percentage from 1 to 100."))])
    share_rate = WholeNumberField(message=_l("Enter the share-rate goal as a whole percentage from 1 to 100."),
                                  validators=[Optional(), NumberRange(1, 100, message=_l(
                                      "Enter the share-rate goal as a whole percentage from 1 to 100."))])
