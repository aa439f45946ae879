"""Forms of the figures pages: the dashboard's period, its audience and its
earned-media-value calculator, the period tabs of the impact pages, the
prize draw of a campaign; and the JSON API's period and conversion
reports."""

import datetime
import functools
import re

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _n
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.validators import NumberRange, Optional, ValidationError

from intranet_plugin import analytics
from intranet_plugin.analytics import conversions
from intranet_plugin.analytics.goals import CALCULATOR_FIELDS, CALCULATOR_LIMITS
from intranet_plugin.content import audiences
from intranet_plugin.forms.base import (
    CONTROL,
    DayField,
    FilterForm,
    Form,
    NumberField,
    WholeNumberField,
    choice_of,
    present,
)
from intranet_plugin.forms.content import CONTENT_LANGUAGES

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


AUDIENCE_PARAMETERS = ("audience", "everyone")


class AudienceFilterForm(FilterForm):
    """``?audience=department:Engineering`` (or ``group:<DN>``,
    ``language:nl``), with ``everyone=1``: the dashboard's (and the API's)
    figures of the items meant for that audience only (the rule:
    ``Item.for_audience``). No audience: every item. As with the period, an
    audience that cannot be read is refused with its message, never
    answered with other figures."""

    audience = StringField(default="", filters=[lambda v: (v or "").strip()])
    everyone = StringField(default="", validators=[Optional(), choice_of(
        ("0", "1"), _l("“everyone” must be 1 (include the items meant for everyone) or 0."))])

    @functools.cached_property
    def offered(self):
        """{dimension: [(value, label)]}: the departments of active people
        and those items are meant for, the configured groups and those
        named, the content languages. Two queries."""
        named = audiences.named_audiences()
        departments = sorted(set(audiences.known_departments()) | {v for d, v in named if d == "department"})
        groups = dict(audiences.known_groups())
        groups.update({v: audiences.group_name(v) for d, v in named if d == "group" and v not in groups})
        languages = list(CONTENT_LANGUAGES) + sorted({v for d, v in named if d == "language"} - set(CONTENT_LANGUAGES))
        return {"department": [(d, d) for d in departments], "group": sorted(groups.items(), key=lambda g: g[1]),
                "language": [(code, code) for code in languages]}

    def validate_audience(self, field):
        if not field.data:
            return
        dimension, _colon, value = field.data.partition(":")
        if value not in {v for v, _label in self.offered.get(dimension, ())}:
            raise ValidationError(_l("Choose an audience from the list: a department, group or content language "
                                     "(like department:Sales or language:nl)."))

    def requested(self):
        """(dimension, value, everyone), or None for every item; raises
        BadPeriod with the message to show."""
        for field in (self.audience, self.everyone):
            if field.errors:
                raise BadPeriod(field.errors[0])
        if not self.audience.data:
            return None
        dimension, _colon, value = self.audience.data.partition(":")
        return dimension, value, self.everyone.data == "1"

    def query(self):
        """The parameters that ask for this audience again (for links)."""
        if not self.audience.data or self.audience.errors:
            return {}
        return {"audience": self.audience.data, **({"everyone": "1"} if self.everyone.data == "1" else {})}


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

    def requested(self, args, today=None, also=()):
        """(name, Period); raises BadPeriod with the message to send.
        ``also``: the names of other parameters the route reads."""
        today = today or analytics.today_utc()
        unknown = sorted(set(args) - set(API_PARAMETERS) - set(also))
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


# -- the conversions API --------------------------------------------------------------

API_TEXT_MAX = 255
AT_MESSAGE = _l("“at” must be a date and time in ISO 8601, e.g. 2026-05-04T10:30:00Z.")


class JsonTextField(StringField):
    """A text member of a JSON body: a string (not a number, a list or an
    object) of at most 255 characters, without control characters; ``data``
    is it without the blanks at its ends, or None when it is absent or
    empty."""

    def process_formdata(self, valuelist):
        self.data = None
        value = valuelist[0] if valuelist else None
        if value is None or value == "":
            return
        if not isinstance(value, str) or len(value) > API_TEXT_MAX or not value.strip():
            raise ValueError(_n("“%(field)s” must be a text of at most %(num)d character.",
                                "“%(field)s” must be a text of at most %(num)d characters.", API_TEXT_MAX,
                                field=self.name))
        if CONTROL.search(value):
            raise ValueError(_l("“%(field)s” must not hold control characters (such as NUL).", field=self.name))
        self.data = value.strip()

    def _value(self):
        return self.data or ""


class JsonMomentField(JsonTextField):
    """A moment in ISO 8601, between the years 2000 and 2100; a time with
    a zone becomes naive UTC, a naive time is UTC already."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] not in (None, "") and not isinstance(valuelist[0], str):
            raise ValueError(AT_MESSAGE)
        super().process_formdata(valuelist)
        if self.data is None:
            return
        try:
            moment = datetime.datetime.fromisoformat(self.data)
        except ValueError:
            self.data = None
            raise ValueError(AT_MESSAGE) from None
        # The year is checked before the zone is applied: 0001-01-01T00:30+01:00
        # is before the year 1 in UTC, which Python cannot hold.
        self.data = None
        if not 2000 <= moment.year <= 2100:
            raise ValueError(_l("“at” must be a date between the years 2000 and 2100."))
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        self.data = moment


class ConversionForm(Form):
    """The body of ``POST /api/v1/conversions`` (see ``views.api``), read
    from JSON by ``from_json``: the tracked link by ``code`` or by
    ``utm_content`` (narrowed by ``utm_source``, ``utm_campaign``,
    ``item_url``), ``external_id``, ``kind`` and ``at``. Members it does
    not know are ignored."""

    class Meta:
        csrf = False

    # Its texts refuse control characters with a message naming the member.
    refuse_controls = False

    code = JsonTextField()
    utm_content = JsonTextField()
    utm_source = JsonTextField()
    utm_campaign = JsonTextField()
    item_url = JsonTextField()
    external_id = JsonTextField(validators=[present(_l("“%(field)s” is required.", field="external_id"))])
    kind = JsonTextField(validators=[Optional(), choice_of(
        conversions.CONVERSION_KINDS, _l("“kind” must be “application” or “lead”."))])
    at = JsonMomentField()

    @classmethod
    def from_json(cls, body):
        """The form of a parsed JSON object (a dict), validated."""
        # null is as good as absent.
        form = cls(formdata=MultiDict([(name, value) for name, value in body.items() if value is not None]))
        if form.validate() and not form.code.data and not form.utm_content.data:
            form.refuse("code", _l("Give the tracked link's “code”, or “utm_content” with “utm_source” and "
                                   "“utm_campaign” or “item_url”."))
        return form

    @property
    def error(self):
        """The first thing wrong, or None."""
        return next(iter(self.messages.values()), None)

    def link_fields(self):
        """How ``conversions.find_link`` is to find the tracked link."""
        if self.code.data:
            return {"code": self.code.data}
        return {"ref": self.utm_content.data, "source": self.utm_source.data, "campaign": self.utm_campaign.data,
                "item_url": self.item_url.data}


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
