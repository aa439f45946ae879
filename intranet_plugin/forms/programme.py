"""Forms of the programme as each person meets it: the guidelines (admins),
joining and the preferences, suggesting a link, the language, deleting
one's data; and the admins' switches (leaderboards, API keys)."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _n
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from intranet_plugin.content import suggestions
from intranet_plugin.content.guidelines import MAX_AVOID, MAX_CONTACT, MAX_DISCLOSURE, MAX_GUIDELINES
from intranet_plugin.content.sharing import MAX_CAPTION, NETWORKS, mastodon_host
from intranet_plugin.forms.base import (
    FilterForm,
    Form,
    TextsField,
    WebAddress,
    choice_of,
    one_line,
    stripped,
    text_block,
)
from intranet_plugin.i18n import LANGUAGES
from intranet_plugin.models import CONTENT_LANGUAGES, DIGEST_CHOICES, KINDS

API_KEY_NAME_MAX = 100


class GuidelinesForm(Form):
    """The guidelines and the contact, in Markdown."""

    guidelines = StringField(filters=[text_block], validators=[
        Length(max=MAX_GUIDELINES, message=_n(
            "The guidelines are too long: at most %(num)d character.",
            "The guidelines are too long: at most %(num)d characters.", MAX_GUIDELINES))])
    contact = StringField(filters=[stripped], validators=[
        Length(max=MAX_CONTACT, message=_n(
            "The contact is too long: at most %(num)d character.",
            "The contact is too long: at most %(num)d characters.", MAX_CONTACT))])
    # The guidelines' language; none (a form from before there was one per
    # language): the default language's.
    language = StringField(validators=[Optional(), choice_of(LANGUAGES, _l("Choose a language."))])

    disclosure = StringField(filters=[one_line], validators=[
        Length(max=MAX_DISCLOSURE, message=_n(
            "The disclosure is too long: at most %(num)d character.",
            "The disclosure is too long: at most %(num)d characters.", MAX_DISCLOSURE))])
    avoid = StringField(filters=[text_block], validators=[
        Length(max=MAX_AVOID, message=_n(
            "The words to avoid are too long: at most %(num)d character.",
            "The words to avoid are too long: at most %(num)d characters.", MAX_AVOID))])


class GuidelinesLanguageForm(FilterForm):
    """The language whose guidelines an admin edits (``?language=``); an
    unknown one falls back to the admin's own."""

    language = StringField(default=lambda: get_locale().language,
                           validators=[choice_of(LANGUAGES, _l("Choose a language."))])


class PreferencesForm(Form):
    """A member's choices (the preferences page, and joining)."""

    networks = TextsField()
    kinds = TextsField()
    digest = StringField(validators=[choice_of(DIGEST_CHOICES, _l("Choose whether you want the weekly digest."))])
    instant_alerts = StringField()
    reminders = StringField()
    language = StringField(validators=[choice_of(LANGUAGES, _l("Choose a language."))])
    show_on_leaderboard = StringField()
    mastodon_server = StringField(filters=[stripped])
    content_languages = TextsField()

    def validate_content_languages(self, field):
        # None chosen: the default (people.membership.stored_fields).
        if any(code not in CONTENT_LANGUAGES for code in field.data or ()):
            raise ValidationError(_l("Choose languages from the list."))

    def validate_networks(self, field):
        if not [n for n in NETWORKS if n in (field.data or ())]:
            raise ValidationError(_l("Choose at least one network."))

    def validate_mastodon_server(self, field):
        if field.data and (len(field.data) > 300 or mastodon_host(field.data) is None):
            raise ValidationError(_l("Give your Mastodon server's name only, such as mastodon.social "
                                     "(no https://, no @ or path)."))

    def validate_kinds(self, field):
        if not [k for k in KINDS if k in (field.data or ())]:
            raise ValidationError(_l("Choose at least one kind of content."))

    def prefs(self):
        """The choices as the membership service takes them."""
        return {
            "networks": [n for n in NETWORKS if n in (self.networks.data or ())],
            "kinds": [k for k in KINDS if k in (self.kinds.data or ())],
            "digest": self.digest.data or "",
            "instant_alerts": bool(self.instant_alerts.raw_data),
            "reminders": bool(self.reminders.raw_data),
            "locale": self.language.data or "",
            "show_on_leaderboard": bool(self.show_on_leaderboard.raw_data),
            # As typed when refused, so it can be corrected (never stored so).
            "mastodon_server": mastodon_host(self.mastodon_server.data) or self.mastodon_server.data or "",
            "content_languages": [code for code in CONTENT_LANGUAGES if code in (self.content_languages.data or ())],
        }


class JoinForm(PreferencesForm):
    """Joining: the choices, and the promise to follow the guidelines."""

    agree = StringField(validators=[choice_of(("yes",), _l(
        "Please confirm that you have read the guidelines and will follow them."))])


class SuggestForm(Form):
    """A colleague's suggestion of a link; whether it is already in the
    library or waiting is the suggestions service's rule."""

    url = StringField(filters=[stripped], validators=[
        WebAddress(_l("Enter a web address that starts with http:// or https://."), suggestions.MAX_URL)])
    title = StringField(filters=[stripped], validators=[
        DataRequired(_l("Give the link a title.")),
        Length(max=suggestions.MAX_TITLE, message=_n(
            "The title is too long: at most %(num)d character.",
            "The title is too long: at most %(num)d characters.", suggestions.MAX_TITLE))])
    kind = StringField(default="news", filters=[stripped],
                       validators=[choice_of(KINDS, _l("Choose the kind of content."))])
    caption = StringField(filters=[stripped], validators=[
        Length(max=MAX_CAPTION, message=_n(
            "The text is too long: at most %(num)d character.",
            "The text is too long: at most %(num)d characters.", MAX_CAPTION))])
    note = StringField(filters=[stripped], validators=[
        Length(max=suggestions.MAX_NOTE, message=_n(
            "The note is too long: at most %(num)d character.",
            "The note is too long: at most %(num)d characters.", suggestions.MAX_NOTE))])

    def validate_url(self, field):
        if field.errors:  # not an address (or control characters): nothing to look up
            return
        duplicate = suggestions.duplicate_error(field.data)
        if duplicate:
            raise ValidationError(duplicate)

    def as_dict(self):
        return {name: self[name].data or "" for name in ("url", "title", "kind", "caption", "note")}


class LanguageForm(Form):
    """The language switch in the page header."""

    language = StringField(validators=[choice_of(LANGUAGES, _l("Choose a language."))])


class DeleteDataForm(Form):
    """The confirmation that one's data should be deleted."""

    confirm = StringField(validators=[choice_of(("yes",), _l(
        "Tick the box to confirm that your data should be deleted."))])


class LeaderboardSettingsForm(Form):
    """People leaderboards on or off (the form's checkbox sends "on")."""

    people = StringField(validators=[choice_of(("on", "", None), _l("Choose on or off."))])


class ApiKeyForm(Form):
    """The name of a new API key."""

    name = StringField(filters=[one_line], validators=[
        DataRequired(_n(
            "Enter a name of at most %(num)d character, e.g. “Careers site”.",
            "Enter a name of at most %(num)d characters, e.g. “Careers site”.", API_KEY_NAME_MAX)),
        Length(max=API_KEY_NAME_MAX,
               message=_n(
                   "Enter a name of at most %(num)d character, e.g. “Careers site”.",
                   "Enter a name of at most %(num)d characters, e.g. “Careers site”.", API_KEY_NAME_MAX))])


class DigestPreviewForm(FilterForm):
    """The person whose digest an admin previews (``?user=``): a user name,
    or part of a name to search for."""

    user = StringField(default="", filters=[lambda v: v.strip()[:150] if isinstance(v, str) else v])


class DigestTestForm(Form):
    """Whose digest an admin sends to themself as a test (a user name;
    empty: their own)."""

    user = StringField(default="", filters=[stripped], validators=[Length(max=150)])


class DigestSendNowForm(Form):
    """The confirmation that this week's digest should go out now."""

    confirm = StringField(validators=[choice_of(("yes",), _l(
        "Confirm that this week's digest should be sent to everyone now."))])


class InvitationForm(Form):
    """Whom the programme lead invites: a department, a directory group
    and/or a pasted list of user names; the round id the preview made."""

    department = StringField(default="", filters=[stripped], validators=[Length(max=255)])
    group = StringField(default="", filters=[stripped], validators=[Length(max=500, message=_n(
        "The group's name is too long: at most %(num)d character.",
        "The group's name is too long: at most %(num)d characters.", 500))])
    usernames = StringField(default="", filters=[text_block], validators=[Length(max=50000, message=_n(
        "The list of user names is too long: at most %(num)d character.",
        "The list of user names is too long: at most %(num)d characters.", 50000))])
    asked = StringField()
    round = StringField(default="", filters=[stripped])

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.departments = departments

    def validate_department(self, field):
        if field.data and field.data not in self.departments:
            raise ValidationError(_l("Choose one of the departments."))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if ok and not (self.department.data or self.group.data or self.usernames.data.strip()):
            self.refuse("department", _l("Choose a department or a group, or paste a list of user names."))
            return False
        return ok

    def choice(self):
        return {"department": self.department.data or "", "group": self.group.data or "",
                "usernames": self.usernames.data or "", "asked": bool(self.asked.raw_data)}
