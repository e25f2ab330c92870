"""A minimal reading of a playbook's conditions on a customer's facts (the runner's stand-in
until the definitions' full version lands; that one replaces this file)."""

from __future__ import annotations

from collections.abc import Mapping

from regulars.domain.playbooks.model import Clause, Condition


def _holds(clause: Clause, facts: Mapping[str, object]) -> bool:
    value = facts.get(clause.field)
    want = clause.value
    if clause.op == "eq":
        return value == want
    if clause.op == "ne":
        return value != want
    if clause.op == "in":
        return isinstance(want, list | tuple) and value in want
    if clause.op == "has":
        have = value if isinstance(value, list | tuple | set) else ()
        wanted = want if isinstance(want, list | tuple) else (want,)
        return any(w in have for w in wanted)
    if clause.op in ("gte", "lte"):
        if not isinstance(value, int | float) or not isinstance(want, int | float):
            return False
        return value >= want if clause.op == "gte" else value <= want
    raise ValueError(f"unknown operator {clause.op!r}")


def evaluate(condition: Condition, facts: Mapping[str, object]) -> bool:
    if not all(_holds(c, facts) for c in condition.all_):
        return False
    return not condition.any_ or any(_holds(c, facts) for c in condition.any_)
