"""German and Slovenian, and content languages: the language menu and the
settings accept de and sl; every e-mail goes out in its recipient's
language; the share page, its widget and the API list items in the
person's content languages, or in others asked for."""

import datetime
import re

import pytest
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape

from digest.build import Windows
from digest.links import MailLinks
from digest.render import alert_message, reminder_message, templates
from digest.send import send_weekly
from helpers import login, make_item, make_person, store_click
from intranet_plugin.analytics.report import send_monthly
from intranet_plugin.config import ConfigError, load_config
from intranet_plugin.mail.links import mail_context
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import CONTENT_LANGUAGES, Person, TrackedLink, utcnow
from intranet_plugin.people import invitations

HOUR = datetime.timedelta(hours=1)
# One item in each of four content languages.
ITEMS = {"de": "Windpark eröffnet", "en": "Wind farm opens", "sl": "Vetrna elektrarna odprta",
         "fr": "Parc éolien ouvert"}


def titles(html):
    return {title for title in ITEMS.values() if title in html}


def add_items():
    for n, (language, title) in enumerate(ITEMS.items()):
        make_item(title, language=language, publish_at=utcnow() - (n + 1) * HOUR)


@pytest.fixture
def app(make_app):
    """The company's own content is in English."""
    return make_app(CONTENT_LANGUAGES="en")


@pytest.fixture
def marta(client):
    """Marta reads German; the company's content is in English."""
    make_person("marta", display_name="Marta Novak", locale="de")
    add_items()
    login(client, "marta")
    return client


# -- the share page's language filter ----------------------------------------------

def test_the_share_page_shows_the_persons_languages_until_asked_for_all(marta):
    page = marta.get("/").get_data(as_text=True)
    # Her own language and the company's, preselected in the menu.
    assert titles(page) == {ITEMS["de"], ITEMS["en"]}
    menu = page[page.index('<select id="lang"'):]
    menu = menu[:menu.index("</select>")]
    assert '<option value="">Deine Sprachen: Englisch, Deutsch</option>' in menu
    assert '<option value="all" >Alle Sprachen</option>' in menu
    assert '<option value="sl" >Slowenisch</option>' in menu

    everything = marta.get("/?lang=all").get_data(as_text=True)
    assert titles(everything) == set(ITEMS.values())
    assert '<option value="all" selected>' in everything
    assert titles(marta.get("/?lang=sl").get_data(as_text=True)) == {ITEMS["sl"]}
    for query in ("lang=sl,fr", "lang=sl&lang=fr", "lang=fr&lang=sl&lang="):
        assert titles(marta.get(f"/?{query}").get_data(as_text=True)) == {ITEMS["sl"], ITEMS["fr"]}, query


def test_tabs_search_and_show_more_keep_the_language_filter(make_app):
    app = make_app(PAGE_SIZE="1", CONTENT_LANGUAGES="en")
    client = app.test_client()
    make_person("marta", locale="de")
    add_items()
    login(client, "marta")
    page = client.get("/?lang=sl,fr").get_data(as_text=True)
    assert titles(page) == {ITEMS["sl"]}  # one a page: the newer of the two
    assert 'href="/?kind=vacancy&amp;lang=sl,fr"' in page or 'href="/?kind=vacancy&amp;lang=sl%2Cfr"' in page
    more = re.search(r'id="more-2"[^>]*href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "lang=sl" in more and "fr" in more
    assert titles(client.get(more).get_data(as_text=True)) == {ITEMS["fr"]}

    # htmx: a live search in the person's languages, and in all
    htmx = {"HX-Request": "true", "HX-Target": "results"}
    found = client.get("/?q=Wind", headers=htmx).get_data(as_text=True)
    assert titles(found) == {ITEMS["de"]} and "2 Beiträge gefunden." in found  # Windpark, Wind farm
    found = client.get("/?q=a&lang=all", headers=htmx).get_data(as_text=True)
    assert "4 Beiträge gefunden." in found
    more = client.get("/?lang=all&page=2", headers={"HX-Request": "true", "HX-Target": "more-2"})
    assert titles(more.get_data(as_text=True)) == {ITEMS["en"]}


@pytest.mark.parametrize("query", ["lang=xx", "lang=de,xx", "lang=all,de", "lang=DE", "lang=%3Cscript%3E",
                                   "lang=de%00"])
def test_a_language_that_is_no_content_language_is_refused(app, marta, query):
    codes = ", ".join(CONTENT_LANGUAGES)
    refusal = in_language(app, "de", "“lang” must be “all” or content languages out of: %(codes)s.", codes=codes)
    for path in ("/", "/widget/latest"):
        response = marta.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert str(escape(refusal)) in response.get_data(as_text=True)
        assert "<script>" not in response.get_data(as_text=True)
    response = marta.get(f"/api/v1/me/items?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == refusal


def test_an_empty_page_offers_all_languages(app, marta):
    page = marta.get("/?lang=pl").get_data(as_text=True)
    assert in_language(app, "de", "There is nothing to share here yet.") in page
    assert 'href="/?lang=all"' in page


def test_the_widget_and_the_api_follow_the_same_filter(marta):
    assert titles(marta.get("/widget/latest").get_data(as_text=True)) == {ITEMS["de"], ITEMS["en"]}
    assert titles(marta.get("/widget/latest?lang=all").get_data(as_text=True)) == set(ITEMS.values())

    def api(query=""):
        response = marta.get("/api/v1/me/items" + query)
        assert response.status_code == 200
        return {item["title"] for item in response.get_json()["items"]}

    assert api() == {ITEMS["de"], ITEMS["en"]}
    assert api("?lang=all") == set(ITEMS.values())
    assert api("?lang=fr") == {ITEMS["fr"]}


def test_without_company_languages_nobodys_share_page_hides_a_language(make_app):
    """A new install names no content languages: everybody sees every item
    until they choose their languages."""
    app = make_app()
    client = app.test_client()
    make_person("marta", locale="de")
    add_items()
    make_item("Vindkraftpark öppnar", language="sv")  # a feed's language, none of ours
    login(client, "marta")
    page = client.get("/").get_data(as_text=True)
    assert titles(page) == set(ITEMS.values()) and "Vindkraftpark öppnar" in page
    # the menu's first choice says so, once
    assert '<option value="">Alle Sprachen</option>' in page and 'value="all"' not in page
    client.post("/preferences", data={**PREFERENCES, "content_languages": ["sl"]})
    assert titles(client.get("/").get_data(as_text=True)) == {ITEMS["sl"]}


def test_the_company_languages_are_everyones_default(make_app):
    app = make_app(CONTENT_LANGUAGES="fr en")
    client = app.test_client()
    make_person("marta", locale="sl")
    add_items()
    login(client, "marta")
    assert titles(client.get("/").get_data(as_text=True)) == {ITEMS["en"], ITEMS["sl"], ITEMS["fr"]}


def test_the_company_languages_setting_is_checked(tmp_path):
    assert load_config(str(tmp_path), environ={})["CONTENT_LANGUAGES"] == []
    config = load_config(str(tmp_path), environ={"AMBASSADOR_CONTENT_LANGUAGES": "en, nl"})
    assert config["CONTENT_LANGUAGES"] == ["nl", "en"]
    with pytest.raises(ConfigError, match="AMBASSADOR_CONTENT_LANGUAGES must name content languages"):
        load_config(str(tmp_path), environ={"AMBASSADOR_CONTENT_LANGUAGES": "en klingon"})


# -- the person's content languages: preferences and joining -------------------------

PREFERENCES = {"networks": ["linkedin"], "kinds": ["news", "vacancy", "blog"], "digest": "weekly",
               "language": "de"}


def test_preferences_choose_the_content_languages(marta):
    page = marta.get("/preferences").get_data(as_text=True)
    ticked = set(re.findall(r'name="content_languages" value="(\w+)" checked', page))
    assert ticked == {"de", "en"}  # the default, shown as it applies

    response = marta.post("/preferences", data={**PREFERENCES, "content_languages": ["fr", "sl"]})
    assert response.status_code == 302
    assert Person.get(username="marta").content_languages == ["sl", "fr"]
    assert titles(marta.get("/").get_data(as_text=True)) == {ITEMS["sl"], ITEMS["fr"]}
    page = marta.get("/preferences").get_data(as_text=True)
    assert set(re.findall(r'name="content_languages" value="(\w+)" checked', page)) == {"sl", "fr"}

    # The default chosen again (or nothing): stored as the default, which
    # follows her language.
    for chosen in (["de", "en"], []):
        marta.post("/preferences", data={**PREFERENCES, "content_languages": ["sl"]})
        marta.post("/preferences", data={**PREFERENCES, "content_languages": chosen})
        assert Person.get(username="marta").content_languages == [], chosen
    marta.post("/preferences", data={**PREFERENCES, "language": "sl"})
    assert titles(marta.get("/").get_data(as_text=True)) == {ITEMS["sl"], ITEMS["en"]}


def test_a_bad_content_language_is_refused_and_nothing_changes(app, marta):
    marta.post("/preferences", data={**PREFERENCES, "content_languages": ["fr"]})
    for bad in (["xx"], ["fr", "<b>"], ["fr\x00"]):
        response = marta.post("/preferences", data={**PREFERENCES, "networks": ["x"], "content_languages": bad})
        assert response.status_code == 400, bad
        assert in_language(app, "de", "Choose languages from the list.") in response.get_data(as_text=True) \
            or bad == ["fr\x00"]
        person = Person.get(username="marta")
        assert (person.content_languages, person.networks) == (["fr"], ["linkedin"])


def test_joining_chooses_the_content_languages(client):
    make_person("sanne", joined_at=None, locale="nl")
    login(client, "sanne")
    page = client.get("/join").get_data(as_text=True)
    assert set(re.findall(r'name="content_languages" value="(\w+)" checked', page)) == {"nl", "en"}
    response = client.post("/join", data={**PREFERENCES, "language": "nl", "agree": "yes",
                                          "content_languages": ["nl", "de"]})
    assert response.status_code == 302
    assert Person.get(username="sanne").content_languages == ["nl", "de"]


# -- the language menu and the settings --------------------------------------------------

def test_the_menu_offers_german_and_slovenian_and_the_page_follows(client):
    make_person("marta")
    login(client, "marta")
    page = client.get("/").get_data(as_text=True)
    assert '<option value="de" lang="de" >Deutsch</option>' in page
    assert '<option value="sl" lang="sl" >Slovenščina</option>' in page
    for code in ("de", "sl"):
        assert client.post("/language", data={"language": code}).status_code == 302
        response = client.get("/")
        assert f'<html lang="{code}">' in response.get_data(as_text=True)
        assert response.headers["Content-Language"] == code
        assert Person.get(username="marta").locale == code
    assert client.post("/language", data={"language": "xx"}).status_code == 400
    assert Person.get(username="marta").locale == "sl"


@pytest.mark.parametrize("code", ["de", "sl"])
def test_german_and_slovenian_as_the_default_language(make_app, code):
    app = make_app(DEFAULT_LANGUAGE=code)
    client = app.test_client()
    make_person("marta")
    login(client, "marta")
    assert f'<html lang="{code}">' in client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert load_config("/tmp", environ={"AMBASSADOR_DEFAULT_LANGUAGE": code})["DEFAULT_LANGUAGE"] == code


# -- every e-mail in its recipient's language ---------------------------------------------
#
# The catalogs of German and Slovenian are being filled: each test checks
# the message against the catalog of the recipient's language (so it checks
# the German and Slovenian text once they are there) and against Babel's
# dates and numbers of that language; Dutch, translated already, proves
# that the catalog is the recipient's.

RECIPIENT_LANGUAGES = ["nl", "de", "sl"]


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>", DEFAULT_LANGUAGE="en")


def in_language(app, locale, message, **values):
    with app.test_request_context(), force_locale(locale):
        return _(message, **values)


def assert_written_in(message, locale):
    assert message["Content-Language"] == locale
    html = message.get_body(("html",)).get_content()
    assert re.search(f'<html lang="{locale}"', html), html[:200]
    return html, message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("locale", RECIPIENT_LANGUAGES)
def test_the_digest_is_in_the_recipients_language(mail_app, smtp, locale):
    person = make_person("marta", display_name="Marta Novak", locale=locale)
    item = make_item("Windpark eröffnet", language="de", publish_at=utcnow() - HOUR)
    store_click(TrackedLink.for_share(person, item, "linkedin"), utcnow() - HOUR, visitor="v" * 32)
    with mail_app.test_request_context(headers={"Accept-Language": "en"}):  # the sender's language: not used
        report = send_weekly(mail_app, mailer=Mailer.from_config(mail_app.config, sleep=lambda s: None))
    assert report.sent == 1, report.summary()
    [message] = smtp.messages
    html, text = assert_written_in(message, locale)
    hello = in_language(mail_app, locale, "Hello %(name)s,", name="Marta Novak")
    assert hello in text
    if locale == "nl":
        assert hello == "Hallo Marta Novak,"
    # The week's days and the earned media value, by Babel in her language.
    week = Windows(utcnow()).week
    period = babel_dates.format_interval(week.start, week.end, "MMMMd", locale=locale)
    assert message["Subject"] == in_language(mail_app, locale, "Your Ambassador week, %(period)s", period=period)
    assert babel_numbers.format_currency(3, "EUR", locale=locale) in html


@pytest.mark.parametrize("locale", RECIPIENT_LANGUAGES)
def test_alerts_and_reminders_are_in_the_recipients_language(mail_app, locale):
    person = make_person("marta", display_name="Marta Novak", locale=locale)
    item = make_item("Windpark eröffnet", publish_at=utcnow() - HOUR)
    with mail_context(mail_app):
        compiled = templates(mail_app)
        alert = alert_message(item, person, MailLinks("alert"), compiled, mail_app.config)
        reminder = reminder_message([item], person, "2026-12", MailLinks("reminder"), compiled, mail_app.config)
    assert_written_in(alert, locale)
    assert alert["Subject"] == in_language(mail_app, locale, "Share now: %(title)s", title=item.title)
    html, _text = assert_written_in(reminder, locale)
    assert reminder["Subject"] == in_language(mail_app, locale, "Something to share this month?")
    assert in_language(mail_app, locale, "Hello %(name)s,", name="Marta Novak") in html


@pytest.mark.parametrize("locale", RECIPIENT_LANGUAGES)
def test_invitations_are_in_the_invited_persons_language(mail_app, smtp, locale):
    person = make_person("marta", display_name="Marta Novak", locale=locale, joined_at=None)
    lead = make_person("anouk", display_name="Anouk Bakker", role="admin", locale="en")
    report = invitations.send(mail_app, [person], lead, "round-1",
                              mailer=Mailer.from_config(mail_app.config, sleep=lambda s: None))
    assert report.sent == 1
    [message] = smtp.messages
    assert_written_in(message, locale)
    assert message["Subject"] == in_language(mail_app, locale, "%(name)s invites you to Ambassador",
                                             name="Anouk Bakker")


@pytest.mark.parametrize("locale", RECIPIENT_LANGUAGES)
def test_test_mails_are_in_the_senders_own_language_not_the_browsers(mail_app, smtp, locale):
    """A test goes to the admin: its note in the admin's language, whatever
    their browser says; the digest in it is the person's, as they get it."""
    from digest import manual

    admin = make_person("anouk", display_name="Anouk Bakker", role="admin", locale=locale)
    person = make_person("marta", display_name="Marta Novak", locale="de")
    make_item("Windpark eröffnet", publish_at=utcnow() - HOUR)
    with mail_app.test_request_context(headers={"Accept-Language": "en"}):
        manual.send_test(mail_app, person, admin)
        invitations.send_test(mail_app, admin)
    digest_test, invitation_test = smtp.messages
    assert digest_test["Content-Language"] == "de"  # the digest as Marta gets it
    note = in_language(mail_app, locale, "This is a test: the digest of %(name)s as it would be sent now. Its share "
                       "buttons record nothing.", name="Marta Novak")
    assert note in digest_test.get_body(("plain",)).get_content()
    assert digest_test["Subject"].startswith(in_language(mail_app, locale, "[TEST] %(subject)s", subject=""))
    assert_written_in(invitation_test, locale)
    assert in_language(mail_app, locale, "This is a test: the invitation as it will be sent. Its join link opens "
                       "nothing.") in invitation_test.get_body(("plain",)).get_content()


def test_the_monthly_report_is_in_each_recipients_language(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>",
                   REPORT_RECIPIENTS="Marta@Example.com, board@example.com, sanne@example.com")
    make_person("marta", locale="de", email="marta@example.com")
    make_person("sanne", locale="sl")
    first = datetime.date(2026, 11, 1)
    result = send_monthly(app, first, mailer=Mailer.from_config(app.config, sleep=lambda s: None))
    assert sorted(result.sent) == sorted(["Marta@Example.com", "board@example.com", "sanne@example.com"])
    by_address = {message["To"].addresses[0].addr_spec.lower(): message for message in smtp.messages}
    for address, locale in (("marta@example.com", "de"), ("sanne@example.com", "sl"), ("board@example.com", "en")):
        message = by_address[address]
        assert_written_in(message, locale)
        month = babel_dates.format_date(first, "MMMM y", locale=locale)
        assert message["Subject"] == in_language(app, locale, "Ambassador: the programme in %(month)s", month=month)


# -- the share buttons in e-mails -----------------------------------------------------------

def test_emails_carry_only_the_persons_networks_and_mastodon_only_with_a_server(mail_app):
    item = make_item("Windpark eröffnet", publish_at=utcnow() - HOUR)
    chosen = make_person("marta", networks=["linkedin", "mastodon", "email"])
    every = make_person("sanne")
    with_server = make_person("joris", networks=["mastodon"], mastodon_server="social.example.org")
    with mail_context(mail_app):
        compiled = templates(mail_app)

        def networks(person):
            message = alert_message(item, person, MailLinks("alert"), compiled, mail_app.config)
            return re.findall(r'data-share-network="([a-z]+)"', message.get_body(("html",)).get_content())

        assert networks(chosen) == ["linkedin", "email"]
        assert "mastodon" not in networks(every) and len(networks(every)) == 9
        assert networks(with_server) == ["mastodon"]


# -- plural forms ----------------------------------------------------------------------------

def test_every_count_with_a_noun_is_a_plural_message(tmp_path):
    """A count followed by a plural noun ("%(n)d clicks") written with
    ``_()`` has one form: Slovenian needs four. Such messages go through
    ``ngettext`` (``_n`` lazily), which the extraction reads too."""
    import os
    import subprocess
    import sys

    from babel.messages.pofile import read_po

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "_n:1,2", "-o", str(pot), "."], cwd=root, check=True, capture_output=True)
    with open(pot, "rb") as fh:
        catalog = list(read_po(fh))
    nouns = r"(clicks|visitors|shares|days|weeks|members|winners|characters|seconds|items|people|points|texts)"
    singular = [m.id for m in catalog if m.id and not m.pluralizable
                and re.search(r"%\((?:\w+\)d|(?:n|num|count)\)s) (\w+ )?" + nouns + r"\b", m.id)]
    assert singular == []
    plural = {m.id[1] for m in catalog if m.pluralizable}
    assert "The title is too long: at most %(num)d characters." in plural  # a lazy one, through _n
    assert "Share now" in {m.id for m in catalog}  # the e-mails' MJML templates are read too
