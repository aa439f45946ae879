"""The programme's guidelines and contact: Markdown written by admins, one
text per language, rendered so that it cannot run anything, with built-in
guidelines in the reader's language until the company writes its own."""

import markdown
import nh3
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from intranet_plugin.models import AuditLog, Setting, db

# One text for every language, as written before there was one per
# language; a language's own text (GUIDELINES_KEY.<code>) comes first.
GUIDELINES_KEY = "guidelines_markdown"
CONTACT_KEY = "programme_contact"
MAX_GUIDELINES = 50_000
MAX_CONTACT = 500

# What admins' Markdown may become; everything else is removed.
ALLOWED_TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i",
                "code", "pre", "blockquote", "ul", "ol", "li", "a", "img", "del",
                "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


def render_markdown(text):
    """Markdown to HTML that cannot run anything: raw HTML, event handlers
    and javascript: links are removed by the sanitiser, whatever the
    Markdown produced."""
    html = markdown.markdown(text or "", extensions=["sane_lists", "tables"], output_format="html")
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                            clean_content_tags={"script", "style"}, url_schemes=URL_SCHEMES,
                            link_rel="noopener noreferrer"))


def default_guidelines():
    """The built-in guidelines in the reader's language, shown until an admin
    writes the company's own."""
    sections = [
        (_("Our social-media policy"), [
            _("You share as yourself, on your own accounts. Taking part is voluntary: nobody has to "
              "share, and you can leave the programme at any moment."),
        ], [
            _("Share what is on the share page, or what the company has already made public."),
            _("Make clear that you work here when you share company news, for example “my employer”."),
            _("Keep confidential information and the details of customers and colleagues out of your posts."),
        ]),
        (_("Brand rules"), [], [
            _("Write the company name as it appears on the share page, and use the hashtags that come "
              "with each item."),
            _("Do not change the logo or the images, and do not open accounts or pages in the company's name."),
        ]),
        (_("Do"), [], [
            _("Add your own words: why does this matter to you?"),
            _("Share vacancies with people who could be a good fit."),
            _("Be friendly and honest, also when you disagree."),
        ]),
        (_("Don't"), [], [
            _("Do not speak on behalf of the company or make promises for it."),
            _("Do not answer criticism, complaints or questions from journalists yourself: pass them on "
              "to the programme contact."),
            _("Do not share anything you do not feel comfortable with."),
        ]),
    ]
    parts = []
    for heading, paragraphs, bullets in sections:
        parts.append("## " + heading)
        parts.extend(paragraphs)
        if bullets:
            parts.append("\n".join("- " + b for b in bullets))
    return "\n\n".join(parts)


def _key(language):
    return f"{GUIDELINES_KEY}.{language}"


def own_guidelines(language):
    """What admins wrote for readers of ``language`` ("" for nothing yet)."""
    return Setting.get_value(_key(language))


def builtin_guidelines(language):
    with force_locale(language):
        return default_guidelines()


def guidelines_markdown(language=None, own=True):
    """The guidelines readers of ``language`` (default: the reader's) see:
    the text written for their language, else the one of the default
    language (AMBASSADOR_DEFAULT_LANGUAGE), else the one written for every
    language, else the built-in guidelines in their language. ``own=False``:
    what they would see if their language had no text of its own."""
    language = language or get_locale().language
    for key in dict.fromkeys([_key(language), _key(current_app.config["DEFAULT_LANGUAGE"]), GUIDELINES_KEY]):
        if key == _key(language) and not own:
            continue
        text = Setting.get_value(key)
        if text.strip():
            return text
    return builtin_guidelines(language)


def guidelines_context():
    """The rendered guidelines and contact, for every page that shows them."""
    contact = Setting.get_value(CONTACT_KEY)
    return {"guidelines": render_markdown(guidelines_markdown()),
            "contact": render_markdown(contact) if contact.strip() else None}


def contact_markdown():
    return Setting.get_value(CONTACT_KEY)


def save(text, contact, by, language):
    """Store the guidelines of ``language`` and the contact. A text that
    readers of the language get anyway (the built-in text, or the text of
    the language they fall back to) stays unsaved, so that it keeps
    following its source."""
    key = _key(language)
    if text == guidelines_markdown(language, own=False).strip():
        text = ""
    with db.atomic():
        Setting.set_value(key, text, by=by)
        Setting.set_value(CONTACT_KEY, contact, by=by)
        AuditLog.record(by, "update", Setting.get_by_id(key), summary="guidelines",
                        language=language, characters=len(text), contact=contact)
