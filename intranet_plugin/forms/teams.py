"""Forms of the team pages: which team to look at, and naming team leads."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, ValidationError

from intranet_plugin.content.audiences import known_departments
from intranet_plugin.forms.base import FilterForm, Form, one_line
from intranet_plugin.models import Person


class TeamArgsForm(FilterForm):
    """``?department=`` of the team page (admins may look at any team)."""

    department = StringField(default="", filters=[lambda v: v.strip()[:255] if isinstance(v, str) else v])


class LeadForm(Form):
    """Name a person team lead of a department; ``person`` is found on
    validation."""

    username = StringField(filters=[one_line], validators=[DataRequired(_l("Enter the person's user name."))])
    department = StringField(filters=[one_line], validators=[DataRequired(_l("Choose a department."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = None

    def validate_username(self, field):
        self.person = Person.active().where(Person.username == field.data).first()
        if self.person is None:
            raise ValidationError(_l("Nobody active has that user name."))

    def validate_department(self, field):
        if field.data not in known_departments():
            raise ValidationError(_l("Choose a department from the list."))
