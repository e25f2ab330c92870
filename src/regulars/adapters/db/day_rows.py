"""What the worklist page reads besides the tasks (the port
:class:`regulars.services.manager_day.DayReads`), on the API store's pooled engines: small
queries by index for the few customers a page shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import INPUT_TABLES, tasks
from regulars.domain.tables import Kind
from regulars.domain.tasks import State

INTERACTIONS = INPUT_TABLES[Kind.INTERACTIONS]
_LIVE = (State.OPEN.value, State.SNOOZED.value)
#: ids per query (SQLite's bound-parameter limit is far above; a page shows a few hundred)
CHUNK = 500


class SqlDayRows(PooledRows):
    def __init__(self, api: SqlApiStore) -> None:
        self.url = api.url
        self.writer = api.writer
        self.reader = api.reader
        self.dialect = api.dialect

    def last_contacts(self, customer_ids: Sequence[str]) -> dict[str, datetime]:
        i = INTERACTIONS.c
        personal = sa.or_(i.kind == "call", sa.func.length(sa.func.trim(
            sa.func.coalesce(i.manager, ""))) > 0)
        out: dict[str, datetime] = {}
        for start in range(0, len(customer_ids), CHUNK):
            ids = list(customer_ids[start:start + CHUNK])
            rows = self._read(sa.select(i.customer_id, sa.func.max(i.at).label("at"))
                              .where(i.customer_id.in_(ids), i.direction == "out", personal)
                              .group_by(i.customer_id))
            out.update({r["customer_id"]: _moment(r["at"]) for r in rows if r["at"]})
        return out

    def live_among(self, customer_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for start in range(0, len(customer_ids), CHUNK):
            ids = list(customer_ids[start:start + CHUNK])
            rows = self._read(sa.select(tasks.c.customer_id).distinct().where(
                tasks.c.customer_id.in_(ids), tasks.c.state.in_(_LIVE)))
            out |= {r["customer_id"] for r in rows}
        return out


def _moment(value: Any) -> datetime:
    # max() over a timestamp comes back as text from SQLite
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
