"""Retention: raw click rows older than ``CLICK_RETENTION_DAYS`` become daily
totals (``ClickDaily``) and are deleted, with every figure unchanged.

Each batch of days is one transaction: the totals of those days are added
to ``click_daily`` (INSERT ... SELECT ... GROUP BY, ON CONFLICT DO UPDATE)
and the same rows are deleted, so a crash leaves either both or neither and
a second run finds nothing left to move. Batches keep each transaction, and
the write lock SQLite holds for it, short.

The running totals (``totals``) were counted when the clicks were stored,
so moving raw rows changes none of them.

``visitors`` of a daily row is the number of distinct visitor hashes of that
link, day, kind and self-flag. Hashes rotate daily, so a visitor is unique
per link and day, which is exactly what the analytics count. Should raw rows
of a day already rolled up arrive later (a journal recovered after months),
their visitors are added to the row's; a visitor in both is then counted
twice, the one case where the total can be off.
"""

import datetime

from peewee import EXCLUDED, Select, fn

from intranet_plugin.models import Click, ClickDaily, db, utcnow
from intranet_plugin.tracking.totals import capped

# One day per transaction: SQLite holds its write lock for the whole of it
# (clicks wait in the journals meanwhile), and after the first run there is
# one day to move a night anyway.
BATCH_DAYS = 1


def cutoff_day(retention_days, today=None):
    """The first day whose raw clicks are kept."""
    return (today or utcnow().date()) - datetime.timedelta(days=retention_days)


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time.min)


def roll_up_days(first, last):
    """Move the raw clicks of days ``first`` up to, not including, ``last``
    into daily totals; returns the number of raw rows moved.

    Rows are chosen by ``at`` (indexed; ``day`` is the UTC date of ``at``),
    in the same transaction for the totals and the delete.
    """
    in_range = (Click.at >= _midnight(first)) & (Click.at < _midnight(last))
    # Per network first, so that each network's visitors are capped as the
    # running totals cap them (``totals.capped``).
    per_net = (Click.select(Click.day.alias("day"), Click.link.alias("link_id"), Click.kind.alias("kind"),
                            Click.is_self.alias("is_self"), fn.COUNT(Click.id).alias("hits"),
                            fn.COUNT(fn.DISTINCT(Click.visitor)).alias("n"))
               .where(in_range)
               .group_by(Click.day, Click.link, Click.kind, Click.is_self, Click.net)).alias("n")
    n = per_net.c
    groups = (Select([per_net], [n.day, n.link_id, n.kind, n.is_self, fn.SUM(n.hits), fn.SUM(capped(n.n)),
                                 fn.SUM(n.n - capped(n.n))])
              .group_by(n.day, n.link_id, n.kind, n.is_self))
    with db.atomic():
        (ClickDaily
         .insert_from(groups, [ClickDaily.day, ClickDaily.link, ClickDaily.kind, ClickDaily.is_self,
                               ClickDaily.clicks, ClickDaily.visitors, ClickDaily.repeated])
         .on_conflict(conflict_target=[ClickDaily.link, ClickDaily.day, ClickDaily.kind, ClickDaily.is_self],
                      update={ClickDaily.clicks: ClickDaily.clicks + EXCLUDED.clicks,
                              ClickDaily.visitors: ClickDaily.visitors + EXCLUDED.visitors,
                              ClickDaily.repeated: ClickDaily.repeated + EXCLUDED.repeated})
         .execute())
        return Click.delete().where(in_range).execute()


def roll_up(retention_days, today=None, batch_days=BATCH_DAYS):
    """Roll up every raw click of the days before the retention cutoff, a
    batch of ``batch_days`` days per transaction; returns (rows moved,
    batches)."""
    cutoff = cutoff_day(retention_days, today)
    moved = batches = 0
    while True:
        oldest = Click.select(fn.MIN(Click.at)).where(Click.at < _midnight(cutoff)).scalar()
        if oldest is None:
            return moved, batches
        # peewee returns a string for an aggregate on SQLite.
        if isinstance(oldest, str):
            oldest = datetime.datetime.fromisoformat(oldest)
        first = oldest.date()
        last = min(first + datetime.timedelta(days=batch_days), cutoff)
        moved += roll_up_days(first, last)
        batches += 1
