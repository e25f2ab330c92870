"""The task report on hand-computed figures (services/task_report.py)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from regulars.services.task_report import Situation, band, report, stake_edges


def test_stake_bands_are_the_quartiles_of_the_positive_stakes():
    # positives 10..50 (n=5): inclusive quartiles at the 0-based positions 1, 2 and 3
    edges = stake_edges([50, 10, 40, 20, 30, 0, None])
    assert edges == (20.0, 30.0, 40.0)
    assert [band(v, edges) for v in (None, 0, 10, 20, 25, 39, 40, 50)] == [
        0, 0, 1, 2, 2, 3, 4, 4]
    # 10,100,100,100,100,500: positions 1.25, 2.5 and 3.75 all fall between the 100s
    assert stake_edges([10, 100, 100, 100, 100, 500]) == (100.0, 100.0, 100.0)
    assert stake_edges([5]) == () and band(5, ()) == 1


def _task(tid, owner, cid, due, state, closed=None, outcome=None):
    return {"task_id": tid, "owner": owner, "customer_id": cid, "due_on": due,
            "state": state, "closed_at": closed, "outcome": outcome, "snoozed_until": None}


def test_report_counts_and_compares_with_similar_uncontacted_customers():
    tasks = [
        _task("T1", "Mari", "C1", date(2025, 1, 7), "done", datetime(2025, 1, 7, 10), "reached"),
        _task("T2", "Mari", "C2", date(2025, 1, 6), "done", datetime(2025, 1, 8, 9),
              "no_answer"),
        _task("T3", "Jaan", "C3", date(2025, 6, 1), "open"),
        _task("T4", "Jaan", "C4", date(2025, 1, 9), "cancelled", datetime(2025, 1, 9, 12)),
        _task("T5", "Mari", "C5", date(2025, 6, 20), "done", datetime(2025, 6, 20, 8),
              "ordered"),
    ]
    snap = {
        "C1": Situation("regular", "active", 100), "C2": Situation("regular", "lapsing", 500),
        "C6": Situation("regular", "active", 100), "C7": Situation("regular", "active", 100),
        "C8": Situation("regular", "active", 100), "C9": Situation("regular", "lapsing", 10),
    }
    asked: list[date] = []

    def snapshots(day):
        asked.append(day)
        return snap

    orders = [
        ("C1", datetime(2025, 1, 5), 50.0),  # before the contact
        ("C1", datetime(2025, 2, 1), 200.0),
        ("C1", datetime(2025, 4, 6, 11), 30.0),  # within 90 days of 2025-01-07 10:00
        ("C1", datetime(2025, 5, 1), 999.0),  # after them
        ("C6", datetime(2025, 1, 6), 40.0),  # the cohort's first moment counts
        ("C6", datetime(2025, 3, 1), 60.0),
        ("C6", datetime(2025, 4, 6), 1000.0),  # 90 days from 2025-01-06: the window's end
        ("C7", datetime(2025, 2, 2), 5000.0),  # contacted by someone else: not similar
    ]
    outbound = {"C1": [datetime(2025, 1, 7, 10)], "C2": [datetime(2025, 1, 8, 9)],
                "C7": [datetime(2025, 2, 1)], "C5": [datetime(2025, 6, 20, 8)]}
    r = report(tasks, orders=orders, outbound=outbound, snapshots=snapshots,
               since=date(2025, 1, 6), until=date(2025, 6, 30), today=date(2025, 6, 30),
               local_day=lambda at: at.date())
    assert asked == [date(2025, 1, 6)]  # one map for the cohort of both contacts
    jaan, mari = (m.to_dict() for m in r.managers)  # by name
    assert (mari["manager"], mari["done"], mari["done_on_time"], mari["done_late"]) == (
        "Mari", 3, 2, 1)
    assert mari["on_time_share"] == pytest.approx(0.6667)
    assert mari["outcomes"]["reached"] == 1 and mari["outcomes"]["no_answer"] == 1
    assert mari["outcomes"]["ordered"] == 1
    # edges 100, 100, 100: C1 (regular, active, band 4) against C6 (100) and C8 (0): a
    # mean of 50; C1 had 230.
    # C2 (lapsing, band 4) has no similar customer; C5's 90 days have not passed.
    assert mari["effect"] == {"contacted": 1, "pending": 1, "without_comparison": 1,
                              "revenue_per_contacted": 230.0, "revenue_per_similar": 50.0,
                              "difference_per_customer": 180.0, "similar_customers": 2}
    assert (jaan["open_overdue"], jaan["cancelled"], jaan["done"]) == (1, 1, 0)
    total = r.total.to_dict()
    assert (total["done"], total["open_overdue"], total["effect"]["contacted"]) == (3, 1, 1)
    assert "not a causal claim" in r.to_dict()["observation"]
