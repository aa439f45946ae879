"""The programme dashboard: who sees what, hidden people, the period
selector, CSV, the earned-media-value calculator and the query count."""

import csv
import datetime
import io
import itertools
import re
from decimal import Decimal

import pytest

from helpers import count_queries, login, make_campaign, make_item, make_person, store_click
from helpers.pages import Page
from intranet_plugin import analytics
from intranet_plugin.analytics.dashboard import TABLES
from intranet_plugin.analytics.goals import earned_media_value, goal_target, measured_inputs
from intranet_plugin.content.audiences import set_audience
from intranet_plugin.models import Audience, Conversion, ShareEvent, TrackedLink, utcnow

_events = itertools.count()


def share(person, item, network, clicks=(), bots=0, own=0, at=None):
    """A share with clicks from the given visitors, bot hits and own clicks."""
    at = at or utcnow()
    link = TrackedLink.for_share(person, item, network)
    ShareEvent.create(person=person, item=item, link=link, network=network, day=at.date(), created_at=at)
    rows = [("human", v, False) for v in clicks] + [("crawler", "bot", False)] * bots + [("human", "me", True)] * own
    for kind, visitor, is_self in rows:
        store_click(link, at, kind, visitor, is_self)
    return link


@pytest.fixture
def programme(app):
    """Visible Victor and Hidden Hanna in Sales (with a third member), an
    editor and an admin; news and a vacancy in a campaign with a goal."""
    victor = make_person("victor", display_name="Visible Victor", department="Sales", show_on_leaderboard=True)
    hanna = make_person("hanna", display_name="Hidden Hanna", department="Sales", show_on_leaderboard=False)
    make_person("sam", display_name="Quiet Sam", department="Sales")
    make_person("edith", display_name="Editor Edith", role="editor", department="Marketing")
    make_person("anouk", display_name="Admin Anouk", role="admin", department="HR")
    make_person("eve", display_name="Employee Eve", department="HR")
    campaign = make_campaign("werken-bij", name="Werken bij", goal="10 applicants via colleagues",
                             starts_at=utcnow() - datetime.timedelta(days=3))
    news = make_item("=HYPERLINK(evil) windpark", kind="news")
    job = make_item("Engineer wanted", kind="vacancy", campaign=campaign)
    share(victor, news, "linkedin", clicks=["a", "a", "b"], bots=2, own=1)
    hanna_link = share(hanna, job, "x", clicks=["c", "d", "e", "f"], bots=1)
    share(hanna, news, "facebook", clicks=["g"])
    Conversion.create(link=hanna_link, kind="application", external_id="A1", at=utcnow())
    Conversion.create(link=hanna_link, kind="lead", external_id="L1", at=utcnow())
    return {"victor": victor, "hanna": hanna, "news": news, "job": job, "campaign": campaign}


def csv_table(response):
    assert response.status_code == 200, response.text
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_employees_may_not_see_it(client, programme):
    assert client.get("/admin/dashboard").status_code == 302  # signed out: to the login
    login(client, "eve")
    assert client.get("/admin/dashboard").status_code == 403
    assert client.get("/admin/dashboard/items.csv").status_code == 403


def test_admins_see_everything_with_the_analytics_figures(app, client, programme):
    login(client, "anouk")
    page = client.get("/admin/dashboard")
    assert page.status_code == 200
    text = page.text
    read = Page(text)
    headings = [heading.removesuffix(" CSV") for heading in read.headings]  # each table's CSV link
    for heading in ("Participation", "Applicants via colleagues", "Top items", "Top sharers", "By network",
                    "By kind of content", "Who opened the links", "Clicks per week", "Teams", "Campaigns",
                    "Earned media value calculator"):
        assert heading in headings, heading
    with app.app_context():  # the configured cost per click
        totals = analytics.programme_totals(analytics.this_month(analytics.today_utc()))
    assert (totals["clicks"], totals["visitors"], totals["bot_hits"], totals["applications"]) == (8, 7, 3, 1)
    shown = read.dl("Participation")
    assert (shown["clicks"], shown["visitors"], shown["shares"]) == (totals["clicks"], totals["visitors"],
                                                                     totals["shares"])
    assert "Visible Victor" in text
    assert "Hidden Hanna" not in text and "Hidden colleague" in text
    # The calculator starts at the measured value.
    assert 'data-emv="14.00"' in text and totals["emv"] == 14.0
    assert "1 of 10 applicants" in text  # the campaign against its goal


def test_editors_see_content_figures_only(client, programme):
    login(client, "edith")
    text = client.get("/admin/dashboard").text
    # The figures, after the filters (whose audience list names departments).
    text = text[text.index('id="dash-audience-hint"'):]
    for heading in ("Top items", "By network", "By kind of content", "Clicks per week", "Campaigns"):
        assert heading in text, heading
    for admin_only in ("Participation", "Top sharers", "Teams", "Earned media value calculator",
                       "Visible Victor", "Hidden Hanna", "Sales"):
        assert admin_only not in text, admin_only
    for table, role in TABLES.items():
        expected = 403 if role == "admin" else 200
        assert client.get(f"/admin/dashboard/{table}.csv").status_code == expected, table
    # The calculator is the admins'.
    response = client.get("/admin/dashboard?participants=1&posts=1&clicks_per_share=1&cost_per_click=1",
                          headers={"HX-Request": "true", "HX-Target": "emv-result"})
    assert "data-emv" not in response.text


def test_hidden_people_are_never_named_in_any_csv(client, programme):
    login(client, "anouk")
    for table in TABLES:
        for period in ("month", "all"):
            body = client.get(f"/admin/dashboard/{table}.csv?period={period}").get_data(as_text=True)
            assert "Hanna" not in body and "hanna" not in body, table
    sharers = csv_table(client.get("/admin/dashboard/sharers.csv"))
    assert sharers[0][:2] == ["rank", "name"]
    by_name = {row[1]: row for row in sharers[1:]}
    assert by_name["Visible Victor"][3:5] == ["2", "3"]  # points (unique visitors), clicks
    assert by_name["hidden"][2] == "" and by_name["hidden"][3] == "5"


def test_csv_tables_hold_the_page_figures(app, client, programme):
    login(client, "anouk")
    participation = dict(csv_table(client.get("/admin/dashboard/participation.csv"))[1:])
    with app.app_context():
        totals = analytics.programme_totals(analytics.this_month(analytics.today_utc()))
    assert participation["emv"] == str(totals["emv"]) == "14.0"
    assert participation["clicks"] == str(totals["clicks"]) == "8"
    assert participation["active_sharers"] == "2"
    networks = {row[0]: row for row in csv_table(client.get("/admin/dashboard/networks.csv"))[1:]}
    assert networks["linkedin"][2:7] == ["3", "2", "1", "2", "9.0"]  # clicks, visitors, self, bots, EUR
    content = {row[0]: row for row in csv_table(client.get("/admin/dashboard/content.csv"))[1:]}
    assert (content["vacancy"][3], content["news"][3], content["blog"][3]) == ("4", "4", "0")
    items = csv_table(client.get("/admin/dashboard/items.csv"))
    assert any(row[1].startswith("'=HYPERLINK") for row in items)  # no formula for a spreadsheet
    # Each kind's row is its items' rows summed: items, shares, clicks, visitors, bot hits, EMV.
    for kind, row in content.items():
        mine = [r for r in items[1:] if r[2] == kind]
        sums = [sum(int(r[i]) for r in mine) for i in (3, 4, 5, 6)]
        assert row[1:6] == [str(len(mine)), *map(str, sums)]
        assert Decimal(row[6]) == sum((Decimal(r[7]) for r in mine), Decimal(0))
    conversions = dict(csv_table(client.get("/admin/dashboard/conversions.csv"))[1:])
    assert (conversions["applications"], conversions["leads"]) == ("1", "1")
    campaigns = csv_table(client.get("/admin/dashboard/campaigns.csv"))
    assert campaigns[1][0] == "Werken bij" and campaigns[1][4:8] == ["applications", "10", "1", "10"]
    assert client.get("/admin/dashboard/nothing.csv").status_code == 404


def test_the_period_selector(client, programme):
    login(client, "anouk")
    old = utcnow() - datetime.timedelta(days=90)
    share(programme["victor"], programme["job"], "xing", clicks=["z"], at=old)
    fragment = client.get("/admin/dashboard?period=all", headers={"HX-Request": "true", "HX-Target": "figures"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="figures"' in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    assert "XING" in fragment.text
    assert "XING" not in client.get("/admin/dashboard?period=30d").text
    day = old.date().isoformat()
    custom = client.get(f"/admin/dashboard?period=custom&from={day}&to={day}")
    assert custom.status_code == 200 and "XING" in custom.text and "LinkedIn" not in custom.text


@pytest.mark.parametrize("zone, note", [
    ("Europe/Amsterdam", "Each day counts from midnight UTC, which is 01:00 in the Europe/Amsterdam time zone."),
    ("America/New_York", "Each day counts from midnight UTC, which is 19:00 in the America/New_York time zone."),
    ("UTC", "Each day counts from midnight UTC."),
])
def test_the_period_says_where_its_days_begin(make_app, zone, note):
    """The figures' days are UTC days; the period's label says so in the
    configured time zone instead of a bare "(UTC days)"."""
    app = make_app(TIMEZONE=zone)
    make_person("anouk", role="admin")
    client = app.test_client()
    login(client, "anouk")
    page = client.get("/admin/dashboard?period=custom&from=2026-01-05&to=2026-01-11").text
    span = page[page.index('<p class="dash-span">'):]
    span = " ".join(re.sub("<[^>]+>|{#.*?#}", "", span[:span.index("</p>")]).split())
    assert span == f"Custom: 5 Jan 2026 to 11 Jan 2026. {note}"
    assert "(UTC days)" not in page


@pytest.mark.parametrize("query", ["period=custom&from=2026-05-01", "period=custom&from=2026-05-10&to=2026-05-01",
                                   "period=custom&from=soon&to=2026-05-01", "period=decade"])
def test_a_bad_period_is_explained(client, programme, query):
    login(client, "anouk")
    page = client.get(f"/admin/dashboard?{query}")
    assert page.status_code == 400 and 'role="alert"' in page.text
    # htmx swaps only a 2xx answer, so the error comes as one.
    fragment = client.get(f"/admin/dashboard?{query}", headers={"HX-Request": "true", "HX-Target": "figures"})
    assert fragment.status_code == 200 and 'role="alert"' in fragment.text
    assert client.get(f"/admin/dashboard/items.csv?{query}").status_code == 400


def test_emv_calculator_math():
    result = earned_media_value(Decimal(120), Decimal("2.5"), Decimal("3.2"), Decimal("2.75"))
    assert result == {"clicks": Decimal(960), "value": Decimal("2640.00")}
    assert earned_media_value(Decimal(0), Decimal(4), Decimal(4), Decimal(3))["value"] == Decimal("0.00")
    assert earned_media_value(Decimal(3), Decimal("0.333"), Decimal(1), Decimal("0.10"))["value"] == Decimal("0.10")


def test_the_measured_inputs_multiply_to_the_measured_value(app, programme):
    with app.app_context():
        totals = analytics.programme_totals(analytics.this_month(analytics.today_utc()))
        inputs = measured_inputs(totals)
    assert inputs == {"participants": 2, "posts": Decimal("1.5"), "clicks_per_share": Decimal("2.6667"),
                      "cost_per_click": Decimal("1.75")}  # 3 shares, 8 clicks, EUR 14
    assert str(inputs["posts"]) == "1.5"
    assert earned_media_value(**inputs) == {"clicks": 8, "value": Decimal("14.00")}


def test_the_calculator_recomputes_a_forecast(client, programme):
    login(client, "anouk")
    htmx = {"HX-Request": "true", "HX-Target": "emv-result"}
    response = client.get("/admin/dashboard?period=month&participants=200&posts=4&clicks_per_share=2.5"
                          "&cost_per_click=1.20", headers=htmx)
    assert response.status_code == 200 and "<html" not in response.text
    assert 'data-emv="2400.00"' in response.text and "2,000 clicks" in response.text
    bad = client.get("/admin/dashboard?participants=-3&posts=x&clicks_per_share=1&cost_per_click=1", headers=htmx)
    assert "data-emv" not in bad.text and "Participants" in bad.text and "Posts per person" in bad.text
    # Without htmx: the whole page, with the forecast.
    page = client.get("/admin/dashboard?participants=10&posts=1&clicks_per_share=1&cost_per_click=3")
    assert page.status_code == 200 and 'data-emv="30.00"' in page.text and "Participation" in page.text
    assert client.get("/admin/dashboard?participants=1e999&posts=1&clicks_per_share=1"
                      "&cost_per_click=1").status_code == 400
    empty = client.get("/admin/dashboard", headers=htmx)
    assert empty.status_code == 200 and "Enter a number." in empty.text


@pytest.mark.parametrize("goal, expected", [
    ("100 applicants via colleagues", ("applications", 100)),
    ("20,000 clicks", ("clicks", 20000)),
    ("20.000 klikken", ("clicks", 20000)),
    ("50 leads", ("leads", 50)),
    ("Make the wind farm known", None),
    ("0 clicks", None),
    ("", None),
])
def test_goals_are_read_from_the_campaign_text(goal, expected):
    assert goal_target(goal) == expected


def count_statements(client, path):
    def get():
        assert client.get(path).status_code == 200
    return count_queries(get)


def test_the_number_of_queries_does_not_grow_with_the_data(client, programme):
    login(client, "anouk")
    set_audience(programme["job"], Audience(departments=("Sales",)))
    today = analytics.today_utc()
    part = f"from={today - datetime.timedelta(days=40)}&to={today - datetime.timedelta(days=1)}"
    before = {path: count_statements(client, path) for path in (
        "/admin/dashboard", "/admin/dashboard?period=all", "/admin/dashboard/sharers.csv",
        f"/admin/dashboard?period=custom&{part}", "/admin/dashboard?period=30d&audience=department:Sales",
        "/admin/dashboard?period=all&audience=department:Sales&everyone=1",
        f"/admin/dashboard/items.csv?period=custom&{part}&audience=department:Sales", "/me", "/leaderboard",
        "/api/v1/stats?audience=department:Sales")}
    # More people, items, clicks, and campaigns running (each with its own period).
    campaigns = [programme["campaign"], *(make_campaign(f"extra-{n}", starts_at=utcnow() - datetime.timedelta(days=n))
                                          for n in (3, 40))]
    for n in range(12):
        person = make_person(f"extra{n}", department=f"Team {n % 4}", show_on_leaderboard=n % 2 == 0)
        item = make_item(f"Extra item {n}", kind=("news", "vacancy", "blog")[n % 3], campaign=campaigns[n % 3])
        share(person, item, ("linkedin", "x", "email")[n % 3], clicks=[f"v{n}", f"w{n}"], bots=n % 2,
              at=utcnow() - datetime.timedelta(days=n * 3))
        set_audience(item, Audience(departments=(f"Team {n % 4}", "Sales"), languages=("nl",)))
    after = {path: count_statements(client, path) for path in before}
    assert after == before


# -- the audience filter ------------------------------------------------------------------

@pytest.fixture
def audiences(programme):
    """The vacancy is meant for Engineering, a third item for Dutch
    readers (clicked by Victor), the news for everyone."""
    set_audience(programme["job"], Audience(departments=("Engineering",)))
    dutch = make_item("Nieuws", kind="blog")
    set_audience(dutch, Audience(languages=("nl",)))
    share(programme["victor"], dutch, "x", clicks=["n1", "n2"])
    return {**programme, "dutch": dutch}


def test_the_audience_filter_counts_the_items_meant_for_it(client, audiences):
    login(client, "anouk")
    engineering = {"audience": "department:Engineering"}
    items = csv_table(client.get("/admin/dashboard/items.csv", query_string=engineering))
    assert [row[1] for row in items[1:]] == ["Engineer wanted"]  # the vacancy only: news is for everyone
    with_everyone = csv_table(client.get("/admin/dashboard/items.csv", query_string={**engineering, "everyone": "1"}))
    assert sorted(row[1] for row in with_everyone[1:]) == ["'=HYPERLINK(evil) windpark", "Engineer wanted"]
    participation = dict(csv_table(client.get("/admin/dashboard/participation.csv", query_string=engineering))[1:])
    assert (participation["clicks"], participation["shares"], participation["items"]) == ("4", "1", "1")
    conversions = dict(csv_table(client.get("/admin/dashboard/conversions.csv", query_string=engineering))[1:])
    assert (conversions["applications"], conversions["leads"]) == ("1", "1")
    dutch = dict(csv_table(client.get("/admin/dashboard/participation.csv",
                                      query_string={"audience": "language:nl"}))[1:])
    assert (dutch["clicks"], dutch["shares"], dutch["employees"]) == ("2", "1", "6")
    everything = dict(csv_table(client.get("/admin/dashboard/participation.csv"))[1:])
    assert everything["clicks"] == "10"

    page = client.get("/admin/dashboard", query_string={"period": "all", **engineering})
    assert page.status_code == 200
    assert '<option value="department:Engineering" selected>' in page.text
    assert "including items for everyone" in page.text
    # The period tabs and the CSV links keep the audience.
    assert 'href="/admin/dashboard/items.csv?period=all&amp;audience=department:Engineering"' in page.text
    assert 'href="/admin/dashboard?period=month&amp;audience=department:Engineering"' in page.text
    sharers = page.text[page.text.index('id="dash-sharers"'):page.text.index('id="dash-networks"')]
    assert "Hidden colleague" in sharers and "Visible Victor" not in sharers  # only Hanna shared the vacancy

    stats = client.get("/api/v1/stats", query_string={"period": "all", **engineering}).get_json()
    assert stats["audience"] == {"dimension": "department", "value": "Engineering", "everyone": False}
    assert (stats["programme"]["clicks"], stats["programme"]["conversions"]) == (4, 2)
    assert [row["title"] for row in stats["top_items"]] == ["Engineer wanted"]
    assert client.get("/api/v1/stats").get_json()["audience"] is None


@pytest.mark.parametrize("args", [
    {"audience": "department:Nowhere"},
    {"audience": "Engineering"},
    {"audience": "planet:Mars"},
    {"audience": "language:xx"},
    {"audience": "department:Engineering", "everyone": "yes"},
    {"audience": "department:Engi\x00neering"},
])
def test_an_audience_that_cannot_be_read_is_refused_with_its_message(client, audiences, args):
    login(client, "anouk")
    page = client.get("/admin/dashboard", query_string=args)
    assert page.status_code == 400
    assert re.search(r'class="form-error" role="alert">[^<]*(audience|everyone|control characters)', page.text)
    assert "Top items" not in page.text  # no figures of another audience
    export = client.get("/admin/dashboard/items.csv", query_string=args)
    assert export.status_code == 400 and export.mimetype == "text/plain"
    api = client.get("/api/v1/stats", query_string=args)
    assert api.status_code == 400 and api.get_json()["error"]


# -- in a real browser ---------------------------------------------------------------------

def test_the_dashboard_in_a_browser(make_app, chromium, tmp_path):
    """Switch the period and recompute a forecast without a page reload; no
    script error and no Content-Security-Policy violation."""
    import re

    from playwright.sync_api import expect

    from helpers.browser import DESKTOP_CHROME, ConsoleLog, serve

    with serve(lambda base: make_app(PUBLIC_URL=base, BASE_URL=base, WTF_CSRF_ENABLED=True)) as (base, app):
        anouk = make_person("anouk", display_name="Admin Anouk", role="admin")
        old = utcnow() - datetime.timedelta(days=120)
        dutch = make_item("Old news")
        set_audience(dutch, Audience(languages=("nl",)))
        share(anouk, dutch, "xing", clicks=["a"], at=old)
        share(anouk, make_item("New news"), "linkedin", clicks=["b", "c"])
        context = chromium.new_context(base_url=base, user_agent=DESKTOP_CHROME, locale="en-GB",
                                       viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(10_000)
        console = ConsoleLog(context)
        page = context.new_page()
        page.goto("/login")
        page.get_by_role("button", name=re.compile("Admin Anouk")).click()
        page.goto("/admin/dashboard")
        expect(page.get_by_role("heading", name="Programme dashboard")).to_be_visible()
        networks = page.locator("#figures table").nth(2)
        expect(networks).to_contain_text("LinkedIn")
        expect(networks).not_to_contain_text("XING")
        page.evaluate("window.__notReloaded = true")
        page.get_by_role("link", name="All time").click()
        expect(page.locator("#figures")).to_contain_text("XING")
        assert page.url.endswith("/admin/dashboard?period=all")
        expect(page.locator('nav.tabs a[aria-current="page"]')).to_have_text("All time")
        assert page.evaluate("window.__notReloaded") is True  # swapped by htmx

        # 1 sharer × 2 shares × 1.5 clicks per share × EUR 2.6667 (2 LinkedIn, 1 XING click)
        expect(page.locator("[data-emv]")).to_have_attribute("data-emv", "8.00")
        page.get_by_label("Cost per click (EUR)").fill("3")
        page.get_by_label("Participants").fill("100")
        expect(page.locator("[data-emv]")).to_have_attribute("data-emv", "900.00")
        # An input emptied or out of range takes the result away and says why.
        result = page.locator("#emv-result")
        page.get_by_label("Cost per click (EUR)").fill("")
        expect(result).to_have_text("Cost per click (EUR): Enter a number.")
        expect(page.locator("[data-emv]")).to_have_count(0)
        page.get_by_label("Cost per click (EUR)").fill("-1")
        expect(result).to_have_text("Cost per click (EUR): Enter a number of 0 or more.")
        page.get_by_label("Cost per click (EUR)").fill("3")
        expect(page.locator("[data-emv]")).to_have_attribute("data-emv", "900.00")
        assert page.evaluate("window.__notReloaded") is True
        # An audience: only the item for Dutch readers, the period kept.
        page.get_by_label("Audience").select_option("language:nl")
        page.locator("form.dash-audience").get_by_role("button", name="Show").click()
        items = page.locator("#dash-items + .table-scroll")
        expect(items).to_contain_text("Old news")
        expect(items).not_to_contain_text("New news")
        assert page.url.endswith("/admin/dashboard?period=all&audience=language%3Anl")
        page.get_by_label("including items for everyone").check()
        page.locator("form.dash-audience").get_by_role("button", name="Show").click()
        expect(items).to_contain_text("New news")
        assert page.evaluate("window.__notReloaded") is True
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        assert console.messages == [] and ConsoleLog.csp_violations(page) == []
        context.close()
