"""Input normalisation shared by the customer-map modules.

Every input table is read through these helpers so that ids are strings, money is float64,
times are compared with an explicit as-of literal and converted to epoch seconds (never to
intervals, ENGINES pitfall 5), and ``;``-separated list columns become arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

SECONDS_PER_DAY = 86400.0
LIST_SEPARATOR = ";"


def f64(value: float) -> ir.FloatingScalar:
    """A float literal typed as float64 (arithmetic partners are cast to float64 too)."""
    return ibis.literal(float(value), type="float64")


def has(table: ir.Table | None, column: str) -> bool:
    """Whether a (possibly absent) table has a column."""
    return table is not None and column in table.columns


def require(table: ir.Table, name: str, columns: Iterable[str]) -> None:
    """Raise a ValueError naming the table and its missing required columns."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"the {name} table lacks required column(s) {', '.join(missing)}; "
            f"it has {', '.join(table.columns) or 'no columns'}"
        )


def as_of_datetime(as_of: datetime | date) -> datetime:
    """The as-of instant as a naive UTC datetime (a date means its midnight)."""
    if not isinstance(as_of, datetime):
        as_of = datetime.combine(as_of, time())
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return as_of


def as_of_epoch(as_of: datetime | date) -> float:
    """Epoch seconds of the as-of instant (naive datetimes are UTC)."""
    return as_of_datetime(as_of).replace(tzinfo=UTC).timestamp()


def timestamp(value: ir.Value) -> ir.TimestampValue:
    """A date or timestamp column as a timestamp (an all-null column too)."""
    if value.type().is_date() or value.type().is_null():
        return value.cast("timestamp")
    return value


def as_of_literal(as_of: datetime | date, like: ir.Value) -> ir.Scalar:
    """The as-of instant as a literal comparable with the timestamp column ``like``."""
    moment = as_of_datetime(as_of)
    dtype = like.type()
    if dtype.is_timestamp() and dtype.timezone is not None:
        return ibis.literal(moment.replace(tzinfo=UTC), type=dtype)
    return ibis.literal(moment, type=dt.Timestamp())


def not_after(value: ir.Value, as_of: datetime | date) -> ir.BooleanValue:
    """``value <= as_of`` for a date or timestamp column (null stays false)."""
    ts = timestamp(value)
    return (ts <= as_of_literal(as_of, ts)).fill_null(False)


def epoch(value: ir.Value) -> ir.FloatingValue:
    """Epoch seconds of a date or timestamp column, as float64."""
    return timestamp(value).epoch_seconds().cast("float64")


def days_between(later: ir.NumericValue, earlier: ir.NumericValue) -> ir.FloatingValue:
    """Days between two epoch-second float64 values."""
    return (later - earlier) / f64(SECONDS_PER_DAY)


def ident(value: ir.Value) -> ir.StringValue:
    """An id column as a string."""
    if value.type().is_string():
        return value
    return value.cast("string")


def money(value: ir.Value) -> ir.FloatingValue:
    """A money column as float64."""
    return value.cast("float64")


MONEY_PLACES = 6
"""Decimal places a money sum keeps (every currency has at most four)."""


def money_sum(
    value: ir.NumericValue, where: ir.BooleanValue | None = None, *, digits: int = 18
) -> ir.FloatingValue:
    """The exact sum of a money column, as float64: each value becomes a
    ``DECIMAL(digits, MONEY_PLACES)`` first (38 digits for squares of money).

    A float sum depends on the order the rows are added in; a parallel engine adds them in a
    different order from run to run, so the same orders gave a revenue that differed in its
    last bits (1112.4 one run, 1112.3999999999999 the next) and customers of equal revenue
    swapped ranks. A decimal sum is the same on every run and every engine.

    ``DECIMAL(18, 6)`` holds less than 10**12: an order row stays under it by the input rules
    (``regulars.domain.rules``, ``[input] max_amount``); a sum of sums (customers' revenues,
    which grow with their orders) takes ``digits=38``, cheap over one row per customer.
    """
    exact = value.cast(f"decimal({digits}, {MONEY_PLACES})")
    return exact.sum(where=where).cast("float64")


def list_values(value: ir.Value) -> ir.ArrayValue:
    """A list column (``;``-separated string or array of strings) as an array of strings."""
    if value.type().is_array():
        return value
    return value.cast("string").split(LIST_SEPARATOR)


def clean_item(value: ir.Value) -> ir.StringValue:
    """One list item, trimmed (an empty item is null)."""
    return value.cast("string").strip().nullif("")
