"""The portfolio's vocabulary (rungs, statuses, flow states), input contracts and helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

RUNGS: tuple[str, ...] = ("prospect", "newcomer", "returning", "regular", "loyal", "advocate")
"""The loyalty ladder from the bottom up (DOMAIN §3)."""
BUYER_RUNGS: tuple[str, ...] = RUNGS[1:]
"""Rungs of customers with at least one order."""
REGULAR_RUNGS: tuple[str, ...] = ("regular", "loyal", "advocate")
"""Rungs that count as regulars (≥ ``regular_min_orders`` orders)."""
LOYAL_RUNGS: tuple[str, ...] = ("loyal", "advocate")
"""Rungs that count as loyal."""
STATUSES: tuple[str, ...] = ("active", "lapsing", "lost", "won_back")
"""Activity statuses (DOMAIN §4); prospects have none."""
LOST = "lost"
ABSENT = "absent"
"""Ladder-flow state of a customer missing from one of the two maps."""
FLOW_STATES: tuple[str, ...] = (ABSENT, *RUNGS, LOST)
"""States of the ladder flow: not in the map, a rung, or off the ladder (lost)."""

MAP_COLUMNS = ("customer_id", "orders", "first_order_at", "revenue", "rung", "status")
ORDER_COLUMNS = ("customer_id", "ordered_at", "amount")
FEEDBACK_COLUMNS = ("customer_id", "at", "nps")

_SECONDS_PER_DAY = 86_400
_PARETO_CURVE_STEPS = 100  # at most 100 steps plus the origin: ≤ 101 points

ActiveAt = Callable[[datetime], ir.Table]
"""A rule for "active at an instant": returns a table with a ``customer_id`` column."""


# --------------------------------------------------------------------------------------------
# helpers


def _require(table: ir.Table, columns: Iterable[str], name: str) -> None:
    """Fail early, naming the table and the missing columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {', '.join(missing)}")


def _rows(expr: ir.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return rows


def _one(expr: ir.Table) -> dict[str, Any]:
    return _rows(expr)[0]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _money(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _orders_until(orders: ir.Table, at: datetime) -> ir.Table:
    return orders.filter(orders.ordered_at <= ibis.literal(at))


def _month_index(ts: ir.TimestampValue) -> ir.IntegerValue:
    return ts.year().cast("int64") * 12 + ts.month().cast("int64") - 1


def _month_label(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"

