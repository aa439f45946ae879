"""The share page's language menu in Chromium: a German reader sees items
in German and English; choosing "All languages" or one language swaps the
results in place (htmx), keeps the address, and "Show more" keeps the
choice; the page speaks German (``<html lang>``) after the language menu."""

import re

import pytest
from playwright.sync_api import expect

from helpers import make_item, make_person
from helpers.browser import DESKTOP_CHROME, ConsoleLog, serve
from intranet_plugin.models import utcnow

ITEMS = [("de", "Windpark eröffnet"), ("en", "Wind farm opens"), ("sl", "Vetrna elektrarna odprta"),
         ("fr", "Parc éolien ouvert"), ("sl", "Nova delovna mesta")]


@pytest.fixture
def site(make_app):
    import datetime

    def build(base):
        return make_app(PUBLIC_URL=base, BASE_URL=base, PAGE_SIZE="1", CONTENT_LANGUAGES="en")

    with serve(build) as (base, app):
        with app.app_context():
            make_person("marta", display_name="Marta Novak", locale="de")
            for n, (language, title) in enumerate(ITEMS):
                make_item(title, language=language, publish_at=utcnow() - datetime.timedelta(hours=n + 1))
        yield base


def test_the_language_menu_filters_the_share_page_in_place(chromium, site):
    expect.set_options(timeout=10_000)
    context = chromium.new_context(base_url=site, user_agent=DESKTOP_CHROME, locale="en-GB")
    context.set_default_timeout(10_000)
    console = ConsoleLog(context)
    page = context.new_page()
    page.goto("/login")
    page.get_by_role("button", name=re.compile("Marta Novak")).click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("article.card")).to_have_count(1)
    expect(page.locator("article.card")).to_contain_text("Windpark eröffnet")
    menu = page.locator("select#lang")
    expect(menu).to_have_value("")
    expect(menu.locator("option").first).to_have_text("Deine Sprachen: Englisch, Deutsch")

    # htmx and the page's script are deferred: a choice made before they ran
    # would send nothing (a busy machine is slow to get there).
    page.wait_for_load_state("load")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.notReloaded = true")
    menu.select_option("sl")
    expect(page).to_have_url(re.compile(r"[?&]lang=sl"))
    expect(page.locator("article.card")).to_contain_text("Vetrna elektrarna odprta")
    page.get_by_role("link", name="Mehr anzeigen").click()
    expect(page.locator("article.card")).to_have_count(2)
    expect(page.locator("article.card").nth(1)).to_contain_text("Nova delovna mesta")
    expect(page).to_have_url(re.compile(r"lang=sl.*page=2|page=2.*lang=sl"))

    menu.select_option("all")
    expect(page.locator("article.card")).to_have_count(1)
    expect(page.locator("article.card")).to_contain_text("Windpark eröffnet")
    page.locator("#q").fill("Parc")
    expect(page.locator("article.card")).to_contain_text("Parc éolien ouvert")
    assert page.evaluate("window.notReloaded") is True  # swapped in place, no reload
    assert console.messages == [] and console.csp_violations(page) == []
    context.close()
