"""Numbers that hold up against gaming: a press of a share button counts
once per person, item, network and day; a share token records once and a
preview's never; prize-draw entries and streaks come from clicks, draws
name their participants by a pseudonym of that draw; a cookie kept after
signing out marks no click as the sharer's own."""

import datetime
import html
import re
import time
from urllib.parse import urlsplit

import pytest

from helpers import BROWSER, impact_of, login, make_campaign, make_item, make_person, store_click
from intranet_plugin import analytics
from intranet_plugin.analytics import draws
from intranet_plugin.content.sharing import item_token, share_token
from intranet_plugin.models import Click, Person, ShareEvent, TrackedLink, utcnow


def share_links(page):
    return dict(re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', page))


def fresh_links(client):
    """The share buttons of a freshly loaded share page (new tokens)."""
    return share_links(client.get("/").get_data(as_text=True))


def shares_of(person):
    """Every place a person reads their share count: the analytics, the
    API and /me."""
    return impact_of(person)["shares"]


@pytest.fixture
def emma(client):
    person = make_person("emma")
    login(client, "emma")
    return person


def test_presses_on_one_item_and_network_count_once_a_day(client, emma, monkeypatch):
    item = make_item("Wind farm opens")
    for _ in range(3):  # three presses of LinkedIn, each from a freshly loaded page
        response = client.get(fresh_links(client)["linkedin"])
        assert response.status_code == 303 and "linkedin.com" in response.headers["Location"]
    assert shares_of(emma) == 1
    assert client.get("/api/v1/me/stats?period=all").json["totals"]["shares"] == 1
    # The repeats are kept as such, not as shares.
    assert [s.is_repeat for s in ShareEvent.select().order_by(ShareEvent.id)] == [False, True, True]

    client.get(fresh_links(client)["x"])  # another network is another share
    assert shares_of(emma) == 2
    assert [(r["network"], r["shares"]) for r in analytics.by_network(analytics.all_time(), emma.id)] \
        == [("linkedin", 1), ("x", 1)]
    assert analytics.by_item(analytics.all_time(), emma.id)[0]["shares"] == 2

    tomorrow = utcnow() + datetime.timedelta(days=1)
    monkeypatch.setattr("intranet_plugin.views.share.utcnow", lambda: tomorrow)
    client.get(fresh_links(client)["linkedin"])  # the next day counts again
    assert shares_of(emma) == 3
    assert item.id in Person.get_by_id(emma.id).shared_item_ids([item.id])


def test_repeated_copy_link_with_htmx_records_once(client, emma):
    make_item("Wind farm opens")
    href = fresh_links(client)["link"]
    answers = {client.get(href, headers={"HX-Request": "true"}).get_data(as_text=True) for _ in range(4)}
    [url] = answers  # the same personal link every time
    assert re.fullmatch(r"https://go\.example\.com/s/[A-Za-z0-9_-]{12}", url)
    assert ShareEvent.select().count() == 1 and shares_of(emma) == 1


def test_a_digest_token_replayed_opens_the_network_and_records_nothing(app):
    emma = make_person("emma")
    item = make_item("Wind farm opens")
    with app.test_request_context():
        token = share_token(emma.id, item.id, "linkedin", source="digest")
    locations = []
    for _ in range(3):  # anyone holding the mail, no sign-in needed
        response = app.test_client().get(f"/share/{token}", headers={"User-Agent": BROWSER})
        assert response.status_code == 303
        locations.append(response.headers["Location"])
    assert len(set(locations)) == 1 and urlsplit(locations[0]).netloc == "www.linkedin.com"
    [share] = ShareEvent.select()
    assert (share.source, share.is_repeat) == ("digest", False)
    assert shares_of(emma) == 1


def test_an_items_buttons_in_a_mail_share_one_token_and_each_records_once(app):
    """An e-mail signs one token per item; each button adds its network,
    records one share at most, and is no share token of another kind."""
    emma = make_person("emma")
    item = make_item("Wind farm opens")
    with app.test_request_context():
        token = item_token(emma.id, item.id, "digest")
    client = app_client(app)
    for network, host in (("linkedin", "www.linkedin.com"), ("x", "x.com"), ("linkedin", "www.linkedin.com")):
        response = client.get(f"/share/{token}/{network}")
        assert response.status_code == 303 and urlsplit(response.headers["Location"]).netloc == host
    assert sorted((s.network, s.source) for s in ShareEvent.select()) == [("linkedin", "digest"), ("x", "digest")]
    assert client.get(f"/share/{token}/myspace").status_code == 400  # no such network
    assert client.get(f"/share/{token}").status_code == 400  # without its network, no token at all
    assert ShareEvent.select().count() == 2


def test_each_source_has_its_own_lifetime(app, monkeypatch):
    emma = make_person("emma")
    item = make_item("Wind farm opens")
    with app.test_request_context():
        digest = share_token(emma.id, item.id, "linkedin", source="digest")
        alert = share_token(emma.id, item.id, "x", source="alert")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 10 * 24 * 3600)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    expired = client.get(f"/share/{alert}")  # an alert's buttons live a week
    assert expired.status_code == 400 and "invalid or has expired" in expired.get_data(as_text=True)
    assert client.get(f"/share/{digest}").status_code == 303  # a digest's two
    monkeypatch.setattr(time, "time", lambda: real() + 15 * 24 * 3600)
    with app.test_request_context():
        late = share_token(emma.id, item.id, "x", source="digest")
    monkeypatch.setattr(time, "time", lambda: real() + 30 * 24 * 3600)
    assert client.get(f"/share/{late}").status_code == 400
    assert [s.network for s in ShareEvent.select()] == ["linkedin"]


def test_digest_preview_buttons_say_so_and_record_nothing(mail_app, client):
    make_person("anouk", role="admin")
    emma = make_person("emma", display_name="Emma de Vries")
    make_item("Windpark open")
    login(client, "anouk")
    page = client.get("/admin/digest/preview?user=emma").get_data(as_text=True)
    assert "Preview: these buttons do not record shares." in page
    frame = client.get("/admin/digest/preview/message?user=emma").get_data(as_text=True)
    buttons = {n: html.unescape(u) for u, n in re.findall(r'<a href="([^"]+)" data-share-network="([a-z]+)"', frame)}
    assert "linkedin" in buttons
    for viewer in (client, app_client(mail_app)):  # the admin, or whoever saw the preview
        response = viewer.get(urlsplit(buttons["linkedin"]).path.removeprefix("/ambassador"))
        assert response.status_code == 403
        assert "from a digest preview" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0 and TrackedLink.select().count() == 0
    assert shares_of(emma) == 0


def app_client(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER
    return client


# -- prize draws and streaks come from clicks -----------------------------------------------

@pytest.fixture
def contest(app):
    """A running campaign: Emma's link brought a visitor, Bob pressed share
    three times and nobody followed his link."""
    with app.app_context():
        now = utcnow()
        spring = make_campaign("spring", starts_at=now - datetime.timedelta(days=5),
                               ends_at=now + datetime.timedelta(days=5))
        item = make_item("Windpark opens", campaign=spring)
        emma, bob, anna = make_person("emma"), make_person("bob"), make_person("anna", role="admin")
        for person in (emma, bob):
            for _ in range(3):
                ShareEvent.create(person=person, item=item, link=TrackedLink.for_share(person, item, "linkedin"),
                                  network="linkedin", day=now.date(), is_repeat=_ > 0)
        store_click(TrackedLink.get(person=emma), kind="human", visitor="a-reader")
        store_click(TrackedLink.get(person=bob), kind="crawler", visitor="linkedin-bot")
        store_click(TrackedLink.get(person=bob), kind="human", visitor="bob-himself", is_self=True)
        yield {"spring": spring, "item": item, "emma": emma, "bob": bob, "anna": anna}


def test_draw_entries_come_from_clicks_not_from_presses(app, contest):
    with app.app_context():
        spring, emma, bob = contest["spring"], contest["emma"], contest["bob"]
        assert analytics.campaign_participants(spring.id) == [emma.id]
        assert analytics.campaign_totals(spring.id)["sharers"] == 2  # both shared, one takes part
        store_click(TrackedLink.get(person=bob), kind="human", visitor="a-colleague")
        assert analytics.campaign_participants(spring.id) == sorted([emma.id, bob.id])
    client = app_client(app)
    login(client, "emma")
    board = client.get("/campaigns/spring/board").get_data(as_text=True)
    assert "pressing a share button alone does not enter the draw" in board
    assert "2 people take part so far." in board
    assert "Everyone who shared an item of this campaign in its period takes part" not in board


def test_draw_participants_have_a_pseudonym_of_each_draw(app, contest):
    store_click(TrackedLink.get(person=contest["bob"]), kind="human", visitor="a-colleague")
    with app.test_request_context():
        first = draws.draw(contest["spring"], 1, by=contest["anna"])
        second = draws.draw(contest["spring"], 1, by=contest["anna"])
        one, two = draws.published(first), draws.published(second)
        ids = {contest["emma"].id, contest["bob"].id}
        assert sorted(first.participants) == sorted(ids) and len(one) == 2
        for pid in ids:
            a, b = draws.pseudonym(first.seed, pid), draws.pseudonym(second.seed, pid)
            assert a in one and b in two and a != b and str(pid) not in (a, b)
        assert not set(one) & set(two)
        # Auditable: the published list and the seed give the published winners.
        import random

        [winner] = first.winners
        assert random.Random(first.seed).sample(one, 1) == [draws.pseudonym(first.seed, winner)]
    client = app_client(app)
    login(client, "emma")
    page = client.get("/campaigns/spring/draws").get_data(as_text=True)
    for published in (one, two):
        assert ", ".join(published) in re.sub(r"</?mark[^>]*>", "", page)
    listed = re.findall(r'<code class="ids">(.*?)</code>', page)
    assert listed and all(not re.search(rf"\b{pid}\b", re.sub(r"<[^>]+>", "", row)) for row in listed
                          for pid in ids)


def test_streak_comes_from_clicks(app, contest):
    emma, bob = contest["emma"], contest["bob"]
    today = utcnow().date()
    assert analytics.streak(emma.id, today) == 1
    assert analytics.streak(bob.id, today) == 0  # three presses, a bot and his own click
    client = app_client(app)
    login(client, "bob")
    assert "A streak starts in the first week your shares bring a visitor." in client.get("/me").get_data(
        as_text=True)


# -- the sharer's own clicks ----------------------------------------------------------------

def test_a_cookie_kept_after_signing_out_marks_no_click_as_own(app):
    emma = make_person("emma")
    link = TrackedLink.for_share(emma, make_item(), "linkedin")
    phone = app_client(app)
    login(phone, "emma")

    def follow(client):
        client.get(f"/s/{link.code}", environ_base={"REMOTE_ADDR": "198.51.100.9"})
        return Click.select().order_by(Click.id.desc()).first().is_self

    assert follow(phone) is True  # signed in: her own click
    stale = phone.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    laptop = app_client(app)
    login(laptop, "emma")
    assert laptop.post("/logout").status_code in (302, 303)  # signing out ends every session
    thief = app_client(app)
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stale)
    assert follow(thief) is False  # the old cookie is nobody's: a click that counts
    assert impact_of(emma)["clicks"] == 1
