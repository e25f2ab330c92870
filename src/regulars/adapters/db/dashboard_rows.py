"""What the owner's dashboard reads of the served map (the port
:class:`regulars.services.dashboard.DashboardRows`), through the API store's engines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import INPUT_TABLES, map_customers
from regulars.domain.tables import Kind
from regulars.services.dashboard import AtRisk, AtRiskCustomer

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]


class SqlDashboardRows:
    """The dashboard's reads over an API store (which stays the caller's to close)."""

    def __init__(self, store: SqlApiStore) -> None:
        self.store = store

    def map_state(self) -> dict[str, Any] | None:
        return self.store.map_state()

    @staticmethod
    def _risky(quiet: Sequence[str]) -> sa.ColumnElement[bool]:
        # the signals column is the JSON list the map writes (json.dumps, services/api/
        # live.py): no signal, or a quiet one alone, are these exact texts; a comparison per
        # row, where a LIKE per signal would cost a scan each
        m = map_customers
        silent = [json.dumps([]), *(json.dumps([q]) for q in quiet)]
        return sa.or_(m.c.status == "lapsing",
                      sa.and_(m.c.status.in_(("active", "won_back")),
                              m.c.signals.not_in(silent)))

    def at_risk(self, quiet: Sequence[str], limit: int) -> AtRisk:
        m, c = map_customers, CUSTOMERS
        risky = self._risky(quiet)
        totals = sa.select(sa.func.count(), sa.func.sum(m.c.value_at_risk),
                           sa.func.count(m.c.value_at_risk),
                           sa.func.sum(m.c.revenue)).where(risky)
        rank = (sa.select(m.c.customer_id, c.c.name, c.c.manager, m.c.rung, m.c.status,
                          m.c.value_at_risk, m.c.revenue, m.c.days_since_last_order)
                .select_from(m.outerjoin(c, c.c.customer_id == m.c.customer_id))
                .where(risky)
                .order_by(sa.func.coalesce(m.c.value_at_risk, -1.0).desc(),
                          sa.func.coalesce(m.c.revenue, 0.0).desc(), m.c.customer_id)
                .limit(limit))
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            n, var, with_var, revenue = conn.execute(totals).one()
            top = tuple(AtRiskCustomer(
                str(r[0]), r[1], r[2], str(r[3]), r[4],
                None if r[5] is None else float(r[5]), None if r[6] is None else float(r[6]),
                None if r[7] is None else float(r[7])) for r in conn.execute(rank))
        return AtRisk(int(n or 0), float(var) if with_var else None, float(revenue or 0.0),
                      top)

    def names(self, ids: Sequence[str]) -> dict[str, str]:
        c = CUSTOMERS
        stmt = sa.select(c.c.customer_id, c.c.name).where(c.c.customer_id.in_(list(ids)),
                                                          c.c.name.is_not(None))
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            return {str(r[0]): str(r[1]) for r in conn.execute(stmt)}
