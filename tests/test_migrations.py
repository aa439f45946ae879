"""Schema changes go through migrations, and an upgrade keeps every row."""

from conftest import make_item, make_person
from intranet_plugin import create_app
from intranet_plugin import db as database
from intranet_plugin.models import Click, Item, Person, ShareEvent, TrackedLink, db
from intranet_plugin.sharing import resolve


def test_data_of_the_first_schema_survives_upgrade(database_url_factory, tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url_factory(),
                      "CLICK_JOURNAL_DIR": "off", "PUBLIC_URL": "https://go.example.com"})
    with app.app_context():
        assert database.upgrade("0001_initial") == ["0001_initial"]
        assert database.pending() != []
        # rows written while only the first schema existed
        person = make_person("emma", department="Engineering")
        item = make_item("Wind farm opens", url="https://www.example.com/a?b=1#c")
        link = TrackedLink.for_share(person, item, "linkedin")
        ShareEvent.create(person=person, item=item, link=link, network="linkedin", day=item.publish_at.date())
        Click.insert(event_id="e1", link=link, at=item.publish_at, day=item.publish_at.date(),
                     kind="human", visitor="v1").execute()

        applied = database.upgrade()
        assert "0002_click_and_share_indexes" in applied
        assert database.pending() == []

        assert Person.get(username="emma").department == "Engineering"
        assert Item.get().url == "https://www.example.com/a?b=1#c"
        assert Click.get().event_id == "e1"
        assert ShareEvent.select().count() == 1
        with app.test_request_context():
            assert resolve(link.code).url.startswith("https://www.example.com/a?b=1&utm_source=linkedin")
        indexes = {i.name for i in db.get_indexes("click")}
        assert "click_link_id_day" in indexes
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
    # running it again adds nothing
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and Person.select().count() == len(set(p.username for p in Person.select()))
    assert "10 people, 14 items" in again.output
