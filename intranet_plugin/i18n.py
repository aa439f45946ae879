"""Languages: English, Dutch, German and Slovenian ship; the person's setting wins, then the
browser's preference."""

from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

from intranet_plugin import labels

LANGUAGES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "sl": "Slovenščina"}

babel = Babel()


def select_locale():
    if not has_request_context():
        # The scheduler and the command line have no visitor to ask.
        return current_app.config["DEFAULT_LANGUAGE"]
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or current_app.config["DEFAULT_LANGUAGE"]


def select_timezone():
    return current_app.config["TIMEZONE"]


def zone():
    """The configured time zone, in which people type dates and times."""
    return ZoneInfo(current_app.config["TIMEZONE"])


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
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
    labels.init_app(app)
