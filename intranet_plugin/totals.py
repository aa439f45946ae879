"""Running click totals: per link (all time), per link and month, and per
day and network for the whole programme.

Raw clicks grow without bound; these tables do not (a row per link, per
link and month, per day and network), so the analytics read them instead
of counting clicks (see ``analytics``). They are kept exact:

* ``count_new`` runs in the transaction that stores clicks
  (``clicks.store``) and adds the rows inserted after a given id. A visitor
  is new when no earlier click of the same link, day, kind and self-flag
  carries that visitor hash, the same distinct count the analytics and the
  roll-up make. Stores are serialised (SQLite's write lock; an advisory
  lock on PostgreSQL), so "earlier" is "a smaller id".
* The retention roll-up moves raw rows into ``ClickDaily`` and changes no
  total.
* ``forget_links`` takes a person's links out of the programme's day totals
  before the links are deleted (their own totals are deleted with them).
* ``rebuild`` computes every total afresh from raw and rolled-up clicks:
  the upgrade to these tables does the same in SQL, and ``ambassador db
  rebuild-totals`` uses it after rows were written around ``clicks.store``
  (a bulk import).
"""

import collections
import datetime

from peewee import EXCLUDED, Case, Select, fn

from .db import is_postgres
from .models import MEASURES, Click, ClickDaily, DayTotal, LinkMonth, LinkTotal, TrackedLink, db

BOTS = ("crawler", "head", "empty")
# On PostgreSQL every transaction that stores clicks takes this lock first.
STORE_LOCK = 0x616D6273  # "ambs"


def month_of(day):
    return day.replace(day=1)


def measures_of(kind, is_self, hits, visitors):
    """The measure columns one (kind, self-flag) group adds to."""
    if kind == "human":
        return {"self_clicks": hits} if is_self else {"clicks": hits, "visitors": visitors}
    if kind in BOTS:
        return {f"{kind}_hits": hits, f"{kind}_visitors": visitors}
    return {}


def measure_columns(src):
    """Expressions turning one ``analytics.click_source`` row (kind,
    is_self, clicks, visitors) into the ``MEASURES`` columns, in order."""
    c = src.c
    human = c.kind == "human"
    counted = human & (c.is_self == False)  # noqa: E712
    own = human & (c.is_self == True)  # noqa: E712
    columns = {"clicks": Case(None, [(counted, c.clicks)], 0),
               "visitors": Case(None, [(counted, c.visitors)], 0),
               "self_clicks": Case(None, [(own, c.clicks)], 0)}
    for kind in BOTS:
        columns[f"{kind}_hits"] = Case(None, [(c.kind == kind, c.clicks)], 0)
        columns[f"{kind}_visitors"] = Case(None, [(c.kind == kind, c.visitors)], 0)
    return [columns[name].alias(name) for name in MEASURES]


def click_source(period=None, links=None):
    """Raw and rolled-up clicks as one relation of
    (link_id, day, kind, is_self, clicks, visitors).

    The link filter goes inside both halves, so a person's page reads only
    that person's rows (through the (link, day) indexes). ``period``: an
    ``analytics.Period``, or None for all time.
    """
    raw = (Click.select(Click.link.alias("link_id"), Click.day.alias("day"), Click.kind.alias("kind"),
                        Click.is_self.alias("is_self"), fn.COUNT(Click.id).alias("clicks"),
                        fn.COUNT(fn.DISTINCT(Click.visitor)).alias("visitors"))
           .group_by(Click.link, Click.day, Click.kind, Click.is_self))
    # Click.day is the UTC date of Click.at. For some links the (link, day)
    # index finds the rows; for all of them the index on the timestamp does.
    if links is not None:
        raw = raw.where(Click.link.in_(links))
        if period is not None:
            raw = _where(raw, period.days(Click.day))
    elif period is not None:
        raw = _where(raw, period.moments(Click.at))
    daily = ClickDaily.select(ClickDaily.link.alias("link_id"), ClickDaily.day.alias("day"),
                              ClickDaily.kind.alias("kind"), ClickDaily.is_self.alias("is_self"),
                              ClickDaily.clicks.alias("clicks"), ClickDaily.visitors.alias("visitors"))
    daily = _where(daily, period.days(ClickDaily.day) if period is not None else None,
                   ClickDaily.link.in_(links) if links is not None else None)
    return (raw + daily).alias("c")


def _where(query, *conditions):
    conditions = [c for c in conditions if c is not None]
    return query.where(*conditions) if conditions else query


def _add(model, keys, rows):
    """Add ``rows`` (dicts of keys and measures) to ``model``'s totals."""
    if not rows:
        return
    update = {getattr(model, m): getattr(model, m) + getattr(EXCLUDED, m) for m in MEASURES}
    for start in range(0, len(rows), 500):
        (model.insert_many(rows[start:start + 500])
         .on_conflict(conflict_target=[getattr(model, k) for k in keys], update=update)
         .execute())


def _apply(groups):
    """Add (link_id, network, day, kind, is_self, hits, visitors) groups to
    all three tables."""
    per_link = collections.defaultdict(collections.Counter)
    per_month = collections.defaultdict(collections.Counter)
    per_day = collections.defaultdict(collections.Counter)
    for link_id, network, day, kind, is_self, hits, visitors in groups:
        if isinstance(day, str):
            day = datetime.date.fromisoformat(day[:10])
        values = measures_of(kind, bool(is_self), int(hits), int(visitors or 0))
        for counter in (per_link[link_id], per_month[(link_id, month_of(day))], per_day[(day, network)]):
            counter.update(values)

    def rows(table, names):
        return [dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True),
                     **{m: counter[m] for m in MEASURES}) for key, counter in table.items()]

    _add(LinkTotal, ["link"], rows(per_link, ["link"]))
    _add(LinkMonth, ["month", "link"], rows(per_month, ["link", "month"]))
    _add(DayTotal, ["day", "network"], rows(per_day, ["day", "network"]))


def lock_for_store():
    """Serialise transactions that store clicks (call inside one)."""
    if is_postgres():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (STORE_LOCK,))


def last_click_id():
    return Click.select(fn.COALESCE(fn.MAX(Click.id), 0)).scalar()


def count_new(after_id):
    """Add the clicks with an id above ``after_id`` to the totals. Call in
    the storing transaction, after ``lock_for_store`` and with ``after_id``
    read under it. One query, plus the upserts."""
    older = Click.alias("older")
    seen = (older.select(older.id)
            .where((older.link == Click.link) & (older.day == Click.day) & (older.kind == Click.kind)
                   & (older.is_self == Click.is_self) & (older.visitor == Click.visitor)
                   & (older.id <= after_id)))
    new_visitor = Case(None, [(~fn.EXISTS(seen), Click.visitor)], None)
    groups = (Click.select(Click.link, TrackedLink.network, Click.day, Click.kind, Click.is_self,
                           fn.COUNT(Click.id), fn.COUNT(fn.DISTINCT(new_visitor)))
              .join(TrackedLink)
              .where(Click.id > after_id)
              .group_by(Click.link, TrackedLink.network, Click.day, Click.kind, Click.is_self)
              .tuples())
    _apply(list(groups))


def _source_groups(links=None):
    """(link_id, network, day, kind, is_self, clicks, visitors) of every raw
    and rolled-up click, optionally of some links only."""
    src = click_source(None, links)
    query = (Select([src], [src.c.link_id, TrackedLink.network, src.c.day, src.c.kind, src.c.is_self,
                            src.c.clicks, src.c.visitors])
             .join(TrackedLink, on=(TrackedLink.id == src.c.link_id))
             .bind(db))
    return query.tuples().iterator()


def _month_sql(day):
    """The first day of ``day``'s month, in SQL."""
    if is_postgres():
        return fn.DATE_TRUNC("month", day).cast("date")
    return fn.DATE(day, "start of month")


def rebuild():
    """Recompute every total from raw and rolled-up clicks, in SQL and in
    one transaction (a reader sees the old totals or the new ones).
    Returns the number of links with clicks."""
    src = click_source()
    rows = Select([src], [src.c.link_id, src.c.day, *measure_columns(src)]).alias("m")
    sums = [fn.SUM(getattr(rows.c, m)) for m in MEASURES]
    month = _month_sql(rows.c.day)
    with db.atomic():
        for model in (LinkTotal, LinkMonth, DayTotal):
            model.delete().execute()
        columns = [getattr(LinkTotal, m) for m in MEASURES]
        LinkTotal.insert_from(Select([rows], [rows.c.link_id, *sums]).group_by(rows.c.link_id),
                              [LinkTotal.link, *columns]).execute()
        LinkMonth.insert_from(Select([rows], [rows.c.link_id, month, *sums]).group_by(rows.c.link_id, month),
                              [LinkMonth.link, LinkMonth.month, *[getattr(LinkMonth, m) for m in MEASURES]]
                              ).execute()
        DayTotal.insert_from(Select([rows], [rows.c.day, TrackedLink.network, *sums])
                             .join(TrackedLink, on=(TrackedLink.id == rows.c.link_id))
                             .group_by(rows.c.day, TrackedLink.network),
                             [DayTotal.day, DayTotal.network, *[getattr(DayTotal, m) for m in MEASURES]]
                             ).execute()
        return LinkTotal.select().count()


def forget_links(links):
    """Take the clicks of ``links`` (a subquery of link ids) out of the
    programme's day totals; call before deleting those links, which takes
    their own totals with them."""
    per_day = collections.defaultdict(collections.Counter)
    for _link_id, network, day, kind, is_self, hits, visitors in _source_groups(links):
        if isinstance(day, str):
            day = datetime.date.fromisoformat(day[:10])
        per_day[(day, network)].update(measures_of(kind, bool(is_self), int(hits), int(visitors or 0)))
    _add(DayTotal, ["day", "network"],
         [{"day": day, "network": network, **{m: -counter[m] for m in MEASURES}}
          for (day, network), counter in per_day.items()])
