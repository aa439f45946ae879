"""Schema changes go through migrations, and an upgrade keeps every row."""

import datetime
import json

import pytest
from peewee import Table

from helpers import make_item
from intranet_plugin import create_app
from intranet_plugin import db as database
from intranet_plugin.models import (
    Click,
    Item,
    Person,
    ShareEvent,
    TrackedLink,
    db,
)
from intranet_plugin.tracking.links import resolve


def person_of_an_older_schema():
    """A person stored in the columns the database has so far
    (``make_person`` would write today's, some of which an older schema
    lacks)."""
    columns = {column.name for column in db.get_columns("person")}
    person = Person(username="emma", display_name="Emma", email="e@example.com")
    table = Table("person", sorted(columns)).bind(db)
    table.insert(**{field.column_name: field.db_value(getattr(person, field.name))
                    for field in Person._meta.sorted_fields if field.column_name in columns - {"id"}}).execute()
    return Person(id=table.select(table.id).where(table.username == "emma").scalar())


def test_data_of_the_first_schema_survives_upgrade(database_url_factory, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        assert database.upgrade("0001_initial") == ["0001_initial"]
        assert database.pending() != []
        # rows written by the first release, in the columns it had
        now = datetime.datetime(2026, 11, 1, 9, 30)
        table = lambda name: Table(name).bind(db)  # noqa: E731
        # explicit ids: what an insert returns differs between the engines
        person, item, link = 1, 1, 1
        table("person").insert(
            id=person, username="emma", display_name="Emma", email="e@example.com", department="Engineering",
            role="employee", is_active=True, show_on_leaderboard=False, ref="ref12345", created_at=now).execute()
        table("item").insert(
            id=item, kind="news", slug="wind", title="Wind farm opens", summary="", url="https://WWW.example.com/a/?b=1#c",
            image_url="", caption="", captions="{}", hashtags="", language="en", status="published",
            pinned=False, publish_at=now, created_at=now, updated_at=now).execute()
        table("tracked_link").insert(id=link, code="abcdefghijkl", person_id=person, item_id=item,
                                            network="linkedin", created_at=now).execute()
        table("share_event").insert(person_id=person, item_id=item, link_id=link, network="linkedin", source="web",
                                    day=now.date(), created_at=now).execute()
        table("click").insert(event_id="e1", link_id=link, at=now, day=now.date(), kind="human", visitor="v1",
                              referrer_host="", is_self=False).execute()

        applied = database.upgrade()
        assert applied[0] == "0002_click_and_share_indexes" and "0004_content_management" in applied
        assert database.pending() == []

        emma = Person.get(username="emma")
        assert (emma.department, emma.digest, emma.networks, emma.left_at) == ("Engineering", "weekly", [], None)
        wind = Item.get()
        assert wind.url == "https://WWW.example.com/a/?b=1#c"
        assert wind.normalized_url == "https://example.com/a?b=1"  # backfilled by 0004
        assert Click.get().event_id == "e1"
        assert ShareEvent.select().count() == 1
        with app.test_request_context():
            assert resolve("abcdefghijkl").url.startswith("https://WWW.example.com/a/?b=1&utm_source=linkedin")
        indexes = {i.name for i in db.get_indexes("click")}
        assert "click_link_id_day_net_visitor" in indexes
        db.close()


def test_upgrade_twice_is_harmless(app, runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert "up to date" in runner.invoke(args=["db", "status"]).output


def test_demo_command_builds_realistic_content(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert Person.select().count() >= 8
    kinds = {i.kind for i in Item.select()}
    assert kinds == {"news", "vacancy", "blog"}
    assert {i.language for i in Item.select()} == {"nl", "en"}
    assert Item.select().where(Item.kind == "vacancy", Item.expires_at.is_null(False)).count() >= 3
    assert Click.counted().count() > 0
    # someone has reached a milestone beyond the first share, to show on /me
    from intranet_plugin.models import Milestone
    assert Milestone.select().where(Milestone.key == "points_10").exists()
    # running it again adds nothing
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and Person.select().count() == len(set(p.username for p in Person.select()))
    assert "14 people, 15 items" in again.output  # and one item for Engineering only


def test_migrations_build_exactly_the_models_schema(app):
    """models.py and the migrations never drift apart."""
    from playhouse.schema_diff import diff_models

    from intranet_plugin.models import MODELS

    diff = diff_models(db.obj, MODELS)
    assert not diff, diff


def test_upgrade_fills_the_click_totals_from_stored_clicks(database_url_factory):
    """0008 (and 0023, per link and day) compute the running totals of an
    install that has clicks."""
    from intranet_plugin.models import DayTotal, LinkDay, LinkMonth, LinkTotal
    from intranet_plugin.tracking import totals

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0007_analytics")
        table = lambda name: Table(name).bind(db)  # noqa: E731
        now = datetime.datetime(2026, 10, 30, 9)
        link = TrackedLink.for_share(person_of_an_older_schema(), make_item("Wind"), "linkedin")
        for n, (days, kind, visitor, own) in enumerate([(0, "human", "a", False), (0, "human", "a", False),
                                                         (0, "human", "b", False), (0, "crawler", "c", False),
                                                         (3, "human", "a", False), (3, "human", "me", True)]):
            at = now + datetime.timedelta(days=days)
            table("click").insert(event_id=f"e{n}", link_id=link.id, at=at, day=at.date(), kind=kind, visitor=visitor,
                                  referrer_host="", is_self=own).execute()
        table("click_daily").insert(link_id=link.id, day=datetime.date(2025, 1, 5), kind="human", is_self=False,
                                    clicks=4, visitors=3).execute()

        database.upgrade()
        total = LinkTotal.get(link=link)
        assert (total.clicks, total.visitors, total.self_clicks, total.crawler_hits) == (8, 6, 1, 1)
        months = {str(m.month): (m.clicks, m.visitors) for m in LinkMonth.select()}
        assert months == {"2025-01-01": (4, 3), "2026-10-01": (3, 2), "2026-11-01": (1, 1)}
        days = {str(d.day): (d.clicks, d.visitors, d.crawler_hits) for d in DayTotal.select()}
        assert days == {"2025-01-05": (4, 3, 0), "2026-10-30": (3, 2, 1), "2026-11-02": (1, 1, 0)}
        link_days = {str(d.day): (d.clicks, d.visitors, d.self_clicks, d.crawler_hits) for d in LinkDay.select()}
        assert link_days == {"2025-01-05": (4, 3, 0, 0), "2026-10-30": (3, 2, 0, 1), "2026-11-02": (1, 1, 1, 0)}
        kept = [sorted(model.select().tuples()) for model in (LinkTotal, LinkMonth, LinkDay, DayTotal)]
        totals.rebuild()
        assert [sorted(model.select().tuples()) for model in (LinkTotal, LinkMonth, LinkDay, DayTotal)] == kept
        db.close()


def test_clicks_stored_before_networks_keep_their_visitors(database_url_factory):
    """0010: a click stored before visitors had a network is its own
    network, so the cap changes no figure of the past, not even after a
    rebuild or a roll-up."""
    from intranet_plugin.models import LinkTotal
    from intranet_plugin.tracking import rollup, totals

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0008_click_totals")
        link = TrackedLink.for_share(person_of_an_older_schema(), make_item("Wind"), "linkedin")
        at = datetime.datetime(2026, 10, 30, 9)
        table = Table("click").bind(db)
        for n in range(5):  # five visitors of one link and day
            table.insert(event_id=f"e{n}", link_id=link.id, at=at, day=at.date(), kind="human", visitor=f"v{n}",
                         referrer_host="", is_self=False).execute()
        database.upgrade()
        totals.rebuild()
        assert LinkTotal.get(link=link).visitors == 5
        rollup.roll_up(0, today=datetime.date(2026, 11, 29))
        totals.rebuild()
        assert (LinkTotal.get(link=link).visitors, LinkTotal.get(link=link).repeated_visitors) == (5, 0)
        db.close()


def test_upgrade_fills_the_daily_totals_per_link_with_visitors_capped_per_network(database_url_factory):
    """0023: one network's visitors beyond the cap are "repeated", in the
    daily totals as in a rebuild; rolled-up days are in them too."""
    from intranet_plugin.models import LinkDay
    from intranet_plugin.tracking import totals

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0022_milestones")
        link = TrackedLink.for_share(person_of_an_older_schema(), make_item("Wind"), "linkedin")
        at = datetime.datetime(2026, 10, 30, 9)
        table = Table("click").bind(db)
        for n in range(7):  # seven visitors from one network, two from another
            table.insert(event_id=f"e{n}", link_id=link.id, at=at, day=at.date(), kind="human", visitor=f"v{n}",
                         referrer_host="", is_self=False, net="office" if n < 5 else "home").execute()
        Table("click_daily").bind(db).insert(link_id=link.id, day=datetime.date(2025, 1, 5), kind="human",
                                             is_self=False, clicks=4, visitors=3, repeated=1).execute()
        database.upgrade()
        days = {str(d.day): (d.clicks, d.visitors, d.repeated_visitors) for d in LinkDay.select()}
        assert days == {"2025-01-05": (4, 3, 1), "2026-10-30": (7, 5, 2)}
        kept = sorted(LinkDay.select().tuples())
        totals.rebuild()
        assert sorted(LinkDay.select().tuples()) == kept
        db.close()


def test_upgrade_fills_the_totals_per_person_and_item_from_those_per_link(database_url_factory):
    """0025: a person's or an item's totals are the sums of their links'
    (visitors capped per network and link as there), with the clicks per
    network, the same as a rebuild gives."""
    from intranet_plugin.models import MEASURES, GroupMeasures, ItemDay, ItemTotal, PersonDay, PersonMonth
    from intranet_plugin.tracking import totals

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0022_milestones")
        person = person_of_an_older_schema()
        item = make_item("Wind")
        links = [TrackedLink.for_share(person, item, network) for network in ("linkedin", "x")]
        table = Table("click").bind(db)
        for n in range(9):  # five visitors from one network on one link, four on the other
            at = datetime.datetime(2026, 10, 30 + n % 2, 9)
            table.insert(event_id=f"e{n}", link_id=links[n % 2].id, at=at, day=at.date(), kind="human",
                         visitor=f"v{n}", referrer_host="", is_self=False, net="office").execute()
        database.upgrade("0024_content_languages")  # 0023 fills the daily totals per link
        for link, clicks in zip(links, (5, 4), strict=True):  # as clicks.store kept them
            measures = {m: 0 for m in MEASURES} | {"clicks": clicks, "visitors": 3, "repeated_visitors": clicks - 3}
            common = {"link_id": link.id, "person_id": person.id, "item_id": item.id, "network": link.network,
                      **measures}
            Table("link_total").bind(db).insert(**common).execute()
            Table("link_month").bind(db).insert(month=datetime.date(2026, 10, 1), **common).execute()
        database.upgrade()
        days = {str(d.day): (d.person_id, d.clicks, d.visitors, d.linkedin_clicks, d.x_clicks)
                for d in PersonDay.select()}
        assert days == {"2026-10-30": (person.id, 5, 3, 5, 0), "2026-10-31": (person.id, 4, 3, 0, 4)}
        assert [(d.item_id, d.clicks, d.visitors) for d in ItemDay.select().order_by(ItemDay.day)] == [
            (item.id, 5, 3), (item.id, 4, 3)]
        assert [(m.person_id, str(m.month), m.clicks, m.visitors, m.x_clicks) for m in PersonMonth.select()] == [
            (person.id, "2026-10-01", 9, 6, 4)]
        assert [(t.item_id, t.clicks, t.linkedin_clicks, t.x_clicks) for t in ItemTotal.select()] == [
            (item.id, 9, 5, 4)]
        groups = [model for model, _, _ in totals.TABLES if issubclass(model, GroupMeasures)]
        kept = {model: sorted(model.select().tuples()) for model in groups}
        totals.rebuild()
        assert {model: sorted(model.select().tuples()) for model in groups} == kept
        db.close()


def test_presses_stored_before_count_once_a_day_after_the_upgrade(database_url_factory):
    """0012: of several presses on one item and network in one day, stored
    before, the first counts and the rest become repeats; a second counted
    share of that day is then refused by the database."""
    import peewee

    from intranet_plugin import analytics

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0011_session_generation")
        emma, item = person_of_an_older_schema(), make_item("Wind")
        table = Table("share_event").bind(db)
        for network, day in (("linkedin", 2), ("linkedin", 2), ("linkedin", 2), ("x", 2), ("linkedin", 3)):
            at = datetime.datetime(2026, 11, day, 9)
            link = TrackedLink.for_share(emma, item, network)
            table.insert(person_id=emma.id, item_id=item.id, link_id=link.id, network=network, source="web",
                         day=at.date(), created_at=at).execute()
        database.upgrade()
        assert [s.is_repeat for s in ShareEvent.select().order_by(ShareEvent.id)] == [False, True, True, False, False]
        assert analytics.person_totals([emma.id], analytics.all_time())[emma.id].shares == 3
        with pytest.raises(peewee.IntegrityError), db.atomic():
            ShareEvent.create(person=emma, item=item, link=link, network="linkedin",
                              day=datetime.date(2026, 11, 3))
        db.close()


def test_upgrade_moves_the_three_ledgers_into_the_mail_ledger(database_url_factory):
    """0009 keeps the history of the digest's, the alerts' and the monthly
    report's ledgers in the one mail ledger, and the exactly-once rule
    holds on for the rows it moved."""
    from intranet_plugin.mail.ledger import Ledger
    from intranet_plugin.models import MailLedger, Setting

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0008_click_totals")
        table = lambda name: Table(name).bind(db)  # noqa: E731
        at = datetime.datetime(2026, 3, 2, 7, 0)
        emma, item = person_of_an_older_schema(), make_item("Wind")
        table("digest_ledger").insert(person_id=emma.id, week="2026-W10", status="sent", attempts=2, error="",
                                      claimed_at=at, claimed_by="host/1/a", sent_at=at,
                                      message_id="<digest.2026-W10.1@example.com>").execute()
        table("digest_ledger").insert(person_id=emma.id, week="2026-W11", status="failed", attempts=4,
                                      error="temporary: 451 later", claimed_at=at, claimed_by="host/1/b",
                                      message_id="").execute()
        table("alert_ledger").insert(person_id=emma.id, item_id=item.id, status="sent", error="", claimed_at=at,
                                     sent_at=at).execute()
        table("setting").insert(key="monthly_report:2026-02:ceo@example.com", updated_at=at, value=json.dumps(
            {"status": "sent", "message_id": "<r@example.com>", "by": "host/2/c", "at": at.isoformat()})).execute()
        table("setting").insert(key="monthly_report:2026-02:cfo@example.com", updated_at=at, value=json.dumps(
            {"status": "failed", "error": "550 no such user", "by": "host/2/c", "at": at.isoformat()})).execute()
        table("setting").insert(key="guidelines", value="Be kind", updated_at=at).execute()

        database.upgrade()

        rows = {(r.kind, r.period, r.person_id, r.item_id, r.address):
                (r.status, r.attempts, r.error, r.claimed_by, r.sent_at, r.message_id)
                for r in MailLedger.select()}
        assert rows == {
            ("digest", "2026-W10", emma.id, None, ""): ("sent", 2, "", "host/1/a", at,
                                                       "<digest.2026-W10.1@example.com>"),
            ("digest", "2026-W11", emma.id, None, ""): ("failed", 4, "temporary: 451 later", "host/1/b", None, ""),
            ("alert", "", emma.id, item.id, ""): ("sent", 0, "", "", at, ""),
            ("report", "2026-02", None, None, "ceo@example.com"): ("sent", 1, "", "host/2/c", at, "<r@example.com>"),
            ("report", "2026-02", None, None, "cfo@example.com"): ("failed", 0, "550 no such user", "host/2/c",
                                                                  None, ""),
        }
        assert [s.key for s in Setting.select()] == ["guidelines"]
        assert "digest_ledger" not in db.get_tables() and "alert_ledger" not in db.get_tables()
        # What was sent stays sent; the temporary failure is claimed again.
        assert not Ledger("digest", period="2026-W10").hand_over(emma.id)
        assert Ledger("digest", period="2026-W11").hand_over(emma.id, retry=True)
        assert not Ledger("alert", item=item.id).hand_over(emma.id)
        assert not Ledger("report", period="2026-02").hand_over("ceo@example.com")
        db.close()


def test_a_realistic_database_of_the_first_release_upgrades_with_every_row_and_total(database_url_factory):
    """Every table of 0001 filled as a programme would fill it, upgraded to
    head: every row and column the first release wrote is still there, and
    the running totals the upgrade computes agree with a raw recount."""
    import random

    from test_totals import snapshot

    from intranet_plugin.tracking import totals

    rng = random.Random(18)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        database.upgrade("0001_initial")
        tables = sorted(set(db.get_tables()) - {"schema_migration"})
        start = datetime.datetime(2026, 6, 1, 8, 0)
        rows = {name: [] for name in tables}
        rows["campaign"] = [dict(id=n, slug=f"campaign-{n}", name=f"Campaign {n}", hashtag=f"#c{n}", description="",
                                 starts_at=start, ends_at=start + datetime.timedelta(days=30 * n), goal="visits",
                                 created_at=start) for n in (1, 2)]
        rows["person"] = [dict(id=n, username=f"user{n}", display_name=f"User {n} Ünal", email=f"user{n}@example.com",
                               department=rng.choice(["Sales", "Engineering"]), role=rng.choice(["employee", "editor"]),
                               locale=rng.choice([None, "nl", "en"]), is_active=n != 4,
                               joined_at=start if n != 3 else None, show_on_leaderboard=n % 2 == 0,
                               ref=f"ref{n:05d}", created_at=start) for n in range(1, 6)]
        rows["item"] = [dict(id=n, kind=rng.choice(["news", "vacancy", "blog"]), slug=f"item-{n}",
                             title=f"Item {n} & co",
                             summary="A summary", url=f"https://www.example.com/items/{n}?ref=x#top", image_url="",
                             caption="Look", captions=json.dumps({"x": f"Item {n} on X"}), hashtags="#wind",
                             language=rng.choice(["nl", "en"]), campaign_id=(n % 3) or None,
                             status="published" if n != 6 else "draft", pinned=n == 1,
                             publish_at=start + datetime.timedelta(days=n),
                             expires_at=start + datetime.timedelta(days=90) if n == 2 else None,
                             created_at=start, updated_at=start) for n in range(1, 7)]
        networks = ["linkedin", "x", "facebook", "whatsapp"]
        pairs = [(p, i, network) for p in range(1, 6) for i in range(1, 6) for network in networks[:2 + p % 3]]
        rows["tracked_link"] = links = [dict(id=n, code=f"code{n:08d}", person_id=p, item_id=i, network=network,
                                             created_at=start) for n, (p, i, network) in enumerate(pairs, 1)]
        rows["share_event"] = [dict(id=n + 1, person_id=link["person_id"], item_id=link["item_id"], link_id=link["id"],
                                    network=link["network"], source=rng.choice(["web", "digest"]), visitor=None,
                                    day=start.date(), created_at=start) for n, link in enumerate(links[::3])]
        for n in range(400):
            at = start + datetime.timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1439))
            rows["click"].append(dict(id=n + 1, event_id=f"event-{n}", link_id=rng.choice(links)["id"], at=at,
                                      day=at.date(), kind=rng.choice(["human"] * 6 + ["crawler", "head", "empty"]),
                                      visitor=f"visitor{rng.randint(1, 60):02d}",
                                      referrer_host=rng.choice(["", "lnkd.in"]),
                                      is_self=rng.random() < 0.05))
        rows["visitor_salt"] = [dict(day=start.date() + datetime.timedelta(days=n), salt=f"{n:064x}") for n in (0, 1)]
        assert set(rows) == set(tables) and all(rows.values()), "every table of the first release is filled"
        columns = {name: [c.name for c in db.get_columns(name)] for name in tables}
        for name in ("campaign", "person", "item", "tracked_link", "share_event", "click", "visitor_salt"):
            Table(name, columns[name]).bind(db).insert(rows[name]).execute()

        def written():
            out = {}
            for name in tables:
                t = Table(name, columns[name]).bind(db)
                query = t.select(*[getattr(t, c) for c in columns[name]]).tuples()
                out[name] = sorted(tuple(str(v) for v in row) for row in query)
            return out

        before = written()

        database.upgrade()

        assert database.pending() == []
        assert written() == before  # every row, every column the first release wrote
        humans = sum(1 for c in rows["click"] if c["kind"] == "human" and not c["is_self"])
        assert Click.counted().count() == humans
        kept = snapshot()
        assert kept["LinkTotal"] and kept["PersonTotal"]  # the upgrade computed the running totals
        totals.rebuild()  # ... and they equal a count of the raw clicks
        assert snapshot() == kept
        db.close()


def test_upgrade_waits_for_the_old_versions_scheduler_and_an_old_scheduler_stops_after_an_upgrade(
        database_url_factory, monkeypatch):
    from intranet_plugin import scheduler as sched
    from intranet_plugin.models import JobLease, utcnow

    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(empty=True),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    runner = app.test_cli_runner()
    with app.app_context():
        database.upgrade("0011_session_generation")
        monkeypatch.setattr(sched.Scheduler, "catch_up", lambda self: None)
        old = sched.Scheduler(app, holder="old-host:123:abc")
        old.heartbeat()
        assert old.is_leader

        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code != 0 and "scheduler-leader (old-host:123:abc" in result.output
        assert database.pending()  # nothing was applied
        result = runner.invoke(args=["db", "upgrade", "--force"])
        assert result.exit_code == 0 and "0018_mail_ledger_sending" in result.output
        # Nothing pending: safe on every deploy, whoever is at work.
        assert "up to date" in runner.invoke(args=["db", "upgrade"]).output

        # A newer version's migration: the old code writes no more.
        Table("schema_migration", ("name", "applied")).bind(db).insert(
            name="0099_from_the_future", applied=datetime.datetime(2026, 12, 1)).execute()
        old.heartbeat()
        assert not old.is_leader
        assert JobLease.get_by_id(sched.LEADER).expires_at <= utcnow()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code != 0 and "upgraded by a newer version" in result.output
        db.close()
