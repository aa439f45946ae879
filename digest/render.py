"""Turning a digest or an alert into an e-mail.

Each MJML template is compiled to HTML once per application, with its Jinja
tags passing through the compiler untouched; the result is a Jinja template
filled per person with autoescaped values. The MJML compiler therefore never
sees a title, caption or name: nothing in them can add markup or an
``<mj-include>``.

The templates are compiled once per language, each in a Jinja environment
with that language's catalogue installed (``jinja2.ext.i18n``), so that their ``_()`` and ``ngettext()`` need no
look-up of the catalogue per call.
"""

import datetime
import functools
import re
import secrets
from importlib.resources import files
from types import SimpleNamespace as Namespace

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask_babel import force_locale, format_date, get_translations, ngettext
from flask_babel import gettext as _
from jinja2 import ChoiceLoader, DictLoader, Environment
from markupsafe import Markup, escape
from mjml import mjml2html

from intranet_plugin.content.sharing import mail_networks_of, post_text
from intranet_plugin.content.urls import is_http_url
from intranet_plugin.i18n import LANGUAGES, locale_of
from intranet_plugin.labels import KIND_LABELS, MILESTONE_LABELS, NETWORK_LABELS, translated
from intranet_plugin.mail.message import build_message, sender_domain

SUMMARY_LIMIT = 320
ITEM_SECTIONS = 1000  # items' sections kept by a run (Week.item), some 10 kB each (HTML and text)
BAR_HEIGHT = 60  # pixels of the tallest bar


@functools.cache
def network_colours():
    """{network: colour} of the share buttons, read from the share page's
    stylesheet (``.net-NAME { background: #rrggbb; }`` in static/app.css),
    the colours' one home: a button looks the same in the digest."""
    css = files("intranet_plugin").joinpath("static/app.css").read_text(encoding="utf-8")
    return dict(re.findall(r"\.net-([a-z]+) \{ background: (#[0-9a-f]{6}); \}", css))


def _no_include(path):
    raise ValueError("mj-include is not used in Ambassador's templates")


def _environment(env, translations, sources):
    """A Jinja environment like the app's ``env`` (its loader, escaping,
    globals and filters) with one language's catalogue installed, and the
    templates ``sources`` ({name: source}) besides. Its own rather than an
    overlay, whose i18n methods would install into ``env``; no cache: each
    template is compiled once, by Templates."""
    mail_env = Environment(loader=ChoiceLoader([DictLoader(sources), env.loader]), autoescape=env.autoescape,
                           extensions=["jinja2.ext.i18n"], cache_size=0)
    mail_env.globals.update(env.globals)
    mail_env.filters.update(env.filters)
    mail_env.install_gettext_translations(translations, newstyle=True)
    return mail_env


_ITEMS = re.compile(r"{%-?\s*for item in items\s*%}")
_SETUP_BEFORE = re.compile(r"({%-?\s*set\b[^%]*%})\s*$")  # the words set up right before the loop
_LOOP_TAG = re.compile(r"{%(-?)\s*(for|endfor)\b")


def _split_items(source, part):
    """The weekly template (the compiled HTML, or the text) as (page,
    item): the page writes each item's pre-rendered ``item.<part>``, and
    ``item`` is the loop's body as a template of its own, with the words it
    sets up before the loop, and the white space the loop's tags strip
    stripped."""
    loop = _ITEMS.search(source)
    if loop is None:
        raise ValueError("the weekly template has no loop over items")
    depth = 1
    for tag in _LOOP_TAG.finditer(source, loop.end()):
        depth += 1 if tag.group(2) == "for" else -1
        if depth == 0:
            break
    else:
        raise ValueError("the weekly template's loop over items has no end")
    setup = _SETUP_BEFORE.search(source, 0, loop.start())
    body = source[loop.end():tag.start()]
    if tag.group(1):  # "{%- endfor": the body's trailing white space goes
        body = body.rstrip()
    # A comment after the body keeps a trailing line end of it, which a
    # template of its own would drop (keep_trailing_newline).
    page = source[:loop.end()] + f"{{{{ item.{part} }}}}" + source[tag.start():]
    return page, (setup.group(1) if setup else "") + body + "{# end #}"


class Templates:
    """The mail templates of an app, compiled per language:
    ``templates[locale].weekly_html``. The weekly HTML and text come in
    two: ``weekly_item_html`` and ``weekly_item_text`` are one item's
    section, rendered once per item, language and networks in a run (see
    Week.item)."""

    NAMES = {"weekly": "digest/mail/weekly", "alert": "digest/mail/alert",
             "invitation": "programme/mail/invitation", "reminder": "digest/mail/reminder"}

    def __init__(self, app):
        env = app.jinja_env
        html = {key: mjml2html(env.loader.get_source(env, name + ".mjml")[0], include_loader=_no_include)
                for key, name in self.NAMES.items()}
        html["weekly"], item_html = _split_items(html["weekly"], "html")
        # The text's parts by names of their own, which end in .txt: not escaped.
        weekly = self.NAMES["weekly"]
        page_text, item_text = _split_items(env.loader.get_source(env, weekly + ".txt")[0], "text")
        texts = {weekly + ".page.txt": page_text, weekly + ".item.txt": item_text}
        self._languages = {}
        for locale in LANGUAGES:
            with force_locale(locale):
                mail_env = _environment(env, get_translations(), texts)
            compiled = self._languages[locale] = Namespace()
            for key, name in self.NAMES.items():
                # HTML autoescaped (from_string has no file name, which
                # Flask's environment escapes); the text by its name, not.
                setattr(compiled, f"{key}_html", mail_env.from_string(html[key]))
                setattr(compiled, f"{key}_text", mail_env.get_template(name + ".txt"))
            compiled.weekly_text = mail_env.get_template(weekly + ".page.txt")
            compiled.weekly_item_html = mail_env.from_string(item_html)
            compiled.weekly_item_text = mail_env.get_template(weekly + ".item.txt")

    def __getitem__(self, locale):
        return self._languages[locale]


def templates(app):
    """The compiled templates of ``app``, compiled on first use (inside a
    request or app context)."""
    compiled = app.extensions.get("digest.templates")
    if compiled is None:
        compiled = app.extensions["digest.templates"] = Templates(app)
    return compiled


def _shorten(text, limit):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1].rsplit(" ", 1)[0] + "…"


class Labels:
    """The words a message repeats per item and button, translated once per
    message rather than once per use."""

    def __init__(self, networks):
        self.networks = networks
        self.names = {n: str(NETWORK_LABELS[n]) for n in networks}
        self.share_on = {n: _("Share on %(network)s", network=self.names[n]) for n in networks}
        self.kinds = translated(KIND_LABELS)
        self._texts = {}

    def texts(self, item):
        """What the share buttons send for ``item`` (content.sharing.post_text):
        each distinct text once, labelled with its networks when they differ."""
        found = self._texts.get(item.id)
        if found is None:
            networks = {}
            for n in self.networks:
                text = post_text(item, n)
                if text:
                    networks.setdefault(text, []).append(self.names[n])
            if len(networks) == 1:
                found = [Namespace(label=_("Suggested text"), text=text) for text in networks]
            else:
                found = [Namespace(label=_("Suggested text for %(networks)s", networks=", ".join(names)), text=text)
                         for text, names in networks.items()]
            self._texts[item.id] = found
        return found


def item_context(item, person, links, labels):
    # Namespaces rather than dicts: Jinja reads ``item.title`` as an
    # attribute first, and a digest does so some three hundred times.
    share = links.share(person.id, item.id)  # each button's URL: this and its network
    return Namespace(
        title=item.title,
        summary=_shorten(item.summary, SUMMARY_LIMIT),
        texts=labels.texts(item),
        image=item.image_url if is_http_url(item.image_url) else "",
        url=item.url if is_http_url(item.url) else "",
        kind_label=labels.kinds.get(item.kind, item.kind),
        pinned=item.pinned,
        campaign=item.campaign.name if item.campaign_id else "",
        buttons=[Namespace(network=n, label=labels.names[n], title=labels.share_on[n],
                           colour=network_colours()[n], href=share + n)
                 for n in labels.networks],
    )


@functools.lru_cache(maxsize=4096)
def _number(value, locale):
    return babel_numbers.format_decimal(value, locale=locale)


@functools.lru_cache(maxsize=4096)
def _money(value, locale):
    return babel_numbers.format_currency(value, "EUR", locale=locale)


@functools.lru_cache(maxsize=1024)
def period_words(start, end, locale):
    """A run of days in the person's language: "22–28 November",
    "28 November – 4 December" (Babel's interval formats)."""
    return babel_dates.format_interval(start, end, "MMMMd", locale=locale)


def headline(impact):
    """The week's figure in large print: this week's clicks, else (a quiet
    week is no news to shout) the clicks so far."""
    if impact.clicks_week:
        return ngettext("%(num)d click on your shares", "%(num)d clicks on your shares", impact.clicks_week)
    if impact.clicks_all:
        return ngettext("%(num)d click on your shares so far", "%(num)d clicks on your shares so far",
                        impact.clicks_all)
    return _("Your shares are out there: the clicks they bring will show here.")


def progress(impact, locale):
    """The person's week framed as progress, in sentences: their own trend
    against themselves (their best week so far, more than the week before),
    never a fall and never a low place on the leaderboard."""
    lines = []
    best = impact.best_week
    if impact.visitors_week:
        lines.append(ngettext("Your shares brought %(num)d visitor this week.",
                              "Your shares brought %(num)d visitors this week.", impact.visitors_week))
    if best is not None and impact.clicks_week and impact.clicks_week >= best.clicks:
        lines.append(_("Your best week so far!"))
    else:
        if impact.clicks_week > impact.clicks_prev:
            lines.append(ngettext("%(num)d more click than the week before.",
                                  "%(num)d more clicks than the week before.", impact.clicks_week - impact.clicks_prev))
        if best is not None:
            lines.append(ngettext("Your best week so far: %(num)d click (%(period)s).",
                                  "Your best week so far: %(num)d clicks (%(period)s).", best.clicks,
                                  period=period_words(best.start, best.start + datetime.timedelta(days=6), locale)))
    if impact.encouraging_rank:
        lines.append(_("You are number %(rank)s on the leaderboard.", rank=impact.encouraging_rank))
    for milestone in impact.milestones:
        lines.append(_("Milestone reached: %(milestone)s!", milestone=MILESTONE_LABELS[milestone.key]))
    return lines


class _Placeholders:
    """Stands in for MailLinks while an item's section is rendered for
    everyone: the start of each share button's URL (``MailLinks.share``) is
    a mark, marked safe, so that in the HTML it is the only "<" not written
    by the template (every value is escaped); in the text, a run's random
    mark, which no item's words can contain."""

    @staticmethod
    def share(person_id, item_id):
        return _MARK


_MARK = Markup(f"<\x1f{secrets.token_hex(8)}\x1f>")
_NOBODY = Namespace(id=None)


class Week:
    """What every digest of a run says alike (dates, the chart's labels,
    button labels, each item's section), worked out once per language."""

    def __init__(self, windows):
        self.windows = windows
        self._words = {}
        self._labels = {}
        self._items = {}

    def words(self, locale):
        words = self._words.get(locale)
        if words is None:
            w = self.windows
            period = period_words(w.week.start, w.week.end, locale)
            words = self._words[locale] = {
                # The subject names the days the figures cover, as the body does.
                "subject": _("Your Ambassador week, %(period)s", period=period),
                "period": period,
                "bars": [format_date(start, "d MMM") for start in w.starts],
                "rows": (_("Shares"), _("Clicks"), _("Unique visitors"), _("Earned media value")),
            }
        return words

    def item(self, item, person, locale, labels, compiled, links):
        """``item``'s section in ``person``'s digest: ``html`` and ``text``.
        The section is rendered once per item, language and networks, and
        only the start of the buttons' URLs (``MailLinks.share``, signed
        once per person and item) goes in per person."""
        key = (item.id, locale, tuple(labels.networks))
        parts = self._items.get(key)
        if parts is None:
            if len(self._items) >= ITEM_SECTIONS:  # people's own sets of networks are many at most
                self._items.clear()
            shared = item_context(item, _NOBODY, _Placeholders, labels)
            parts = self._items[key] = (compiled.weekly_item_html.render(item=shared).split(_MARK),
                                        compiled.weekly_item_text.render(item=shared).split(_MARK))
        html, text = parts
        share = links.share(person.id, item.id)
        return Namespace(html=Markup(str(escape(share)).join(html)), text=share.join(text))

    def labels(self, locale, networks):
        key = (locale, tuple(networks))
        labels = self._labels.get(key)
        if labels is None:
            labels = self._labels[key] = Labels(networks)
        return labels


def impact_context(impact, words, locale):
    n = functools.partial(_number, locale=locale)
    top = max(impact.bars) or 1
    shares_label, clicks_label, visitors_label, value_label = words["rows"]
    return Namespace(
        ever=bool(impact.shares_all or impact.clicks_all),
        rows=[
            (shares_label, n(impact.shares_week), n(impact.shares_all)),
            (clicks_label, n(impact.clicks_week), n(impact.clicks_all)),
            (visitors_label, n(impact.visitors_week), n(impact.visitors_all)),
            (value_label, _money(impact.value_week, locale), _money(impact.value_all, locale)),
        ],
        headline=headline(impact),
        progress=progress(impact, locale),
        best_title=impact.best_title,
        best_visitors=(ngettext("%(num)d visitor this week", "%(num)d visitors this week", impact.best_visitors)
                       if impact.best_this_week else
                       ngettext("%(num)d visitor in all", "%(num)d visitors in all", impact.best_visitors)),
        chart=[Namespace(clicks=n(clicks), height=max(2, round(BAR_HEIGHT * clicks / top)),
                         colour="#1f5fd1" if clicks else "#dde2ec", label=label)
               for clicks, label in zip(impact.bars, words["bars"], strict=True)],
    )


def digest_headers(person, links, message_id, list_name="digest"):
    return {
        "List-Unsubscribe": f"<{links.unsubscribe(person.id, list_name)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"Ambassador {list_name} <{list_name}.ambassador.{message_id.rpartition('@')[2].rstrip('>')}>",
        "Auto-Submitted": "auto-generated",
    }


def digest_message_id(person_id, week, config):
    """The same for a person and week however often it is built, so that a
    message sent twice after all (a connection lost at the worst moment)
    can be recognised as one."""
    return f"<digest.{week}.{person_id}@{sender_domain(config['MAIL_FROM'])}>"


def alert_message_id(person_id, item_id, config):
    return f"<alert.{item_id}.{person_id}@{sender_domain(config['MAIL_FROM'])}>"


def render_digest(digest, week, links, compiled):
    """(subject, html, text) of a person's digest, in their language;
    ``week`` is the run's Week."""
    person = digest.person
    locale = locale_of(person)
    with force_locale(locale):
        words = week.words(locale)
        count = len(digest.items) + digest.more
        preheader = (ngettext("%(num)d new item to share, and what your shares brought in.",
                              "%(num)d new items to share, and what your shares brought in.", count)
                     if count else _("What your shares brought in this week."))
        labels = week.labels(locale, mail_networks_of(person))
        compiled = compiled[locale]
        items = [week.item(item, person, locale, labels, compiled, links) for item in digest.items]
        context = {
            "lang": locale,
            "subject": words["subject"],
            "preheader": preheader,
            "name": person.display_name,
            "items": items,
            "more": digest.more,
            "impact": impact_context(digest.impact, words, locale),
            "period": words["period"],
            "share_page": links.share_page,
            "preferences": links.preferences,
            "unsubscribe": links.unsubscribe(person.id, "digest"),
        }
        return words["subject"], compiled.weekly_html.render(context), compiled.weekly_text.render(context)


def digest_message(digest, iso_week, week, links, compiled, config):
    """The e-mail of a person's digest for ISO week ``iso_week``."""
    subject, html, text = render_digest(digest, week, links, compiled)
    message_id = digest_message_id(digest.person.id, iso_week, config)
    return build_message(config["MAIL_FROM"], (digest.person.display_name, digest.person.email), subject,
                         text, html, digest_headers(digest.person, links, message_id), message_id,
                         language=locale_of(digest.person))


def render_alert(item, person, links, compiled):
    """(subject, html, text) of an instant alert about ``item``."""
    locale = locale_of(person)
    with force_locale(locale):
        subject = _("Share now: %(title)s", title=" ".join(item.title.split()))
        entry = item_context(item, person, links, Labels(mail_networks_of(person)))
        context = {
            "lang": locale,
            "subject": subject,
            "preheader": _("Your colleagues in communications ask you to share this today."),
            "name": person.display_name,
            "item": entry,
            "share_page": links.share_page,
            "preferences": links.preferences,
            "unsubscribe": links.unsubscribe(person.id, "alerts"),
        }
        compiled = compiled[locale]
        return subject, compiled.alert_html.render(context), compiled.alert_text.render(context)


def reminder_message_id(person_id, month, config):
    return f"<reminder.{month}.{person_id}@{sender_domain(config['MAIL_FROM'])}>"


def render_reminder(items, person, links, compiled):
    """(subject, html, text) of a monthly reminder with ``items``."""
    locale = locale_of(person)
    with force_locale(locale):
        subject = _("Something to share this month?")
        labels = Labels(mail_networks_of(person))
        context = {
            "lang": locale,
            "subject": subject,
            "preheader": ngettext("The newest item for you, one click to share.",
                                  "The %(num)d newest items for you, one click to share.", len(items)),
            "name": person.display_name,
            "items": [item_context(item, person, links, labels) for item in items],
            "share_page": links.share_page,
            "preferences": links.preferences,
            "unsubscribe": links.unsubscribe(person.id, "reminders"),
        }
        compiled = compiled[locale]
        return subject, compiled.reminder_html.render(context), compiled.reminder_text.render(context)


def reminder_message(items, person, month, links, compiled, config):
    """The e-mail of a person's reminder of ``month`` ("2026-04")."""
    subject, html, text = render_reminder(items, person, links, compiled)
    message_id = reminder_message_id(person.id, month, config)
    return build_message(config["MAIL_FROM"], (person.display_name, person.email), subject, text, html,
                         digest_headers(person, links, message_id, "reminders"), message_id,
                         language=locale_of(person))


def alert_message(item, person, links, compiled, config):
    subject, html, text = render_alert(item, person, links, compiled)
    message_id = alert_message_id(person.id, item.id, config)
    return build_message(config["MAIL_FROM"], (person.display_name, person.email), subject, text, html,
                         digest_headers(person, links, message_id, "alerts"), message_id,
                         language=locale_of(person))
