"""``regulars backtest`` as a user runs it (the installed console script, in a working
directory), and ``regulars.backtest`` on data that goes on past the horizon."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

import regulars as api
from regulars.demo import DemoSpec
from regulars.demo.files import write_demo


def _every(start: date, n: int, step: int = 30) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(n)]


# as of 2024-06-30, horizon 30 days (07-01 … 07-30, the last order); predictions off, so the
# statuses are the rules' (typical gap 30 days: lapsing after 45, lost after 90)
ORDERS = (
    # A: every 30 days to 06-29, then twice in the horizon: active, ordered again
    [("A", d, 100.0) for d in _every(date(2024, 1, 1), 7)]
    + [("A", date(2024, 7, 20), 100.0), ("A", date(2024, 7, 30), 100.0)]
    # B: last order 04-30, 61 days before: lapsing; gone (nothing in the 30 days before)
    + [("B", d, 200.0) for d in _every(date(2024, 1, 1), 5)]
    # C: one order 06-15 (15 days, the base's gap is 30): active; gone; lost revenue 50
    + [("C", date(2024, 6, 15), 50.0)]
    # E: last order 2023-10-29: lost; gone
    + [("E", d, 80.0) for d in _every(date(2023, 7, 1), 5)]
    # F: 600 in the 30 days before, 100 after: active, ordered; lost revenue 500
    + [("F", date(2024, 6, 10), 300.0), ("F", date(2024, 6, 25), 300.0),
       ("F", date(2024, 7, 15), 100.0)]
)


def write_orders(path: Path) -> None:
    lines = ["order_id,customer_id,ordered_at,amount"]
    lines += [f"O{i},{c},{d.isoformat()} 12:00:00,{a}" for i, (c, d, a) in enumerate(ORDERS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def setup(tmp_path: Path) -> None:
    write_orders(tmp_path / "orders.csv")
    (tmp_path / "regulars.toml").write_text("[analysis]\npredictions = false\n")


def test_backtest_json_scores_statuses_and_lost_revenue_as_computed_by_hand(regulars, tmp_path):
    setup(tmp_path)
    run = regulars(tmp_path, "backtest", "orders.csv", "--as-of", "2024-06-30",
                       "--horizon", "30d", "--format", "json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert (got["as_of"], got["until"], got["horizon_days"]) == ("2024-06-30", "2024-07-30", 30)
    assert (got["customers"], got["gone"]) == (5, 3)
    assert got["lost_revenue"] == 550.0
    statuses = {s["status"]: s for s in got["statuses"]}
    assert (statuses["lapsing"]["flagged"], statuses["lapsing"]["flagged_gone"]) == (1, 1)
    assert (statuses["lost"]["flagged"], statuses["lost"]["flagged_gone"]) == (1, 1)
    assert statuses["lapsing_or_lost"]["precision"] == 1.0
    assert abs(statuses["lapsing_or_lost"]["recall"] - 2 / 3) < 1e-12
    again = {s["status"]: (s["customers"], s["ordered_again"]) for s in got["status_outcomes"]}
    assert again["active"] == (3, 2)
    everyone = next(r for r in got["rungs"] if r["rung"] == "all")
    # before: A's 06-29, C, F's two; after: A twice, F once
    assert (everyone["revenue_before"], everyone["revenue_after"]) == (750.0, 300.0)
    assert got["top"] == {"top_1pct": 1, "top_5pct": 1, "top_10pct": 1}
    p_alive = next(c for c in got["capture"] if c["method"] == "revenue_x_p_gone")
    assert p_alive["available"] is False and "switched off" in p_alive["reason"]
    best = next(c for c in got["capture"] if c["method"] == "best_possible")
    assert best["top_ids"] == ["F"] and abs(best["shares"]["top_1pct"] - 500 / 550) < 1e-12
    assert got["ranking"]["basis"] in ("history", "rules")


def test_backtest_table_and_report_say_what_every_figure_means(regulars, tmp_path):
    setup(tmp_path)
    run = regulars(tmp_path, "backtest", "orders=orders.csv", "--as-of", "2024-06-30",
                       "--until", "2024-07-30", "--report", "bt.html")
    assert run.returncode == 0, run.stderr
    for words in ("Statuses against what happened", "Retention by rung", "precision",
                  "ours beats every baseline", "Lost revenue of a customer", "100.0%"):
        assert words in run.stdout
    html = (tmp_path / "bt.html").read_text(encoding="utf-8")
    assert '<section id="backtest"' in html and "best possible" in html


def test_a_horizon_past_the_data_is_an_error_that_says_how_far_it_reaches(regulars, tmp_path):
    setup(tmp_path)
    run = regulars(tmp_path, "backtest", "orders.csv", "--as-of", "2024-06-30",
                       "--horizon", "5w")
    assert run.returncode == 2
    assert "past the last order in the data (Jul 30, 2024)" in run.stderr
    assert "--until 2024-07-30" in run.stderr
    bad = regulars(tmp_path, "backtest", "orders.csv", "--as-of", "2024-06-30",
                       "--horizon", "6y")
    assert bad.returncode == 2 and "180d, 26w or 6m" in bad.stderr


def test_orders_after_the_horizon_cannot_change_the_backtest(tmp_path):
    write_demo(tmp_path, DemoSpec(customers=300, seed=7), fmt="csv")  # type: ignore[arg-type]
    orders = pacsv.read_csv(tmp_path / "orders.csv")
    end = pc.max(orders["ordered_at"]).as_py()
    as_of, until = (end - timedelta(days=400)).date(), (end - timedelta(days=220)).date()
    tables = {k: tmp_path / f"{k}.csv" for k in ("customers", "returns", "invoices",
                                                  "interactions", "feedback", "referrals")}
    first = api.backtest(orders, **tables, as_of=as_of, until=until)

    # every order after the horizon ten times larger, and a new order of every customer
    # after it too
    later = pc.greater(orders["ordered_at"], pa.scalar(datetime.combine(
        until + timedelta(days=1), datetime.min.time()), orders.schema.field("ordered_at").type))
    altered = orders.set_column(
        orders.schema.get_field_index("amount"), "amount",
        pc.if_else(later, pc.multiply(orders["amount"], 10.0), orders["amount"]))
    ids = pc.unique(orders["customer_id"])
    extra = {name: pa.nulls(len(ids), orders.schema.field(name).type)
             for name in orders.column_names}
    extra["order_id"] = pc.binary_join_element_wise("X", ids, "")
    extra["customer_id"] = ids
    extra["ordered_at"] = pa.array([end + timedelta(days=3)] * len(ids),
                                   orders.schema.field("ordered_at").type)
    extra["amount"] = pa.array([12345.0] * len(ids))
    more = pa.concat_tables([altered, pa.table(extra, schema=orders.schema)])
    second = api.backtest(more, **tables, as_of=as_of, until=until)

    a, b = first.to_dict(), second.to_dict()
    assert a.pop("last_order") != b.pop("last_order")
    assert a == b
    assert first.comparison.customers > 100 and first.comparison.lost_revenue > 0


def test_on_the_demo_the_worklists_reach_a_share_of_the_lost_revenue(regulars, tmp_path):
    write_demo(tmp_path, DemoSpec(customers=400, seed=11), fmt="csv")  # type: ignore[arg-type]
    orders = pacsv.read_csv(tmp_path / "orders.csv")
    end = pc.max(orders["ordered_at"]).as_py().date()
    as_of = (end - timedelta(days=120)).isoformat()
    run = regulars(tmp_path, "backtest", ".", "--as-of", as_of, "--horizon", "90d",
                   "--format", "json")
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    w = got["worklist"]
    # 13 weeks of lists (90 days from the day after as-of), the Sundays quiet
    assert w["weeks"] == 13 and 76 <= w["working_days"] <= 78
    assert w["managers"] >= 1 and w["daily_capacity"] == 15 * w["managers"]
    assert 0 < w["customers"] == w["customers_listed"] <= w["rows"]
    assert w["rows"] <= w["daily_capacity"] * w["working_days"]
    assert 0 < w["share"] <= w["best_possible"] <= 1
    assert abs(w["lost_revenue"] - w["share"] * got["lost_revenue"]) < 0.05

    table = regulars(tmp_path, "backtest", ".", "--as-of", as_of, "--horizon", "90d",
                     "--report", "bt.html")
    assert table.returncode == 0, table.stderr
    for words in ("What the managers' worklists would have reached", "customers the lists "
                  "named", "built once a week"):
        assert words in table.stdout
    html = (tmp_path / "bt.html").read_text(encoding="utf-8")
    assert "worklists would have reached within their daily capacity" in html
