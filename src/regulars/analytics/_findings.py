"""Findings: a label (rung, status, signal, trait), the condition that raises it and the facts
that back it, turned into the map's code arrays and evidence JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir

from regulars.analytics import _json
from regulars.analytics.params import MapParams


def N_(message: str) -> str:  # noqa: N802 - the gettext convention Babel extracts
    """Mark a reason for translation where it is shown (analytics knows no language): the
    use cases translate what analytics wrote (:func:`regulars.services.explain.reason`)."""
    return message


@dataclass(frozen=True)
class Finding:
    """One label a customer may carry, with the evidence written when it is raised."""

    about: str  # "rung" | "status" | "signal" | "trait"
    code: str
    raised: ir.BooleanValue
    fields: tuple[_json.Field, ...] = ()

    def evidence(self) -> ir.StringValue:
        head: list[_json.Field] = [("about", self.about), ("code", self.code)]
        return _json.obj([*head, *self.fields])


@dataclass(frozen=True)
class Context:
    """The wide per-customer table the rules read, the thresholds, and why facts are absent."""

    t: ir.Table
    params: MapParams
    missing: Mapping[str, str] = field(default_factory=dict)
    """Fact column -> why it is absent (``"latest_nps": "no feedback data (feedback table)"``)."""

    def base(self, column: str, places: int = 2) -> _json.Raw | _json.Num:
        """A base-level (one value for everyone) number for evidence: its JSON text when the
        one-row base table carries it pre-rendered (``<column>__json``), so that it is
        rendered once and not once per customer."""
        pre = f"{column}__json"
        if pre in self.t.columns:
            return _json.Raw(self.t[pre])
        return _json.Num(self.t[column], places)

    def lacks(self, *columns: str) -> str | None:
        """The reason the first absent column is missing, or None when all are present."""
        for c in columns:
            if c not in self.t.columns:
                return self.missing.get(c, f"{c} is not available")
        return None


def with_json_text(one_row: ir.Table, places: dict[str, int]) -> ir.Table:
    """Add ``<column>__json`` (the column rendered as JSON number text) to a one-row table."""
    return one_row.mutate(
        **{f"{c}__json": _json.number(one_row[c], p).fill_null("null") for c, p in places.items()}
    )


def codes_array(findings: Sequence[Finding]) -> ir.ArrayValue:
    """The codes of the raised findings, in the given order, as array<string>.

    Built as comma-joined text behind a placeholder and split, dropping the placeholder: Ibis
    compiles array ``filter`` to DuckDB ``->`` lambdas (which DuckDB 2.0 rejects) and an empty
    array literal to an untyped ``ARRAY[]`` (which PostgreSQL rejects).
    """
    text = _json.join(",", ["-", *[_json.when(flag(f.raised), f.code) for f in findings]])
    # an explicit stop compiles to a plain LIST_SLICE on DuckDB (an open one repeats the list)
    return text.split(",")[1 : len(findings) + 1]


def one_of(findings: Sequence[Finding]) -> ir.StringValue:
    """The evidence of the first raised finding of mutually exclusive ones (null if none)."""
    return ibis.cases(
        *[(flag(f.raised), f.evidence()) for f in findings], else_=ibis.null("string")
    )


def evidence_json(slots: Sequence[ir.StringValue]) -> ir.StringValue:
    """A JSON array of evidence objects; null slots (labels not raised) are left out."""
    return _json.array(slots)


def evidence_slots(findings: Sequence[Finding]) -> list[ir.StringValue]:
    """One slot per finding: its evidence where raised, else null."""
    return [_json.when(flag(f.raised), f.evidence()) for f in findings]


def flag(value: ir.Value) -> ir.BooleanValue:
    """A condition with null read as false."""
    return value.fill_null(False)
