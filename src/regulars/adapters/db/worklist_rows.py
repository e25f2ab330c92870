"""What the worklist reads from the store: the served map snapshot, the input tables, and the
tasks table when it exists (the port :class:`regulars.services.worklist.WorklistRows`).

Everything goes through the API store's own SQLAlchemy connections (on SQLite this process's
pysqlite, never ADBC's second copy of SQLite beside it: see :meth:`SqlApiStore.read_table`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.tables import map_customers
from regulars.domain.tables import Kind

MAP_COLUMNS = ("customer_id", "rung", "status", "signals", "revenue", "last_order_at",
               "evidence")
"""The snapshot's columns the worklist reads (the money at stake is in the evidence)."""

TASK_COLUMNS = ("task_id", "customer_id", "owner", "due_on", "reason", "action", "channel",
                "evidence", "money_at_stake", "state", "snoozed_until")


class SqlWorklistRows:
    """The worklist's reads over an API store (which stays the caller's to close)."""

    def __init__(self, store: SqlApiStore) -> None:
        self.store = store

    def read_table(self, kind: Kind) -> pa.Table:
        return self.store.read_table(kind)

    def map_snapshot(self) -> tuple[pa.Table, datetime] | None:
        """The served map's rows and its as-of moment; None before the first rebuild."""
        state = self.store.map_state()
        if state is None:
            return None
        cols = [map_customers.c[c] for c in MAP_COLUMNS]
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            rows = conn.execute(sa.select(*cols)).fetchall()
        data: dict[str, list[Any]] = {c: [r[i] for r in rows] for i, c in enumerate(MAP_COLUMNS)}
        table = pa.table({
            "customer_id": pa.array(data["customer_id"], pa.string()),
            "rung": pa.array(data["rung"], pa.string()),
            "status": pa.array(data["status"], pa.string()),
            "signals": pa.array(data["signals"], pa.string()),
            "revenue": pa.array([None if v is None else float(v) for v in data["revenue"]],
                                pa.float64()),
            "last_order_at": pa.array(data["last_order_at"], pa.timestamp("us")),
            "evidence": pa.array(data["evidence"], pa.string()),
        })
        as_of = state["as_of"]
        return table, as_of

    def tasks(self) -> pa.Table | None:
        """The open and snoozed tasks (the tasks helper's table); None when there is no such
        table in this store (the tasks migration has not run)."""
        with failures.translated(self.store.url), self.store.reader.connect() as conn:
            if not sa.inspect(conn).has_table("tasks"):
                return None
            present = {c["name"] for c in sa.inspect(conn).get_columns("tasks")}
            cols = [c for c in TASK_COLUMNS if c in present]
            if not {"task_id", "customer_id", "owner", "state"} <= set(cols):
                return None
            result = conn.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM tasks WHERE state IN ('open', 'snoozed')")
            rows = result.fetchall()
        data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
        arrays = {c: pa.array([None if v is None else (v if not isinstance(v, dict | list)
                                                       else _json(v)) for v in data[c]])
                  for c in cols}
        return pa.table(arrays) if rows else pa.table(
            {c: pa.array([], pa.string()) for c in cols})


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)
