"""The playbooks' report on a real store (SQLite and PostgreSQL), against rows whose report
was worked out by hand (tests/support/effect_rows.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from scipy import stats

from regulars.adapters.db.api_store import SqlApiStore
from regulars.adapters.db.playbook_report import SqlPlaybookReport
from regulars.services.playbooks.effect import ReportFilter, Window, report

from ...support.effect_rows import (
    AS_OF,
    CONTROL_ORDERS,
    CONTROL_REVENUE,
    TREATED_ORDERS,
    TREATED_REVENUE,
    fill,
)


@pytest.fixture
def rows(store_url: str) -> Iterator[SqlPlaybookReport]:
    store = SqlApiStore(store_url)
    fill(store.writer)
    yield SqlPlaybookReport(store)
    store.close()


def test_the_report_by_hand(rows: SqlPlaybookReport) -> None:
    result = report(rows, ReportFilter(as_of=AS_OF)).to_dict()
    assert [p["playbook"] for p in result["playbooks"]] == ["birthday", "win_back"]
    wb = result["playbooks"][1]
    assert wb["treated"] == {"entrants": 23, "compared": 20, "open": 3, "goals": 8,
                             "goal_rate": 0.4, "revenue": 760.0, "revenue_per_entrant": 38.0,
                             "orders": 9, "orders_per_entrant": 0.45}
    assert wb["control"] == {"entrants": 5, "compared": 5, "open": 0, "goals": 1,
                             "goal_rate": 0.2, "revenue": 50.0, "revenue_per_entrant": 10.0,
                             "orders": 1, "orders_per_entrant": 0.2}
    g = wb["goal_rate_uplift"]
    # Newcombe, worked in tests/unit/playbooks/test_effect_stats.py: -0.26152 ... 0.46902
    assert g["estimate"] == pytest.approx(0.2)
    assert g["low"] == pytest.approx(-0.26152, abs=2e-5)
    assert g["high"] == pytest.approx(0.46902, abs=2e-5)
    assert (g["relative"], g["verdict"], g["reason"]) == (1.0, "unclear", None)
    r = wb["revenue_uplift"]
    ci = stats.ttest_ind(TREATED_REVENUE, CONTROL_REVENUE,
                         equal_var=False).confidence_interval(0.95)
    assert r["estimate"] == pytest.approx(28.0)
    assert r["low"] == pytest.approx(ci.low, abs=0.006)
    assert r["high"] == pytest.approx(ci.high, abs=0.006)
    o = wb["orders_uplift"]
    ci = stats.ttest_ind(TREATED_ORDERS, CONTROL_ORDERS, equal_var=False).confidence_interval()
    assert o["estimate"] == pytest.approx(0.25)
    assert (o["low"], o["high"]) == (pytest.approx(ci.low, abs=1e-6),
                                     pytest.approx(ci.high, abs=1e-6))
    assert result["open"] == 3 + 4


def test_versions_are_counted_apart(rows: SqlPlaybookReport) -> None:
    wb = report(rows, ReportFilter(as_of=AS_OF, playbook="win_back")).to_dict()["playbooks"]
    v1, v2 = wb[0]["versions"]
    # the 3 late entrants are version 1 too, entered but not compared
    assert (v1["version"], v1["treated"]["entrants"], v1["treated"]["compared"],
            v1["treated"]["goals"], v1["control"]["compared"]) == ("1", 13, 10, 8, 5)
    assert (v2["version"], v2["treated"]["compared"], v2["treated"]["goals"],
            v2["control"]["entrants"]) == ("2", 10, 0, 0)


def test_steps_runs_sends_and_skips_by_reason(rows: SqlPlaybookReport) -> None:
    wb = report(rows, ReportFilter(as_of=AS_OF, playbook="win_back")).to_dict()["playbooks"][0]
    wait, email, call = wb["steps"]
    assert (wait["step"], wait["runs"], wait["control"]) == ("wait", 20, 5)
    assert email == {"step": "email", "runs": 20, "control": 5, "pending": 0, "failed": 0,
                     "outcomes": {"sent": 15, "skipped": 5}, "sent": 15, "send_failed": 0,
                     "dry_run": 0, "skipped": 5,
                     "skipped_by_reason": {"cap": 3, "no_consent": 2}}
    assert (call["step"], call["runs"], call["pending"], call["failed"]) == ("call", 1, 3, 1)


def test_a_fresh_playbook_shows_no_false_zero(rows: SqlPlaybookReport) -> None:
    bd = report(rows, ReportFilter(as_of=AS_OF, playbook="birthday")).to_dict()["playbooks"]
    t, c = bd[0]["treated"], bd[0]["control"]
    assert (t["entrants"], t["compared"], t["open"], t["goal_rate"]) == (3, 0, 3, None)
    assert (c["entrants"], c["open"]) == (1, 1)
    assert bd[0]["goal_rate_uplift"]["verdict"] == "no_interval"
    assert bd[0]["goal_rate_uplift"]["reason"] == "empty_arm"


def test_censoring_moves_with_the_as_of(rows: SqlPlaybookReport) -> None:
    # on 2026-03-20 no window of win_back has closed (they close on 2026-03-31), and the
    # late entrants have not entered yet
    early = report(rows, ReportFilter(as_of=datetime(2026, 3, 20), playbook="win_back"))
    t = early.playbooks[0].treated
    assert (t.entrants, t.closed, t.goals) == (20, 0, 0)
    # a 10-day goal window closes for the late entrants too (2026-05-30), and O0's order of
    # 2026-05-25 counts; T00 (day 2), T01..T07 (days 1-7) and K0 (day 10) still count, T00's
    # second order (day 29) is out: 70 + 60 + 6 x 100 + 80 = 810
    short = report(rows, ReportFilter(as_of=AS_OF, playbook="win_back"),
                   windows={"win_back": Window(days=10)})
    t, c = short.playbooks[0].treated, short.playbooks[0].control
    assert (t.closed, t.goals, t.revenue) == (23, 9, 810.0)
    assert (c.goals, c.revenue) == (1, 50.0)


def test_since_and_until_bound_entering(rows: SqlPlaybookReport) -> None:
    late = report(rows, ReportFilter(as_of=AS_OF, since=datetime(2026, 5, 1)))
    assert [p.playbook for p in late.playbooks] == ["birthday", "win_back"]
    assert late.playbooks[1].treated.entrants == 3
    march = report(rows, ReportFilter(as_of=AS_OF, until=datetime(2026, 5, 1)))
    assert [p.playbook for p in march.playbooks] == ["win_back"]
    assert march.playbooks[0].treated.entrants == 20
    assert sum(s.runs for s in march.playbooks[0].steps) == 20 + 20 + 1


def test_a_goal_other_than_an_order_is_read_from_goal_at(rows: SqlPlaybookReport) -> None:
    # the runner recorded the goal event for T00 (day 3), T01 (day 31: after the window) and
    # K1 (the moment it entered); the revenue is still the orders'
    from datetime import timedelta

    import sqlalchemy as sa

    from regulars.adapters.db.tables import playbook_journeys as j

    from ...support.effect_rows import ENTERED
    with rows.store.writer.begin() as conn:
        for jid, days in (("jt00", 3), ("jt01", 31), ("jk1", 0)):
            conn.execute(sa.update(j).where(j.c.journey_id == jid)
                         .values(goal_at=ENTERED + timedelta(days=days)))
    got = report(rows, ReportFilter(as_of=AS_OF, playbook="win_back"),
                 windows={"win_back": Window(days=30, orders=False)}).playbooks[0]
    assert (got.treated.goals, got.control.goals) == (1, 1)
    assert (got.treated.revenue, got.control.revenue) == (760.0, 50.0)
