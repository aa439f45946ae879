"""The weekly digest, end to end against a real SMTP server (aiosmtpd on a
loopback port): what arrives, the links in it, exactly one per person and
week through failures, crashes and concurrent senders, and unsubscribing."""

import datetime
import html
import logging
import re
import threading
from urllib.parse import urlsplit

import pytest

from digest.send import preview, send_weekly, week_of
from helpers import login, make_campaign, make_item, make_person, store_click
from helpers.smtpserver import free_port
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import (
    AuditLog,
    MailLedger,
    Person,
    ShareEvent,
    TrackedLink,
    utcnow,
)

BASE = "https://intranet.example.com/ambassador"
NETWORKS = ["linkedin", "x", "facebook", "xing", "bluesky", "threads", "mastodon", "telegram", "whatsapp", "email"]


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def run(app, mailer_class=Mailer, sleeps=None, **options):
    """send_weekly with a mailer whose retries do not wait."""
    with mailer_class.from_config(app.config, sleep=sleeps if sleeps is not None else Sleeps()) as mailer:
        return send_weekly(app, mailer=mailer, **options)


def share_links(message):
    body = message.get_body(("html",)).get_content()
    return {n: html.unescape(u) for u, n in re.findall(r'<a href="([^"]+)" data-share-network="([a-z]+)"', body)}


def local_path(url):
    """The path of an e-mail link on the test app (mounted at the root)."""
    assert url.startswith(BASE + "/"), url
    parts = urlsplit(url)
    return parts.path[len("/ambassador"):] + ("?" + parts.query if parts.query else "")


def add_click(person, item, network="linkedin", at=None, visitor="visitor-1", kind="human", is_self=False):
    at = at or utcnow() - datetime.timedelta(hours=1)
    link = TrackedLink.for_share(person, item, network)
    store_click(link, at, kind, visitor, is_self)


def ledger(person):
    return MailLedger.get(MailLedger.person == person.id)


# -- what arrives ---------------------------------------------------------------

def test_digest_arrives_with_both_parts_and_the_right_headers(mail_app, smtp):
    emma = make_person("emma", display_name="Emma de Vries")
    make_item("Windpark open")
    make_item("Vacancy: engineer", kind="vacancy")

    report = run(mail_app)

    assert (report.sent, report.failed, report.error) == (1, 0, "")
    [message] = smtp.messages
    week = week_of(utcnow(), "Europe/Amsterdam")
    assert message["From"] == "Ambassador <ambassador@example.com>"
    assert message["To"].addresses[0].addr_spec == "emma@example.com"
    assert message["To"].addresses[0].display_name == "Emma de Vries"
    assert message["Subject"].startswith("Your Ambassador week, ")
    assert message["Message-ID"] == f"<digest.{week}.{emma.id}@example.com>"
    assert re.fullmatch(re.escape(BASE) + r"/unsubscribe/[\w.-]+", message["List-Unsubscribe"][1:-1])
    assert message["List-Unsubscribe"].startswith("<https://") and message["List-Unsubscribe"].endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    for part in (text, body):
        assert "Windpark open" in part and "Vacancy: engineer" in part
        assert f"{BASE}/preferences" in part
        assert f"{BASE}/" in part  # the share page
    # every network but Mastodon, which needs Emma's server first
    assert set(share_links(message)) == set(NETWORKS) - {"mastodon"}
    assert message["Content-Language"] == "en"
    row = ledger(emma)
    assert (row.kind, row.period, row.status, row.attempts) == ("digest", week, "sent", 1)
    assert row.message_id == message["Message-ID"]
    assert row.sent_at is not None


def test_share_button_from_the_email_records_the_share_without_signing_in(mail_app, smtp, client):
    emma = make_person("emma")
    item = make_item("Windpark open")
    run(mail_app)
    links = share_links(smtp.messages[0])

    response = client.get(local_path(links["linkedin"]))

    assert response.status_code == 303
    # LinkedIn's composer, with the item's suggested text (content.sharing.post_text).
    assert response.headers["Location"].startswith("https://www.linkedin.com/feed/?shareActive=true&text=Look%20at%20this")
    share = ShareEvent.get()
    assert (share.person_id, share.item_id, share.network, share.source) == (emma.id, item.id, "linkedin", "digest")


def test_a_mail_scanner_opening_the_share_link_records_nothing(mail_app, smtp, client):
    emma = make_person("emma")
    make_item("Windpark open")
    run(mail_app)
    path = local_path(share_links(smtp.messages[0])["linkedin"])

    scanner = client.get(path, headers={"User-Agent": "Go-http-client/1.1"})  # a typical link checker
    empty = client.get(path, headers={"User-Agent": ""})

    assert scanner.status_code == 200 and empty.status_code == 200
    assert 'data-share-network="linkedin"' in scanner.get_data(as_text=True)
    assert ShareEvent.select().count() == 0
    # the person presses the button on that page
    pressed = client.post(path, headers={"User-Agent": ""})
    assert pressed.status_code == 303
    assert ShareEvent.get().person_id == emma.id


def test_a_tampered_share_link_records_nothing(mail_app, smtp, client):
    make_person("emma")
    make_item("Windpark open")
    run(mail_app)
    url = share_links(smtp.messages[0])["x"]
    # Another person's id in the payload, with the signature left as it was.
    token = url.split("/share/")[1].split("?")[0]
    payload, rest = token.split(".", 1)
    forged = url.replace(token, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + rest)

    response = client.get(local_path(forged))

    assert response.status_code == 400
    assert "invalid or has expired" in response.get_data(as_text=True)
    assert ShareEvent.select().count() == 0


def test_a_title_cannot_inject_markup_or_mjml(mail_app, smtp):
    make_person("emma")
    title = '<script>alert(1)</script> <mj-include path="/etc/passwd"/> & more'
    make_item(title, summary="<b>bold</b>", caption="<img src=x onerror=alert(1)>")

    run(mail_app)

    message = smtp.messages[0]
    body = message.get_body(("html",)).get_content()
    assert "<script>" not in body and "<mj-include" not in body and "<b>bold" not in body
    assert "<img src=x" not in body and "root:" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;mj-include path=&#34;/etc/passwd&#34;/&gt; &amp; more" in body
    assert title in message.get_body(("plain",)).get_content()


# -- who gets what -----------------------------------------------------------------

def test_only_members_with_the_digest_on_get_it(mail_app, smtp):
    make_person("emma")
    make_person("left", joined_at=None)  # left the programme (or never joined)
    make_person("gone", is_active=False)  # left the company
    make_person("quiet", digest="off")
    make_person("nomail", email="")
    make_item("Windpark open")

    report = run(mail_app)

    assert smtp.recipients() == {"emma@example.com": 1}
    assert report.sent == 1
    assert MailLedger.select().count() == 1


def test_nothing_new_and_nothing_to_report_sends_nothing(mail_app, smtp):
    emma = make_person("emma")
    long_ago = utcnow() - datetime.timedelta(days=10)
    make_item("Old news", publish_at=long_ago, created_at=long_ago)

    report = run(mail_app)

    assert smtp.messages == []
    assert (report.sent, report.skipped) == (0, 1)
    assert ledger(emma).status == "skipped"


def test_items_already_shared_are_left_out_and_a_week_of_activity_is_news_enough(mail_app, smtp):
    sanne = make_person("sanne")
    item = make_item("Shared already")
    link = TrackedLink.for_share(sanne, item, "linkedin")
    two_days_ago = utcnow() - datetime.timedelta(days=2)
    ShareEvent.create(person=sanne, item=item, link=link, network="linkedin", day=two_days_ago.date(),
                      created_at=two_days_ago)

    run(mail_app)

    [message] = smtp.messages
    text = message.get_body(("plain",)).get_content()
    assert "Shared already" not in text
    assert "Nothing new to share since your last digest" in text
    assert "Shares: 1 (all time: 1)" in text


def test_content_order_limit_kinds_and_since_the_last_digest(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, DIGEST_MAX_ITEMS="3")
    now = utcnow()
    emma = make_person("emma", kinds=["news"])
    days = datetime.timedelta(days=1)
    make_item("Before the last digest", publish_at=now - 3 * days, created_at=now - 3 * days)
    make_item("Plain news", publish_at=now - days / 2)
    make_item("A vacancy", kind="vacancy", pinned=True)
    make_item("Campaign news", campaign=make_campaign(), publish_at=now - days)
    make_item("Pinned news", pinned=True, publish_at=now - days)
    make_item("Newest news")
    make_item("Scheduled", publish_at=now + days)
    make_item("Draft", status="draft")
    make_item("Expired", expires_at=now - days / 4)
    MailLedger.create(kind="digest", person=emma, period="2000-W01", status="sent", sent_at=now - 2 * days)

    _subject, _html, text, digest = preview(app, emma)

    assert [i.title for i in digest.items] == ["Pinned news", "Campaign news", "Newest news"]
    assert digest.more == 1
    assert "And 1 more new item on the share page." in text


def test_only_the_networks_a_person_chose(mail_app, smtp):
    make_person("emma", networks=["linkedin", "xing"])
    make_item("Windpark open")
    run(mail_app)
    assert set(share_links(smtp.messages[0])) == {"linkedin", "xing"}


def test_people_sharing_an_item_section_each_get_their_own_buttons(mail_app, smtp):
    """An item's section is rendered once per language and set of networks
    in a run; the share links in it are still each person's own."""
    from intranet_plugin.content.sharing import read_share_token

    people = [make_person("emma", networks=["linkedin", "xing"]), make_person("jan", networks=["linkedin", "xing"]),
              make_person("sara", networks=["x"]), make_person("piet", networks=["linkedin", "xing"], locale="nl")]
    item = make_item("Windpark <open> & more")
    run(mail_app)
    by_address = {m["To"].addresses[0].addr_spec: m for m in smtp.messages}
    for person in people:
        message = by_address[person.email]
        links = share_links(message)
        assert set(links) == set(person.networks)
        for network, url in links.items():
            with mail_app.app_context():
                token = read_share_token(*urlsplit(url).path.rsplit("/", 2)[-2:])
            assert (token.person_id, token.item_id, token.network) == (person.id, item.id, network)
        assert "Windpark &lt;open&gt; &amp; more" in message.get_body(("html",)).get_content()


def test_impact_this_week_all_time_value_best_item_and_rank(make_app, smtp):
    # "This week" is the seven whole days before today, as the analytics
    # count them; unique visitors are distinct per link and day.
    app = make_app(SMTP_URL=smtp.url, COST_PER_CLICK="linkedin=3 x=1.50")
    now = utcnow()
    day = datetime.timedelta(days=1)
    emma = make_person("emma", show_on_leaderboard=True)
    lisa = make_person("lisa", show_on_leaderboard=True)
    hidden = make_person("hidden", show_on_leaderboard=False)
    report = make_item("Sustainability report", publish_at=now - 40 * day, created_at=now - 40 * day)
    vacancy = make_item("Data engineer", kind="vacancy", publish_at=now - 40 * day, created_at=now - 40 * day)
    link = TrackedLink.for_share(emma, report, "linkedin")
    ShareEvent.create(person=emma, item=report, link=link, network="linkedin", day=(now - 2 * day).date(),
                      created_at=now - 2 * day)
    for visitor in ("a", "b", "b"):  # 3 clicks, 2 visitors this week
        add_click(emma, report, "linkedin", at=now - 2 * day, visitor=visitor)
    add_click(emma, report, "linkedin", at=now - 2 * day, visitor="bot", kind="crawler")  # never counted
    add_click(emma, report, "linkedin", at=now - 2 * day, visitor="me", is_self=True)  # her own: never
    add_click(emma, report, "linkedin", at=now, visitor="e")  # today: next week's digest
    add_click(emma, vacancy, "x", at=now - 9 * day, visitor="c")  # the week before
    add_click(emma, vacancy, "x", at=now - 25 * day, visitor="d")
    for visitor in "pqrstu":  # lisa: more visitors, so ahead on the leaderboard
        add_click(lisa, vacancy, "linkedin", at=now - 21 * day, visitor=visitor)
    for visitor in "vwxyz0123":  # more than anyone, but not on the leaderboard
        add_click(hidden, vacancy, "linkedin", at=now - 21 * day, visitor=visitor)

    _subject, _html, text, digest = preview(app, emma)

    i = digest.impact
    assert (i.shares_week, i.shares_all) == (1, 1)
    assert (i.clicks_week, i.clicks_prev, i.clicks_all) == (3, 1, 6)
    assert (i.visitors_week, i.visitors_prev, i.visitors_all) == (2, 1, 5)
    assert (i.value_week, i.value_prev, i.value_all) == (9.0, 1.5, 15.0)
    assert (i.best_title, i.best_visitors, i.best_this_week) == ("Sustainability report", 2, True)
    assert (i.rank, i.ranked) == (2, 2)
    assert i.bars == [0, 0, 0, 0, 1, 0, 1, 3]
    assert "Earned media value: €9.00 (all time: €15.00)" in text
    assert "3 clicks on your shares" in text
    assert "Your best week so far!" in text  # 3 clicks: more than any week before
    assert "Your best item: “Sustainability report”, 2 visitors this week." in text
    assert "You are number 2 on the leaderboard." in text  # near the top: worth saying
    assert preview(app, hidden)[3].impact.rank is None


def test_the_digest_of_a_batch_costs_the_same_queries_for_5_or_40_people(mail_app, smtp):
    item = make_item("Windpark open")
    people = [make_person(f"p{n}") for n in range(40)]
    for n, person in enumerate(people):
        add_click(person, item, NETWORKS[n % 6], visitor=f"v{n}")
        add_click(person, item, "linkedin", visitor=f"w{n}", at=utcnow() - datetime.timedelta(days=20))

    def queries(count):
        Person.update(digest="off").execute()
        Person.update(digest="weekly").where(Person.id.in_([p.id for p in people[:count]])).execute()
        seen = []
        handler = logging.Handler()
        handler.emit = lambda record: seen.append(record)
        logger = logging.getLogger("peewee")
        logger.addHandler(handler)
        old = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            report = send_weekly(mail_app, dry_run=True)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old)
        assert report.sent == count
        return len(seen)

    assert queries(5) == queries(40)


def test_a_run_starts_with_a_small_page_and_sends_to_everyone_once(mail_app, smtp, monkeypatch):
    """Nothing is sent before the first page is read: it is small, and the
    later pages are full."""
    import digest.send

    item = make_item("Windpark open")
    people = [make_person(f"p{n}") for n in range(7)]
    for n, person in enumerate(people):
        add_click(person, item, "linkedin", visitor=f"v{n}")
    pages = []
    batch = digest.send._WeeklyRun.batch
    monkeypatch.setattr(digest.send, "FIRST_PAGE", 2)
    monkeypatch.setattr(digest.send._WeeklyRun, "batch",
                        lambda self, people, *rest: (pages.append(len(people)), batch(self, people, *rest)))
    report = send_weekly(mail_app, batch_size=3)
    assert pages == [2, 3, 2]
    assert report.sent == 7
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == sorted(p.email for p in people)


def test_a_run_reads_through_a_small_page_cache_and_leaves_the_connections_as_it_was(mail_app, smtp, monkeypatch):
    from intranet_plugin import db as database
    from intranet_plugin.models import db

    make_person("emma")
    make_item("Windpark open")
    seen = []
    real = database.scan_cache

    def watched(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(database, "scan_cache", watched)
    with mail_app.app_context():
        before = db.execute_sql("PRAGMA cache_size").fetchone()[0] if not database.is_postgres() else None
        with database.scan_cache(kib=1000):
            inside = db.execute_sql("PRAGMA cache_size").fetchone()[0] if not database.is_postgres() else None
        assert run(mail_app).sent == 1
        after = db.execute_sql("PRAGMA cache_size").fetchone()[0] if not database.is_postgres() else None
    assert (inside, after) == ((-1000, before) if before is not None else (None, None))
    # The run itself, and its helper thread that reads each batch.
    assert any(name.startswith("digest-read") for name in seen) and len(set(seen)) >= 2


def test_a_sent_digest_costs_its_ledger_writes_and_nothing_else_per_person(mail_app, smtp):
    """Sending for real: the same statements for 5 or 40 people (one batch)
    but for the two ledger writes per message (its row at the hand-over and
    its "sent"), and milestones marked announced with that "sent": no query
    per person."""
    item = make_item("Windpark open")
    people = [make_person(f"p{n}") for n in range(40)]
    for n, person in enumerate(people):
        add_click(person, item, NETWORKS[n % 6], visitor=f"v{n}")

    def statements(count):
        MailLedger.delete().execute()
        Person.update(digest="off").execute()
        Person.update(digest="weekly").where(Person.id.in_([p.id for p in people[:count]])).execute()
        seen = []
        handler = logging.Handler()
        handler.emit = lambda record: seen.append(record.msg[0] if isinstance(record.msg, tuple) else record.msg)
        logger = logging.getLogger("peewee")
        logger.addHandler(handler)
        old = logger.level
        logger.setLevel(logging.DEBUG)
        try:
            report = run(mail_app)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old)
        assert report.sent == count
        writes = [sql for sql in seen if re.match(r'(INSERT (OR IGNORE )?INTO|UPDATE) "mail_ledger"', sql)]
        assert len(writes) == 2 * count
        return len(seen) - len(writes) - sum(sql.startswith('UPDATE "milestone"') for sql in seen)

    assert statements(5) == statements(40)


def test_dutch_person_gets_dutch_dates(mail_app, smtp):
    now = datetime.datetime(2026, 3, 2, 7, 0)
    make_person("sanne", locale="nl")
    make_person("emma", locale="en")
    make_item("Windpark open", publish_at=now - datetime.timedelta(days=1))

    run(mail_app, now=now)

    subjects = {m["To"].addresses[0].username: m["Subject"] for m in smtp.messages}
    # The week the figures cover: the seven days before the Monday it is sent.
    assert subjects["emma"] == "Your Ambassador week, February 23\u2009–\u2009March 1"  # CLDR thin spaces
    assert "23 februari\u2009–\u20091 maart" in subjects["sanne"]
    dutch = [m for m in smtp.messages if m["To"].addresses[0].username == "sanne"][0]
    assert 'lang="nl"' in dutch.get_body(("html",)).get_content()
    assert "23 feb" in dutch.get_body(("plain",)).get_content()  # the chart's week labels
    # The templates' own words, in each person's language, in both parts.
    english = [m for m in smtp.messages if m["To"].addresses[0].username == "emma"][0]
    for part in ("plain", "html"):
        assert "Hallo Sanne," in dutch.get_body((part,)).get_content()
        assert "Open de deelpagina" in dutch.get_body((part,)).get_content()
        assert "Hello Emma," in english.get_body((part,)).get_content()
        assert "deelpagina" not in english.get_body((part,)).get_content()


# -- exactly once ------------------------------------------------------------------

def test_a_second_run_in_the_same_week_sends_nothing(mail_app, smtp):
    make_person("emma")
    make_item("Windpark open")
    run(mail_app)
    report = run(mail_app)
    assert smtp.recipients() == {"emma@example.com": 1}
    assert (report.sent, report.earlier) == (0, 1)


def test_451_then_accepted_is_retried_and_sent_once(mail_app, smtp):
    emma = make_person("emma")
    make_item("Windpark open")
    smtp.handler.rcpt_replies["emma@example.com"] = ["451 4.7.1 Greylisted, try again"]
    sleeps = Sleeps()

    report = run(mail_app, sleeps=sleeps)

    assert report.sent == 1
    assert smtp.recipients() == {"emma@example.com": 1}
    assert smtp.handler.tries["emma@example.com"] == 2
    assert sleeps == [1]
    assert (ledger(emma).status, ledger(emma).attempts) == ("sent", 2)


def test_a_dropped_connection_is_retried_on_a_new_one(mail_app, smtp):
    make_person("emma")
    make_person("lisa")
    make_item("Windpark open")
    smtp.handler.data_replies["emma@example.com"] = ["drop"]

    report = run(mail_app)

    assert report.sent == 2
    assert smtp.recipients() == {"emma@example.com": 1, "lisa@example.com": 1}


def test_550_for_one_recipient_is_recorded_and_the_others_still_get_theirs(mail_app, smtp):
    people = [make_person(name) for name in ("anna", "bob", "carla")]
    make_item("Windpark open")
    smtp.handler.rcpt_replies["bob@example.com"] = ["550 5.1.1 No such user here"]
    sleeps = Sleeps()

    report = run(mail_app, sleeps=sleeps)

    assert (report.sent, report.failed) == (2, 1)
    assert smtp.recipients() == {"anna@example.com": 1, "carla@example.com": 1}
    bob = ledger(people[1])
    assert bob.status == "failed" and bob.error == "550 5.1.1 No such user here"
    assert report.errors == [("bob", "550 5.1.1 No such user here")]
    assert sleeps == []  # a permanent refusal is not retried
    assert run(mail_app).sent == 0  # nor sent again by a rerun


def test_refusals_after_the_data_are_handled_like_the_others(mail_app, smtp):
    # The verdict on a message's data is read after the next message is
    # built: a 451 there is retried, a 554 recorded, and the order kept.
    people = [make_person(name) for name in ("anna", "bob", "carla", "dirk")]
    make_item("Windpark open")
    smtp.handler.data_replies["anna@example.com"] = ["451 4.3.0 Try again"]
    smtp.handler.data_replies["bob@example.com"] = ["554 5.6.0 Message rejected"]
    sleeps = Sleeps()

    report = run(mail_app, sleeps=sleeps)

    assert (report.sent, report.failed) == (3, 1)
    assert smtp.recipients() == {"anna@example.com": 1, "carla@example.com": 1, "dirk@example.com": 1}
    assert sleeps == [1]
    assert [ledger(p).status for p in people] == ["sent", "failed", "sent", "sent"]
    assert ledger(people[0]).attempts == 2
    assert ledger(people[1]).error == "554 5.6.0 Message rejected"


def test_a_temporary_failure_that_lasts_is_deferred_to_the_next_run(mail_app, smtp):
    emma = make_person("emma")
    make_item("Windpark open")
    smtp.handler.rcpt_replies["emma@example.com"] = ["452 4.2.2 Mailbox full"] * 4
    sleeps = Sleeps()

    report = run(mail_app, sleeps=sleeps)

    assert (report.sent, report.deferred) == (0, 1)
    assert sleeps == [1, 2, 4]
    assert ledger(emma).status == "failed" and ledger(emma).error.startswith("temporary: 452")

    report = run(mail_app)

    assert report.sent == 1
    assert smtp.recipients() == {"emma@example.com": 1}
    assert ledger(emma).status == "sent"


class Crash(Exception):
    """Stands for the process dying."""


def crashing_after(k):
    class CrashingMailer(Mailer):
        def send_all(self, jobs, hand_over=None):
            for n, (key, outcome) in enumerate(super().send_all(jobs, hand_over), 1):
                if n == k:
                    # SMTP has accepted the k-th message (and the next one
                    # is built); the sender dies before it can record that.
                    raise Crash()
                yield key, outcome

    return CrashingMailer


def test_a_crash_after_k_of_n_and_a_rerun_sends_the_other_n_minus_k(mail_app, smtp):
    people = [make_person(f"p{n}") for n in range(6)]
    make_item("Windpark open")

    with pytest.raises(Crash):
        run(mail_app, mailer_class=crashing_after(2))

    assert sum(smtp.recipients().values()) == 2
    report = run(mail_app)

    assert report.sent == 4
    assert smtp.recipients() == {f"p{n}@example.com": 1 for n in range(6)}
    assert report.busy == 0 and "busy" not in report.summary()
    # The k-th: handed over, its outcome unknown: named, never sent again.
    assert report.doubt_count == 1 and report.doubt[0][0] == people[1].username
    assert "p1: handed over" in report.summary()
    assert run(mail_app).sent == 0


def test_a_message_in_doubt_is_sent_again_when_the_operator_says_it_did_not_go_out(mail_app, smtp):
    make_person("emma")
    make_item("Windpark open")
    smtp.handler.data_replies["emma@example.com"] = ["drop"] * 4
    sleeps = Sleeps()
    with pytest.raises(Crash):
        run(mail_app, mailer_class=crashing_after(1), sleeps=sleeps)  # lost, then the sender died
    assert smtp.recipients() == {}
    cli = mail_app.test_cli_runner()
    assert "emma: handed over" in cli.invoke(args=["mail", "doubts"]).output
    assert run(mail_app).sent == 0

    result = cli.invoke(args=["mail", "resolve", "emma"])
    assert result.exit_code != 0 and "--sent or --resend" in result.output
    result = cli.invoke(args=["mail", "resolve", "--resend", "nobody"])
    assert result.exit_code != 0 and "No message to 'nobody' is in doubt" in result.output
    result = cli.invoke(args=["mail", "resolve", "--resend", "emma"])
    assert "will be sent by the next run" in result.output

    assert run(mail_app).sent == 1
    assert smtp.recipients() == {"emma@example.com": 1}
    assert "No message is in doubt" in cli.invoke(args=["mail", "doubts"]).output


def test_two_concurrent_senders_send_each_person_exactly_once(mail_app, smtp):
    count = 16
    for n in range(count):
        make_person(f"p{n:02d}")
    make_item("Windpark open")
    start = threading.Barrier(2)
    reports, errors = [], []

    def sender():
        try:
            start.wait()
            reports.append(run(mail_app, batch_size=5))
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert smtp.recipients() == {f"p{n:02d}@example.com": 1 for n in range(count)}
    assert sum(r.sent for r in reports) == count
    assert MailLedger.select().where(MailLedger.status == "sent").count() == count


def test_an_unreachable_server_stops_the_run_and_a_rerun_sends_everything(make_app, smtp):
    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    make_person("emma")
    make_person("lisa")
    make_item("Windpark open")
    sleeps = Sleeps()

    report = run(app, sleeps=sleeps)

    assert report.error and report.sent == 0
    assert MailLedger.select().count() == 0  # nothing claimed is left behind
    app.config["SMTP_URL"] = smtp.url
    assert run(app).sent == 2


def test_dry_run_builds_and_reports_but_claims_and_sends_nothing(mail_app, smtp):
    make_person("emma")
    make_person("lisa")
    make_item("Windpark open")

    report = send_weekly(mail_app, dry_run=True)

    assert (report.sent, report.dry_run) == (2, True)
    assert "would send" in report.summary()
    assert smtp.messages == [] and MailLedger.select().count() == 0


# -- unsubscribe --------------------------------------------------------------------

@pytest.fixture
def csrf_app(make_app, smtp):
    return make_app(SMTP_URL=smtp.url, WTF_CSRF_ENABLED=True)


def test_one_click_unsubscribe_by_post(csrf_app, smtp):
    emma = make_person("emma")
    make_item("Windpark open")
    run(csrf_app)
    url = smtp.messages[0]["List-Unsubscribe"][1:-1]
    client = csrf_app.test_client()

    page = client.get(local_path(url))
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    assert Person.get_by_id(emma.id).digest == "weekly"  # following the link changes nothing

    response = client.post(local_path(url), data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert Person.get_by_id(emma.id).digest == "off"
    assert AuditLog.get(AuditLog.action == "unsubscribe").target_id == emma.id
    make_item("More news")
    MailLedger.delete().execute()
    assert run(csrf_app).sent == 0


def test_a_tampered_unsubscribe_token_changes_nothing(csrf_app, smtp):
    emma = make_person("emma")
    lisa = make_person("lisa")
    make_item("Windpark open")
    run(csrf_app)
    url = [m for m in smtp.messages if m["To"].addresses[0].username == "emma"][0]["List-Unsubscribe"][1:-1]
    token = url.rsplit("/", 1)[1]
    other = url.replace(token, token[:-3] + ("xyz" if not token.endswith("xyz") else "abc"))
    client = csrf_app.test_client()

    for method in (client.get, client.post):
        response = method(local_path(other))
        assert response.status_code == 400
        assert "does not work" in response.get_data(as_text=True)
    assert {p.digest for p in Person.select()} == {"weekly"}
    assert lisa.id != emma.id


# -- previews and the command line ------------------------------------------------

def test_admin_preview_page(mail_app, smtp, client):
    make_person("anouk", role="admin")
    make_person("emma", display_name="Emma de Vries")
    make_item("Windpark open")
    login(client, "anouk")

    page = client.get("/admin/digest/preview?user=emma")
    frame = client.get("/admin/digest/preview/message?user=emma")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Your Ambassador week, " in text and "Windpark open" in text  # subject and text part
    assert "/admin/digest/preview/message?user=emma" in text
    assert frame.status_code == 200
    assert frame.headers["Content-Security-Policy"].startswith("sandbox")
    assert "Windpark open" in frame.get_data(as_text=True)
    assert client.get("/admin/digest/preview?user=nobody").status_code == 404
    assert smtp.messages == [] and MailLedger.select().count() == 0


def test_preview_is_for_admins_only(mail_app, client):
    make_person("emma")
    login(client, "emma")
    assert client.get("/admin/digest/preview?user=emma").status_code == 403
    assert client.get("/admin/digest/preview/message?user=emma").status_code == 403


def test_cli_preview_and_send(mail_app, smtp, tmp_path):
    make_person("emma")
    make_item("Windpark open")
    runner = mail_app.test_cli_runner()
    out = tmp_path / "emma.html"

    result = runner.invoke(args=["digest", "preview", "--user", "emma", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Windpark open" in out.read_text() and out.read_text().startswith("<!doctype html>")
    assert runner.invoke(args=["digest", "preview", "--user", "nobody"]).exit_code != 0
    result = runner.invoke(args=["digest", "preview", "--user", "EMMA", "--text"])  # by name, any case
    assert result.exit_code == 0 and "Windpark open" in result.output

    result = runner.invoke(args=["digest", "send", "--dry-run"])
    assert result.exit_code == 0 and "1 would send" in result.output
    assert smtp.messages == []

    result = runner.invoke(args=["digest", "send"])
    assert result.exit_code == 0 and "1 sent" in result.output
    assert smtp.recipients() == {"emma@example.com": 1}


# Made by the code that signed tokens by hand (before itsdangerous did), with
# the test app's secret, at 1,790,000,000 seconds: links in mails already sent.
OLD_SHARE_TOKEN = "WzEyMzQ1LDY3OCwid2hhdHNhcHAiLCJlbWFpbCJd.arE7gA._kxqTkX7KPe6FGgNmsdxo6QjHRs"
OLD_UNSUBSCRIBE_TOKEN = "WzcsImFsZXJ0cyJd.TejSsqqqf16ScTkI_JHy79lyaE4"


def test_links_in_mails_already_sent_keep_working(mail_app, monkeypatch):
    import time

    from digest.links import MailLinks, read_unsubscribe_token
    from intranet_plugin.content.sharing import read_share_token
    from intranet_plugin.mail.links import mail_context

    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)
    with mail_context(mail_app):
        # A share button of an old mail still opens the network, but can no
        # longer record a share (it has no id to be used once by).
        assert read_share_token(OLD_SHARE_TOKEN) == (12345, 678, "whatsapp", "email", None)
        assert not read_share_token(OLD_SHARE_TOKEN).records
        assert read_unsubscribe_token(OLD_UNSUBSCRIBE_TOKEN) == (7, "alerts")
        assert read_share_token(OLD_SHARE_TOKEN[:-2] + "xx") is None
        new = read_share_token(*(MailLinks().share(12345, 678) + "whatsapp").split("/share/")[1].split("/"))
        assert new[:4] == (12345, 678, "whatsapp", "digest") and new.records
