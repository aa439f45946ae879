"""What you see is what you share: the text each network receives
(content.sharing.post_texts), shown on the card and sent by the share
action; X refused over its limit; the two steps for networks whose post
opens empty; the share page's filters and its status region."""

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import BROWSER, login, make_campaign, make_item, make_person
from helpers.pages import share_links
from intranet_plugin.content.sharing import NETWORKS, post_text, post_texts
from intranet_plugin.models import ShareEvent, utcnow


def boxes(html):
    """Each text box of the cards: (its networks' buttons, its text)."""
    found = []
    for post in re.findall(r'<div class="post" data-post>(.*?)</div>\s*</div>', html, re.S):
        text = htmllib.unescape(re.search(r"<textarea[^>]*>(.*?)</textarea>", post, re.S).group(1))
        found.append((re.findall(r'data-share-network="(\w+)"', post), text))
    return found


def several_texts():
    return make_item("Wind farm opens", caption="Proud of our wind farm", hashtags="#wind energy",
                     captions={"linkedin": ["LinkedIn one", "LinkedIn two #Wind"], "x": ["Short for X"]})


def test_each_network_gets_its_own_text_with_the_hashtags(app):
    item = several_texts()
    assert post_texts(item, "linkedin") == ["LinkedIn one #wind #energy", "LinkedIn two #Wind #energy"]
    assert post_texts(item, "x") == ["Short for X #wind #energy"]
    assert post_texts(item, "facebook") == post_texts(item, "email") == ["Proud of our wind farm #wind #energy"]
    # The person's own text is sent as written, hashtags or not.
    assert post_text(item, "xing", "  My words\n") == "My words"


def test_hashtags_only_where_x_has_room(app):
    item = make_item("Long", caption="w" * 250, hashtags="#windenergy #a")
    # 250 + 1 + 23 = 274: "#windenergy" would make 286, "#a" makes 277.
    assert post_texts(item, "x") == ["w" * 250 + " #a"]
    assert post_texts(item, "linkedin") == ["w" * 250 + " #windenergy #a"]


def test_the_card_shows_each_text_above_its_networks_buttons(client, emma):
    several_texts()
    html = client.get("/").get_data(as_text=True)
    assert boxes(html) == [
        (["linkedin"], "LinkedIn one #wind #energy"),
        (["x"], "Short for X #wind #energy"),
        (["facebook", "xing", "bluesky", "threads", "mastodon", "telegram", "whatsapp", "email"],
         "Proud of our wind farm #wind #energy"),
    ]
    # The editor's second LinkedIn text is one choice away.
    assert re.search(r'<option value="LinkedIn two #Wind #energy">Suggestion 2 of 2</option>', html)


@pytest.mark.parametrize("network,field,expected", [
    ("x", "text", "Short for X #wind #energy"),
    ("linkedin", "text", "LinkedIn one #wind #energy\n\n{link}"),
    ("whatsapp", "text", "Proud of our wind farm #wind #energy\n{link}"),
    ("email", "body", "Proud of our wind farm #wind #energy\n\n{link}"),
])
def test_the_share_action_sends_the_text_the_card_shows(client, emma, network, field, expected):
    several_texts()
    href = share_links(client.get("/").get_data(as_text=True))[network]
    location = client.get(href, headers={"User-Agent": BROWSER}).headers["Location"]
    link = re.search(r"https://go\.example\.com/s/[\w-]+", parse_qs(urlsplit(location).query)[field][0])
    sent = parse_qs(urlsplit(location).query)[field][0]
    assert sent == expected.format(link=link.group(0) if link else "")


def test_x_refuses_a_text_over_its_limit_and_records_nothing(client, emma):
    make_item("Wind farm opens", hashtags="#wind")
    html = client.get("/").get_data(as_text=True)
    href = share_links(html)["x"]
    response = client.get(href, query_string={"text": "w" * 300}, headers={"User-Agent": BROWSER})
    assert response.status_code == 400
    assert "This text is too long for X: 324 characters, at most 280 allowed." in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0
    # At the limit it goes.
    response = client.get(href, query_string={"text": "w" * 256}, headers={"User-Agent": BROWSER})
    assert response.status_code == 303 and ShareEvent.select().count() == 1


def test_a_suggestion_too_long_for_x_shows_a_refused_button(client, emma):
    make_item("Long", caption="w" * 270)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-share-network="x"[^>]*aria-disabled="true"', html)
    assert "Too long for X: 294 of 280 characters. Shorten the text to share it there." in html
    assert not re.search(r'data-share-network="linkedin"[^>]*aria-disabled', html)


@pytest.mark.parametrize("network,host", [("facebook", "www.facebook.com"), ("xing", "www.xing.com")])
def test_networks_without_text_get_the_two_steps_first(client, emma, network, host):
    assert not NETWORKS[network]["takes_text"]
    several_texts()
    href = share_links(client.get("/").get_data(as_text=True))[network]
    response = client.get(href, query_string={"via": None}, headers={"User-Agent": BROWSER})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and ShareEvent.select().count() == 1
    assert re.search(r'<textarea id="paste-text"[^>]*>Proud of our wind farm #wind #energy</textarea>', page)
    assert "Paste it with Ctrl+V (on a phone: long-press, then Paste) in the post that opens." in page
    opens = htmllib.unescape(re.search(r'<a class="button" href="([^"]+)"[^>]*data-open-after-copy', page).group(1))
    assert urlsplit(opens).netloc == host
    # The card's script copied the text already: straight to the network.
    response = client.get(href, query_string={"copied": "1", "text": "Mine"}, headers={"User-Agent": BROWSER})
    assert response.status_code == 303 and urlsplit(response.headers["Location"]).netloc == host


def test_people_who_have_not_joined_read_the_text(client):
    make_person("noor", joined_at=None)
    login(client, "noor")
    make_item("Wind farm opens", caption="Proud", hashtags="#wind")
    html = client.get("/").get_data(as_text=True)
    assert "<textarea" not in html and 'data-share-network="' not in html
    assert '<p class="post-text">Proud #wind</p>' in html
    assert "Join to share" in html


def test_the_campaign_filter_lists_campaigns_with_something_to_share(client, emma):
    import datetime

    now = utcnow()
    make_item("Live", campaign=make_campaign("spring", name="Spring hiring"))
    make_item("Later", campaign=make_campaign("autumn", name="Autumn fair"),
              publish_at=now + datetime.timedelta(days=3))
    make_campaign("empty", name="Empty one")
    html = client.get("/").get_data(as_text=True)
    choices = re.search(r'<select id="campaign".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="(\w*)"', choices) == ["", "spring"]


def test_a_live_search_keeps_the_tabs_in_step_and_announces_a_count(client, emma):
    make_item("Wind farm opens")
    make_item("Windy days", kind="blog")
    response = client.get("/?q=wind&campaign=", headers={"HX-Request": "true", "HX-Target": "results"})
    html = response.get_data(as_text=True)
    tabs = re.search(r'<nav class="tabs" id="tabs"[^>]*hx-swap-oob="true">(.*?)</nav>', html, re.S).group(1)
    assert re.findall(r'href="([^"]+)"', tabs) == ["/?q=wind", "/?kind=news&amp;q=wind",
                                                   "/?kind=vacancy&amp;q=wind", "/?kind=blog&amp;q=wind"]
    assert re.search(r'<p id="results-status" [^>]*role="status" hx-swap-oob="true">2 items found.</p>', html)
    page = client.get("/").get_data(as_text=True)
    assert 'aria-live' not in re.search(r'<div id="results"[^>]*>', page).group(0)
