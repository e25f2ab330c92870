"""Goals (issue 21): validation, progress against the straight path, reading dates; every
expectation computed by hand."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.goals import (
    DIRECTION,
    METRICS,
    RANGES,
    Goal,
    GoalError,
    expected_on,
    progress,
    reading_dates,
    validate,
)


def goal(metric: str = "share_of_regulars", target: float = 40.0, baseline: float | None = 20.0,
         start: date = date(2026, 1, 1), due: date = date(2026, 11, 1)) -> Goal:
    return Goal("g1", metric, None, target, baseline, start, due)


def test_every_metric_has_a_direction_and_a_range() -> None:
    assert set(DIRECTION) == set(METRICS) == set(RANGES)
    assert all(d == 1 for d in DIRECTION.values())


@pytest.mark.parametrize(("metric", "segment", "target", "field", "code"), [
    ("shares", None, 1.0, "metric", "unknown_metric"),
    ("share_of_regulars", "loyal", 30.0, "segment", "no_segment"),
    ("average_order", "vip", 30.0, "segment", "unknown_segment"),
    ("regulars_tenure", "newcomer", 30.0, "segment", "unknown_segment"),
    ("share_of_regulars", None, 101.0, "target", "out_of_range"),
    ("revenue_share_of_regulars", None, -1.0, "target", "out_of_range"),
    ("average_order", None, -5.0, "target", "out_of_range"),
    ("average_order", None, float("nan"), "target", "not_a_number"),
])
def test_validation_names_the_field(metric: str, segment: str | None, target: float,
                                    field: str, code: str) -> None:
    with pytest.raises(GoalError) as caught:
        validate(metric, segment, target, date(2026, 1, 1), date(2026, 6, 1))
    assert (caught.value.field, caught.value.code) == (field, code)


def test_due_must_follow_start() -> None:
    with pytest.raises(GoalError) as caught:
        validate("rotation", None, 10, date(2026, 6, 1), date(2026, 6, 1))
    assert caught.value.field == "due_on"
    validate("rotation", None, -10, date(2026, 6, 1), date(2026, 6, 2))  # a negative is fine
    validate("average_order", "loyal", 50, date(2026, 6, 1), date(2026, 7, 2))
    validate("share_of_regulars", None, 100, date(2026, 6, 1), date(2026, 7, 2))


def test_straight_path() -> None:
    g = goal()  # 20 → 40 over 304 days (1 Jan – 1 Nov 2026)
    assert expected_on(g, date(2026, 1, 1)) == 20
    # 1 Jan → 1 Jun is 151 days: 20 + 20 × 151/304 = 29.934…
    assert expected_on(g, date(2026, 6, 1)) == pytest.approx(20 + 20 * 151 / 304)
    assert expected_on(g, date(2025, 12, 1)) == 20  # before the start: the baseline
    assert expected_on(g, date(2027, 1, 1)) == 40   # after the due date: the target
    assert expected_on(goal(baseline=None), date(2026, 6, 1)) is None


def test_progress_states() -> None:
    g = goal()
    # 1 Jun: path 29.93; 31 is on track, a quarter past half the way: (31-20)/20 = 0.55
    p = progress(g, 31.0, date(2026, 6, 1))
    assert (p.state, p.covered) == ("on_track", pytest.approx(0.55))
    p = progress(g, 25.0, date(2026, 6, 1))
    assert (p.state, p.covered) == ("behind", pytest.approx(0.25))
    assert progress(g, 40.0, date(2026, 6, 1)).state == "achieved"
    assert progress(g, 39.0, date(2026, 11, 1)).state == "missed"
    assert progress(g, 15.0, date(2026, 6, 1)).covered == pytest.approx(-0.25)
    assert progress(g, None, date(2026, 6, 1)).state == "no_data"
    # no baseline: achieved can still be told, the path cannot
    assert progress(goal(baseline=None), 30.0, date(2026, 6, 1)).state == "no_data"
    assert progress(goal(baseline=None), 45.0, date(2026, 6, 1)).state == "achieved"


def test_rotation_can_aim_at_losing_fewer() -> None:
    # −30 → −10 over 304 days: on 1 Jun the path is −30 + 20 × 151/304 = −20.07
    g = goal("rotation", target=-10.0, baseline=-30.0)
    assert progress(g, -20.0, date(2026, 6, 1)).state == "on_track"
    assert progress(g, -21.0, date(2026, 6, 1)).state == "behind"
    assert progress(g, -20.0, date(2026, 6, 1)).covered == pytest.approx(0.5)


def test_reading_dates_are_month_ends() -> None:
    assert reading_dates(date(2026, 1, 15), date(2026, 4, 10)) == [
        date(2026, 1, 15), date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
        date(2026, 4, 10)]
    assert reading_dates(date(2026, 1, 31), date(2026, 2, 28)) == [
        date(2026, 1, 31), date(2026, 2, 28)]
    assert reading_dates(date(2025, 12, 5), date(2026, 1, 1)) == [
        date(2025, 12, 5), date(2025, 12, 31), date(2026, 1, 1)]
    assert reading_dates(date(2026, 3, 1), date(2026, 2, 1)) == []


@given(st.dates(date(2000, 1, 1), date(2040, 1, 1)), st.integers(0, 800))
def test_reading_dates_increase_and_end_today(start: date, days: int) -> None:
    today = date.fromordinal(start.toordinal() + days)
    found = reading_dates(start, today)
    assert found[0] == start and found[-1] == today
    assert all(a < b for a, b in itertools.pairwise(found))
    assert all((b - a).days <= 31 for a, b in itertools.pairwise(found))


@given(st.floats(-1000, 1000), st.floats(-1000, 1000), st.integers(1, 1000),
       st.integers(-100, 1100))
def test_the_path_runs_from_baseline_to_target(baseline: float, target: float, span: int,
                                               day: int) -> None:
    start = date(2026, 1, 1)
    g = Goal("g", "rotation", None, target, baseline, start,
             date.fromordinal(start.toordinal() + span))
    value = expected_on(g, date.fromordinal(start.toordinal() + day))
    assert value is not None
    assert min(baseline, target) - 1e-9 <= value <= max(baseline, target) + 1e-9
    if day <= 0:
        assert value == baseline
    if day >= span:
        assert value == pytest.approx(target)
