"""One registry of labels (intranet_plugin.labels) and one slug rule
(content.slugs): change a label there and every page, the digest and the
dashboard show the change; items and campaigns get their slugs one way,
whichever path creates them."""

import re
from pathlib import Path

import digest
import intranet_plugin
import sso
from helpers import login, make_campaign, make_item, make_person
from helpers.pages import Page
from intranet_plugin import labels
from intranet_plugin.content import items
from intranet_plugin.content.slugs import slugify, unique_slug
from intranet_plugin.models import AuditLog, Campaign, Item, Setting, Suggestion


def test_a_label_changed_in_the_registry_changes_everywhere(mail_app, client, monkeypatch):
    monkeypatch.setitem(labels.KIND_LABELS, "vacancy", "Job opening")
    monkeypatch.setitem(labels.KIND_PLURAL_LABELS, "vacancy", "Job openings")
    monkeypatch.setitem(labels.STATE_LABELS, "published", "Live")
    monkeypatch.setitem(labels.NETWORK_LABELS, "linkedin", "LinkedIn (work)")
    make_person("anouk", role="admin")
    make_person("emma")
    campaign = make_campaign("offshore", name="Offshore")
    make_item("Data engineer", kind="vacancy", campaign=campaign)
    login(client, "anouk")

    share = client.get("/").get_data(as_text=True)
    assert '<span class="kind kind-vacancy">Job opening</span>' in share
    assert ">Job openings</a>" in share  # the tab
    assert ">LinkedIn (work)</a>" in share and "LinkedIn (work): <b>" in share
    library = client.get("/editor/").get_data(as_text=True)
    assert '<span class="kind kind-vacancy">Job opening</span>' in library
    assert '<span class="status st-published">Live</span>' in library
    campaign_page = client.get("/campaigns/offshore").get_data(as_text=True)
    assert "Job opening" in campaign_page and ">Live</span>" in campaign_page
    assert ">Job openings</option>" in client.get("/admin/feeds/").get_data(as_text=True)
    assert "> LinkedIn (work)</label>" in client.get("/preferences").get_data(as_text=True)
    mail = client.get("/admin/digest/preview/message?user=emma").get_data(as_text=True)
    assert "Job opening" in mail and "LinkedIn (work)" in mail


def test_dutch_labels_come_from_the_same_registry(client):
    make_person("emma", locale="nl")
    make_item("Data engineer", kind="vacancy")
    login(client, "emma")
    page = client.get("/").get_data(as_text=True)
    assert '<span class="kind kind-vacancy">Vacature</span>' in page and ">Vacatures</a>" in page


def test_slugs():
    assert slugify("Café Noordzee: 1e stroom!") == "cafe-noordzee-1e-stroom"
    assert slugify("¿¿¿") == "item" and slugify("", "campaign") == "campaign"
    assert len(slugify("word " * 40)) <= 60 and not slugify("word " * 40).endswith("-")


def test_every_way_of_creating_an_item_uses_the_one_slug_rule(app, client):
    make_person("joris", role="editor")
    emma = make_person("emma")
    login(client, "joris")
    assert unique_slug(Item, "Wind farm opens") == "wind-farm-opens"
    form = {"url": "https://www.example.com/1", "title": "Wind farm opens", "kind": "news", "language": "en",
            "status": "draft"}
    client.post("/editor/items/new", data=form)
    client.post("/editor/items/new", data={**form, "url": "https://www.example.com/2", "confirm_duplicate": "1"})
    suggestion = Suggestion.create(person=emma, url="https://www.example.com/3", title="Wind farm opens")
    client.post(f"/editor/suggestions/{suggestion.id}", data={
        "decision": "approve", "title": "Wind farm opens", "kind": "news", "summary": "", "caption": "",
        "hashtags": "", "review_note": ""})
    assert [i.slug for i in Item.select().order_by(Item.id)] == [
        "wind-farm-opens", "wind-farm-opens-2", "wind-farm-opens-3"]
    client.post("/campaigns/new", data={"name": "Offshore 2027", "slug": ""})
    client.post("/campaigns/new", data={"name": "Offshore 2027", "slug": ""})
    assert [c.slug for c in Campaign.select().order_by(Campaign.id)] == ["offshore-2027", "offshore-2027-2"]
    assert re.fullmatch(r"[a-z0-9-]+", "".join(i.slug for i in Item.select()))


# Where the code names an audit action: AuditLog.record(actor, "action", …),
# content.editing.audit("action", …) and its conditional forms.
AUDIT_CALLS = [re.compile(r'AuditLog\.record\(\s*[^,()]+(?:\([^()]*\))?,\s*"([\w-]+)"'),
               re.compile(r'\baudit\(\s*"([\w-]+)"'),
               re.compile(r'\baudit\(\s*"[\w-]+" if [\w.]+ else "([\w-]+)"'),
               re.compile(r'\baction = "([\w-]+)" if .+ else "([\w-]+)"')]


def recorded_audit_actions():
    found = set(items.EFFECTS)  # content.items.perform records its action by name
    for package in (intranet_plugin, digest, sso):
        for path in Path(package.__file__).parent.rglob("*.py"):
            text = path.read_text()
            for pattern in AUDIT_CALLS:
                for match in pattern.findall(text):
                    found.update([match] if isinstance(match, str) else match)
    return found


def test_every_audit_action_has_a_label():
    recorded = recorded_audit_actions()
    assert {"update", "import", "erase", "share-now", "publish", "schedule", "change", "draw"} <= recorded
    assert recorded - set(labels.AUDIT_LABELS) == set()


def test_the_audit_log_shows_words_not_codes(app, client):
    anouk = make_person("anouk", role="admin")
    emma = make_person("emma")
    AuditLog.record(anouk, "update", Setting.create(key="guidelines_markdown.nl", value="x"), summary="guidelines")
    AuditLog.record(emma, "unsubscribe", emma, summary="digest")
    AuditLog.record(emma, "erase", emma, summary="")
    login(client, "anouk")
    [table] = Page(client.get("/editor/audit").get_data(as_text=True)).tables
    rows = [(row["What"], row["Of"]) for row in table["rows"]]
    assert ("Data deleted", "person") in rows
    assert ("Unsubscribed", "the weekly digest person") in rows
    assert ("Updated", "Guidelines setting") in rows
