"""The served map's as-of rules and the input tables' merge folding, without a store."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from regulars.analytics.params import MapParams
from regulars.domain.rules import InputRules
from regulars.domain.tables import Kind
from regulars.services.importing import Merge
from regulars.services.inputs import fold_merged
from regulars.services.live_map import MapComputer, as_of_moment, as_of_source


def test_a_given_moment_wins_then_the_clock_then_the_last_order() -> None:
    given = datetime(2024, 5, 1, 12, 0)
    assert as_of_moment("now", given) == given
    assert as_of_source("now", given) == "given"
    now = as_of_moment("now", None)
    assert now is not None and now.tzinfo is None
    assert as_of_source("now", None) == "clock"
    assert as_of_moment("last_order", None) is None
    assert as_of_source("last_order", None) == "last order"


def test_an_empty_store_maps_to_no_rows_without_opening_an_engine() -> None:
    def no_engine(threads: int | None) -> object:
        raise AssertionError("no engine for an empty store")

    computer = MapComputer(None, open_engine=no_engine,  # type: ignore[arg-type]
                           params=MapParams(), map_as_of="last_order", rules=InputRules())
    orders = pa.table({"order_id": pa.array([], pa.string())})
    table, at = computer.customer_map({Kind.ORDERS: orders})
    assert table.num_rows == 0 and at == datetime.min


def test_references_to_a_merged_card_point_at_the_card_it_joined() -> None:
    merges = [Merge(alias_id="C2", customer_id="C1", reason="email", matched_value="a@b.c")]
    orders = pa.table({"order_id": ["O1", "O2"], "customer_id": ["C2", "C3"]})
    assert fold_merged(orders, merges).column("customer_id").to_pylist() == ["C1", "C3"]
    assert fold_merged(orders, []) is orders
