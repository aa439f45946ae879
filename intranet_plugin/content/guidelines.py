"""The programme's guidelines and contact: Markdown written by admins, one
text per language, rendered so that it cannot run anything, with built-in
guidelines in the reader's language until the company writes its own. With
them, the programme lead sets the disclosure (a hashtag or phrase such as
``#werkenbij`` that every post should carry) and the words to avoid, one
setting for every language; the share page applies both
(``content.sharing.text_warnings``)."""

from typing import NamedTuple

import markdown
import nh3
from flask import current_app, g, has_app_context
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
DISCLOSURE_KEY = "disclosure"
AVOID_KEY = "words_to_avoid"
MAX_DISCLOSURE = 100
MAX_AVOID = 2000  # the list as written, one word or phrase a line

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
    return {"guidelines": render_markdown(guidelines_markdown()), "contact": render_contact(contact_markdown())}


def render_contact(markdown):
    """The contact as HTML, None when none is written."""
    return render_markdown(markdown) if markdown.strip() else None


def contact_markdown():
    return Setting.get_value(CONTACT_KEY)


def parse_words(text):
    """The words to avoid as written: one a line (commas separate too),
    surrounding spaces dropped, each once, in the order written."""
    words = []
    for part in (text or "").replace(",", "\n").splitlines():
        part = " ".join(part.split())
        if part and part.lower() not in {w.lower() for w in words}:
            words.append(part)
    return words


class TextRules(NamedTuple):
    """What the share page checks texts against."""

    disclosure: str  # "" when none is set
    avoid: tuple  # words and phrases, as written


def text_rules():
    """The disclosure ("" when none is set) and the words to avoid, read once
    per request (every card and network asks)."""
    cached = g.get("ambassador_text_rules") if has_app_context() else None
    if cached is None:
        values = dict(Setting.select(Setting.key, Setting.value)
                      .where(Setting.key.in_([DISCLOSURE_KEY, AVOID_KEY])).tuples())
        cached = TextRules(" ".join(values.get(DISCLOSURE_KEY, "").split()),
                           tuple(parse_words(values.get(AVOID_KEY, ""))))
        if has_app_context():
            g.ambassador_text_rules = cached
    return cached



def save(text, contact, by, language, disclosure=None, avoid=None):
    """Store the guidelines of ``language`` and the contact, and (when given)
    the disclosure and the words to avoid (one setting for every language). A text that
    readers of the language get anyway (the built-in text, or the text of
    the language they fall back to) stays unsaved, so that it keeps
    following its source."""
    key = _key(language)
    if text == guidelines_markdown(language, own=False).strip():
        text = ""
    with db.atomic():
        Setting.set_value(key, text, by=by)
        Setting.set_value(CONTACT_KEY, contact, by=by)
        if disclosure is not None:
            Setting.set_value(DISCLOSURE_KEY, " ".join(disclosure.split()), by=by)
        if avoid is not None:
            Setting.set_value(AVOID_KEY, "\n".join(parse_words(avoid)), by=by)
        AuditLog.record(by, "update", Setting.get_by_id(key), summary="guidelines",
                        language=language, characters=len(text), contact=contact,
                        disclosure=disclosure, words_to_avoid=avoid)
    if has_app_context():
        g.pop("ambassador_text_rules", None)
