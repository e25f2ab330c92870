"""The dashboard service's keeping rules, on a fake store: the portfolio read once per map
version, a slow figure waited for briefly then reported as still counting, a stale one
served while a fresh one is counted, the period up to the map's moment."""

from __future__ import annotations

import json
import threading
from datetime import datetime

from regulars.services.dashboard import PENDING, AtRisk, Dashboard

from .test_report_html import make_portfolio

AS_OF = datetime(2025, 6, 30)


class Rows:
    def __init__(self) -> None:
        self.state = {"built_at": datetime(2025, 7, 1), "as_of": AS_OF, "customers": 100,
                      "as_of_source": "last order",
                      "portfolio": json.dumps(make_portfolio().to_dict())}
        self.calls = {"state": 0, "risk": 0, "names": 0}
        self.gate = threading.Event()
        self.gate.set()

    def map_state(self):
        self.calls["state"] += 1
        return self.state

    def at_risk(self, quiet, limit):
        self.gate.wait(5)
        self.calls["risk"] += 1
        assert quiet == ("review_relationship",)
        return AtRisk(self.calls["risk"], None, 0.0, ())

    def names(self, ids):
        self.calls["names"] += 1
        return {"big<co>": "Big Co"} if "big<co>" in ids else {}


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_portfolio_is_read_back_once_per_map_version():
    rows = Rows()
    board = Dashboard(rows)
    first = board.map_view()
    assert first is not None and first.portfolio == make_portfolio()
    assert first.names == {"big<co>": "Big Co"}
    assert board.map_view() is first and rows.calls["names"] == 1
    rows.state = {**rows.state, "built_at": datetime(2025, 7, 2)}  # a rebuild
    assert board.map_view() is not first


def test_no_map_no_figures_of_it():
    rows = Rows()
    rows.state = None
    board = Dashboard(rows).board(90)
    assert (board.view, board.at_risk, board.programme) == (None, None, None)


def test_a_slow_figure_is_still_counting_then_kept_then_served_stale_while_recounted():
    rows, clock = Rows(), Clock()
    board = Dashboard(rows, ttl=60, wait=0.05, clock=clock)
    rows.gate.clear()  # the store is slow
    assert board.at_risk(10) is PENDING
    rows.gate.set()
    for _ in range(100):  # counted in the background
        found = board.at_risk(10)
        if found is not PENDING:
            break
        threading.Event().wait(0.02)
    assert found.customers == 1 and rows.calls["risk"] == 1
    assert board.at_risk(10).customers == 1 and rows.calls["risk"] == 1  # kept
    clock.t = 61  # stale: served as it is while a fresh one is counted
    assert board.at_risk(10).customers == 1
    for _ in range(100):
        if rows.calls["risk"] == 2:
            break
        threading.Event().wait(0.02)
    clock.t = 62
    assert board.at_risk(10).customers == 2
    board.close()


def test_the_period_ends_at_the_maps_moment():
    board = Dashboard(Rows())
    state = board.rows.map_state()
    assert board.period(30, state) == (datetime(2025, 5, 31), AS_OF)
    assert board.programme_figures(30, state) is None  # no programme given
