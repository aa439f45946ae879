"""Bluesky, Threads, Mastodon and Telegram: their buttons, the URL each
receives (the text shown and the person's own tracked link), Mastodon's
server from the preferences, their counters, their utm_source, their cost
per click and their row in the figures; and the phone's share sheet as a
source of its own."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from helpers import BROWSER, login, make_item, make_person
from intranet_plugin import analytics
from intranet_plugin.content.sharing import caption_length, mastodon_host
from intranet_plugin.models import Person, ShareEvent, TrackedLink

NEW = ("bluesky", "threads", "mastodon", "telegram")


def share_links(html):
    return dict(re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', html))


@pytest.fixture
def emma(client):
    person = make_person("emma", mastodon_server="social.example.org")
    login(client, "emma")
    return person


def tracked(location_text):
    """The tracked link inside a text, and the link's row."""
    url = re.search(r"https://go\.example\.com/s/([A-Za-z0-9_-]{12})", location_text)
    return url.group(0), TrackedLink.get(code=url.group(1))


@pytest.mark.parametrize("network,host,path,text_key", [
    ("bluesky", "bsky.app", "/intent/compose", "text"),
    ("threads", "www.threads.com", "/intent/post", "text"),
    ("mastodon", "social.example.org", "/share", "text"),
    ("telegram", "t.me", "/share/url", "text"),
])
def test_each_new_network_receives_the_text_and_its_own_tracked_link(client, emma, network, host, path, text_key):
    make_item("Wind farm opens", caption="Proud of this!", hashtags="#wind")
    href = share_links(client.get("/").get_data(as_text=True))[network]
    response = client.get(href)
    assert response.status_code == 303
    parts = urlsplit(response.headers["Location"])
    assert (parts.scheme, parts.netloc, parts.path) == ("https", host, path)
    query = parse_qs(parts.query)
    assert query[text_key][0].startswith("Proud of this! #wind")
    url, link = tracked(" ".join(v[0] for v in query.values()))
    assert (link.person_id, link.network) == (emma.id, network)
    assert ShareEvent.get().network == network
    # The link leads to the item with the network as utm_source.
    location = client.get(urlsplit(url).path, headers={"User-Agent": BROWSER}).headers["Location"]
    assert parse_qs(urlsplit(location).query)["utm_source"] == [network]


def test_mastodon_without_a_server_asks_for_it(client):
    make_person("emma")
    login(client, "emma")
    make_item("Wind farm opens")
    html = client.get("/").get_data(as_text=True)
    assert share_links(html)["mastodon"] == "/preferences#mastodon"
    assert "Mastodon: give your server" in html
    # A button of an older page (or the digest) refuses, and records nothing.
    from intranet_plugin.content.sharing import share_token
    with client.application.test_request_context():
        token = share_token(Person.get().id, 1, "mastodon")
    response = client.get(f"/share/{token}")
    assert response.status_code == 409
    assert "Mastodon needs your server first" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0


@pytest.mark.parametrize("typed,stored", [
    ("mastodon.social", "mastodon.social"),
    ("  Social.Example.ORG. ", "social.example.org"),
    ("fosstodon.org", "fosstodon.org"),
])
def test_the_preferences_keep_a_mastodon_server(client, typed, stored):
    make_person("emma")
    login(client, "emma")
    form = {"networks": ["linkedin", "mastodon"], "kinds": ["news"], "digest": "weekly", "language": "en",
            "mastodon_server": typed}
    assert client.post("/preferences", data=form).status_code == 302
    assert Person.get().mastodon_server == stored
    assert f'value="{stored}"' in client.get("/preferences").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["https://mastodon.social", "mastodon.social/@emma", "@emma@mastodon.social",
                                   "mastodon.social:443", "localhost", "10.0.0.1", "-bad-.example", "a b.org",
                                   "x" * 64 + ".org", "javascript:alert(1)"])
def test_anything_but_a_host_name_is_refused(client, typed):
    make_person("emma", mastodon_server="mastodon.social")
    login(client, "emma")
    form = {"networks": ["mastodon"], "kinds": ["news"], "digest": "weekly", "language": "en",
            "mastodon_server": typed}
    response = client.post("/preferences", data=form)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "name only, such as mastodon.social (no https://, no @ or path)." in html
    assert 'aria-invalid="true"' in html
    assert Person.get().mastodon_server == "mastodon.social"
    assert mastodon_host(typed) is None


def test_bluesky_counts_graphemes_and_mastodon_links_as_23():
    family = "\U0001F469\u200d\U0001F469\u200d\U0001F467"  # one grapheme of five code points
    assert caption_length("bluesky", family) == 1 + 1 + 30
    assert caption_length("threads", family) == 5
    assert caption_length("mastodon", "see https://www.example.com/" + "a" * 80) == 4 + 23 + 1 + 23


def test_the_counters_show_each_networks_limit(client, emma):
    make_item("Wind farm opens", caption="Hi")
    html = client.get("/").get_data(as_text=True)
    counters = dict(re.findall(r'data-counter="(\w+)" data-limit="(\d+)"', html))
    assert {n: counters[n] for n in ("bluesky", "threads", "mastodon")} == {
        "bluesky": "300", "threads": "500", "mastodon": "500"}
    assert "Bluesky: <b>33</b>/300" in html  # "Hi", a space, the link


def test_each_network_has_its_row_and_cost_in_the_figures(make_app):
    app = make_app(COST_PER_CLICK="bluesky=0.80 qr=1.50")
    with app.app_context():
        emma, item = make_person("emma"), make_item("Wind farm opens")
        client = app.test_client()
        for network in (*NEW, "device", "qr"):
            code = TrackedLink.for_share(emma, item, network).code
            assert client.get(f"/s/{code}", headers={"User-Agent": BROWSER}).status_code == 302
        rows = {r["network"]: r for r in analytics.by_network(analytics.all_time(), person_id=emma.id)}
        assert {n: rows[n]["clicks"] for n in (*NEW, "device", "qr")} == dict.fromkeys((*NEW, "device", "qr"), 1)
        assert rows["bluesky"]["cost_per_click"] == 0.8 and rows["qr"]["emv"] == 1.5
        assert rows["threads"]["cost_per_click"] == 1.0
