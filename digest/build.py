"""What goes into each person's digest, read for a batch of people at once.

The figures come from intranet_plugin.analytics, the one place where clicks,
visitors and earned media value are counted (raw clicks and daily roll-ups
alike), so the digest says what the person's impact page says. A batch
costs the same fixed number of aggregate queries (GROUP BY over the batch's
ids) whatever the number of people, items or clicks; Python only walks
aggregated rows and the handful of new items, never click rows.
"""

import datetime
from dataclasses import dataclass, field

from peewee import Case, fn

from intranet_plugin import analytics
from intranet_plugin.analytics import milestones
from intranet_plugin.content.audiences import audience_of, viewer
from intranet_plugin.models import (
    Item,
    LinkTotal,
    MailLedger,
    ShareEvent,
    TrackedLink,
)

DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(days=7)
BARS = 8  # weeks in the chart
RANK_MENTIONED = 3  # a leaderboard place is mentioned up to this one


class Windows:
    """The digest's weeks: whole UTC days, as analytics counts them. "This
    week" is the seven days before the day of sending (a Monday digest
    covers Monday to Sunday), the week before the seven days before that;
    the chart has eight such weeks, oldest first."""

    def __init__(self, now):
        self.now = now
        today = now.date()
        self.starts = [today - WEEK * (BARS - i) for i in range(BARS)]  # first day of each week
        self.last_day = today - DAY
        self.week = analytics.Period(self.starts[-1], self.last_day)
        self.before = analytics.Period(self.starts[-2], self.starts[-1] - DAY)

    @property
    def week_start(self):
        """When new items start to count for someone without an earlier digest."""
        return datetime.datetime.combine(self.starts[-1], datetime.time())


@dataclass
class Impact:
    shares_week: int = 0
    shares_prev: int = 0
    shares_all: int = 0
    clicks_week: int = 0
    clicks_prev: int = 0
    clicks_all: int = 0
    visitors_week: int = 0
    visitors_prev: int = 0
    visitors_all: int = 0
    value_week: float = 0.0
    value_prev: float = 0.0
    value_all: float = 0.0
    bars: list = field(default_factory=lambda: [0] * BARS)  # counted clicks per week, oldest first
    best_title: str = ""
    best_visitors: int = 0
    best_this_week: bool = False
    best_week: analytics.BestWeek | None = None  # the person's best week so far (this one included)
    rank: int | None = None  # the place on the public leaderboard, if one a digest mentions
    ranked: int = 0  # people on the public leaderboard, up to RANK_MENTIONED
    milestones: list = field(default_factory=list)  # Milestone rows reached and not yet announced


    @property
    def has_news(self):
        """Something happened this week worth a digest on its own."""
        return bool(self.shares_week or self.clicks_week or self.milestones)

    @property
    def encouraging_rank(self):
        """The leaderboard place worth mentioning: near the top only. Low
        on the board, a place discourages more than it motivates, so the
        digest does not say it (the leaderboard page still does)."""
        return self.rank if self.rank is not None and self.rank <= RANK_MENTIONED else None


@dataclass
class Digest:
    person: object
    items: list  # Item rows, in the order shown
    more: int  # further new items not shown
    impact: Impact
    since: datetime.datetime

    @property
    def empty(self):
        """Nothing new and nothing to report: no e-mail."""
        return not self.items and not self.impact.has_news


class Leaderboard:
    """Places on the public all-time leaderboard (analytics.leaderboard:
    only people who chose to appear, ranked among themselves), read once
    per run: only the places a digest mentions (``RANK_MENTIONED``), ranked
    a batch of people at a time (analytics.leaderboard_top), so that a
    run's memory does not grow with the number of people."""

    def __init__(self):
        rows = analytics.leaderboard_top(analytics.all_time(), RANK_MENTIONED)
        self.ranks = {row["person_id"]: row["rank"] for row in rows}

    def rank(self, person):
        return self.ranks.get(person.id)

    def __len__(self):
        return len(self.ranks)


def fresh_at(item):
    """When an item became new to readers: published, or imported later
    with an older publication date."""
    return max(item.publish_at, item.created_at or item.publish_at)


def priority(item):
    """Pinned first, then campaign items, then the newest."""
    return (not item.pinned, item.campaign_id is None, -fresh_at(item).timestamp(), -item.id)


class Batch:
    """The digests of one batch of people."""

    def __init__(self, people, week, windows, leaderboard, max_items):
        self.windows = windows
        self.leaderboard = leaderboard
        self.max_items = max_items
        ids = [p.id for p in people]
        self.since = self._since(ids, week)
        self.impacts = self._impacts(ids)
        self.milestones = milestones.sync(ids)
        self.candidates = self._candidates(min(self.since.values(), default=windows.week_start))
        self.audiences = audience_of([i.id for i in self.candidates])
        self.shared = self._shared(ids, [i.id for i in self.candidates])

    def digest(self, person):
        since = self.since[person.id]
        kinds = set(person.kinds or ())
        sees = viewer(person)
        fresh = [i for i in self.candidates
                 if fresh_at(i) > since and (not kinds or i.kind in kinds)
                 and (person.id, i.id) not in self.shared and self.audiences[i.id].admits(sees)]
        impact = self.impacts[person.id]
        # Milestones not yet announced, reached since the last digest: the
        # first digest after an upgrade does not announce the whole past.
        impact.milestones = [m for m in self.milestones[person.id]
                             if m.announced_in_digest_at is None and m.reached_at >= since.date()]
        impact.rank = self.leaderboard.rank(person)
        impact.ranked = len(self.leaderboard)
        return Digest(person, fresh[:self.max_items], max(0, len(fresh) - self.max_items), impact, since)

    def _since(self, ids, week):
        """Each person's last digest that went out (this week's excepted),
        else a week ago; never more than five weeks back, so that someone who
        turns the digest on again is not sent the whole library."""
        rows = (MailLedger.select(MailLedger.person, fn.MAX(MailLedger.sent_at))
                .where((MailLedger.kind == "digest") & MailLedger.person.in_(ids) & (MailLedger.status == "sent")
                       & (MailLedger.period != week) & MailLedger.sent_at.is_null(False))
                .group_by(MailLedger.person).tuples())
        last = dict(rows)
        start = self.windows.week_start
        return {pid: max(last.get(pid) or start, start - 4 * WEEK) for pid in ids}

    def _candidates(self, since):
        items = (Item.shareable(self.windows.now)
                 .where((Item.publish_at > since) | (Item.created_at > since)))
        return sorted(items, key=priority)

    def _shared(self, ids, item_ids):
        if not item_ids:
            return set()
        return set(ShareEvent.counted().select(ShareEvent.person, ShareEvent.item).distinct()
                   .where(ShareEvent.person.in_(ids) & ShareEvent.item.in_(item_ids)).tuples())

    def _impacts(self, ids):
        w = self.windows
        impacts = {pid: Impact() for pid in ids}
        for period, suffix in ((w.week, "week"), (w.before, "prev"), (analytics.all_time(), "all")):
            for pid, totals in analytics.person_totals(ids, period).items():
                i = impacts[pid]
                setattr(i, f"shares_{suffix}", totals.shares)
                setattr(i, f"clicks_{suffix}", totals.clicks)
                setattr(i, f"visitors_{suffix}", totals.visitors)
                setattr(i, f"value_{suffix}", totals.emv)
        for pid, best in analytics.best_weeks(ids, w.last_day).items():
            impacts[pid].best_week = best
        self._bars_and_best(ids, impacts)
        return impacts

    def _bars_and_best(self, ids, impacts):
        """Counted clicks per week of the chart, and the best item (most
        visitors this week, else of all time): two queries grouped by person
        and item, one over the raw and rolled-up clicks of the chart's weeks,
        one over the running all-time totals."""
        w = self.windows
        links = TrackedLink.select(TrackedLink.id).where(TrackedLink.person.in_(ids))
        src = analytics.click_source(analytics.Period(w.starts[0], w.last_day), links)
        c = src.c
        counted = (c.kind == "human") & (c.is_self == False)  # noqa: E712

        def total(value, start, end):
            condition = counted & (c.day >= start) & (c.day <= end)
            return fn.COALESCE(fn.SUM(Case(None, [(condition, value)], 0)), 0)

        ends = [*(start - DAY for start in w.starts[1:]), w.last_day]
        weekly = (TrackedLink
                  .select(TrackedLink.person, TrackedLink.item, total(c.visitors, w.week.start, w.week.end),
                          *[total(c.clicks, start, end) for start, end in zip(w.starts, ends, strict=True)])
                  .join(src, on=(c.link_id == TrackedLink.id))
                  .group_by(TrackedLink.person, TrackedLink.item).tuples())
        ever = dict(((pid, item_id), int(visitors)) for pid, item_id, visitors in
                    TrackedLink.select(TrackedLink.person, TrackedLink.item, fn.SUM(LinkTotal.visitors))
                    .join(LinkTotal).where(TrackedLink.person.in_(ids))
                    .group_by(TrackedLink.person, TrackedLink.item).tuples())
        this_week = {}
        for pid, item_id, visitors_week, *weeks in weekly:
            i = impacts[pid]
            i.bars = [a + int(b) for a, b in zip(i.bars, weeks, strict=True)]
            this_week[(pid, item_id)] = int(visitors_week)
        best = {}
        for (pid, item_id), visitors in ever.items():
            key = (this_week.get((pid, item_id), 0), visitors, -item_id)
            if key[1] and (pid not in best or key > best[pid][0]):
                best[pid] = (key, item_id)
        if best:
            titles = dict(Item.select(Item.id, Item.title)
                          .where(Item.id.in_({item_id for _, item_id in best.values()})).tuples())
            for pid, ((week, total_, _), item_id) in best.items():
                i = impacts[pid]
                i.best_title, i.best_visitors, i.best_this_week = titles.get(item_id, ""), week or total_, week > 0
