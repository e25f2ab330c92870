"""What to generate (:class:`DemoSpec`) and the arrow schema of every table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pyarrow as pa

from regulars.demo.archetypes import TRUTH_FLAGS
from regulars.domain.tables import SPECS, ColumnType, Kind

# --------------------------------------------------------------------------------------------
# output schemas (the input tables of regulars.domain.tables, and the truth)

_TS = pa.timestamp("us")
_MONEY = pa.float64()
_S = pa.string()


# how each column type of the domain's input tables is written (money as float64 rounded to
# cents, list columns as ';'-joined text)
_ARROW_TYPES: Mapping[ColumnType, pa.DataType] = {
    ColumnType.ID: _S,
    ColumnType.TEXT: _S,
    ColumnType.TIMESTAMP: _TS,
    ColumnType.DATE: pa.date32(),
    ColumnType.MONEY: _MONEY,
    ColumnType.INTEGER: pa.int64(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.LIST: _S,
}


def _input_schema(kind: Kind) -> pa.Schema:
    """The columns of an input table, named and ordered as in :mod:`regulars.domain.tables`."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.type]) for c in SPECS[kind].columns])


SCHEMAS: Mapping[str, pa.Schema] = {
    **{kind.value: _input_schema(kind) for kind in Kind},
    "truth": pa.schema(
        [
            pa.field("customer_id", _S),
            pa.field("archetype", _S),
            pa.field("segment", _S),
            pa.field("duplicate_of", _S),
            *(pa.field(flag, pa.bool_()) for flag in TRUTH_FLAGS),
        ]
    ),
}
"""The arrow schema of every generated table, keyed by table name (``truth`` included)."""


# --------------------------------------------------------------------------------------------
# the specification


@dataclass(frozen=True)
class DemoSpec:
    """What to generate.

    Parameters
    ----------
    customers
        Persons in the business (prospects and the big client included). Duplicate cards come
        on top, so the customers table has slightly more rows.
    seed
        The random seed; the same spec always gives identical tables.
    start, end
        The first and last day of the order history; the truth is as of the end of ``end``.
        Churned and won-back customers need about two years between them.
    currency
        The ``currency`` of every order.
    chunk_customers
        Persons generated at a time (bounds memory; part of the business's identity).
    orders_per_customer
        Target average number of orders per person (prospects included; a real shop's few
        repeat buyers make it small). Below about 2 the archetypes' minimum order counts
        dominate and the average comes out higher.
    """

    customers: int = 2000
    seed: int = 42
    start: date = date(2023, 1, 1)
    end: date = date(2025, 12, 31)
    currency: str = "EUR"
    chunk_customers: int = 50_000
    orders_per_customer: float = 3.5

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be at least 1, got {self.customers}")
        if self.seed < 0:
            raise ValueError(f"seed must be non-negative, got {self.seed}")
        if (self.end - self.start).days < 60:
            raise ValueError(
                f"end ({self.end}) must be at least 60 days after start ({self.start})"
            )
        if self.chunk_customers < 100:
            raise ValueError(f"chunk_customers must be at least 100, got {self.chunk_customers}")
        if not self.orders_per_customer > 0:
            raise ValueError(
                f"orders_per_customer must be positive, got {self.orders_per_customer}"
            )
        if not self.currency.strip():
            raise ValueError("currency must not be empty")

    @property
    def chunks(self) -> int:
        """How many chunks :func:`iter_business` yields."""
        return max(1, math.ceil((self.customers - 1) / self.chunk_customers))


