"""The share page, its fragments, the share action and the widget."""

import datetime
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from helpers import BROWSER, login, make_campaign, make_item, make_person
from intranet_plugin.content.sharing import caption_length, share_token
from intranet_plugin.models import Item, ShareEvent, TrackedLink, utcnow


def titles(html):
    return re.findall(r'<h2><a [^>]*>([^<]+)</a></h2>', html)


def share_links(html):
    return dict(re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', html))


def test_share_page_requires_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_published_unexpired_items_pinned_first_then_newest(client, emma):
    now = utcnow()
    make_item("Old news", publish_at=now - datetime.timedelta(days=5))
    make_item("Newest news", publish_at=now - datetime.timedelta(hours=1))
    make_item("Pinned older", pinned=True, publish_at=now - datetime.timedelta(days=9))
    make_item("Scheduled", publish_at=now + datetime.timedelta(hours=2))
    make_item("Expired vacancy", kind="vacancy", expires_at=now - datetime.timedelta(minutes=1))
    make_item("Draft", status="draft")
    make_item("Archived", status="archived")
    html = client.get("/").get_data(as_text=True)
    assert titles(html) == ["Pinned older", "Newest news", "Old news"]


def test_tabs_filter_by_kind(client, emma):
    make_item("A news item", kind="news")
    make_item("A vacancy", kind="vacancy")
    make_item("A blog post", kind="blog")
    assert titles(client.get("/?kind=vacancy").get_data(as_text=True)) == ["A vacancy"]
    assert titles(client.get("/?kind=blog").get_data(as_text=True)) == ["A blog post"]
    assert len(titles(client.get("/?kind=nonsense").get_data(as_text=True))) == 3


def test_search_matches_title_summary_and_hashtags(client, emma):
    make_item("Wind farm opens", summary="Big day", hashtags="#energy")
    make_item("Graduate programme", summary="Start your career in wind", hashtags="")
    make_item("Canteen menu", summary="Soup", hashtags="#WerkenBij")
    assert titles(client.get("/?q=wind").get_data(as_text=True)) == ["Graduate programme", "Wind farm opens"]
    assert titles(client.get("/?q=werkenbij").get_data(as_text=True)) == ["Canteen menu"]
    # LIKE wildcards in the search are literal characters
    assert titles(client.get("/?q=%25").get_data(as_text=True)) == []
    assert "Nothing matches" in client.get("/?q=zzz").get_data(as_text=True)


def test_campaign_filter(client, emma):
    spring = make_campaign("spring", name="Spring hiring")
    make_item("In campaign", campaign=spring)
    make_item("Not in campaign")
    assert titles(client.get("/?campaign=spring").get_data(as_text=True)) == ["In campaign"]


def test_live_search_returns_only_the_results_fragment(client, emma):
    make_item("Wind farm opens")
    response = client.get("/?q=wind", headers={"HX-Request": "true", "HX-Target": "results"})
    html = response.get_data(as_text=True)
    assert "<html" not in html and "Wind farm opens" in html
    assert "HX-Request" in response.headers["Vary"]


def test_paging_without_reload(make_app):
    app = make_app(PAGE_SIZE=2)
    with app.app_context():
        make_person("emma")
        now = utcnow()
        for n in range(5):
            make_item(f"Item {n}", publish_at=now - datetime.timedelta(hours=n))
        client = app.test_client()
        login(client, "emma")
        first = client.get("/").get_data(as_text=True)
        assert titles(first) == ["Item 0", "Item 1"]
        assert 'id="more-2"' in first
        more = client.get("/?page=2", headers={"HX-Request": "true", "HX-Target": "more-2"}).get_data(as_text=True)
        assert "<html" not in more and titles(more) == ["Item 2", "Item 3"] and 'id="more-3"' in more
        last = client.get("/?page=3", headers={"HX-Request": "true", "HX-Target": "more-3"}).get_data(as_text=True)
        assert titles(last) == ["Item 4"] and "more-4" not in last
        # without JavaScript, the same URL is a whole page
        assert "<html" in client.get("/?page=2").get_data(as_text=True)


def test_card_shows_share_buttons_for_every_network(client, emma):
    make_item("Wind farm opens", hashtags="wind #energy", image_url="https://www.example.com/a.jpg")
    html = client.get("/").get_data(as_text=True)
    assert set(share_links(html)) == {"linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon",
                                      "telegram", "whatsapp", "email", "link", "device"}
    assert "#wind" in html and "#energy" in html
    assert 'src="https://www.example.com/a.jpg"' in html


def test_titles_and_captions_are_escaped(client, emma):
    make_item('<script>alert("t")</script>', summary="<img src=x onerror=alert(1)>",
              caption="</textarea><script>alert(2)</script>")
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_share_on_linkedin_records_and_opens_the_share_dialog(client, emma):
    item = make_item("Wind farm opens")
    href = share_links(client.get("/").get_data(as_text=True))["linkedin"]
    response = client.get(href, headers={"User-Agent": BROWSER})
    assert response.status_code == 303
    dialog = urlsplit(response.headers["Location"])
    assert dialog.netloc == "www.linkedin.com" and dialog.path == "/feed/"
    link = TrackedLink.get()
    # The composer opens with the suggested text and the tracked link in it.
    assert parse_qs(dialog.query) == {"shareActive": ["true"], "text": [
        f"Look at this: Wind farm opens\n\nhttps://go.example.com/s/{link.code}"]}
    share = ShareEvent.get()
    assert (share.person_id, share.item_id, share.network, share.source) == (emma.id, item.id, "linkedin", "web")
    # the card now says so
    card = client.get(f"/items/{item.id}/card").get_data(as_text=True)
    assert "You shared this" in card


def test_one_link_per_person_item_and_network(client, emma):
    make_item("Wind farm opens")
    links = share_links(client.get("/").get_data(as_text=True))
    for _ in range(3):
        client.get(links["x"])
    client.get(links["linkedin"])
    assert TrackedLink.select().count() == 2
    assert ShareEvent.select().count() == 2  # a token records once
    codes = [link.code for link in TrackedLink.select()]
    assert len(set(codes)) == 2 and all(re.fullmatch(r"[A-Za-z0-9_-]{12}", c) for c in codes)


@pytest.mark.parametrize("network,host", [("x", "x.com"), ("whatsapp", "wa.me"), ("email", "")])
def test_networks_that_take_text_get_the_caption(client, emma, network, host):
    make_item("Wind farm opens", caption="Proud of this!", hashtags="#wind")
    href = share_links(client.get("/").get_data(as_text=True))[network]
    location = client.get(href).headers["Location"]
    assert urlsplit(location).netloc == host
    assert "Proud of this!" in unquote(location)


def test_edited_caption_is_used_verbatim(client, emma):
    make_item("Wind farm opens", caption="Suggested", hashtags="#wind")
    href = share_links(client.get("/").get_data(as_text=True))["x"]
    location = client.get(href + "?text=My+own+words").headers["Location"]
    text = parse_qs(urlsplit(location).query)["text"][0]
    assert text == "My own words"


def test_copy_link_gives_the_personal_link(client, emma):
    make_item("Wind farm opens")
    href = share_links(client.get("/").get_data(as_text=True))["link"]
    link_text = client.get(href, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert re.fullmatch(r"https://go\.example\.com/s/[A-Za-z0-9_-]{12}", link_text)
    page = client.get(href).get_data(as_text=True)  # without JavaScript: a page to copy from
    assert link_text in page
    assert ShareEvent.select().where(ShareEvent.network == "link").count() == 1  # a token records once


def test_tampered_token_records_nothing(client, emma):
    make_item("Wind farm opens")
    href = share_links(client.get("/").get_data(as_text=True))["linkedin"]
    tampered = href[:-3] + ("AAA" if not href.endswith("AAA") else "BBB")
    response = client.get(tampered)
    assert response.status_code == 400
    assert "invalid or has expired" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0 and TrackedLink.select().count() == 0


def test_someone_elses_token_records_nothing(app, client, emma):
    item = make_item("Wind farm opens")
    other = make_person("joris")
    with app.test_request_context():
        token = share_token(other.id, item.id, "linkedin")
    response = client.get(f"/share/{token}")
    assert response.status_code == 400
    assert "belongs to someone else" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0


def test_expired_token_records_nothing(app, client, emma, monkeypatch):
    item = make_item("Wind farm opens")
    with app.test_request_context():
        token = share_token(emma.id, item.id, "linkedin")
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 8 * 24 * 3600)
    assert client.get(f"/share/{token}").status_code == 400
    assert ShareEvent.select().count() == 0


def test_item_no_longer_shareable(client, emma):
    item = make_item("Wind farm opens")
    href = share_links(client.get("/").get_data(as_text=True))["linkedin"]
    Item.update(status="archived").where(Item.id == item.id).execute()
    assert client.get(href).status_code == 410
    assert ShareEvent.select().count() == 0


def test_head_on_share_link_records_nothing(client, emma):
    make_item("Wind farm opens")
    href = share_links(client.get("/").get_data(as_text=True))["linkedin"]
    assert client.head(href).status_code == 204
    assert ShareEvent.select().count() == 0


def test_character_count_counts_x_links_as_23():
    assert caption_length("x", "") == 23
    assert caption_length("x", "Hello") == 5 + 1 + 23
    assert caption_length("linkedin", "Hello") == 5


def test_counter_is_rendered_and_flags_over_limit(client, emma):
    make_item("Long one", caption="x" * 270)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'data-counter="x" data-limit="280" class="over">X: <b>294</b>/280', html)


def test_widget_lists_latest_items_as_a_fragment(client, emma):
    for n in range(7):
        make_item(f"Item {n}", publish_at=utcnow() - datetime.timedelta(hours=n))
    html = client.get("/widget/latest").get_data(as_text=True)
    assert "<html" not in html
    assert re.findall(r"Item \d", html) == [f"Item {n}" for n in range(5)]


def test_language_from_browser_and_from_setting(client, emma):
    make_item("Wind farm opens")
    dutch = client.get("/", headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="nl">' in dutch and "Vacatures" in dutch
    client.post("/language", data={"language": "en"})
    english = client.get("/", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Vacancies" in english
