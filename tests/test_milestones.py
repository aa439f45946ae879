"""Milestones as people meet them: on /me with the day each was reached,
once in the digest, as a badge on the leaderboard for those who chose to
appear. Click milestones come from points (capped unique visitors), never
from presses of a share button."""

import datetime
import re

from digest.send import send_weekly
from helpers import login, make_item, make_person, store_click
from intranet_plugin.analytics import milestones
from intranet_plugin.mail.smtp import Mailer
from intranet_plugin.models import Conversion, Milestone, PersonDay, TrackedLink, utcnow
from intranet_plugin.people import data


def clicks(person, item, visitors, at=None, network="linkedin"):
    link = TrackedLink.for_share(person, item, network)
    for n in range(visitors):
        store_click(link, at or utcnow() - datetime.timedelta(hours=1), visitor=f"{person.username}-{n}")
    return link


def share_buttons(page):
    return dict(re.findall(r'data-share-network="(\w+)"[^>]*href="([^"]+)"', page))


def milestone_list(client):
    page = client.get("/me").get_data(as_text=True)
    section = page.split('id="milestones-h"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<span class="badge">([^<]+)</span>', section)


def test_pressing_share_twenty_times_reaches_no_click_milestone(client):
    emma = make_person("emma")
    login(client, "emma")
    make_item("Wind farm opens")
    for _ in range(20):
        client.get(share_buttons(client.get("/").get_data(as_text=True))["linkedin"])
    assert milestone_list(client) == ["First share"]

    item = make_item("Solar park opens")
    clicks(emma, item, 10)
    assert milestone_list(client) == ["First share", "First click on a link you shared", "10 points"]
    # Ten clicks by one visitor are one point.
    bob = make_person("bob")
    link = TrackedLink.for_share(bob, item, "linkedin")
    for _ in range(10):
        store_click(link, visitor="the-same-visitor")
    assert [m.key for m in milestones.sync([bob.id])[bob.id]] == ["first_click"]


def test_days_reached_streaks_and_applicants_come_from_the_records(app):
    emma = make_person("emma")
    item = make_item("Wind farm opens")
    start = datetime.datetime(2026, 1, 5, 9)  # a Monday
    for week in range(4):  # four weeks in a row, long ago: the streak has ended since
        clicks(emma, item, 3, at=start + datetime.timedelta(weeks=week, days=2))
    link = TrackedLink.for_share(emma, item, "linkedin")
    Conversion.create(link=link, kind="application", external_id="a1", at=datetime.datetime(2026, 3, 1, 12))
    reached = milestones.compute([emma.id])[emma.id]
    assert reached == {"first_click": datetime.date(2026, 1, 7), "points_10": datetime.date(2026, 1, 28),
                       "streak_4": datetime.date(2026, 1, 28), "first_applicant": datetime.date(2026, 3, 1)}


def test_the_digest_announces_a_milestone_once(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, MAIL_FROM="Ambassador <ambassador@example.com>")
    with app.app_context():
        emma = make_person("emma")
        clicks(emma, make_item("Wind farm opens"), 10)
        # Bob reached his before the last five weeks (an upgrade finds them): not news.
        bob = make_person("bob")
        clicks(bob, make_item("Solar farm opens"), 10, at=utcnow() - datetime.timedelta(days=60))
        with Mailer.from_config(app.config, sleep=lambda s: None) as mailer:
            send_weekly(app, dry_run=True, mailer=mailer)  # a dry run announces nothing
            assert Milestone.get(key="points_10", person=emma).announced_in_digest_at is None
            send_weekly(app, mailer=mailer)
        bodies = {m["To"].addresses[0].username: m.get_body(("plain",)).get_content() for m in smtp.messages}
        assert "Milestone reached: 10 points!" in bodies["emma"]
        assert "Milestone reached" not in bodies["bob"]
        assert Milestone.get(key="points_10", person=emma).announced_in_digest_at is not None

        make_item("Solar park opens")
        with Mailer.from_config(app.config, sleep=lambda s: None) as mailer:
            send_weekly(app, mailer=mailer, now=utcnow() + datetime.timedelta(days=7))
        assert len(smtp.messages) == 4
        assert not any("Milestone reached" in m.get_body(("plain",)).get_content() for m in smtp.messages[2:])


def test_the_leaderboard_shows_milestones_of_people_who_chose_to_appear(client):
    item = make_item("Wind farm opens")
    clicks(make_person("emma", display_name="Emma Visible", show_on_leaderboard=True), item, 10)
    clicks(make_person("bob", display_name="Bob Hidden"), item, 12)
    make_person("carl")
    login(client, "carl")
    page = client.get("/leaderboard?period=all").get_data(as_text=True)
    assert re.search(r"Emma Visible.*2 milestones", page)
    assert "Bob Hidden" not in page and page.count("milestones</span>") == 1


def test_deleting_ones_data_deletes_ones_milestones(client):
    emma = make_person("emma")
    clicks(emma, make_item("Wind farm opens"), 10)
    login(client, "emma")
    assert "10 points" in milestone_list(client)
    data.erase_person(emma)
    assert not Milestone.select().where(Milestone.person == emma.id).exists()


def test_a_milestone_once_reached_stays_and_is_not_worked_out_again(app):
    """The leaderboard's badge stores what it finds, as /me does; a stored
    milestone counts without reading the person's history again."""
    emma = make_person("emma", show_on_leaderboard=True)
    clicks(emma, make_item("Wind farm opens"), 10)
    assert milestones.counts([emma.id]) == {emma.id: 2}  # first click, 10 points
    assert {m.key for m in Milestone.select().where(Milestone.person == emma)} == {"first_click", "points_10"}
    # Were her history read again, it would say only "first click" now.
    PersonDay.update(visitors=1).where(PersonDay.person_id == emma.id).execute()
    assert milestones.compute([emma.id])[emma.id].keys() == {"first_click"}
    assert milestones.counts([emma.id]) == {emma.id: 2}
    assert [m.key for m in milestones.sync([emma.id])[emma.id]] == ["first_click", "points_10"]


def test_the_next_milestone_is_found_once_the_points_reach_it(app):
    emma = make_person("emma", show_on_leaderboard=True)
    item = make_item("Wind farm opens")
    clicks(emma, item, 10)
    assert milestones.counts([emma.id]) == {emma.id: 2}  # first click, 10 points: stored
    link = clicks(emma, item, 0)
    for n in range(89):
        store_click(link, visitor=f"more-{n}")
    assert milestones.counts([emma.id]) == {emma.id: 2}  # 99 points
    store_click(link, visitor="the-hundredth")
    assert [m.key for m in milestones.sync([emma.id])[emma.id]] == ["first_click", "points_10", "points_100"]
