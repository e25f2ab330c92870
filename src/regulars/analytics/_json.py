"""Build JSON text with engine-neutral string expressions.

The customer map's evidence is a JSON string column: it survives Arrow, pandas, polars,
Parquet and CSV unchanged. It is assembled with ``CONCAT_WS`` (one n-ary call per object:
Ibis compiles ``+`` on strings to a chain of binary ``||`` on DuckDB, which copies the growing
string at every step), casts and ``REPLACE``. Numbers go through ``DECIMAL(18, places)``
(``30.00``), so DuckDB and PostgreSQL write byte-identical text. ``CONCAT_WS`` skips nulls on
DuckDB, PostgreSQL and Spark alike, which is what lists of optional items use. Constants are
rendered in Python with :func:`json.dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import ibis
import ibis.expr.types as ir

from regulars.analytics._inputs import f64

Part: TypeAlias = "str | ir.StringValue"
JsonValue: TypeAlias = "ir.Value | str | int | float | bool | Sequence[str] | None"

# PostgreSQL functions take at most 100 arguments (FUNC_MAX_ARGS)
_MAX_ARGS = 90
_NUDGE = 1e-12


@dataclass(frozen=True)
class Raw:
    """A string expression that already holds JSON text (an array, an object)."""

    expr: ir.StringValue


@dataclass(frozen=True)
class Num:
    """A float expression written with a fixed number of decimals (default: 2)."""

    expr: ir.NumericValue
    places: int = 2


@dataclass(frozen=True)
class Code:
    """A string expression from a closed set of safe values (no escaping needed)."""

    expr: ir.StringValue


def join(sep: str, parts: Sequence[Part]) -> ir.StringValue:
    """``CONCAT_WS(sep, ...)``: null parts are skipped; adjacent constants merged when
    ``sep`` is empty."""
    merged: list[Part] = []
    for p in parts:
        if sep == "" and isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + p
        elif not (sep == "" and isinstance(p, str) and p == ""):
            merged.append(p)
    if not merged:
        return ibis.literal("")
    if len(merged) == 1 and not isinstance(merged[0], str):
        return merged[0]
    exprs = [ibis.literal(p) if isinstance(p, str) else p for p in merged]
    while len(exprs) > _MAX_ARGS:
        if sep:
            # nested groups must not add a separator for a group that is entirely null
            raise ValueError("too many items for one separated join")
        exprs = [
            ibis.literal("").join(exprs[i : i + _MAX_ARGS])
            for i in range(0, len(exprs), _MAX_ARGS)
        ]
    return ibis.literal(sep).join(exprs)


def concat(parts: Sequence[Part]) -> ir.StringValue:
    """Concatenate Python strings and string expressions (one ``CONCAT_WS('', ...)``).

    Null expressions are skipped, so callers give null-safe parts.
    """
    return join("", parts)


def escape(value: ir.Value) -> ir.StringValue:
    """A string expression escaped for a JSON string body."""
    s = value.cast("string")
    for old, new in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        s = s.replace(old, new)
    return s


def number(expr: ir.Value, places: int = 2) -> ir.StringValue:
    """JSON text of a number: integers exactly, floats through DECIMAL(18, places).

    Casting a double to text is about three times slower on DuckDB than through a decimal,
    and engines print doubles differently; a decimal prints the same everywhere (``30.00``).
    """
    if expr.type().is_integer():
        return expr.cast("int64").cast("string")
    # Engines turn a double into a decimal differently at an exact half (62.945 is stored as
    # 62.94499999999999...: DuckDB rounds that binary value down, PostgreSQL rounds its
    # shortest text up). A relative nudge far above binary noise and summation-order noise,
    # far below the printed precision, makes every engine round half away from zero.
    nudged = expr.cast("float64") * f64(1.0 + _NUDGE)
    return nudged.cast(f"decimal(18, {places})").cast("string")


def text(value: JsonValue | Raw | Code | Num) -> Part:
    """JSON text of one value: constants in Python, expressions with a null fallback."""
    if isinstance(value, Num):
        return number(value.expr, value.places).fill_null("null")
    if isinstance(value, Raw):
        return value.expr.fill_null("null")
    if isinstance(value, Code):
        return ibis.ifelse(
            value.expr.isnull(), ibis.literal("null"), concat(['"', value.expr, '"'])
        )
    if value is None or isinstance(value, (str, int, float, bool)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    expr: ir.Value = value
    dtype = expr.type()
    if dtype.is_boolean():
        return ibis.ifelse(expr, "true", "false").fill_null("null")
    if dtype.is_numeric():
        return number(expr).fill_null("null")
    return ibis.ifelse(
        expr.isnull(), ibis.literal("null"), concat(['"', escape(expr), '"'])
    )


Field: TypeAlias = "tuple[str, JsonValue | Raw | Code | Num]"


def obj(fields: Sequence[Field]) -> ir.StringValue:
    """A JSON object from (key, value) pairs, in order."""
    parts: list[Part] = ["{"]
    for i, (key, value) in enumerate(fields):
        parts.append(("," if i else "") + json.dumps(key) + ":")
        parts.append(text(value))
    parts.append("}")
    return concat(parts)


def array(items: Sequence[ir.StringValue]) -> ir.StringValue:
    """A JSON array of element texts; null elements are left out."""
    return concat(["[", join(",", items), "]"])


def codes(items: Sequence[tuple[ir.BooleanValue, str]]) -> Raw:
    """A JSON array of the constant strings whose condition holds."""
    return Raw(array([when(cond, json.dumps(code)) for cond, code in items]))


def when(cond: ir.BooleanValue, value: Part) -> ir.StringValue:
    """``value`` where ``cond`` holds, else null (so that a join skips it)."""
    v = ibis.literal(value) if isinstance(value, str) else value
    return ibis.ifelse(cond, v, ibis.null("string"))


def first(items: Sequence[tuple[ir.BooleanValue, str]]) -> Code:
    """The first constant string whose condition holds (a JSON string, or null)."""
    expr = ibis.cases(
        *[(cond.fill_null(False), code) for cond, code in items], else_=ibis.null("string")
    )
    return Code(expr)
