"""Milestones: recognition a person can see, the one place where they are
worked out. Every one comes from counted figures, never from button
presses, except the first share, which recognises trying:

* ``first_share``: the first counted share (``ShareEvent.counted``);
* ``first_click``: the first counted click on the person's links;
* ``points_10``, ``points_100``, ``points_1000``: 10, 100 and 1,000 points,
  the capped unique visitors that /me and the leaderboard call points (the
  day the running sum of the person's daily visitors reaches the number);
* ``first_applicant``: the first application reported through their link;
* ``streak_4``, ``streak_12``: 4 and 12 ISO weeks in a row with a counted
  click (as ``analytics.streak`` counts them), reached even when the
  streak has ended since.

Each milestone has the UTC day it was reached, worked out from the clicks,
shares and conversions themselves, so it reads the same whenever it is
computed. ``sync`` stores what is newly reached (``Milestone`` rows), so
that the digest can announce each one once (``announced_in_digest_at``).
Everything runs a constant number of queries for any number of people.
"""

import datetime
import functools
import operator

from peewee import SQL, Case, Select, fn

from intranet_plugin import analytics
from intranet_plugin.models import Conversion, Milestone, PersonDay, PersonTotal, ShareEvent, TrackedLink, utcnow

POINTS = (10, 100, 1000)
STREAKS = (4, 12)
POINTED = tuple(f"points_{n}" for n in POINTS)
STREAKED = tuple(f"streak_{n}" for n in STREAKS)
ORDER = ("first_share", "first_click", *POINTED, "first_applicant", *STREAKED)


def _streaks(weeks):
    """The streak milestones of one person's {Monday: first day with a
    counted click}: the first day of the week that made each run."""
    reached, run, previous = {}, 0, None
    for monday in sorted(weeks):
        run = run + 1 if previous is not None and monday - previous == datetime.timedelta(weeks=1) else 1
        previous = monday
        for n in STREAKS:
            if run == n and f"streak_{n}" not in reached:
                reached[f"streak_{n}"] = weeks[monday]
    return reached


def _from_clicks(needs):
    """{person_id: {milestone: day}} of the click milestones: the first
    counted click, and the day the running sum of daily visitors reached
    each number of points, worked out in SQL over the people's day totals
    (a row per person comes back). ``needs``: {person_id: the fewest points
    of the milestone they have yet to reach, 0 for a first click}; only the
    people whose all-time points reach that far are read."""
    by_need = {}
    for pid, need in needs.items():
        by_need.setdefault(need, []).append(pid)
    # Whose history can hold something new (at most one condition per need).
    anyone = [PersonTotal.person_id.in_(pids) & (PersonTotal.visitors >= need if need else PersonTotal.clicks > 0)
              for need, pids in sorted(by_need.items())]
    candidates = PersonTotal.select(PersonTotal.person_id).where(
        functools.reduce(operator.or_, anyone) if anyone else SQL("1 = 0"))
    running = fn.SUM(PersonDay.visitors).over(partition_by=[PersonDay.person_id], order_by=[PersonDay.day])
    days = (PersonDay.select(PersonDay.person_id, PersonDay.day, running.alias("running"))
            .where(PersonDay.person_id.in_(candidates), PersonDay.clicks > 0).alias("d"))
    firsts = [fn.MIN(Case(None, [(days.c.running >= n, days.c.day)], None)) for n in POINTS]
    query = Select([days], [days.c.person_id, fn.MIN(days.c.day), *firsts]).group_by(days.c.person_id)
    reached = {}
    for pid, first, *points in query.bind(PersonDay._meta.database).tuples():
        reached[pid] = {"first_click": analytics._date(first)}
        reached[pid].update((f"points_{n}", analytics._date(day)) for n, day in zip(POINTS, points, strict=True) if day)
    return reached


def compute(person_ids, known=None):
    """{person_id: {milestone: day reached}} for the given people, from
    their counted shares, clicks and applications. ``known``: {person_id:
    milestones already stored}; a milestone once reached stays reached, so
    only the people missing one of a kind are worked out for that kind (the
    click milestones read a person's whole history). Four queries."""
    ids = list(person_ids)
    result = {pid: {} for pid in ids}
    if not ids:
        return result
    known = known or {}

    def missing(*keys):
        return [pid for pid in ids if not set(keys) <= known.get(pid, set())]

    for pid, first in (ShareEvent.counted().select(ShareEvent.person, fn.MIN(ShareEvent.day))
                       .where(ShareEvent.person.in_(missing("first_share"))).group_by(ShareEvent.person).tuples()):
        result[pid]["first_share"] = analytics._date(first)
    # From the people's day totals (no raw click is read): the click
    # milestones per person, and the weeks with a counted click.
    needs = {}
    for pid in missing("first_click", *POINTED):
        have = known.get(pid, set())
        needs[pid] = 0 if "first_click" not in have else next(n for n in POINTS if f"points_{n}" not in have)
    for pid, reached in _from_clicks(needs).items():
        result[pid].update(reached)
    for pid, weeks in analytics.weeks_with_clicks(missing(*STREAKED)).items():
        result[pid].update(_streaks(weeks))
    for pid, first in (Conversion.select(TrackedLink.person, fn.MIN(Conversion.at)).join(TrackedLink)
                       .where(TrackedLink.person.in_(missing("first_applicant")) & (Conversion.kind == "application"))
                       .group_by(TrackedLink.person).tuples()):
        day = first.date() if isinstance(first, datetime.datetime) else analytics._date(first)
        result[pid]["first_applicant"] = day
    return result


def sync(person_ids):
    """Store the milestones newly reached by these people and return
    {person_id: [Milestone]} in the order of ``ORDER``: those stored
    already, and what ``compute`` finds beyond them. Six statements."""
    ids = list(person_ids)
    stored = {pid: {} for pid in ids}
    for row in Milestone.select().where(Milestone.person.in_(ids)):
        stored[row.person_id][row.key] = row
    reached = compute(ids, {pid: set(rows) for pid, rows in stored.items()})
    new = [{"person": pid, "key": key, "reached_at": day}
           for pid, keys in reached.items() for key, day in keys.items() if key not in stored[pid]]
    if new:
        Milestone.insert_many(new).on_conflict_ignore().execute()
        for row in Milestone.select().where(Milestone.person.in_({r["person"] for r in new})):
            stored[row.person_id][row.key] = row
    return {pid: sorted(rows.values(), key=lambda m: ORDER.index(m.key)) for pid, rows in stored.items()}


def counts(person_ids):
    """{person_id: number of milestones reached}: the leaderboard's badge
    (newly reached ones stored, as on the personal page)."""
    return {pid: len(rows) for pid, rows in sync(person_ids).items()}


def mark_announced(milestone_ids, at=None):
    """The digest told the person about these milestones."""
    ids = list(milestone_ids)
    if ids:
        (Milestone.update(announced_in_digest_at=at or utcnow())
         .where(Milestone.id.in_(ids) & Milestone.announced_in_digest_at.is_null()).execute())
