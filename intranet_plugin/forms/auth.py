"""The sign-in form. Its field names, ``username`` and ``password``, are
a stable interface (password managers, the intranet's own links)."""

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import ValidationError

from intranet_plugin.forms.base import Form


class LoginForm(Form):
    """User name and password, refused before the directory is asked when
    either is empty: an empty password would be an "unauthenticated bind",
    which many directories let succeed. The user name is kept exactly as
    sent (NUL included): ``sso.directory.normalize_username`` then refuses
    control and invisible characters with their own message."""

    refuse_controls = False
    username = StringField()
    password = PasswordField()

    def validate_password(self, field):
        if not self.username.data or not (field.data or "").strip():
            raise ValidationError(_l("Enter your user name and your password."))


class DemoLoginForm(Form):
    """The demo picker (AUTH=dev): the person to be, read by the same user
    name rule as the sign-in form (``sso.directory.normalize_username``)."""

    refuse_controls = False
    username = StringField()
