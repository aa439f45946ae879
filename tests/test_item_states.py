"""The item state machine (content.items): what an item is now, which one
rule the share page and the editor share; every editor action either done
with a true message or refused with the reason (409) and nothing changed;
"share now" only for a published, unexpired item, after a confirmation."""

import datetime
import itertools
import re

import pytest

from helpers import login, make_item, make_person
from intranet_plugin import models
from intranet_plugin.content import items
from intranet_plugin.models import ITEM_STATES, AuditLog, Item

NOW = datetime.datetime(2026, 3, 10, 9, 0)
HOUR = datetime.timedelta(hours=1)
# (publish_at, expires_at) around NOW
TIMINGS = {"public": (NOW - HOUR, None), "until later": (NOW - HOUR, NOW + HOUR),
           "expired": (NOW - 2 * HOUR, NOW - HOUR), "scheduled": (NOW + HOUR, NOW + 2 * HOUR)}
CASES = list(itertools.product(models.STATUSES, TIMINGS, (False, True)))


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(models, "utcnow", lambda: NOW)


@pytest.fixture
def joris(app, client, clock):
    make_person("joris", role="editor")
    make_person("emma")
    login(client, "joris")
    return client


def case_item(status, timing, pinned, title="Wind farm opens"):
    publish_at, expires_at = TIMINGS[timing]
    return make_item(title, status=status, publish_at=publish_at, expires_at=expires_at, pinned=pinned)


def row_of(item):
    return {f: getattr(Item.get_by_id(item.id), f) for f in ("status", "publish_at", "expires_at", "pinned")}


def share_page_titles(app):
    other = app.test_client()
    login(other, "emma")
    return re.findall(r'<h2><a [^>]*>([^<]+)</a></h2>', other.get("/").get_data(as_text=True))


def flashes(client, path="/editor/"):
    return re.findall(r'class="flash[^"]*" role="status">([^<]+)<', client.get(path).get_data(as_text=True))


def badge(client, item):
    html = client.get(f"/editor/items/{item.id}").get_data(as_text=True)
    return re.search(r'<span class="status st-[a-z]+">([^<]+)</span>', html).group(1)


# -- the one rule of states ----------------------------------------------------------

def test_an_items_state_and_the_query_of_that_state_agree(app):
    made = {case: case_item(*case, title=" ".join(map(str, case))) for case in CASES}
    for state in ITEM_STATES:
        queried = {i.id for i in Item.select().where(Item.in_state(state, NOW))}
        assert queried == {i.id for i in made.values() if i.state(NOW) == state}, state
    assert {i.id for i in Item.shareable(NOW)} == {i.id for i in made.values() if i.state(NOW) == "published"}
    assert {made[(s, t, False)].state(NOW) for s in ("draft", "review", "archived") for t in TIMINGS} == {
        "draft", "review", "archived"}
    assert [made[("published", t, False)].state(NOW) for t in TIMINGS] == [
        "published", "published", "expired", "scheduled"]


# -- every action: offered exactly when it is accepted --------------------------------

@pytest.mark.parametrize("action", items.ACTIONS)
def test_every_action_is_offered_exactly_when_it_is_accepted(app, joris, action):
    for status, timing, pinned in CASES:
        item = case_item(status, timing, pinned)
        html = joris.get(f"/editor/items/{item.id}").get_data(as_text=True)
        offered = f'/editor/items/{item.id}/{action}"' in html
        before, audits = row_of(item), AuditLog.select().count()

        response = joris.post(f"/editor/items/{item.id}/{action}", data={"next": "/editor/"})

        case = (status, timing, pinned)
        if offered:
            assert response.status_code == 302, case
            assert row_of(item) != before and AuditLog.select().count() == audits + 1, case
        else:
            assert response.status_code == 409, case
            page = response.get_data(as_text=True)
            assert "Not done" in page and "Wind farm opens" in page and 'href="/editor/"' in page, case
            assert row_of(item) == before and AuditLog.select().count() == audits, case
        item.delete_instance()


# -- what the editor is told is true ------------------------------------------------------

def test_expire_archive_restore_publish_says_what_is_true(app, joris):
    item = make_item("Wind farm opens", publish_at=NOW - HOUR)
    post = lambda action: joris.post(f"/editor/items/{item.id}/{action}", data={"next": "/editor/"})  # noqa: E731

    assert post("expire").status_code == 302
    assert flashes(joris) == ["Expired: “Wind farm opens” has left the share page."]
    assert badge(joris, item) == "Expired" and share_page_titles(app) == []
    post("archive")
    assert flashes(joris) == ["Archived: “Wind farm opens”."]
    post("restore")
    # the expiry that had passed is gone, so the item can go out again
    assert flashes(joris) == ["Restored as a draft: “Wind farm opens”. Its expiry had passed and is cleared."]
    assert row_of(item)["status"] == "draft" and row_of(item)["expires_at"] is None
    assert post("publish").status_code == 302
    assert flashes(joris) == ["Published: “Wind farm opens” is on the share page now."]
    assert badge(joris, item) == "Published"
    assert share_page_titles(app) == ["Wind farm opens"]
    changes = [(e.action, e.detail["changed"]) for e in AuditLog.select().order_by(AuditLog.id)]
    assert changes == [("expire", ["expires_at"]), ("archive", ["status"]),
                       ("restore", ["status", "expires_at"]), ("publish", ["status", "publish_at"])]


def test_a_restored_item_can_be_saved_as_published(app, joris):
    item = make_item("Wind farm opens", publish_at=NOW - 2 * HOUR, expires_at=NOW - HOUR, status="archived")
    joris.post(f"/editor/items/{item.id}/restore")
    page = joris.get(f"/editor/items/{item.id}").get_data(as_text=True)
    shown = {name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', page).group(1)
             for name in ("publish_at", "expires_at")}
    assert shown == {"publish_at": "", "expires_at": ""}
    # saved as the form shows it, now as published
    form = {"url": item.url, "title": item.title, "kind": "news", "language": "en", "caption": "Look",
            "status": "published", **shown}
    response = joris.post(f"/editor/items/{item.id}", data=form)
    assert response.status_code == 302
    assert Item.get_by_id(item.id).state(NOW) == "published"
    assert share_page_titles(app) == ["Wind farm opens"]


def test_a_draft_whose_expiry_passed_is_not_published(app, joris):
    item = make_item("Wind farm opens", status="draft", publish_at=NOW - 2 * HOUR, expires_at=NOW - HOUR)
    assert f"/editor/items/{item.id}/publish" not in joris.get(f"/editor/items/{item.id}").get_data(as_text=True)
    response = joris.post(f"/editor/items/{item.id}/publish")
    assert response.status_code == 409
    assert ("“Wind farm opens” cannot be published: its expiry has passed. Change or clear the expiry in the "
            "editor first.") in response.get_data(as_text=True)
    assert row_of(item)["status"] == "draft" and AuditLog.select().count() == 0
    assert share_page_titles(app) == []


@pytest.mark.parametrize("setup,action,reason", [
    ({}, "publish", "“Wind farm opens” is already on the share page."),
    ({"expires_at": NOW - HOUR, "publish_at": NOW - 2 * HOUR}, "publish",
     "“Wind farm opens” has expired. To share it again, give it a later expiry in the editor."),
    ({"status": "archived"}, "publish", "“Wind farm opens” is archived: restore it first."),
    ({"status": "draft"}, "expire",
     "“Wind farm opens” is not on the share page (Draft), so there is nothing to expire."),
    ({"publish_at": NOW + HOUR}, "expire",
     "“Wind farm opens” is not on the share page (Scheduled), so there is nothing to expire."),
    ({"pinned": True}, "pin", "“Wind farm opens” is already pinned."),
    ({"status": "archived"}, "pin", "“Wind farm opens” is archived: restore it first."),
    ({}, "unpin", "“Wind farm opens” is not pinned."),
    ({"status": "archived"}, "archive", "“Wind farm opens” is already archived."),
    ({}, "restore", "Only an archived item can be restored; “Wind farm opens” is not archived."),
])
def test_a_refusal_says_why_in_the_page_and_in_the_row(app, joris, setup, action, reason):
    item = make_item("Wind farm opens", **{"publish_at": NOW - HOUR, **setup})
    before = row_of(item)
    response = joris.post(f"/editor/items/{item.id}/{action}", data={"next": "/editor/?state=draft"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f'<p class="flash error" role="alert">{reason}</p>' in page
    assert 'href="/editor/?state=draft"' in page
    # htmx from the library: the row as it is, with the reason in it
    response = joris.post(f"/editor/items/{item.id}/{action}", data={"next": "/editor/"},
                          headers={"HX-Request": "true"})
    assert response.status_code == 409
    row = response.get_data(as_text=True)
    assert row.lstrip().startswith(f'<tr id="row-{item.id}"')
    assert f'<p class="refused" role="alert">{reason}</p>' in row
    assert row_of(item) == before and AuditLog.select().count() == 0


def test_pinning_what_is_not_on_the_share_page_says_so(app, joris):
    scheduled = make_item("Coming soon", publish_at=NOW + HOUR)
    joris.post(f"/editor/items/{scheduled.id}/pin")
    assert flashes(joris) == ["Pinned: “Coming soon” will show first while it is on the share page."]
    public = make_item("Out now", publish_at=NOW - HOUR)
    joris.post(f"/editor/items/{public.id}/pin")
    assert flashes(joris) == ["Pinned: “Out now” now shows first on the share page."]


# -- share now ---------------------------------------------------------------------------

@pytest.mark.parametrize("timing,status,offered", [
    ("public", "published", True), ("until later", "published", True), ("scheduled", "published", False),
    ("expired", "published", False), ("public", "draft", False), ("public", "review", False),
    ("public", "archived", False)])
def test_share_now_is_offered_and_accepted_only_for_a_published_unexpired_item(app, joris, timing, status, offered):
    item = case_item(status, timing, False)
    html = joris.get(f"/editor/items/{item.id}").get_data(as_text=True)
    assert (f"/editor/items/{item.id}/share-now" in html) is offered
    assert "Share now: send an instant alert" not in joris.get("/editor/").get_data(as_text=True)  # not in rows

    asked = joris.get(f"/editor/items/{item.id}/share-now")
    confirmed = joris.post(f"/editor/items/{item.id}/share-now", data={"confirm": "yes"})

    if offered:
        assert asked.status_code == 200 and "Send an instant alert?" in asked.get_data(as_text=True)
        assert confirmed.status_code == 303
        assert Item.get_by_id(item.id).share_now_at == NOW
        assert "goes out as an instant alert" in flashes(joris, f"/editor/items/{item.id}")[0]
        assert "/share-now" not in joris.get(f"/editor/items/{item.id}").get_data(as_text=True)
    else:
        reason = "Only a published, unexpired item can be sent as an instant alert."
        for response in (asked, confirmed):
            assert response.status_code == 409 and reason in response.get_data(as_text=True)
        assert Item.get_by_id(item.id).share_now_at is None
        assert AuditLog.select().count() == 0


def test_share_now_asks_before_it_sends(app, joris):
    item = make_item("Minister opens the wind farm", publish_at=NOW - HOUR)
    page = joris.get(f"/editor/items/{item.id}/share-now?next=/editor/items/{item.id}").get_data(as_text=True)
    assert "gets an e-mail about “Minister opens the wind farm” within minutes" in page
    assert 'name="confirm" value="yes"' in page and f'href="/editor/items/{item.id}">Cancel</a>' in page
    # a POST without the confirmation (an old form, a double click) only asks
    response = joris.post(f"/editor/items/{item.id}/share-now")
    assert response.status_code == 200 and "Send an instant alert?" in response.get_data(as_text=True)
    assert Item.get_by_id(item.id).share_now_at is None and AuditLog.select().count() == 0


# -- in the browser ------------------------------------------------------------------------

def test_a_refused_action_shows_its_reason_in_the_row(make_app, chromium):
    """The library was opened before someone else archived the item: its
    Pin button is refused, and the row shows why and what can be done."""
    from playwright.sync_api import expect

    from helpers.browser import serve, signed_in_page

    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base, WTF_CSRF_ENABLED=True)) as (base, app):
        make_person("joris", display_name="Joris van Dijk", role="editor")
        item = make_item("Wind farm opens")
        context, page, console = signed_in_page(chromium, base, "Joris van Dijk")
        page.goto("/editor/")
        Item.update(status="archived").where(Item.id == item.id).execute()

        row = page.locator(f"#row-{item.id}")
        row.get_by_role("button", name="Pin", exact=True).click()

        expect(row.get_by_role("alert")).to_have_text("“Wind farm opens” is archived: restore it first.")
        expect(row.locator(".status")).to_have_text("Archived")
        expect(row.get_by_role("button", name="Restore")).to_be_visible()
        assert not Item.get_by_id(item.id).pinned
        # the 409 is the answer the test expects; nothing else went wrong
        assert [m for m in console.messages if "409" not in m] == []
        context.close()
