"""Conditions over a customer's facts (issue 20): hand-computed cases and invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.playbooks.conditions import evaluate, fields_of, holds
from regulars.domain.playbooks.model import Clause, Condition

FACTS = {
    "rung": "regular", "status": "at_risk", "signals": ["overdue", "shrinking_orders"],
    "traits": [], "tags": ["VIP"], "money_at_stake": 250.0, "orders": 7,
    "days_since_last_order": None, "attribute.disc": "D", "consent_email": True,
    "manager": None,
}


@pytest.mark.parametrize(("clause", "expected"), [
    (Clause("rung", "eq", "regular"), True),
    (Clause("rung", "eq", "REGULAR"), True),          # codes without regard to case
    (Clause("rung", "ne", "regular"), False),
    (Clause("status", "in", ("lost", "at_risk")), True),
    (Clause("status", "not_in", ("lost", "at_risk")), False),
    (Clause("money_at_stake", "gte", 250), True),      # 250 == 250.0
    (Clause("money_at_stake", "gt", 250), False),
    (Clause("money_at_stake", "lt", 300), True),
    (Clause("orders", "lte", 6), False),
    (Clause("days_since_last_order", "gte", 0), False),  # unknown never satisfies an ordering
    (Clause("days_since_last_order", "lte", 10_000), False),
    (Clause("signals", "has", "overdue"), True),
    (Clause("signals", "has", ("detractor", "shrinking_orders")), True),  # any of them
    (Clause("signals", "has", ("detractor",)), False),
    (Clause("signals", "lacks", "detractor"), True),
    (Clause("tags", "has", "vip"), True),
    (Clause("traits", "has", "seasonal"), False),
    (Clause("attribute.disc", "eq", "d"), True),
    (Clause("attribute.disc", "in", ("I", "S")), False),
    (Clause("attribute.founded", "exists", True), False),  # not among the facts at all
    (Clause("manager", "exists", False), True),
    (Clause("traits", "exists", True), False),            # an empty list is no value
    (Clause("consent_email", "eq", True), True),
    (Clause("signals", "eq", "overdue"), True),           # eq on a list: one of its codes
])
def test_clauses_by_hand(clause: Clause, expected: bool) -> None:
    assert holds(clause, FACTS) is expected


def test_all_and_any() -> None:
    yes, no = Clause("rung", "eq", "regular"), Clause("rung", "eq", "new")
    assert evaluate(Condition(), FACTS) is True
    assert evaluate(Condition(all_=(yes, no)), FACTS) is False
    assert evaluate(Condition(all_=(yes,), any_=(no, yes)), FACTS) is True
    assert evaluate(Condition(all_=(yes,), any_=(no,)), FACTS) is False
    assert fields_of([Condition(all_=(yes,), any_=(Clause("tags", "has", "x"),))]) == {
        "rung", "tags"}


codes = st.sampled_from(["new", "regular", "loyal", "lost", "at_risk", "D", "d"])
values = st.one_of(codes, st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))


@given(actual=values, options=st.lists(values, max_size=4))
def test_not_in_is_the_negation_of_in_for_a_present_value(actual: object,
                                                          options: list[object]) -> None:
    facts = {"rung": actual}
    assert holds(Clause("rung", "in", tuple(options)), facts) is not holds(
        Clause("rung", "not_in", tuple(options)), facts)


@given(actual=st.lists(codes, max_size=4), wanted=st.lists(codes, min_size=1, max_size=3))
def test_lacks_is_the_negation_of_has(actual: list[str], wanted: list[str]) -> None:
    facts = {"tags": actual}
    assert holds(Clause("tags", "has", tuple(wanted)), facts) is not holds(
        Clause("tags", "lacks", tuple(wanted)), facts)


@given(a=st.one_of(st.none(), st.integers(-100, 100)), b=st.integers(-100, 100))
def test_orderings_agree_and_none_satisfies_none(a: int | None, b: int) -> None:
    facts = {"orders": a}
    gte, lt = holds(Clause("orders", "gte", b), facts), holds(Clause("orders", "lt", b), facts)
    if a is None:
        assert not gte and not lt
    else:
        assert gte is not lt


@given(clauses=st.lists(st.builds(Clause, st.just("rung"), st.sampled_from(["eq", "ne"]),
                                  codes), max_size=4))
def test_all_of_empty_is_true_and_all_is_a_conjunction(clauses: list[Clause]) -> None:
    facts = {"rung": "regular"}
    assert evaluate(Condition(all_=tuple(clauses)), facts) is all(holds(c, facts)
                                                                 for c in clauses)
    assert evaluate(Condition(any_=tuple(clauses)), facts) is (
        not clauses or any(holds(c, facts) for c in clauses))
