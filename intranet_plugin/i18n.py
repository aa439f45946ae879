"""Languages: English, Dutch, German and Slovenian ship; the person's setting wins, then the
browser's preference."""

from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from intranet_plugin import labels
from intranet_plugin.models import CONTENT_LANGUAGES

LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "sl": "Slovenščina"}

babel = Babel()


def select_locale():
    if not has_request_context():
        # The scheduler and the command line have no visitor to ask.
        return current_app.config["DEFAULT_LANGUAGE"]
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or current_app.config["DEFAULT_LANGUAGE"]


def locale_of(person):
    """The language of what Ambassador sends ``person`` (e-mails): their
    setting, else the installation's default (never the sender's)."""
    return person.locale if person.locale in LANGUAGES else current_app.config["DEFAULT_LANGUAGE"]


def select_timezone():
    return current_app.config["TIMEZONE"]


def zone():
    """The configured time zone, in which people type dates and times."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def language_names(current=None):
    """Content languages by their names in the reader's language; an item's
    own language stays choosable even when it is not one of ours (feeds)."""
    codes = list(CONTENT_LANGUAGES)
    if current and current not in codes:
        codes.append(current)
    return {code: language_name(code) for code in codes}


def language_name(code):
    """One content language's name in the reader's language."""
    try:
        return Locale.parse(code).get_display_name(get_locale() or Locale("en")).capitalize()
    except (ValueError, LookupError):
        return code


def content_language(response):
    """Name the page's language, so that a page htmx swaps in can set
    <html lang> (static/app.js): the language may have changed since the
    page was loaded."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Language", str(get_locale()).replace("_", "-"))
    return response


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.after_request(content_language)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale, language_names=language_names)
    app.jinja_env.filters["language_name"] = language_name
    labels.init_app(app)
