"""How the weekly digest reads: the person's own week first, framed as their
progress (never a fall, never a low place on the leaderboard), and the
subject naming the very days the figures count."""

import datetime
import re
from pathlib import Path

import intranet_plugin
from digest.send import preview
from helpers import make_item, make_person, store_click
from intranet_plugin import analytics
from intranet_plugin.content.sharing import NETWORKS
from intranet_plugin.models import TrackedLink

DAY = datetime.timedelta(days=1)
MONDAY = datetime.datetime(2026, 11, 30, 7, 0)  # a Monday digest covers Monday 23 to Sunday 29 November


def clicks(person, item, count, at, network="linkedin"):
    link = TrackedLink.for_share(person, item, network)
    for n in range(count):
        store_click(link, at, "human", f"{person.username}-{at:%j}-{n}")


def parts(html, text, *needles):
    """Where each needle first appears in the HTML and in the text part."""
    return [html.index(n) for n in needles], [text.index(n) for n in needles]


def test_the_persons_week_comes_before_the_first_item_in_both_parts(mail_app):
    emma = make_person("emma")
    old = make_item("Annual report", publish_at=MONDAY - 30 * DAY, created_at=MONDAY - 30 * DAY)
    make_item("Windpark open", publish_at=MONDAY - DAY, created_at=MONDAY - DAY)
    clicks(emma, old, 4, MONDAY - 3 * DAY)

    _subject, html, text, _digest = preview(mail_app, emma, now=MONDAY)

    in_html, in_text = parts(html, text, "Hello Emma,", "4 clicks on your shares", "Windpark open")
    assert in_html == sorted(in_html) and in_text == sorted(in_text)
    assert "Your shares brought 4 visitors this week." in html and "Your shares brought 4 visitors this week." in text


def test_subject_and_body_name_the_days_the_figures_count(mail_app):
    emma = make_person("emma")
    sanne = make_person("sanne", locale="nl")
    item = make_item("Annual report", publish_at=MONDAY - 30 * DAY, created_at=MONDAY - 30 * DAY)
    for person in (emma, sanne):
        clicks(person, item, 1, datetime.datetime(2026, 11, 22, 23, 30))  # Sunday before: last week's
        clicks(person, item, 2, datetime.datetime(2026, 11, 23, 0, 30))  # the first day
        clicks(person, item, 3, datetime.datetime(2026, 11, 29, 23, 30))  # the last day

    subject, html, text, digest = preview(mail_app, emma, now=MONDAY)
    dutch_subject, dutch_html, dutch_text, _ = preview(mail_app, sanne, now=MONDAY)

    assert (digest.impact.clicks_week, digest.impact.clicks_prev) == (5, 1)
    period = "November 23\u2009–\u200929"  # Babel's interval, CLDR's thin spaces
    assert subject == f"Your Ambassador week, {period}"
    for part in (html, text):
        assert f"Your week, {period}" in part and "5 clicks on your shares" in part
    assert "23–29 november" in dutch_subject
    for part in (dutch_html, dutch_text):
        assert "23–29 november" in part


def test_a_quieter_week_is_told_as_progress_and_a_low_place_is_not_told(mail_app):
    item = make_item("Annual report", publish_at=MONDAY - 60 * DAY, created_at=MONDAY - 60 * DAY)
    people = [make_person(name, show_on_leaderboard=True) for name in ("anna", "bram", "cees", "emma")]
    for n, person in enumerate(people[:3]):
        for day in range(40, 44):
            clicks(person, item, 30 - n, MONDAY - day * DAY)
    emma = people[3]
    clicks(emma, item, 41, datetime.datetime(2026, 11, 10, 12))  # her best week: 9-15 November
    clicks(emma, item, 40, MONDAY - 10 * DAY)  # the week before
    clicks(emma, item, 8, MONDAY - 2 * DAY)  # this week: fewer

    _subject, html, text, digest = preview(mail_app, emma, now=MONDAY)

    assert digest.impact.rank is None  # last of four on the board: a place no digest mentions
    for part in (html, text):
        assert "8 clicks on your shares" in part
        assert "Your best week so far: 41 clicks (November 9\u2009–\u200915)." in part
        assert "fewer" not in part and "▼" not in part
        assert "leaderboard" not in part  # number 4 of 4 is not said
    leader = preview(mail_app, people[0], now=MONDAY)[2]
    assert "You are number 1 on the leaderboard." in leader


def test_more_than_the_week_before_and_a_first_best_week(mail_app):
    emma = make_person("emma")
    item = make_item("Annual report", publish_at=MONDAY - 60 * DAY, created_at=MONDAY - 60 * DAY)
    clicks(emma, item, 2, MONDAY - 10 * DAY)
    clicks(emma, item, 5, MONDAY - 20 * DAY)
    clicks(emma, item, 3, MONDAY - 2 * DAY)

    text = preview(mail_app, emma, now=MONDAY)[2]
    assert "1 more click than the week before." in text
    assert "Your best week so far: 5 clicks" in text

    clicks(emma, item, 4, MONDAY - 3 * DAY)  # now 7 this week: her best
    text = preview(mail_app, emma, now=MONDAY)[2]
    assert "Your best week so far!" in text and "more click" not in text


def test_a_week_without_clicks_leads_with_the_clicks_so_far(mail_app):
    emma = make_person("emma")
    item = make_item("Annual report", publish_at=MONDAY - 60 * DAY, created_at=MONDAY - 60 * DAY)
    clicks(emma, item, 5, MONDAY - 20 * DAY)

    text = preview(mail_app, emma, now=MONDAY)[2]

    assert "5 clicks on your shares so far" in text and "Your best week so far: 5 clicks" in text
    assert "0 clicks" not in text


def test_best_weeks_counts_as_everywhere_and_takes_the_earliest_of_equals(mail_app):
    emma, lisa, nobody = make_person("emma"), make_person("lisa"), make_person("nobody")
    item = make_item("Annual report")
    last_day = datetime.date(2026, 11, 29)
    at = datetime.datetime(2026, 11, 20, 12)  # the week 16-22 November
    clicks(emma, item, 3, at)
    link = TrackedLink.for_share(emma, item, "x")
    store_click(link, at, "crawler", "bot")  # a bot: never counted
    store_click(link, at, "human", "me", is_self=True)  # her own: never counted
    clicks(emma, item, 3, datetime.datetime(2026, 11, 25, 12))  # as many, later: the earlier week stays
    clicks(emma, item, 2, datetime.datetime(2026, 11, 30, 12))  # after the last day: not counted
    clicks(lisa, item, 1, datetime.datetime(2026, 1, 5, 12))

    best = analytics.best_weeks([emma.id, lisa.id, nobody.id], last_day)

    assert best[emma.id] == analytics.BestWeek(datetime.date(2026, 11, 16), 3)
    assert best[lisa.id] == analytics.BestWeek(datetime.date(2026, 1, 5), 1)
    assert nobody.id not in best


def test_the_suggested_text_is_what_the_share_buttons_send(mail_app):
    """The box shows each network's text (content.sharing.post_text): the
    editor's variant for LinkedIn, the default text with its hashtags for
    the others."""
    emma = make_person("emma", networks=["linkedin", "x", "email"])
    make_item("Windpark open", caption="Proud of our wind farm", hashtags="#wind",
              captions={"linkedin": ["Our wind farm is live", "A milestone"]},
              publish_at=MONDAY - DAY, created_at=MONDAY - DAY)

    _subject, html, text, _digest = preview(mail_app, emma, now=MONDAY)

    for part in (html, text):
        assert "Suggested text for LinkedIn" in part and "Our wind farm is live #wind" in part
        assert "Suggested text for X, E-mail" in part and "Proud of our wind farm #wind" in part
    assert "A milestone" not in html


def test_one_text_for_every_network_is_shown_once(mail_app):
    emma = make_person("emma", networks=["linkedin", "x"])
    make_item("Windpark open", caption="Proud of our wind farm", publish_at=MONDAY - DAY, created_at=MONDAY - DAY)

    _subject, html, text, _digest = preview(mail_app, emma, now=MONDAY)

    for part in (html, text):
        assert part.count("Proud of our wind farm") == 1 and "Suggested text" in part
        assert "Suggested text for" not in part


def test_the_share_buttons_have_the_share_pages_colours(mail_app):
    css = (Path(intranet_plugin.__file__).parent / "static" / "app.css").read_text()
    emma = make_person("emma", networks=list(NETWORKS), mastodon_server="social.example.org")
    make_item("Windpark open", publish_at=MONDAY - DAY, created_at=MONDAY - DAY)

    _subject, html, _text, _digest = preview(mail_app, emma, now=MONDAY)

    buttons = {network: colour for colour, network in
               re.findall(r'bgcolor="(#[0-9a-f]+)"[^>]*><a href="[^"]+" data-share-network="(\w+)"', html)}
    assert set(buttons) == set(NETWORKS)
    for network, colour in buttons.items():
        assert f".net-{network} {{ background: {colour}; }}" in css
