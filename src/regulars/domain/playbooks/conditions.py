"""Whether a customer's facts satisfy a playbook's :class:`~regulars.domain.playbooks.model.
Condition` (its entry conditions, or a branch's).

The facts are the plain mapping of ``services/playbooks/ports.py``: codes as text, lists of
codes for ``signals``, ``traits`` and ``tags``, ``attribute.<name>`` for each attribute, None
for what is not known. Codes are compared without regard to case (a business writes
``disc = "d"`` or ``"D"``); an unknown value never satisfies an ordering (a customer whose
money at stake is unknown is not "at least 100").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from regulars.domain.playbooks.model import Clause, Condition


def _norm(value: object) -> object:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)  # 3 == 3.0, whichever the file or the store wrote
    return value


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [_norm(v) for v in value]
    return [_norm(value)]


def _wanted(value: object) -> list[object]:
    return [_norm(v) for v in value] if isinstance(value, list | tuple) else [_norm(value)]


def _orderable(value: object) -> object | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value.casefold()
    return None


def _compare(op: str, actual: object, bound: object) -> bool:
    a, b = _orderable(actual), _orderable(bound)
    if a is None or b is None or type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        x, y = a, b
        return {"gte": x >= y, "lte": x <= y, "gt": x > y, "lt": x < y}[op]
    if isinstance(a, str) and isinstance(b, str):
        s, t = a, b
        return {"gte": s >= t, "lte": s <= t, "gt": s > t, "lt": s < t}[op]
    return False


def holds(clause: Clause, facts: Mapping[str, object]) -> bool:
    """Whether one clause holds for ``facts``."""
    actual = facts.get(clause.field)
    op = clause.op
    if op == "exists":
        present = actual not in (None, [], ())
        return present is bool(clause.value)
    if op in ("has", "lacks"):
        found = set(map(repr, _as_list(actual))) & set(map(repr, _wanted(clause.value)))
        return bool(found) if op == "has" else not found
    if op in ("gte", "lte", "gt", "lt"):
        return _compare(op, actual, clause.value)
    # a list field named with eq/in: any of its codes
    values = _as_list(actual) if isinstance(actual, list | tuple) else [_norm(actual)]
    if op == "eq":
        return _norm(clause.value) in values
    if op == "ne":
        return _norm(clause.value) not in values
    if op == "in":
        return any(v in _wanted(clause.value) for v in values if v is not None)
    if op == "not_in":
        return not any(v in _wanted(clause.value) for v in values if v is not None)
    raise ValueError(f"unknown operator {op!r}")


def evaluate(condition: Condition, facts: Mapping[str, object]) -> bool:
    """All of ``condition.all_`` and, when ``any_`` is not empty, at least one of it."""
    if not all(holds(c, facts) for c in condition.all_):
        return False
    return not condition.any_ or any(holds(c, facts) for c in condition.any_)


def fields_of(conditions: Iterable[Condition]) -> set[str]:
    """The facts some condition reads (a feed may fetch only those)."""
    return {c.field for cond in conditions for c in (*cond.all_, *cond.any_)}
