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

from peewee import SQL, Case, Select, Table, fn

from intranet_plugin.db import built_once, is_postgres
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


def measure_columns(src):
    """Expressions turning one ``analytics.click_source`` row (kind,
    is_self, clicks, visitors, repeated) into the ``MEASURES`` columns, in
    order."""
    columns = _measures(src)
    return [columns[name].alias(name) for name in MEASURES]


def _measures(src):
    """``measure_columns`` as a dict of expressions by column name. This is
    where a group of clicks (a kind, human or bot, and the sharer's own or
    not) is told what it adds to: the clicks and visitors that count,
    the sharer's own clicks, each kind of bot's hits and visitors."""
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
    return columns


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


def per_network(network, clicks):
    """Expressions of the ``NETWORK_CLICKS`` columns, in order: the totals
    per person and item count the clicks of each network apart, ``clicks``
    where ``network`` is that network, else 0."""
    return [Case(network, [(column[:-len("_clicks")], clicks)], 0) for column in NETWORK_CLICKS]


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

# Groups of clicks to add: (link_id, person_id, item_id, network, day, kind,
# is_self, clicks, visitors, repeated), as the relation "b" (the totals
# rows of each group are then worked out and added in SQL).
_GROUP = Table("b")
_ADDED = "new_totals"  # SQLite's temporary table of the rows to add


def _added_sql():
    """The SELECT turning the groups "b" into rows of every key and measure
    column of ``TABLES`` (link_id, person_id, item_id, network, day, month,
    ``MEASURES``, ``NETWORK_CLICKS``), and its parameters."""
    b = _GROUP.c
    network_clicks = [e.alias(c) for c, e in zip(NETWORK_CLICKS, per_network(b.network, _measures(_GROUP)["clicks"]),
                                                 strict=True)]
    query = Select([_GROUP], [b.link_id, b.person_id, b.item_id, b.network, b.day,
                              _month_sql(b.day).alias("month"), *measure_columns(_GROUP), *network_clicks])
    return db.obj.get_sql_context().sql(query).query()


def _upserts(source):
    """For each table of ``TABLES``: INSERT ... SELECT from ``source`` (rows
    of ``_added_sql``) summed per key, adding the sums to the rows there."""
    for model, keys, conflict in TABLES:
        table = model._meta.table_name
        columns = ", ".join(model._meta.fields[k].column_name for k in keys)
        unique = ", ".join(model._meta.fields[k].column_name for k in conflict or keys)
        measures = columns_of(model)
        yield (f'INSERT INTO "{table}" ({columns}, {", ".join(measures)}) '
               f'SELECT {columns}, {", ".join(f"SUM({m})" for m in measures)} FROM {source} WHERE 1 = 1 '
               f'GROUP BY {columns} ON CONFLICT ({unique}) DO UPDATE SET '
               + ", ".join(f'{m} = "{table}".{m} + excluded.{m}' for m in measures))


def _add_groups(groups_sql, params):
    """Add the groups the SELECT ``groups_sql`` gives (``_GROUP``'s
    columns) to every table of ``TABLES``, in the database: the batch of
    clicks never comes to Python and back (reading the groups and sending
    a row per table and group cost more than the upserts, measured). One
    statement on PostgreSQL (the upserts as data-modifying steps of a
    WITH); SQLite, which has none, keeps the rows in a temporary table."""
    if is_postgres():
        sql, added_params = _built("add totals", _add_groups_postgres)
        db.execute_sql(f"WITH b AS ({groups_sql}), {sql}", (*params, *added_params))
        return
    (create, insert, upserts, empty), added_params = _built("add totals", _add_groups_sqlite)
    # Emptied before as well as after: rows left by a failed call outside
    # a transaction must not be added twice (in one, its rollback takes them).
    db.execute_sql(create)
    db.execute_sql(empty)
    db.execute_sql(f"WITH b AS ({groups_sql}) {insert}", (*params, *added_params))
    for sql in upserts:
        db.execute_sql(sql)
    db.execute_sql(empty)


def _add_groups_postgres():
    added, params = _added_sql()
    steps = ", ".join(f"u{i} AS ({sql})" for i, sql in enumerate(_upserts("s")))
    return f"s AS MATERIALIZED ({added}), {steps} SELECT 1", params


def _add_groups_sqlite():
    added, params = _added_sql()
    columns = ("link_id", "person_id", "item_id", "network", "day", "month", *MEASURES, *NETWORK_CLICKS)
    return (f"CREATE TEMP TABLE IF NOT EXISTS {_ADDED} ({', '.join(columns)})",
            f"INSERT INTO temp.{_ADDED} {added}", list(_upserts(f"temp.{_ADDED}")),
            f"DELETE FROM temp.{_ADDED}"), params


def _built(name, build):
    """``db.built_once``, also per visitor cap (written into the SQL)."""
    return built_once(name, build, visitor_cap())


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
SELECT g.link_id, l.person_id, l.item_id, l.network, g.day, g.kind, g.is_self, g.hits AS clicks,
       {capped_after} - {capped_before} AS visitors, g.new - ({capped_after} - {capped_before}) AS repeated
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
    read under it."""
    sql = _built("new clicks", lambda: _NEW_CLICKS.format(
        p=db.obj.param, capped_after=_sql_of(capped(SQL("(g.before + g.new)"))),
        capped_before=_sql_of(capped(SQL("g.before")))))
    _add_groups(sql, (after_id, after_id, after_id))


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
        network_clicks = [fn.SUM(e) for e in per_network(source.network, source.clicks)]
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
    src = click_source(None, links)
    groups = (Select([src], [src.c.link_id, TrackedLink.person.alias("person_id"), TrackedLink.item.alias("item_id"),
                             TrackedLink.network.alias("network"), src.c.day.alias("day"), src.c.kind.alias("kind"),
                             src.c.is_self.alias("is_self"), (0 - src.c.clicks).alias("clicks"),
                             (0 - src.c.visitors).alias("visitors"), (0 - src.c.repeated).alias("repeated")])
              .join(TrackedLink, on=(TrackedLink.id == src.c.link_id)))
    _add_groups(*db.obj.get_sql_context().sql(groups).query())
