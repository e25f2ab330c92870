"""What the managers' worklists would have reached in the backtest's horizon (issue 18), on a
tiny business, every figure computed by hand: the lists built once a week with room for the
daily capacity × the week's working days, a listed customer held back the next weeks, and the
share of the revenue later lost the listed customers hold."""

from __future__ import annotations

import json
from datetime import date, datetime

import pyarrow as pa
import pytest

from regulars.analytics.backtest import compare
from regulars.domain import contact_policy as cp
from regulars.domain import worklist as wl
from regulars.domain.tables import Kind
from regulars.services.backtest import work_lists

AS_OF = date(2025, 3, 4)  # a Tuesday
UNTIL = date(2025, 3, 17)  # weeks from Wed 5 (Sun 9 quiet: 6 days) and Wed 12 (Sun 16: 5 days)
POLICY = cp.ContactPolicy(quiet_hours=None, quiet_days=frozenset({"sunday"}))
RULES = wl.WorklistRules(daily_capacity=1)  # recontact after 30 days
IDS = "ABCDEFGHIJKLMN"  # 14 customers, each with an overdue order, A most at stake


def business() -> tuple[pa.Table, dict[Kind, pa.Table]]:
    n = len(IDS)
    evidence = json.dumps([{"about": "signal", "code": "overdue", "days_overdue": 10}])
    map_rows = pa.table({
        "customer_id": list(IDS), "orders": [3] * n, "status": ["lapsing"] * n,
        "rung": ["regular"] * n, "signals": [["overdue"]] * n, "revenue": [500.0] * n,
        "rfm_segment": ["at_risk"] * n,
        "money_at_stake": [float(100 - k) for k in range(n)],
        "last_order_at": [datetime(2025, 1, 10, 12)] * n, "evidence": [evidence] * n})
    cards = pa.table({
        "customer_id": list(IDS), "name": [f"Name {c}" for c in IDS], "manager": ["Anna"] * n,
        **{f"consent_{c}": [True] * n for c in cp.CHANNELS}, "do_not_contact": [False] * n})
    return map_rows, {Kind.CUSTOMERS: cards}


def test_the_weeks_lists_fill_their_capacity_and_do_not_list_a_customer_twice():
    map_rows, tables = business()
    run, reached = work_lists(map_rows, tables, rules=RULES, policy=POLICY, as_of=AS_OF,
                              until=UNTIL)
    # week 1: room 1 × 6 days: A-F; week 2: A-F contacted 7 days ago (recontact after 30)
    # are held back, room 5: G-K; L, M, N are never reached
    assert reached == list("ABCDEFGHIJK")
    assert (run.weeks, run.working_days, run.managers, run.daily_capacity, run.rows,
            run.customers) == (2, 11, 1, 1, 11, 11)


def test_a_second_manager_and_a_quiet_week():
    map_rows, tables = business()
    cards = tables[Kind.CUSTOMERS]
    owner = pa.array(["Anna"] * 7 + ["Boris"] * 7)  # A-G Anna's, H-N Boris's
    tables = {Kind.CUSTOMERS: cards.set_column(cards.schema.get_field_index("manager"),
                                               "manager", owner)}
    quiet = cp.ContactPolicy(quiet_hours=None, quiet_days=frozenset(
        {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}))
    # until Saturday the 8th: the one week's days are all quiet: no list
    run, reached = work_lists(map_rows, tables, rules=RULES, policy=quiet, as_of=AS_OF,
                              until=date(2025, 3, 8))
    assert (run.weeks, reached) == (0, [])
    # to the 17th: one open day a week (the Sundays): one customer a week for each manager
    run, reached = work_lists(map_rows, tables, rules=RULES, policy=quiet, as_of=AS_OF,
                              until=UNTIL)
    assert sorted(reached) == ["A", "B", "H", "I"]
    assert (run.weeks, run.working_days, run.managers, run.daily_capacity) == (2, 2, 2, 2)


def test_the_share_of_lost_revenue_the_lists_reached():
    map_rows, tables = business()
    _run, reached = work_lists(map_rows, tables, rules=RULES, policy=POLICY, as_of=AS_OF,
                               until=UNTIL)
    # lost revenue: A 100, G 50, L 350 (total 500); the lists reached A-K
    lost = {"A": 100.0, "G": 50.0, "L": 350.0}
    outcome = pa.table({
        "customer_id": list(IDS), "revenue_before": [lost.get(c, 0.0) for c in IDS],
        "revenue_after": [0.0] * len(IDS), "orders_after": pa.array([0] * len(IDS), pa.int64()),
        "silent_90d": [False] * len(IDS)})
    reach = compare(map_rows, outcome, reached=reached).reach
    assert reach is not None
    assert (reach.customers, reach.lost_revenue) == (11, 150.0)
    assert reach.share == pytest.approx(150 / 500)
    assert reach.best_possible == pytest.approx(1.0)  # 11 customers could hold all 500
    assert compare(map_rows, outcome).reach is None
