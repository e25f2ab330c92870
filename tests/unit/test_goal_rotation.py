"""Rotation (issue 21): regulars gained minus regulars lost in a ladder flow, by hand, and
always the change in the number of regulars not lost."""

from __future__ import annotations

from datetime import datetime

import ibis
from hypothesis import given, settings
from hypothesis import strategies as st

from regulars.analytics.portfolio import ladder_flow
from regulars.services.goals import rotation

STATES = ["prospect", "newcomer", "returning", "regular", "loyal", "advocate", "lost"]


def _map(states: dict[str, str]) -> ibis.Table:
    rows = [{"customer_id": c, "orders": 3, "first_order_at": datetime(2024, 1, 1),
             "revenue": 10.0, "rung": "regular" if s == "lost" else s,
             "status": "lost" if s == "lost" else "active"} for c, s in states.items()]
    schema = {"customer_id": "string", "orders": "int64", "first_order_at": "timestamp",
              "revenue": "float64", "rung": "string", "status": "string"}
    return ibis.memtable(rows, schema=schema)


def test_gained_minus_lost_by_hand() -> None:
    before = _map({"a": "returning", "b": "regular", "c": "loyal", "d": "regular",
                   "e": "newcomer"})
    # a rose to regular, f is new and a regular already: 2 gained; b was lost, d left the
    # map (erased), c stayed (loyal → advocate is no change here): 2 lost; e stayed below
    after = _map({"a": "regular", "b": "lost", "c": "advocate", "e": "returning",
                  "f": "regular"})
    assert rotation(ladder_flow(before, after)) == 2 - 2
    assert rotation(ladder_flow(_map({"x": "newcomer"}), after)) == 3  # a, c, f


@settings(max_examples=15, deadline=None)
@given(st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(STATES), min_size=1),
       st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(STATES), min_size=1))
def test_rotation_is_the_change_in_regulars_not_lost(before: dict[str, str],
                                                    after: dict[str, str]) -> None:
    regular = {"regular", "loyal", "advocate"}

    def count(states: dict[str, str]) -> int:
        return sum(s in regular for s in states.values())

    assert rotation(ladder_flow(_map(before), _map(after))) == count(after) - count(before)
