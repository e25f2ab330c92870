"""The input rules of the domain (regulars.domain.rules), each with a hand-computed verdict,
their SQL twins on DuckDB staging, and what the store's reader sets aside."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.rules import (
    InputRules,
    broken,
    limits,
    money_text,
    returns_beyond,
)
from regulars.domain.tables import SPECS, Kind
from regulars.services.screening import screen

TODAY = date(2026, 12, 6)
ORDERS = limits(SPECS[Kind.ORDERS], InputRules(), TODAY)


VALID: dict[Kind, dict[str, object]] = {
    Kind.ORDERS: {"customer_id": "C1", "ordered_at": datetime(2026, 1, 1),
                  "amount": Decimal(1)},
    Kind.FEEDBACK: {"customer_id": "C1", "at": datetime(2026, 1, 1)},
    Kind.INTERACTIONS: {"customer_id": "C1", "at": datetime(2026, 1, 1), "channel": "email",
                        "direction": "in", "kind": "call"},
    Kind.INVOICES: {"invoice_id": "V1", "customer_id": "C1", "due_at": datetime(2026, 1, 1),
                    "amount": Decimal(1)},
    Kind.CUSTOMERS: {"customer_id": "C1"},
}


def verdict(kind: Kind, **row: object) -> list[tuple[str, str]]:
    """The limits a valid row of ``kind`` changed by ``row`` breaks."""
    rules = limits(SPECS[kind], InputRules(), TODAY)
    return [(lim.column, lim.message()) for lim in broken({**VALID[kind], **row}, rules)]


@pytest.mark.parametrize(("row", "expected"), [
    ({"ordered_at": datetime(2026, 12, 7, 23, 59, 59)}, []),  # today + 1 day: allowed
    ({"ordered_at": datetime(2026, 12, 8)},
     [("ordered_at", "after 2026-12-07: dates of orders cannot be in the future")]),
    ({"ordered_at": datetime(9999, 12, 31)},
     [("ordered_at", "after 2026-12-07: dates of orders cannot be in the future")]),
    ({"ordered_at": datetime(1900, 1, 1)}, []),
    ({"ordered_at": datetime(1899, 12, 31, 23, 59)},
     [("ordered_at", "before 1900-01-01: dates of orders cannot be earlier "
                     "(input.earliest_date)")]),
    ({"amount": Decimal("10000000000")}, []),
    ({"amount": Decimal("10000000000.0001")},
     [("amount", "more than 10000000000: amounts cannot exceed it (input.max_amount)")]),
    ({"amount": Decimal("-0.0001")}, [("amount", "negative amount")]),
    ({"amount": Decimal(0)}, []),
    ({"cost": Decimal("-10000000000")}, []),
    ({"cost": Decimal("-10000000000.01")},
     [("cost", "less than -10000000000: amounts cannot be below it (input.max_amount)")]),
    ({"quantity": 1_000_000_000}, []),
    ({"quantity": 1_000_000_001}, [("quantity", "more than 1000000000: counts cannot exceed it")]),
    ({"quantity": -1}, [("quantity", "negative number")]),
    ({"channel": "w\x00eb"}, [("channel", "contains a NUL character, which text cannot hold")]),
    ({"order_id": "O" * 200}, []),
    ({"order_id": "O" * 201}, [("order_id", "longer than 200 characters")]),
    ({"channel": "c" * 10_001}, [("channel", "longer than 10000 characters")]),
    ({"amount": None, "channel": None}, [("amount", "missing value")]),
    ({"customer_id": "  "}, [("customer_id", "missing value")]),
])
def test_every_rule_of_an_order(row, expected):
    assert verdict(Kind.ORDERS, **row) == expected


def test_feedback_scores_interaction_choices_due_dates_and_birthdays():
    assert verdict(Kind.FEEDBACK, nps=0, csat=5) == []
    assert verdict(Kind.FEEDBACK, nps=11, csat=0) == [
        ("nps", "must be between 0 and 10"), ("csat", "must be between 1 and 5")]
    assert verdict(Kind.INTERACTIONS, direction="sideways") == [
        ("direction", "must be one of: in, out")]
    # a due date may lie ahead, ten years at most; a payment may not
    assert verdict(Kind.INVOICES, due_at=datetime(2036, 12, 3)) == []
    assert verdict(Kind.INVOICES, due_at=datetime(2036, 12, 4), paid_at=datetime(2026, 12, 8)
                   ) == [("due_at", "after 2036-12-03: a due date cannot be more than 3650 days "
                                    "ahead (input.due_days_ahead)"),
                         ("paid_at", "after 2026-12-07: dates of invoices cannot be in the "
                                     "future")]
    assert verdict(Kind.CUSTOMERS, birthday=date(2026, 12, 8)) == [
        ("birthday", "after 2026-12-07: a birthday cannot be in the future")]
    assert verdict(Kind.CUSTOMERS, birthday=date(1950, 2, 28)) == []


def test_the_bounds_follow_the_business_settings():
    rules = InputRules(earliest_date=date(2020, 1, 1), future_days=0, due_days_ahead=30,
                       max_amount=Decimal(500))
    found = broken({**VALID[Kind.ORDERS], "ordered_at": datetime(2026, 12, 7),
                    "amount": Decimal("500.01")}, limits(SPECS[Kind.ORDERS], rules, TODAY))
    assert [(lim.column, lim.bound) for lim in found] == [
        ("ordered_at", date(2026, 12, 6)), ("amount", Decimal(500))]
    with pytest.raises(ValueError, match="max_amount"):
        InputRules(max_amount=Decimal(10) ** 12)


def test_the_importers_sql_gives_the_same_verdict_as_python(tmp_path):
    """Every order rule, the same hostile rows, through DuckDB staging."""
    from regulars.adapters.staging import ReadOptions, Staging

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,amount,cost,quantity,channel\n"
        "O1,C1,2026-12-07 23:59:59,10000000000,-10000000000,1000000000,web\n"
        "O2,C1,2026-12-08,10000000000.0001,-10000000000.01,1000000001,web\n"
        "O3,C1,1899-12-31,-0.0001,1,-1,web\n", encoding="utf-8")
    with Staging(today=TODAY) as staging:
        cols = staging.read(path, ReadOptions())
        staging.resolve_columns(SPECS[Kind.ORDERS], cols, ReadOptions())
        checked = staging.check(SPECS[Kind.ORDERS], ReadOptions(), max_problems=50)
    python = [
        (2, c, m) for c, m in verdict(
            Kind.ORDERS, ordered_at=datetime(2026, 12, 8), amount=Decimal("10000000000.0001"),
            cost=Decimal("-10000000000.01"), quantity=1_000_000_001)] + [
        (3, c, m) for c, m in verdict(
            Kind.ORDERS, ordered_at=datetime(1899, 12, 31), amount=Decimal("-0.0001"),
            quantity=-1)]
    assert sorted((p.row, p.column, p.message) for p in checked.problems) == sorted(python)


def test_a_return_beyond_what_is_left_is_named_with_what_was_left():
    # 100 ordered, 30 returned before: 50 fits (20 left), 30 does not (20 left), nor 10 (0)
    assert returns_beyond(Decimal(100), Decimal(30), [Decimal(50), Decimal(30), Decimal(10)]
                          ) == [(1, Decimal(20)), (2, Decimal(0))]
    assert returns_beyond(Decimal(100), Decimal(0), [Decimal("33.33"), Decimal("33.33"),
                                                     Decimal("33.34")]) == []
    assert money_text(Decimal("100")) == "100.00"
    assert money_text(Decimal("33.335")) == "33.335"
    assert money_text(Decimal("0.10005")) == "0.1001"  # the four places the store keeps


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(200), places=2)


@given(order=amounts, arriving=st.lists(amounts, max_size=12),
       batch=st.integers(min_value=1, max_value=4))
def test_whatever_returns_arrive_their_sum_never_exceeds_the_order(order, arriving, batch):
    """Returns arrive in batches (a file, a request); a batch with any return beyond what is
    left is refused whole, as both doors do. What is kept never exceeds the order, and every
    refused batch would have."""
    kept: list[Decimal] = []
    for i in range(0, len(arriving), batch):
        part = arriving[i : i + batch]
        if returns_beyond(order, sum(kept, Decimal(0)), part):
            assert sum(kept, Decimal(0)) + sum(part, Decimal(0)) > order
        else:
            kept += part
        assert sum(kept, Decimal(0)) <= order


def test_the_reader_sets_aside_rows_outside_the_rules():
    orders = pa.table({
        "order_id": ["O1", "P1", "P2", "O2"],
        "customer_id": ["C1", "C1", "C2", "C2"],
        "ordered_at": pa.array([datetime(2024, 1, 1), datetime(9999, 12, 31),
                                datetime(2024, 1, 1), datetime(2026, 12, 7, 23)],
                               pa.timestamp("us")),
        "amount": [10.0, 10.0, 1e13, 10.0],
        "quantity": pa.array([None, None, None, None], pa.int64()),
    })
    kept, aside = screen({Kind.ORDERS: orders}, InputRules(), TODAY)
    assert kept[Kind.ORDERS].column("order_id").to_pylist() == ["O1", "O2"]
    [rows] = aside.tables
    assert (rows.count, rows.ids, rows.customers) == (2, ["P1", "P2"], ["C1", "C2"])
    assert rows.reasons == [
        "ordered_at after 2026-12-07: dates of orders cannot be in the future (P1)",
        "amount more than 10000000000: amounts cannot exceed it (input.max_amount) (P2)"]
    clean, nothing = screen({Kind.ORDERS: kept[Kind.ORDERS]}, InputRules(), TODAY)
    assert not nothing and clean[Kind.ORDERS].num_rows == 2


def test_the_window_counts_from_the_clock_at_each_check(monkeypatch):
    """today() asks the clock every time (a server running past midnight moves its window),
    while the limits of one table, rules and day are built once and shared."""
    from datetime import UTC, date, datetime

    from regulars.domain import rules as r
    from regulars.domain.rules import InputRules, limits
    from regulars.domain.tables import SPECS, Kind

    class Clock(datetime):
        at = datetime(2026, 12, 6, 23, 59, tzinfo=UTC)

        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return cls.at

    monkeypatch.setattr(r, "datetime", Clock)
    assert r.today() == date(2026, 12, 6)
    Clock.at = datetime(2026, 12, 7, 0, 1, tzinfo=UTC)
    assert r.today() == date(2026, 12, 7)
    day = date(2026, 12, 7)
    assert limits(SPECS[Kind.ORDERS], InputRules(), day) is limits(SPECS[Kind.ORDERS],
                                                                   InputRules(), day)
