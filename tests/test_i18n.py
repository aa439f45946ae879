"""Every user-facing string is translatable, and Dutch is complete."""

import os
import subprocess
import sys

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(ROOT, "intranet_plugin", "translations", "nl", "LC_MESSAGES")


def dutch():
    with open(os.path.join(CATALOG, "messages.po"), "rb") as fh:
        return read_po(fh, locale="nl")


def test_catalog_covers_every_string_in_the_source(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as fh:
        source = {m.id for m in read_po(fh) if m.id}
    translated = {m.id for m in dutch() if m.id}
    missing = source - translated
    assert not missing, f"run `make translations` and translate: {sorted(map(str, missing))}"


def test_every_dutch_translation_is_filled_in():
    empty = [m.id for m in dutch() if m.id and (not m.string or m.fuzzy)]
    assert not empty, f"untranslated or fuzzy: {empty}"


def messages(catalog):
    """{(context, id): translation} of the messages a catalog translates:
    what gettext will answer, whatever tool or version wrote the file."""
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)):
            m.string if isinstance(m.string, str) else tuple(m.string)
            for m in catalog if m.id and m.string and not m.fuzzy}


def test_compiled_catalog_is_up_to_date():
    with open(os.path.join(CATALOG, "messages.mo"), "rb") as fh:
        compiled = read_mo(fh)
    assert messages(compiled) == messages(dutch()), "run `make translations` to compile messages.mo"
