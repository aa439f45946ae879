"""Finding a person by what an admin remembers of them: part of the display
name or the user name, in any case, with or without accents ("emma de
vries", "Rene" for "René").

Accent folding is not portable between SQLite and PostgreSQL (PostgreSQL
needs the unaccent extension), so the names are read in one query and
matched here. The people table holds the company's staff at most, the page
is an admin's, and only three short columns are read.
"""

import unicodedata
from dataclasses import dataclass

from intranet_plugin.models import Person

LIMIT = 20  # matches offered to pick from


def fold(text):
    """``text`` for matching: accents dropped, case folded, runs of white
    space as one space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


@dataclass
class Found:
    """The answer to a search: ``person`` when one person is meant (the
    exact user name, the one exact name, or the only match), else
    ``matches`` to pick from (at most LIMIT, ``more`` beyond)."""

    person: Person | None = None
    matches: list = None
    more: int = 0


def find_person(text, limit=LIMIT):
    """The person (or the people) ``text`` names; see Found."""
    text = (text or "").strip()
    if not text:
        return Found(matches=[])
    exact = Person.get_or_none(Person.username == text)
    if exact is not None:
        return Found(person=exact)
    words = fold(text).split()
    wanted = " ".join(words)
    named, matches = [], []
    rows = Person.select(Person.id, Person.username, Person.display_name).order_by(Person.display_name,
                                                                                  Person.id).tuples()
    for pid, username, display_name in rows:
        name, user = fold(display_name), fold(username)
        if wanted in (name, user):
            named.append(pid)
        if all(word in name or word in user for word in words):
            matches.append(pid)
    if len(named) == 1 or len(matches) == 1:
        return Found(person=Person.get_by_id(named[0] if len(named) == 1 else matches[0]))
    people = list(Person.select().where(Person.id.in_(matches[:limit])).order_by(Person.display_name, Person.id))
    return Found(matches=people, more=max(0, len(matches) - limit))
