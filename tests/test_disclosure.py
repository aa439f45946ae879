"""The disclosure and the words to avoid: the programme lead sets them with
the guidelines; the suggested texts carry the disclosure where there is room
(before the hashtags); a text that leaves it out or uses a word to avoid is
warned about on the card, as the person types, and when it is shared, but
never refused. One rule (content.sharing.text_warnings), which the card's
script applies too."""

import html as htmllib
import json
import re

import pytest

from helpers import BROWSER, login, make_item, make_person
from helpers.pages import share_links
from intranet_plugin.content.guidelines import TextRules, text_rules
from intranet_plugin.content.sharing import NETWORKS, caption_length, post_texts, text_warnings
from intranet_plugin.models import Setting, ShareEvent

RULES = TextRules("#werkenbij", ("guaranteed", "best employer", "café"))

# (text, warnings) under RULES: what the server and the browser must both say.
TABLE = [
    ("Proud of our wind farm #werkenbij", []),
    ("Proud of our wind farm #WerkenBij!", []),
    ("Proud of our wind farm", [["disclosure", "#werkenbij"]]),
    ("Proud of our wind farm #werkenbijNL", [["disclosure", "#werkenbij"]]),
    ("Proud of our wind farm ##werkenbij", [["disclosure", "#werkenbij"]]),
    ("Success guaranteed #werkenbij", [["avoid", "guaranteed"]]),
    ("Unguaranteed, not guaranteedly #werkenbij", []),
    ("The BEST   employer? The Best Employer! #werkenbij", [["avoid", "best employer"]]),
    ("Coffee at the cafe\u0301 #werkenbij", [["avoid", "café"]]),  # composed to é first
    ("Coffee at the cafés #werkenbij", []),
    ("𝐀guaranteed #werkenbij", []),  # a letter outside the BMP right before the word
    ("guaranteed_x #werkenbij", []),
    ("😀guaranteed #werkenbij", [["avoid", "guaranteed"]]),
    ("Guaranteed best employer", [["disclosure", "#werkenbij"], ["avoid", "guaranteed"],
                                  ["avoid", "best employer"]]),
]


def set_rules(disclosure="#werkenbij", avoid="guaranteed\nbest employer\ncafé"):
    Setting.set_value("disclosure", disclosure)
    Setting.set_value("words_to_avoid", avoid)


@pytest.mark.parametrize("text,expected", TABLE)
def test_the_server_warns_as_the_table_says(text, expected):
    assert [list(w) for w in text_warnings(text, RULES)] == expected


def test_suggested_texts_carry_the_disclosure_before_the_hashtags_within_the_limit(app):
    with app.app_context():
        set_rules()
        item = make_item("Wind", caption="Proud of our wind farm", hashtags="#wind #energy",
                         captions={"x": ["x" * 245], "xing": ["Already #WERKENBIJ here"]})
        assert post_texts(item, "linkedin") == ["Proud of our wind farm #werkenbij #wind #energy"]
        # X: room for the disclosure (11 characters) but no more; it goes first.
        [x_text] = post_texts(item, "x")
        assert x_text == "x" * 245 + " #werkenbij" and caption_length("x", x_text) <= NETWORKS["x"]["limit"]
        assert post_texts(item, "xing") == ["Already #WERKENBIJ here #wind #energy"]  # not added twice
        long = make_item("Long", caption="y" * 270)
        assert post_texts(long, "x") == ["y" * 270]  # no room: the text stays within the limit


def test_a_shared_text_without_the_disclosure_is_warned_about_and_still_shared(client, emma):
    set_rules()
    make_item("Wind farm opens", caption="Proud of our wind farm")
    page = client.get("/").get_data(as_text=True)
    assert "Your text leaves out #werkenbij" not in page  # the suggestion carries it
    links = share_links(page)

    response = client.get(links["linkedin"], query_string={"text": "A guaranteed success"},
                          headers={"User-Agent": BROWSER})
    assert response.status_code == 303 and "linkedin.com" in response.headers["Location"]
    assert ShareEvent.select().count() == 1
    page = client.get("/").get_data(as_text=True)
    assert "Your text leaves out #werkenbij: keep it, so readers know you work here." in page
    assert "Your text uses “guaranteed”, one of the words to avoid." in htmllib.unescape(page)

    # Facebook's two steps show the warning beside the text to copy.
    response = client.get(links["facebook"], query_string={"text": "Best employer ever"},
                          headers={"User-Agent": BROWSER})
    body = htmllib.unescape(response.get_data(as_text=True))
    assert response.status_code == 200 and ShareEvent.select().count() == 2
    assert "Your text uses “best employer”, one of the words to avoid." in body
    assert 'href="/guidelines#words"' in body


def test_the_programme_lead_sets_the_disclosure_and_the_words(client):
    make_person("anouk", role="admin")
    login(client, "anouk")
    response = client.post("/admin/guidelines", data={"guidelines": "", "contact": "", "disclosure": "  #werkenbij ",
                                                      "avoid": "guaranteed\r\nbest   employer, Guaranteed\r\n"})
    assert response.status_code == 302
    assert text_rules() == ("#werkenbij", ("guaranteed", "best employer"))
    page = htmllib.unescape(client.get("/guidelines").get_data(as_text=True))
    assert "keep #werkenbij in your post" in page and "<q>best employer</q>" in page

    response = client.post("/admin/guidelines", data={"guidelines": "", "contact": "", "disclosure": "#" * 101,
                                                      "avoid": ""})
    assert response.status_code == 400 and "The disclosure is too long" in response.get_data(as_text=True)
    assert text_rules() == ("#werkenbij", ("guaranteed", "best employer"))


def test_the_browser_warns_as_the_server_does(make_app, chromium):
    from helpers.browser import serve, signed_in_page

    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base)) as (base, app):
        make_person("joris", display_name="Joris van Dijk")
        set_rules()
        item = make_item("Wind farm opens", caption="Proud of our wind farm")
        context, page, console = signed_in_page(chromium, base, "Joris van Dijk")

        computed = page.evaluate("([rows, d, a]) => rows.map(r => Ambassador.textWarnings(r[0], d, a))",
                                 [TABLE, RULES.disclosure, list(RULES.avoid)])
        assert computed == [expected for _, expected in TABLE]

        box = page.locator(f"#caption-{item.id}")
        warnings = page.locator(f"#caption-{item.id}-warnings")
        assert warnings.get_attribute("aria-live") == "polite"
        assert warnings.inner_text() == ""
        box.fill("Success guaranteed for everyone")
        assert warnings.inner_text().split("\n")[0] == (
            "Your text leaves out #werkenbij: keep it, so readers know you work here. "
            "Your text uses “guaranteed”, one of the words to avoid. See the guidelines")
        assert warnings.get_by_role("link", name="See the guidelines").get_attribute("href") == "/guidelines#words"
        box.fill("Proud #werkenbij")
        assert warnings.inner_text() == ""
        assert console.messages == []
        context.close()


def test_the_rules_reach_the_card_as_data(client, emma):
    set_rules()
    make_item("Wind farm opens")
    page = client.get("/").get_data(as_text=True)
    avoid = re.search(r'data-avoid="([^"]*)"', page).group(1)
    assert json.loads(htmllib.unescape(avoid)) == ["guaranteed", "best employer", "café"]
