"""What every form of Ambassador shares: the base class, the fields that
parse what people type (whole numbers, decimals, dates, web addresses) and
the filters that tidy it.

Messages are lazy translations: forms are declared at import time, the
language is known only per request. WTForms' own messages come translated
through flask-wtf (``WTF_I18N_ENABLED``).
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import StopValidation, ValidationError

from intranet_plugin.content.urls import web_address

# Digits a person types on a keyboard: "²" or "٣" are digits to Python's
# int() and Decimal(), not to a form.
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,18}")
DECIMAL = re.compile(r"-?(?:[0-9]{1,18}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})(?:[eE][-+]?[0-9]{1,3})?")


# Control characters: NUL (which PostgreSQL refuses in text), the other C0
# characters but tab, LF and CR (a text's own blanks, which the filters
# tidy), DEL and C1. No keyboard types them and no browser sends them on
# purpose.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def no_controls(value):
    """A filter that refuses a value (or any of a list of values) with a
    control character: the field gets the message, nothing is stored."""
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, str) and CONTROL.search(v) for v in values):
        raise ValueError(_l("Remove the control characters (such as NUL) from this field."))
    return value


def stripped(value):
    return value.strip() if isinstance(value, str) else value


def one_line(value):
    """Runs of white space as one space, none at the ends."""
    return " ".join(value.split()) if isinstance(value, str) else value


def text_block(value):
    """A multi-line text as typed, without the browser's \\r and the blanks
    around it."""
    return value.strip().replace("\r\n", "\n") if isinstance(value, str) else value


def _unless_refused(field, pre_validate):
    """A value a filter refused (control characters, a number that is none)
    has its message already: no validator of the field runs on it, so none
    looks it up in the database (PostgreSQL refuses NUL in a query)."""
    def check(form):
        if field.process_errors:
            raise StopValidation()
        pre_validate(form)
    return check


class Form(FlaskForm):
    """A form whose errors read as one message per field.

    ``messages`` ({field: message}, in the order of the fields, plus the
    form's own under their names) feeds the summary at the top and the
    message beside each field (``templates/_forms.html``); ``values`` holds
    what was typed, so a form with errors is shown again as it was left.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            # A field may post under a name Python cannot spell (``from``).
            options = dict(options, name=unbound_field.kwargs.get("name") or options["name"])
            filters = list(unbound_field.kwargs.get("filters", ()))
            if form.refuse_controls:
                filters.insert(0, no_controls)
            field = unbound_field.bind(form=form, filters=filters, **options)
            field.pre_validate = _unless_refused(field, field.pre_validate)
            return field

    # A value with a control character is refused in every field (WTForms
    # gives a filter's ValueError to the field as its first error), unless a
    # form must see exactly what was sent and has a rule of its own.
    refuse_controls = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_messages = {}

    @property
    def messages(self):
        found = {name: field.errors[0] for name, field in self._fields.items()
                 if field.errors and name != "csrf_token"}
        csrf = self._fields.get("csrf_token")
        if csrf is not None and csrf.errors:
            found["csrf_token"] = csrf.errors[0]
        found.update(self.form_messages)
        return found

    @property
    def values(self):
        return {name: field._value() for name, field in self._fields.items()}

    def refuse(self, name, message):
        """A message of the form's own (a rule across fields, or one the
        service gives), shown with the field's."""
        self.form_messages[name] = message

    @classmethod
    def field_names(cls):
        """The names this form reads from a request (for the tests that
        send every field hostile values)."""
        names = set()
        for attr in dir(cls):
            unbound = getattr(cls, attr, None)
            if hasattr(unbound, "field_class"):
                names.update(getattr(unbound.field_class, "posted_names", lambda kwargs, attr: [
                    kwargs.get("name") or attr])(unbound.kwargs, attr))
        return names - {"csrf_token"}


class FilterForm(Form):
    """A form that filters a page (GET): it reads ``request.args`` and
    changes nothing, so it carries no CSRF token; its URLs are plain links
    (bookmarks, the digest's links), and an odd value in one falls back to
    the default instead of refusing the page."""

    class Meta:
        csrf = False

    def __init__(self, args):
        super().__init__(formdata=args)
        self.validate()

    def value(self, name):
        """The field's value when it is valid, else its default."""
        field = self._fields[name]
        if field.errors:
            return field.default() if callable(field.default) else field.default
        return field.data


class WholeNumberField(StringField):
    """A whole number typed in ASCII digits (no "²", no "٣", no 10²⁰):
    ``data`` is an int, or None when nothing was typed."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            text = valuelist[0].strip()
            if not WHOLE_NUMBER.fullmatch(text):
                raise ValueError(self.message or _l("Enter a whole number."))
            self.data = int(text)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)


class NumberField(WholeNumberField):
    """A decimal number in ASCII digits, with a point or a comma: ``data``
    is a Decimal."""

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            text = valuelist[0].strip().replace(",", ".")
            try:
                if not DECIMAL.fullmatch(text):
                    raise InvalidOperation
                self.data = Decimal(text)
            except InvalidOperation:
                raise ValueError(self.message or _l("Enter a number.")) from None


class DayField(StringField):
    """A day as 2026-05-04, between the years 2000 and 2100: ``data`` is a
    date, or None when nothing was typed."""

    def __init__(self, label=None, validators=None, message=None, range_message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("Enter a date like 2026-05-04.")
        self.range_message = range_message or _l("Enter a date between the years 2000 and 2100.")

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist and valuelist[0].strip():
            try:
                day = datetime.date.fromisoformat(valuelist[0].strip())
            except ValueError:
                raise ValueError(self.message) from None
            if not 2000 <= day.year <= 2100:
                raise ValueError(self.range_message)
            self.data = day

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""


class WebAddress:
    """A web address as ``content.urls.web_address`` reads it (http(s), a
    host, a port that exists, no spaces or control characters), of at most
    ``max`` characters."""

    def __init__(self, message, max=2000):
        self.message, self.max = message, max

    def __call__(self, form, field):
        if web_address(field.data, max_length=self.max) is None:
            raise ValidationError(self.message)


class TextsField(Field):
    """Every value of a field that may be sent several times (checkboxes):
    ``data`` is the list of them."""

    def process_formdata(self, valuelist):
        self.data = list(valuelist)

    def _value(self):
        return self.data or []


def present(message):
    """A validator: something that parses was typed (0 counts)."""

    def check(form, field):
        if field.data is None:
            raise StopValidation(message)

    return check


def choice_of(values, message):
    """A validator: the value is one of ``values`` (a callable is asked each
    time, for choices that depend on the settings)."""

    def check(form, field):
        allowed = values() if callable(values) else values
        if field.data not in allowed:
            raise ValidationError(message)

    return check
