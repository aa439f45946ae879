"""Every user-facing string is translatable, and every shipped language
(Dutch, German, Slovenian) is complete, plural forms included."""

import os
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from intranet_plugin.i18n import LANGUAGES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATED = sorted(code for code in LANGUAGES if code != "en")


def catalog_dir(language):
    return os.path.join(ROOT, "intranet_plugin", "translations", language, "LC_MESSAGES")


def catalog(language):
    with open(os.path.join(catalog_dir(language), "messages.po"), "rb") as fh:
        return read_po(fh, locale=language)


def test_every_language_in_the_menu_ships_a_catalog():
    shipped = {name for name in os.listdir(os.path.join(ROOT, "intranet_plugin", "translations"))
               if os.path.isdir(catalog_dir(name))}
    assert shipped == set(TRANSLATED)


@pytest.fixture(scope="module")
def source_ids(tmp_path_factory):
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-k", "_n:1,2", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_catalog_covers_every_string_in_the_source(language, source_ids):
    translated = {m.id for m in catalog(language) if m.id}
    missing = source_ids - translated
    assert not missing, f"run `make translations` and translate: {sorted(map(str, missing))}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_is_filled_in(language):
    cat = catalog(language)
    empty = []
    for m in cat:
        if not m.id:
            continue
        forms = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        if m.fuzzy or not all(forms) or (m.pluralizable and len(forms) != cat.num_plurals):
            empty.append(m.id)
    assert not empty, f"untranslated or fuzzy in {language}: {empty}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_survive_translation(language):
    """A translation keeps every %(name)s of its message, or formatting it
    raises (a 500) in that language only."""
    import re
    names = re.compile(r"%\((\w+)\)[sd]")
    wrong = []
    for m in catalog(language):
        ids = m.id if isinstance(m.id, (list, tuple)) else (m.id,)
        forms = m.string if isinstance(m.string, (list, tuple)) else (m.string,)
        if not m.id or not all(forms):
            continue
        wanted = set(names.findall(ids[-1])) - {"num"}
        for form in forms:
            if not set(names.findall(form)) <= set(names.findall(" ".join(ids))) or \
                    not wanted - {"count"} <= set(names.findall(form)):
                wrong.append((m.id, form))
    assert not wrong, wrong


def messages(cat):
    """{(context, id): translation} of the messages a catalog translates:
    what gettext will answer, whatever tool or version wrote the file."""
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)):
            m.string if isinstance(m.string, str) else tuple(m.string)
            for m in cat if m.id and m.string and not m.fuzzy}


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalog_is_up_to_date(language):
    with open(os.path.join(catalog_dir(language), "messages.mo"), "rb") as fh:
        compiled = read_mo(fh)
    assert messages(compiled) == messages(catalog(language)), \
        "run `make translations` to compile messages.mo"


def test_slovenian_has_its_four_plural_forms():
    """1 (and 101), 2, 3-4, and 5 and more each take their own form."""
    from babel.support import Translations
    with open(os.path.join(catalog_dir("sl"), "messages.mo"), "rb") as fh:
        translations = Translations(fh)
    plurals = [m for m in catalog("sl") if m.pluralizable and m.string and all(m.string)]
    assert plurals, "the Slovenian catalog has no plural messages"
    singular, plural = plurals[0].id
    forms = [translations.ngettext(singular, plural, n) for n in (1, 2, 3, 5, 101)]
    assert forms[0] == forms[4] == plurals[0].string[0]
    assert forms[1:4] == list(plurals[0].string[1:4])
