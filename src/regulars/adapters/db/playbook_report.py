"""What the playbooks' report reads (the port
:class:`regulars.services.playbooks.effect.EffectRows`): SQL aggregates over the journeys,
their jobs and messages, and the orders and returns in each journey's goal window, through
the API store's reader. One query per distinct goal window, whatever the number of customers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    playbook_jobs,
    playbook_journeys,
    playbook_messages,
)
from regulars.domain.tables import Kind
from regulars.services.playbooks.effect import (
    ArmRow,
    JobRow,
    MessageRow,
    ReportFilter,
    Window,
)

ORDERS = INPUT_TABLES[Kind.ORDERS]
Col = sa.ColumnElement[Any]
RETURNS = INPUT_TABLES[Kind.RETURNS]


class SqlPlaybookReport:
    """The report's reads over an API store (which stays the caller's to close)."""

    def __init__(self, store: SqlApiStore) -> None:
        self.store = store
        self.sqlite = store.dialect == "sqlite"

    # -- time arithmetic per row, in each dialect's own terms --------------------------------

    def _after(self, at: Col, start: Col) -> sa.ColumnElement[bool]:
        if self.sqlite:  # julianday reads both the ' ' and the 'T' forms the store may hold
            return sa.func.julianday(at) > sa.func.julianday(start)
        return at > start

    def _by_end(self, at: Col, start: Col, days: int) -> sa.ColumnElement[bool]:
        if self.sqlite:
            return sa.func.julianday(at) <= sa.func.julianday(start) + days
        # ``days`` is an int, so the literal cannot carry anything but a number
        return at <= start + sa.literal_column(f"interval '{int(days)} days'")

    def _within(self, at: Col, start: Col, days: int, *,
                strict: bool = True) -> sa.ColumnElement[bool]:
        begin = (self._after(at, start) if strict else
                 (sa.func.julianday(at) >= sa.func.julianday(start) if self.sqlite
                  else at >= start))
        return sa.and_(begin, self._by_end(at, start, days))

    @staticmethod
    def _journeys(where: ReportFilter) -> list[sa.ColumnElement[bool]]:
        j = playbook_journeys
        conds = [j.c.entered_at <= where.as_of]
        if where.playbook is not None:
            conds.append(j.c.playbook == where.playbook)
        if where.since is not None:
            conds.append(j.c.entered_at >= where.since)
        if where.until is not None:
            conds.append(j.c.entered_at < where.until)
        return conds

    # -- the port ---------------------------------------------------------------------------

    def arms(self, where: ReportFilter, windows: Mapping[str, Window],
             default: Window) -> list[ArmRow]:
        groups: dict[Window, list[str]] = defaultdict(list)
        for name, window in windows.items():
            groups[window].append(name)
        named = list(windows)
        plans: list[tuple[Window, sa.ColumnElement[bool]]] = [
            (w, playbook_journeys.c.playbook.in_(names)) for w, names in groups.items()]
        plans.append((default, playbook_journeys.c.playbook.not_in(named) if named
                      else sa.true()))
        rows: list[ArmRow] = []
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            for window, which in plans:
                rows += self._arms(conn, where, window, which)
        return rows

    def _arms(self, conn: sa.Connection, where: ReportFilter, window: Window,
              which: sa.ColumnElement[bool]) -> list[ArmRow]:
        j, o, r = playbook_journeys, ORDERS, RETURNS
        conds = [*self._journeys(where), which]
        key = (j.c.playbook, j.c.version, j.c.arm)
        entered = {(p, v, a): int(n) for p, v, a, n in conn.execute(
            sa.select(*key, sa.func.count()).where(*conds).group_by(*key))}
        if not entered:
            return []
        closed = [*conds, j.c.entered_at <= where.as_of - timedelta(days=window.days)]
        in_window = sa.and_(o.c.customer_id == j.c.customer_id,
                            self._within(o.c.ordered_at, j.c.entered_at, window.days))
        goal: sa.ColumnElement[Any]
        if window.orders:
            goal = sa.func.count(o.c.order_id)
        else:  # the runner's record of the goal event, within the same window
            goal = sa.func.max(sa.case(
                (sa.and_(j.c.goal_at.is_not(None),
                         self._within(j.c.goal_at, j.c.entered_at, window.days,
                                      strict=False)), 1), else_=0))
        gross = (sa.select(j.c.journey_id, *key, goal.label("goal"),
                           sa.func.count(o.c.order_id).label("orders"),
                           sa.func.coalesce(sa.func.sum(o.c.amount), 0).label("gross"))
                 .select_from(j.outerjoin(o, in_window))
                 .where(*closed).group_by(j.c.journey_id, *key)).subquery("gross")
        # what was returned of the window's orders by the window's end
        returned = (sa.select(j.c.journey_id, sa.func.sum(r.c.amount).label("returned"))
                    .select_from(j.join(o, in_window).join(r, r.c.order_id == o.c.order_id))
                    .where(*closed,
                           self._by_end(r.c.returned_at, j.c.entered_at, window.days))
                    .group_by(j.c.journey_id)).subquery("returned")
        revenue = (sa.cast(gross.c.gross, sa.Float)
                   - sa.cast(sa.func.coalesce(returned.c.returned, 0), sa.Float))
        per_journey = (sa.select(gross.c.playbook, gross.c.version, gross.c.arm,
                                 sa.case((gross.c.goal > 0, 1), else_=0).label("met"),
                                 gross.c.orders,
                                 revenue.label("revenue"))
                       .select_from(gross.outerjoin(
                           returned, returned.c.journey_id == gross.c.journey_id))
                       ).subquery("per_journey")
        pj = per_journey
        totals = {(p, v, a): (int(n), int(g or 0), float(s or 0.0), float(q or 0.0),
                              int(c or 0), int(cq or 0))
                  for p, v, a, n, g, s, q, c, cq in conn.execute(
                      sa.select(pj.c.playbook, pj.c.version, pj.c.arm, sa.func.count(),
                                sa.func.sum(pj.c.met), sa.func.sum(pj.c.revenue),
                                sa.func.sum(pj.c.revenue * pj.c.revenue),
                                sa.func.sum(pj.c.orders),
                                sa.func.sum(pj.c.orders * pj.c.orders))
                      .group_by(pj.c.playbook, pj.c.version, pj.c.arm))}
        return [ArmRow(p, v, a, n, *totals.get((p, v, a), (0, 0, 0.0, 0.0, 0, 0)))
                for (p, v, a), n in sorted(entered.items())]

    def jobs(self, where: ReportFilter) -> list[JobRow]:
        j, b = playbook_journeys, playbook_jobs
        q = (sa.select(j.c.playbook, b.c.step_id, sa.func.min(b.c.seq), b.c.status,
                       b.c.outcome, sa.func.count())
             .select_from(b.join(j, j.c.journey_id == b.c.journey_id))
             .where(*self._journeys(where))
             .group_by(j.c.playbook, b.c.step_id, b.c.status, b.c.outcome))
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            return [JobRow(p, s, int(seq), st, out, int(n))
                    for p, s, seq, st, out, n in conn.execute(q)]

    def messages(self, where: ReportFilter) -> list[MessageRow]:
        j, m = playbook_journeys, playbook_messages
        q = (sa.select(j.c.playbook, m.c.step_id, m.c.state, m.c.reason, sa.func.count())
             .select_from(m.join(j, j.c.journey_id == m.c.journey_id))
             .where(*self._journeys(where))
             .group_by(j.c.playbook, m.c.step_id, m.c.state, m.c.reason))
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            return [MessageRow(p, s, st, why, int(n)) for p, s, st, why, n in conn.execute(q)]
