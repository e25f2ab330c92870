"""What the playbooks' feed reads and writes of the store (the port
:class:`regulars.services.playbooks.feed.FeedSource`).

Reads go through the API store's reader engine, a page or a time window at a time; the
cursors and the standings seen are written in one transaction, so a pass either moves every
cursor it read or none.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.playbook_facts import CHUNK, SqlPlaybookFacts
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    loyalty_members,
    map_customers,
    playbook_cursors,
    playbook_events,
    playbook_facts,
)
from regulars.domain.playbooks.model import (
    CART_ABANDONED,
    FIRST_ORDER,
    NPS_ANSWERED,
    ORDER_PLACED,
    REVIEW_POSTED,
)
from regulars.domain.tables import Kind
from regulars.services.playbooks.feed import (
    DateColumns,
    Occurrence,
    Standing,
    country_of,
)

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]
FEEDBACK = INPUT_TABLES[Kind.FEEDBACK]
INTERACTIONS = INPUT_TABLES[Kind.INTERACTIONS]
PAGE = 5000


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _day(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


class SqlFeedSource:
    """The feed's reads and writes on ``facts``' store (its default country for dates)."""

    def __init__(self, facts: SqlPlaybookFacts) -> None:
        self.facts = facts
        self.store: SqlApiStore = facts.store
        self._parsed: dict[str, tuple[str, ...]] = {}
        default = facts.country
        self._country = functools.lru_cache(maxsize=1 << 18)(
            lambda attributes: country_of(attributes, default))

    def _rows(self, stmt: sa.Select[Any]) -> list[Any]:
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            return list(conn.execute(stmt).fetchall())

    def _driver_rows(self, stmt: sa.Select[Any]) -> list[Any]:
        """The rows of a statement without bound values (its numbers written in), fetched
        by the driver itself: every customer's dates at every pass, where SQLAlchemy's own
        rows cost as much as the query."""
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            text = str(stmt.compile(dialect=conn.dialect,
                                    compile_kwargs={"literal_binds": True}))
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(text)
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def _pages(self, stmt: sa.Select[Any]) -> Iterator[list[Any]]:
        """The rows of one statement, streamed in pages (a server-side cursor on PostgreSQL):
        one scan, where keyset pages would run a grouped subquery once a page."""
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            result = conn.execution_options(yield_per=PAGE).execute(stmt)
            for part in result.partitions():
                yield list(part)

    def _signals(self, text: str | None) -> tuple[str, ...]:
        # a handful of distinct signal lists among 100k customers: parse each once
        key = text or "[]"
        found = self._parsed.get(key)
        if found is None:
            found = self._parsed[key] = tuple(json.loads(key))
        return found

    def cursors(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._rows(
            sa.select(playbook_cursors.c.name, playbook_cursors.c.position))}

    def events_after(self, seq: int) -> list[tuple[int, Occurrence]]:
        e = playbook_events
        rows = self._rows(sa.select(e.c.seq, e.c.event_id, e.c.customer_id, e.c.name, e.c.at)
                          .where(e.c.seq > seq).order_by(e.c.seq))
        return [(int(r[0]), Occurrence(f"event:{r[1]}", r[2], r[3], _moment(r[4])))
                for r in rows]

    def orders_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        o = ORDERS
        earlier = ORDERS.alias("earlier")
        # a first order: none of the customer's orders comes before it (nor, at the same
        # moment, sorts before it by id), whenever it arrived
        first = ~sa.exists().where(
            earlier.c.customer_id == o.c.customer_id,
            sa.or_(earlier.c.ordered_at < o.c.ordered_at,
                   sa.and_(earlier.c.ordered_at == o.c.ordered_at,
                           earlier.c.order_id < o.c.order_id)))
        rows = self._rows(sa.select(o.c.order_id, o.c.customer_id, o.c.ordered_at,
                                    first.label("first"))
                          .where(o.c.ordered_at > after, o.c.ordered_at <= upto)
                          .order_by(o.c.ordered_at, o.c.order_id))
        out: list[Occurrence] = []
        for r in rows:
            at = _moment(r[2])
            key = f"order:{r[0]}"
            out.append(Occurrence(key, r[1], ORDER_PLACED, at))
            if r[3]:
                out.append(Occurrence(key, r[1], FIRST_ORDER, at))
        return out

    def feedback_between(self, after: datetime, upto: datetime) -> list[Occurrence]:
        f = FEEDBACK
        out: list[Occurrence] = []
        for r in self._rows(sa.select(f.c.feedback_id, f.c.customer_id, f.c.at, f.c.nps,
                                      f.c.text).where(f.c.at > after, f.c.at <= upto)
                            .order_by(f.c.at, f.c.feedback_id)):
            key = f"feedback:{r[0]}"
            if r[3] is not None:
                out.append(Occurrence(key, r[1], NPS_ANSWERED, _moment(r[2])))
            if r[4] is not None and str(r[4]).strip():
                out.append(Occurrence(key, r[1], REVIEW_POSTED, _moment(r[2])))
        i = INTERACTIONS
        for r in self._rows(sa.select(i.c.interaction_id, i.c.customer_id, i.c.at).where(
                i.c.at > after, i.c.at <= upto, i.c.outcome == "abandoned_cart",
                i.c.direction == "in").order_by(i.c.at, i.c.interaction_id)):
            out.append(Occurrence(f"interaction:{r[0]}", r[1], CART_ABANDONED, _moment(r[2])))
        return out

    def changed(self) -> Iterator[list[tuple[Standing | None, Standing]]]:
        m, lm, f = map_customers, loyalty_members, playbook_facts
        # the signals as the map wrote them: playbook_facts keeps that same text, so equal
        # lists compare equal as text (a list merely reordered reads as a change, which
        # raises nothing: no signal in it is new)
        stmt = (sa.select(m.c.customer_id, m.c.rung, m.c.status, m.c.signals, m.c.as_of,
                          lm.c.tier, f.c.customer_id, f.c.rung, f.c.status, f.c.signals,
                          f.c.tier)
                .select_from(m.outerjoin(lm, lm.c.member_id == m.c.customer_id)
                             .outerjoin(f, f.c.customer_id == m.c.customer_id))
                .where(sa.or_(f.c.customer_id.is_(None),
                              m.c.rung.is_distinct_from(f.c.rung),
                              m.c.status.is_distinct_from(f.c.status),
                              lm.c.tier.is_distinct_from(f.c.tier),
                              m.c.signals != f.c.signals)))
        for rows in self._pages(stmt):
            yield [(None if r[6] is None else
                    Standing(r[6], r[7], r[8], self._signals(r[9]), r[10]),
                    Standing(r[0], r[1], r[2], self._signals(r[3]), r[5], _day(r[4]),
                             signals_text=r[3]))
                   for r in rows]

    def date_columns(self, *, birthdays: bool = True,
                     first_orders: bool = True) -> DateColumns:
        # month and day computed by the store, the first order's from the map's snapshot
        # (one row a customer), not a grouped scan of every order: a first order a year old
        # is in any map built since. A column no trigger asks for is not computed (zeros):
        # the attributes alone are a plain scan, a quarter of the cost of all of it
        c, m = CUSTOMERS, map_customers

        def md(col: Any) -> Any:
            return sa.func.coalesce(sa.extract("month", col) * 100 + sa.extract("day", col), 0)

        zero = sa.literal(0)
        source: Any = c.outerjoin(m, m.c.customer_id == c.c.customer_id) if first_orders \
            else c
        stmt = (sa.select(c.c.customer_id, md(c.c.birthday) if birthdays else zero,
                          md(m.c.first_order_at) if first_orders else zero,
                          sa.func.coalesce(sa.extract("year", m.c.first_order_at), 0)
                          if first_orders else zero,
                          c.c.attributes)
                .select_from(source))
        rows = self._driver_rows(stmt)
        if not rows:
            return DateColumns([], [], [], [], [], [])
        # a column at a time (zip(*rows) over 100k rows is ten times slower)
        ids, bday, first, year, attrs = ([r[i] for r in rows] for i in range(5))
        none = [0] * len(ids)
        # a card's country is a pure function of its attributes' text: parsed once per text
        return DateColumns(ids, list(map(int, bday)) if birthdays else none,
                           list(map(int, first)) if first_orders else none,
                           list(map(int, year)) if first_orders else none, attrs,
                           list(map(self._country, attrs)))

    def customer_pages(self) -> Iterator[list[str]]:
        return self.facts.customer_pages(PAGE)

    def save(self, cursors: Mapping[str, str], seen: Sequence[Standing],
             at: datetime) -> None:
        pc, pf = playbook_cursors, playbook_facts
        with failures.translated(self.store.url), self.store.writer.begin() as conn:
            if cursors:
                conn.execute(pc.delete().where(pc.c.name.in_(list(cursors))))
                conn.execute(pc.insert(), [{"name": k, "position": v, "updated_at": at}
                                           for k, v in cursors.items()])
            for i in range(0, len(seen), CHUNK):
                chunk = seen[i:i + CHUNK]
                conn.execute(pf.delete().where(pf.c.customer_id.in_(
                    [s.customer_id for s in chunk])))
                conn.execute(pf.insert(), [
                    {"customer_id": s.customer_id, "rung": s.rung, "status": s.status,
                     "signals": s.signals_text or json.dumps(list(s.signals)), "tier": s.tier,
                     "seen_at": at}
                    for s in chunk])
