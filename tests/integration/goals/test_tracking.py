"""Goals tracked against a real store (PostgreSQL): the readings at the start, the month ends
and today, each computed from the orders as of that day with the portfolio's definitions, by
hand from four customers' orders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from regulars.domain.goals import GoalError


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"analysis": {"predictions": False}}


def _orders(services) -> None:
    from regulars.domain.tables import Kind

    plan = {  # customer: [(month, day, amount)]
        "A": [(1, 5, 100), (1, 20, 100), (2, 10, 100)],   # a regular from 10 Feb
        "B": [(1, 10, 50), (2, 15, 50)],
        "C": [(2, 20, 200)],
        "D": [(1, 2, 10), (1, 12, 10), (1, 25, 10), (3, 5, 10)],  # a regular from 25 Jan
    }
    records: list[tuple[Kind, dict[str, Any]]] = []
    for cid, orders in plan.items():
        records.append((Kind.CUSTOMERS, {"customer_id": cid, "name": f"Customer {cid}"}))
        records += [(Kind.ORDERS, {"order_id": f"{cid}{i}", "customer_id": cid,
                                   "ordered_at": datetime(2024, m, d, 10), "amount": amount})
                    for i, (m, d, amount) in enumerate(orders)]
    services.ingest.run(records)


def test_goals_are_read_at_the_start_every_month_end_and_today(services, api_settings):
    from regulars import bootstrap

    _orders(services)
    goals = bootstrap.open_goals(api_settings, services=services)
    assert goals.today() == date(2024, 3, 5)  # no map yet: the last order's day
    share = goals.set("share_of_regulars", 60, starts_on=date(2024, 1, 15),
                      due_on=date(2024, 6, 30), note="one in two buyers a regular", by="owner")
    # 15 Jan: A 2 orders, B 1, D 2: no regular among 3 buyers
    assert share.goal.baseline == 0
    aov = goals.set("average_order", 60, segment="regular", starts_on=date(2024, 2, 1),
                    due_on=date(2024, 12, 31))
    assert aov.goal.baseline == 10  # 1 Feb: only D is a regular, 3 orders of 10
    freq = goals.set("order_frequency", 3, starts_on=date(2024, 2, 29), due_on=date(2024, 9, 1))
    assert freq.goal.baseline == pytest.approx(9 / 4)  # 29 Feb: 3 + 2 + 1 + 3 orders, 4 buyers
    rot = goals.set("rotation", 5, due_on=date(2024, 12, 31))  # from today
    # (baselines given: read by track with the rest, in the one map of today)
    tenure = goals.set("regulars_tenure", 90, due_on=date(2024, 12, 31), baseline=60)
    loyal = goals.set("loyalty_efficiency", 1.2, due_on=date(2024, 12, 31), baseline=1)

    # the start's readings are written with the goal; track adds the month ends and today
    written = goals.track()
    # each goal's dates still missing, and today; the programme's goal has no value today
    # (no members), which does not replace the baseline given for its start, today
    assert written == 3 + 2 + 1 + 1 + 1
    got = {t.goal.goal_id: t for t in goals.list()}
    readings = [(r.as_of, r.value) for r in got[share.goal.goal_id].readings]
    assert readings[0] == (date(2024, 1, 15), 0)
    assert readings[1][0] == date(2024, 1, 31)
    assert readings[1][1] == pytest.approx(100 / 3)  # D of A, B, D
    assert readings[2:] == [(date(2024, 2, 29), 50), (date(2024, 3, 5), 50)]  # A, D of 4
    # today: 0 → 60 over 167 days, 50 days gone: the path is at 17.96; 50 is on track
    progress = got[share.goal.goal_id].progress
    assert progress is not None and progress.state == "on_track"
    assert progress.expected == pytest.approx(60 * 50 / 167)
    assert progress.covered == pytest.approx(50 / 60)
    # the regulars on 5 Mar: A (3 × 100) and D (4 × 10): 340 / 7
    assert got[aov.goal.goal_id].readings[-1].value == pytest.approx(340 / 7)
    # no order a year before: both regulars are gained, none lost
    assert got[rot.goal.goal_id].readings[-1].value == 2
    # from the first order (10:00) to the end of 5 Mar: A 60 d 14 h, D 63 d 14 h: 61.5 d 14 h
    assert got[tenure.goal.goal_id].readings[-1].value == pytest.approx(61.5 + 14 / 24, abs=1e-4)
    assert [(r.as_of, r.value) for r in got[loyal.goal.goal_id].readings] == [
        (date(2024, 3, 5), 1)]

    # again: only today's readings are read anew
    assert goals.track() == 5
    assert len(goals.get(share.goal.goal_id).readings) == 4

    # a goal without today's reading: the dashboard's refresh records it in the background
    assert not goals.stale()
    late = goals.set("share_of_regulars", 70, starts_on=date(2024, 2, 29), baseline=50,
                     due_on=date(2024, 12, 31))
    assert goals.stale()
    running = goals.refresh()
    assert running is not None
    running.join(60)
    assert [r.as_of for r in goals.get(late.goal.goal_id).readings] == [
        date(2024, 2, 29), date(2024, 3, 5)]
    assert not goals.stale() and goals.refresh() is None

    retired = goals.retire(freq.goal.goal_id)
    assert retired.retired_at is not None
    assert freq.goal.goal_id not in {t.goal.goal_id for t in goals.list()}
    assert freq.goal.goal_id in {t.goal.goal_id for t in goals.list(retired=True)}


def test_a_goal_that_cannot_be_set_is_not_stored(services, api_settings):
    from regulars import bootstrap

    goals = bootstrap.open_goals(api_settings, services=services)
    with pytest.raises(GoalError) as caught:
        goals.set("share_of_regulars", 120, due_on=date(2030, 1, 1))
    assert caught.value.field == "target"
    assert goals.list() == [] and not goals.any_set()
    # a store without orders: the goal is kept, its baseline unknown until there is data
    kept = goals.set("rotation", 3, due_on=date(2099, 1, 1))
    assert kept.goal.baseline is None and goals.any_set()


def test_a_recording_runs_in_the_background_one_at_a_time_and_says_what_it_wrote(
        services, api_settings):
    import threading

    from regulars import bootstrap

    _orders(services)
    goals = bootstrap.open_goals(api_settings, services=services)
    share = goals.set("share_of_regulars", 60, starts_on=date(2024, 1, 15),
                      due_on=date(2024, 6, 30))
    assert goals.last_run() is None
    measure, release = goals.measure, threading.Event()
    assert measure is not None

    def held(wanted):  # the measuring waits until the test lets it go on
        release.wait(60)
        return measure(wanted)

    goals.measure = held
    first, started = goals.start_tracking()
    assert started and first.running and first.readings_written is None
    # a second request while the first runs starts nothing and answers the one running
    second, started_again = goals.start_tracking(again=True)
    assert not started_again and second == first and goals.tracking()
    release.set()
    ended = goals.wait(60)
    assert ended is not None and not ended.running and not ended.failed
    assert ended.started_at == first.started_at
    assert ended.readings_written == 3  # 31 Jan, 29 Feb and today (the start's was written)
    assert len(goals.get(share.goal.goal_id).readings) == 4

    def broken(wanted):
        raise RuntimeError("the store went away")

    goals.measure = broken
    goals.start_tracking(again=True)
    failed = goals.wait(60)
    assert failed is not None and failed.failed and failed.readings_written is None
    assert len(goals.get(share.goal.goal_id).readings) == 4  # nothing half-written
