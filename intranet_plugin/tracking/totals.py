"""Running click totals: per link, per person and per item, each for all
time, per month and per day; and per day and network for the whole
programme.

Raw clicks grow without bound; these tables do not (a row per link, person
or item, per month and per day with clicks, and per day and network), so
the analytics read them instead of counting clicks (see ``analytics``).
The totals per person and per item are the sums of those of their links,
with the counted clicks per network beside them (the earned media value is
worked out from those). They are kept exact:

* Visitors are distinct visitor hashes per link, day, kind and self-flag,
  but one network (the /24 or /48 the visitor hash is made of) adds at most
  ``visitor_cap()`` of them to a link a day (``AMBASSADOR_VISITORS_PER_NETWORK``):
  a machine that changes its user agent at every request cannot mint
  visitors. Those beyond the cap are counted apart (``repeated_visitors``)
  and never as visitors or points. Every count goes through ``capped``, so
  the totals, the raw recount (``click_source``) and the roll-up agree.
* ``count_new`` runs in the transaction that stores clicks
  (``clicks.store``) and adds the rows inserted after a given id: per
  network, the capped visitors after the new rows less those before.
  Stores are serialised (SQLite's write lock; an advisory lock on
  PostgreSQL), so "before" is "a smaller id".
* The retention roll-up moves raw rows into ``ClickDaily`` and changes no
  total.
* ``forget_links`` takes a person's links out of every total before the
  links are deleted.
* ``rebuild`` computes every total afresh from raw and rolled-up clicks:
  the upgrade to these tables does the same in SQL, and ``ambassador db
  rebuild-totals`` uses it after rows were written around ``clicks.store``
  (a bulk import).
"""

import datetime

from peewee import SQL, Case, Select, fn

from intranet_plugin.db import execute_values, is_postgres
from intranet_plugin.models import (
    MEASURES,
    NETWORK_CLICKS,
    Click,
    ClickDaily,
    DayTotal,
    GroupMeasures,
    ItemDay,
    ItemMonth,
    ItemTotal,
    LinkDay,
    LinkMonth,
    LinkTotal,
    PersonDay,
    PersonMonth,
    PersonTotal,
    TrackedLink,
    db,
)

BOTS = ("crawler", "head", "empty")
DEFAULT_VISITOR_CAP = 3
_settings = {"visitor_cap": DEFAULT_VISITOR_CAP}


def init_app(app):
    _settings["visitor_cap"] = app.config.get("VISITORS_PER_NETWORK", DEFAULT_VISITOR_CAP)


def visitor_cap():
    """How many visitors one network adds to one link a day, at most."""
    return _settings["visitor_cap"]


def capped(distinct):
    """An expression: ``distinct`` visitors of one network, capped. The cap
    is written into the SQL (a whole number from the settings), so that the
    plain SQL of ``count_new`` can use this very expression."""
    cap = SQL(str(int(visitor_cap())))
    return Case(None, [(distinct > cap, cap)], distinct)
# On PostgreSQL every transaction that stores clicks takes this lock first.
STORE_LOCK = 0x616D6273  # "ambs"


def month_of(day):
    return day.replace(day=1)


def measures_of(kind, is_self, hits, visitors, repeated=0):
    """The measure columns one (kind, self-flag) group adds to."""
    if kind == "human":
        return {"self_clicks": hits} if is_self else {"clicks": hits, "visitors": visitors,
                                                      "repeated_visitors": repeated}
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
               "repeated_visitors": Case(None, [(counted, c.repeated)], 0),
               "self_clicks": Case(None, [(own, c.clicks)], 0)}
    for kind in BOTS:
        columns[f"{kind}_hits"] = Case(None, [(c.kind == kind, c.clicks)], 0)
        columns[f"{kind}_visitors"] = Case(None, [(c.kind == kind, c.visitors)], 0)
    return [columns[name].alias(name) for name in MEASURES]


def click_source(period=None, links=None):
    """Raw and rolled-up clicks as one relation of
    (link_id, day, kind, is_self, clicks, visitors, repeated): raw clicks
    are counted per network first, so that each network's visitors are
    capped as the totals cap them.

    The link filter goes inside both halves, so a person's page reads only
    that person's rows (through the (link, day) indexes). ``period``: an
    ``analytics.Period``, or None for all time.
    """
    per_net = (Click.select(Click.link.alias("link_id"), Click.day.alias("day"), Click.kind.alias("kind"),
                            Click.is_self.alias("is_self"), fn.COUNT(Click.id).alias("hits"),
                            fn.COUNT(fn.DISTINCT(Click.visitor)).alias("n"))
               .group_by(Click.link, Click.day, Click.kind, Click.is_self, Click.net))
    # Click.day is the UTC date of Click.at. For some links the (link, day)
    # index finds the rows; for all of them the index on the timestamp does.
    if links is not None:
        per_net = per_net.where(Click.link.in_(links))
        if period is not None:
            per_net = where_all(per_net, period.days(Click.day))
    elif period is not None:
        per_net = where_all(per_net, period.moments(Click.at))
    n = per_net.alias("n")
    raw = (Select([n], [n.c.link_id, n.c.day, n.c.kind, n.c.is_self, fn.SUM(n.c.hits).alias("clicks"),
                        fn.SUM(capped(n.c.n)).alias("visitors"),
                        fn.SUM(n.c.n - capped(n.c.n)).alias("repeated")])
           .group_by(n.c.link_id, n.c.day, n.c.kind, n.c.is_self))
    daily = ClickDaily.select(ClickDaily.link.alias("link_id"), ClickDaily.day.alias("day"),
                              ClickDaily.kind.alias("kind"), ClickDaily.is_self.alias("is_self"),
                              ClickDaily.clicks.alias("clicks"), ClickDaily.visitors.alias("visitors"),
                              ClickDaily.repeated.alias("repeated"))
    daily = where_all(daily, period.days(ClickDaily.day) if period is not None else None,
                      ClickDaily.link.in_(links) if links is not None else None)
    return (raw + daily).alias("c")


def where_all(query, *conditions):
    """``query`` narrowed by every condition that is not None."""
    conditions = [c for c in conditions if c is not None]
    return query.where(*conditions) if conditions else query


def columns_of(model):
    """The measure columns of a totals table, in order: ``MEASURES``, and
    for the totals per person or item the clicks per network too."""
    return (*MEASURES, *NETWORK_CLICKS) if issubclass(model, GroupMeasures) else MEASURES


def _upsert_sql(model, keys, conflict, values):
    """INSERT ... ON CONFLICT DO UPDATE adding the measures, as plain SQL:
    it runs after every batch of clicks, where building the statement with
    peewee would cost more than running it. ``keys``: the columns before
    the measures, ``conflict`` the unique ones among them; ``values``: the
    VALUES part."""
    table = model._meta.table_name
    columns = [model._meta.fields[k].column_name for k in keys]
    unique = [model._meta.fields[k].column_name for k in conflict]
    measures = columns_of(model)
    return (f'INSERT INTO "{table}" ({", ".join(columns + list(measures))}) VALUES {values} '
            f'ON CONFLICT ({", ".join(unique)}) DO UPDATE SET '
            + ", ".join(f'{m} = "{table}".{m} + excluded.{m}' for m in measures))


def _add(model, keys, rows, conflict=None):
    """Add ``rows`` ({tuple of ``keys``: the measures in ``columns_of``
    order}) to ``model``'s totals; ``conflict``: the unique keys (default
    all)."""
    if not rows:
        return
    values = [(*key, *measures) for key, measures in rows.items()]
    cursor = db.cursor()
    if is_postgres():
        # One statement for the lot (each key once: no row is hit twice).
        execute_values(cursor, _upsert_sql(model, keys, conflict or keys, "%s"), values, page_size=1000)
    else:
        cursor.executemany(_upsert_sql(model, keys, conflict or keys, f"({', '.join('?' * len(values[0]))})"),
                           values)


LINK = ["person_id", "item_id", "network"]
# The totals a batch of clicks adds to: (model, key columns, unique ones).
TABLES = ((LinkTotal, ["link", *LINK], ["link"]),
          (LinkMonth, ["month", "link", *LINK], ["month", "link"]),
          (LinkDay, ["day", "link", *LINK], ["day", "link"]),
          (PersonTotal, ["person_id"], None),
          (PersonMonth, ["month", "person_id"], None),
          (PersonDay, ["person_id", "day"], None),
          (ItemTotal, ["item_id"], None),
          (ItemMonth, ["month", "item_id"], None),
          (ItemDay, ["day", "item_id"], None),
          (DayTotal, ["day", "network"], None))


_POSITION = {m: i for i, m in enumerate(MEASURES)}
_NETWORK_POSITION = {c[:-len("_clicks")]: len(MEASURES) + i for i, c in enumerate(NETWORK_CLICKS)}


def _keys(link_id, person_id, item_id, network, day):
    """A group's key in each of ``TABLES``, in order."""
    link, month = (link_id, person_id, item_id, network), month_of(day)
    return ((link, (month, *link), (day, *link), (person_id,), (month, person_id), (person_id, day), (item_id,),
             (month, item_id), (day, item_id), (day, network)))


def _apply(groups):
    """Add (link_id, person_id, item_id, network, day, kind, is_self, hits,
    visitors, repeated) groups to every table of ``TABLES``.

    Runs for every batch of clicks, with about a group per click: the sums
    are plain lists in ``columns_of`` order (Counters cost more here than
    the upserts themselves, measured)."""
    sums = [{} for _ in TABLES]
    widths = [len(columns_of(model)) for model, _, _ in TABLES]
    for link_id, person_id, item_id, network, day, kind, is_self, hits, visitors, repeated in groups:
        if isinstance(day, str):
            day = datetime.date.fromisoformat(day[:10])
        measures = measures_of(kind, bool(is_self), int(hits), int(visitors or 0), int(repeated or 0))
        values = [(_POSITION[m], v) for m, v in measures.items() if v]
        # The totals per person and item also count the clicks per network.
        per_network = ([(_NETWORK_POSITION[network], measures["clicks"])]
                       if measures.get("clicks") and network in _NETWORK_POSITION else [])
        for table, width, key in zip(sums, widths, _keys(link_id, person_id, item_id, network, day), strict=True):
            row = table.get(key)
            if row is None:
                row = table[key] = [0] * width
            for i, v in values:
                row[i] += v
            if width > len(MEASURES):
                for i, v in per_network:
                    row[i] += v
    for (model, keys, conflict), rows in zip(TABLES, sums, strict=True):
        _add(model, keys, rows, conflict)


def lock_for_store():
    """Serialise transactions that store clicks (call inside one). On
    PostgreSQL also no JIT for the transaction: its statements are short,
    and compiling them took longer than running them (measured: 62 ms for
    a batch of 2,000 clicks)."""
    if is_postgres():
        db.execute_sql("SELECT pg_advisory_xact_lock(%s), set_config('jit', 'off', true)", (STORE_LOCK,))


def last_click_id():
    return Click.select(fn.COALESCE(fn.MAX(Click.id), 0)).scalar()


# The clicks stored after a given id, grouped per network as the totals
# count them. Per group: the network's new distinct visitors (a visitor is
# new when no earlier click of the group has their hash: one lookup in the
# click index on link, day, network, visitor) and, only for groups that
# have new visitors, the distinct visitors before; the visitors added are
# the capped count after less the capped count before. A repeat visitor
# costs one index lookup, however many clicks the link had that day.
# The lookup is a scalar subquery with LIMIT 1, which PostgreSQL runs per
# row through the index (an EXISTS it may turn into a hash of every earlier
# click); each step is MATERIALIZED (PostgreSQL 12, SQLite 3.35), so that
# the count before is run once per group, not once per use.
_NEW_CLICKS = """
WITH n AS MATERIALIZED (
    SELECT c.link_id, c.day, c.kind, c.is_self, c.net, COUNT(*) AS hits,
           COUNT(DISTINCT CASE WHEN (SELECT 1 FROM click AS o
                                     WHERE o.link_id = c.link_id AND o.day = c.day AND o.net = c.net
                                       AND o.visitor = c.visitor AND o.kind = c.kind
                                       AND o.is_self = c.is_self AND o.id <= {p}
                                     LIMIT 1) IS NULL THEN c.visitor END) AS new
    FROM click AS c
    WHERE c.id > {p}
    GROUP BY c.link_id, c.day, c.kind, c.is_self, c.net),
g AS MATERIALIZED (
    SELECT n.*, CASE WHEN n.new = 0 THEN 0 ELSE
                (SELECT COUNT(DISTINCT o.visitor) FROM click AS o
                 WHERE o.link_id = n.link_id AND o.day = n.day AND o.net = n.net
                   AND o.kind = n.kind AND o.is_self = n.is_self AND o.id <= {p}) END AS before
    FROM n)
SELECT g.link_id, l.person_id, l.item_id, l.network, g.day, g.kind, g.is_self, g.hits,
       {capped_after} - {capped_before}, g.new - ({capped_after} - {capped_before})
FROM g
JOIN tracked_link AS l ON l.id = g.link_id
"""


def _sql_of(expression):
    """A peewee expression without parameters as SQL text."""
    sql, params = db.obj.get_sql_context().sql(expression).query()
    assert not params
    return sql


def count_new(after_id):
    """Add the clicks with an id above ``after_id`` to the totals. Call in
    the storing transaction, after ``lock_for_store`` and with ``after_id``
    read under it. One query, plus one upsert per table of ``TABLES``."""
    sql = _NEW_CLICKS.format(p=db.obj.param, capped_after=_sql_of(capped(SQL("(g.before + g.new)"))),
                             capped_before=_sql_of(capped(SQL("g.before"))))
    _apply(db.execute_sql(sql, (after_id, after_id, after_id)).fetchall())


def _source_groups(links=None):
    """(link_id, person_id, item_id, network, day, kind, is_self, clicks,
    visitors, repeated) of every raw and rolled-up click of some links."""
    src = click_source(None, links)
    query = (Select([src], [src.c.link_id, TrackedLink.person, TrackedLink.item, TrackedLink.network, src.c.day,
                            src.c.kind, src.c.is_self, src.c.clicks, src.c.visitors, src.c.repeated])
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
    one transaction (a reader sees the old totals or the new ones): those
    per link from the clicks, those per person and item from those per
    link. Returns the number of links with clicks."""
    src = click_source()
    rows = Select([src], [src.c.link_id, src.c.day, *measure_columns(src)]).alias("m")
    sums = [fn.SUM(getattr(rows.c, m)) for m in MEASURES]
    month = _month_sql(rows.c.day)
    link = [TrackedLink.person, TrackedLink.item, TrackedLink.network]

    def per(*group):
        return (Select([rows], [*group, *sums]).join(TrackedLink, on=(TrackedLink.id == rows.c.link_id))
                .group_by(*group))

    def into(model, *keys):
        return [getattr(model, k) for k in keys] + [getattr(model, m) for m in MEASURES]

    def group(model, source, *keys):
        """A group table's rows summed from a link table's."""
        network_clicks = [fn.SUM(Case(source.network, [(column[:-len("_clicks")], source.clicks)], 0))
                          for column in NETWORK_CLICKS]
        key = [getattr(source, k) for k in keys]
        query = source.select(*key, *[fn.SUM(getattr(source, m)) for m in MEASURES], *network_clicks).group_by(*key)
        model.insert_from(query, [getattr(model, k) for k in (*keys, *MEASURES, *NETWORK_CLICKS)]).execute()

    with db.atomic():
        for model, _, _ in TABLES:
            model.delete().execute()
        LinkTotal.insert_from(per(rows.c.link_id, *link), into(LinkTotal, "link", *LINK)).execute()
        LinkMonth.insert_from(per(rows.c.link_id, month, *link), into(LinkMonth, "link", "month", *LINK)).execute()
        LinkDay.insert_from(per(rows.c.link_id, rows.c.day, *link), into(LinkDay, "link", "day", *LINK)).execute()
        for model, keys, _ in TABLES:  # each group table from the link table of its period
            if issubclass(model, GroupMeasures):
                group(model, LinkMonth if "month" in keys else LinkDay if "day" in keys else LinkTotal, *keys)
        DayTotal.insert_from(per(rows.c.day, TrackedLink.network), into(DayTotal, "day", "network")).execute()
        return LinkTotal.select().count()


def forget_links(links):
    """Take the clicks of ``links`` (a subquery of link ids) out of every
    total; call before deleting those links (their own totals, now zero,
    go with them)."""
    _apply([(*key, -hits, -(visitors or 0), -(repeated or 0))
            for *key, hits, visitors, repeated in _source_groups(links)])
