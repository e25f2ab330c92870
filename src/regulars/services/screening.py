"""Rows of the store outside the input rules are set aside when it is read, and reported.

The importer and the API refuse such rows (:mod:`regulars.domain.rules`), but a store may hold
some from before the rules existed, or written by hand: an order dated 9999-12-31 made every
points accrual overflow, an amount of 10**13 failed every map. Read through :func:`screen`,
the tables lose those rows (one vectorised comparison per limit, no loop over rows) and the
caller says which were left out, and why, instead of failing for every customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from regulars.domain.rules import Check, InputRules, Limit, limits
from regulars.domain.tables import SPECS, Kind
from regulars.i18n import _, fmt_number, ngettext

SHOWN = 10
"""Ids a report names per kind; the count says how many more."""


@dataclass(frozen=True)
class SetAsideRows:
    """The rows of one table left out, with the first ids, their customers and the reasons."""

    kind: Kind
    count: int
    ids: list[str]
    customers: list[str]
    reasons: list[str]

    def line(self) -> str:
        more = self.count - len(self.ids)
        names = ", ".join(self.ids)
        if more > 0:
            names += _(" and {n} more").format(n=fmt_number(more))
        return ngettext(
            "set aside {n} row of {kind} outside the input rules ({ids}): {reasons}",
            "set aside {n} rows of {kind} outside the input rules ({ids}): {reasons}",
            self.count).format(n=fmt_number(self.count), kind=self.kind.value, ids=names,
                               reasons="; ".join(self.reasons))

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "count": self.count, "ids": self.ids,
                "customers": self.customers, "reasons": self.reasons}


@dataclass(frozen=True)
class SetAside:
    """Everything :func:`screen` left out (empty when the store is clean)."""

    tables: list[SetAsideRows] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tables)

    def lines(self) -> list[str]:
        return [t.line() for t in self.tables]

    def customers(self) -> list[str]:
        return sorted({c for t in self.tables for c in t.customers})

    def to_dict(self) -> list[dict[str, object]]:
        return [t.to_dict() for t in self.tables]


_SCREENED = (Check.AT_LEAST, Check.AT_MOST)  # what breaks the arithmetic; text cannot


def _broken(column: pa.ChunkedArray, limit: Limit) -> pa.ChunkedArray:
    """Whether each value breaks ``limit`` (null: no)."""
    b = limit.bound
    at_least = limit.check is Check.AT_LEAST
    if isinstance(b, date):
        # a day bound: before its first moment, or from the first moment of the day after
        edge = b if at_least else b + timedelta(days=1)
        if pa.types.is_timestamp(column.type):
            scalar = pa.scalar(datetime.combine(edge, time()), column.type)
        else:
            scalar = pa.scalar(edge, pa.date32())
            column = column.cast(pa.date32())
        result: pa.ChunkedArray = (pc.less(column, scalar) if at_least
                                   else pc.greater_equal(column, scalar))
        return result
    assert isinstance(b, int | Decimal)
    values = column.cast(pa.float64())
    bound = pa.scalar(float(b), pa.float64())
    broken: pa.ChunkedArray = pc.less(values, bound) if at_least else pc.greater(values, bound)
    return broken


def screen(tables: Mapping[Kind, pa.Table], rules: InputRules, today: date
           ) -> tuple[dict[Kind, pa.Table], SetAside]:
    """``tables`` without their rows outside ``rules``, and what was left out."""
    out: dict[Kind, pa.Table] = {}
    aside: list[SetAsideRows] = []
    for kind, table in tables.items():
        spec = SPECS[kind]
        checks = [(lim, pc.fill_null(_broken(table.column(lim.column), lim), False))
                  for lim in limits(spec, rules, today)
                  if lim.check in _SCREENED and lim.column in table.column_names]
        if not checks or table.num_rows == 0:
            out[kind] = table
            continue
        bad = checks[0][1]
        for _lim, mask in checks[1:]:
            bad = pc.or_(bad, mask)
        n = pc.sum(bad).as_py() or 0
        if not n:
            out[kind] = table
            continue
        out[kind] = table.filter(pc.invert(bad))
        left = table.filter(bad)
        reasons = []
        for lim, mask in checks:
            hit = table.filter(mask)
            if hit.num_rows:
                ids = hit.column(spec.id_column).to_pylist()[:SHOWN]
                reasons.append(f"{lim.column} {lim.message(_)} ({', '.join(map(str, ids))})")
        who = "customer_id" if "customer_id" in left.column_names else None
        customers = sorted({str(c) for c in left.column(who).to_pylist() if c is not None}
                           ) if who else []
        aside.append(SetAsideRows(kind, int(n), [str(i) for i in left.column(
            spec.id_column).to_pylist()[:SHOWN]], customers, reasons))
    return out, SetAside(aside)


def screen_in_place(tables: Mapping[Kind, Any], rules: InputRules, today: date
                    ) -> tuple[dict[Kind, Any], SetAside]:
    """:func:`screen` for Ibis tables an engine computes in place (the PostgreSQL engine):
    the same limits as filters, and one query per table that has rows outside them."""
    out: dict[Kind, Any] = {}
    aside: list[SetAsideRows] = []
    for kind, table in tables.items():
        spec = SPECS[kind]
        checks = [(lim, _broken_expr(table[lim.column], lim))
                  for lim in limits(spec, rules, today)
                  if lim.check in _SCREENED and lim.column in table.columns]
        if not checks:
            out[kind] = table
            continue
        bad = ibis.or_(*[c for _lim, c in checks])
        out[kind] = table.filter(~bad)
        cols = list(dict.fromkeys([spec.id_column, *(
            ["customer_id"] if "customer_id" in table.columns else [])]))
        left = table.filter(bad).select(*cols).to_pyarrow()
        if not left.num_rows:
            continue
        reasons = [f"{lim.column} {lim.message(_)}" for lim, c in checks
                   if table.filter(c).count().to_pyarrow().as_py()]
        customers = sorted({str(c) for c in left.column("customer_id").to_pylist()}) \
            if "customer_id" in cols else []
        aside.append(SetAsideRows(kind, left.num_rows, [str(i) for i in left.column(
            0).to_pylist()[:SHOWN]], customers, reasons))
    return out, SetAside(aside)


def _broken_expr(column: Any, limit: Limit) -> Any:
    """:func:`_broken` as an Ibis expression (null: not broken)."""
    b = limit.bound
    at_least = limit.check is Check.AT_LEAST
    if isinstance(b, date):
        edge = datetime.combine(b if at_least else b + timedelta(days=1), time())
        value = column if column.type().is_timestamp() else column.cast("timestamp")
        moment = ibis.literal(edge)
        cond = value < moment if at_least else value >= moment
    else:
        assert isinstance(b, int | Decimal)
        value = column.cast("float64")
        cond = value < float(b) if at_least else value > float(b)
    return cond.fill_null(False)
