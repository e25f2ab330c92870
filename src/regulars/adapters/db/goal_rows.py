"""The business's goals and their readings (tables ``goals`` and ``goal_readings``, migration
0024): a part of :class:`~regulars.adapters.db.api_store.SqlApiStore`, on its pooled engines
(the port ``services.goals.GoalStore``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.tables import INPUT_TABLES, goal_readings, goals
from regulars.domain.tables import Kind


class GoalRows(PooledRows):
    def add_goal(self, record: Mapping[str, Any]) -> None:
        self._write(goals.insert().values(**record))

    def goal_rows(self, *, retired: bool = False) -> list[dict[str, Any]]:
        """Every goal (with ``retired``: the retired ones too), oldest first."""
        stmt = sa.select(goals).order_by(goals.c.created_at, goals.c.goal_id)
        if not retired:
            stmt = stmt.where(goals.c.retired_at.is_(None))
        return self._read(stmt)

    def goal_row(self, goal_id: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(goals).where(goals.c.goal_id == goal_id))
        return rows[0] if rows else None

    def retire_goal(self, goal_id: str, at: datetime) -> bool:
        """Retire a goal still active (one statement: of two requests one wins)."""
        return self._write(goals.update().where(
            (goals.c.goal_id == goal_id) & goals.c.retired_at.is_(None)
        ).values(retired_at=at)) == 1

    def reading_rows(self, goal_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not goal_ids:
            return []
        return self._read(sa.select(goal_readings)
                          .where(goal_readings.c.goal_id.in_(list(goal_ids)))
                          .order_by(goal_readings.c.goal_id, goal_readings.c.as_of))

    def put_readings(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Write the readings, replacing any of the same goal and date, in one transaction."""
        if not rows:
            return
        keys = {(r["goal_id"], r["as_of"]) for r in rows}
        by_goal: dict[str, list[date]] = {}
        for goal_id, day in keys:
            by_goal.setdefault(goal_id, []).append(day)
        deletes = [goal_readings.delete().where(
            (goal_readings.c.goal_id == g) & goal_readings.c.as_of.in_(days))
            for g, days in by_goal.items()]
        self._write(*deletes, goal_readings.insert().values([dict(r) for r in rows]))

    def last_order_at(self) -> datetime | None:
        """The latest order's moment (the day the data describes, before a first map)."""
        orders = INPUT_TABLES[Kind.ORDERS]
        rows = self._read(sa.select(sa.func.max(orders.c.ordered_at).label("last")))
        last: datetime | None = rows[0]["last"] if rows else None
        return last
