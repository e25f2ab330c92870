"""When a wait ends, on the customer's clock, across the DST switches of Tallinn and Moscow."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.playbooks.model import Wait
from regulars.domain.playbooks.timing import after_wait, at_wall_time, next_wall_time, resolve

TALLINN = ZoneInfo("Europe/Tallinn")
MOSCOW = ZoneInfo("Europe/Moscow")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- hand-computed: Tallinn switches at 01:00 UTC on the last Sundays of March and October
# (2026: 29 March, 25 October; 2027: 28 March, 31 October): 03:00 EET → 04:00 EEST in spring,
# 04:00 EEST → 03:00 EET in autumn

def test_a_skipped_wall_time_becomes_the_switch_itself() -> None:
    assert resolve(datetime(2026, 3, 29, 3, 30), TALLINN) == utc(2026, 3, 29, 1, 0)
    assert resolve(datetime(2027, 3, 28, 3, 0), TALLINN) == utc(2027, 3, 28, 1, 0)
    assert resolve(datetime(2027, 3, 28, 3, 59, 59), TALLINN) == utc(2027, 3, 28, 1, 0)


def test_a_repeated_wall_time_is_the_first_of_the_two() -> None:
    # 03:30 happens at 00:30 UTC (EEST) and again at 01:30 UTC (EET)
    assert resolve(datetime(2026, 10, 25, 3, 30), TALLINN) == utc(2026, 10, 25, 0, 30)
    assert resolve(datetime(2027, 10, 31, 3, 0), TALLINN) == utc(2027, 10, 31, 0, 0)


def test_ordinary_wall_times() -> None:
    assert resolve(datetime(2026, 3, 29, 10, 0), TALLINN) == utc(2026, 3, 29, 7, 0)
    assert resolve(datetime(2026, 3, 28, 10, 0), TALLINN) == utc(2026, 3, 28, 8, 0)
    # Moscow keeps +03 all year
    assert resolve(datetime(2026, 3, 29, 3, 30), MOSCOW) == utc(2026, 3, 29, 0, 30)


def test_a_day_is_a_calendar_day_on_the_customers_clock() -> None:
    # Saturday 10:00 EET + 1 day → Sunday 10:00 EEST: 23 hours later
    start = utc(2026, 3, 28, 8, 0)
    assert after_wait(start, Wait("w", days=1), TALLINN) == utc(2026, 3, 29, 7, 0)
    # autumn: 25 hours
    start = utc(2026, 10, 24, 7, 0)  # 10:00 EEST
    assert after_wait(start, Wait("w", days=1), TALLINN) == utc(2026, 10, 25, 8, 0)


def test_hours_are_hours_that_pass() -> None:
    start = utc(2026, 3, 29, 0, 0)  # 02:00 EET
    assert after_wait(start, Wait("w", hours=2), TALLINN) == utc(2026, 3, 29, 2, 0)


def test_until_moves_to_the_next_time_of_day() -> None:
    start = utc(2026, 3, 28, 8, 0)  # Saturday 10:00 EET
    # until 09:00 → Sunday 09:00 EEST (06:00 UTC)
    assert after_wait(start, Wait("w", until=time(9)), TALLINN) == utc(2026, 3, 29, 6, 0)
    # until 03:30 on Sunday does not exist → the switch, 04:00 EEST
    assert after_wait(start, Wait("w", until=time(3, 30)), TALLINN) == utc(2026, 3, 29, 1, 0)
    # until 11:00 → the same day
    assert after_wait(start, Wait("w", until=time(11)), TALLINN) == utc(2026, 3, 28, 9, 0)
    # exactly at the time: now
    assert after_wait(start, Wait("w", until=time(10)), TALLINN) == start


def test_until_in_the_repeated_hour_is_taken_once() -> None:
    # from the first 03:30 (EEST), a wait until 03:15 does not take the second 03:15 (EET) of
    # the same night: it is the next night's
    start = utc(2026, 10, 25, 0, 30)
    assert after_wait(start, Wait("w", until=time(3, 15)), TALLINN) == utc(2026, 10, 26, 1, 15)
    # from the second 03:30 (01:30 UTC), until 03:45 is not the second 03:45 either
    start = utc(2026, 10, 25, 1, 30)
    assert after_wait(start, Wait("w", until=time(3, 45)), TALLINN) == utc(2026, 10, 26, 1, 45)


def test_days_then_until() -> None:
    start = utc(2027, 10, 30, 12, 0)  # Saturday 15:00 EEST
    # + 1 day → Sunday 15:00 EET, until 10:00 → Monday 10:00 EET
    assert after_wait(start, Wait("w", days=1, until=time(10)), TALLINN) == utc(2027, 11, 1, 8, 0)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        after_wait(datetime(2026, 1, 1), Wait("w", days=1), TALLINN)


# --- properties, over the switch days of 2026–2027 and the days around them ---------------

SWITCH_DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2027, 3, 28), date(2027, 10, 31)]
zones = st.sampled_from([TALLINN, MOSCOW])
moments = st.builds(
    lambda day, minutes: datetime.combine(day, time(), tzinfo=UTC) + timedelta(minutes=minutes),
    st.sampled_from(SWITCH_DAYS).flatmap(
        lambda d: st.sampled_from([d + timedelta(days=k) for k in (-2, -1, 0, 1)])),
    st.integers(-6 * 60, 30 * 60))
times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 1, 15, 30, 45, 59]))
waits = st.builds(lambda d, h, u: Wait("w", days=d, hours=h, until=u),
                  st.integers(0, 3), st.integers(0, 30), st.none() | times)


@given(start=moments, wait=waits, zone=zones)
def test_never_earlier_than_start(start: datetime, wait: Wait, zone: ZoneInfo) -> None:
    end = after_wait(start, wait, zone)
    assert end >= start
    assert end >= start + timedelta(hours=wait.hours)


@given(start=moments, at=times, zone=zones)
def test_until_never_skips_a_day(start: datetime, at: time, zone: ZoneInfo) -> None:
    end = next_wall_time(start, at, zone)
    assert start <= end
    # the next such moment is on the start's local day or the day after, never later
    assert (end.astimezone(zone).date() - start.astimezone(zone).date()).days in (0, 1)
    # and it shows ``at`` on the clock (or, in a gap, the first time after it)
    shown = end.astimezone(zone)
    wall = datetime.combine(shown.date(), at)
    assert shown.replace(tzinfo=None) >= wall
    assert shown.replace(tzinfo=None) - wall < timedelta(hours=1, minutes=1)
    # no moment between start and end shows ``at``: it is the first
    assert end - start < timedelta(hours=25, minutes=1)


@given(start=moments, at=times, zone=zones)
def test_a_daily_step_runs_once_a_day(start: datetime, at: time, zone: ZoneInfo) -> None:
    # a step that waits "until at" again after each run: one run each local day, none twice
    days = []
    moment = start
    for _ in range(6):
        moment = next_wall_time(moment, at, zone)
        days.append(moment.astimezone(zone).date())
        moment += timedelta(seconds=1)
    assert all((b - a).days == 1 for a, b in itertools.pairwise(days))


@given(day=st.sampled_from(SWITCH_DAYS), at=times, zone=zones)
def test_wall_time_is_on_its_day(day: date, at: time, zone: ZoneInfo) -> None:
    moment = at_wall_time(day, at, zone)
    assert moment.astimezone(zone).date() == day
