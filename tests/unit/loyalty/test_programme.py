"""The programme's rules: calendar boundaries in its time zone, rounding, versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from regulars.domain.loyalty import (
    Expiry,
    Multiplier,
    MultiplierKind,
    Period,
    Programme,
    Release,
    Reward,
    RewardKind,
    Rounding,
    Tier,
)

TALLINN = ZoneInfo("Europe/Tallinn")


def test_end_of_month_expiry_is_local_midnight_not_utc():
    p = Programme(timezone="Europe/Tallinn", expiry=Expiry.END_OF_MONTH, expiry_days=0)
    # 23:30 UTC on 31 January is already 1 February in Tallinn
    earned = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    assert p.expires_at(earned) == datetime(2026, 3, 1, tzinfo=TALLINN)
    assert p.expires_at(datetime(2026, 1, 31, 20, 0, tzinfo=UTC)) == datetime(
        2026, 2, 1, tzinfo=TALLINN)


def test_end_of_year_expiry_counts_days_then_rounds_up_to_the_year_end():
    p = Programme(timezone="Europe/Tallinn", expiry=Expiry.END_OF_YEAR, expiry_days=365)
    assert p.expires_at(datetime(2026, 6, 1, tzinfo=TALLINN)) == datetime(2028, 1, 1,
                                                                           tzinfo=TALLINN)


def test_after_days_expiry_lasts_to_the_end_of_the_last_local_day_across_dst():
    p = Programme(timezone="Europe/Tallinn", expiry=Expiry.AFTER_DAYS, expiry_days=30)
    earned = datetime(2026, 3, 10, 12, tzinfo=TALLINN)  # DST starts 29 March
    expires = p.expires_at(earned)
    assert expires == datetime(2026, 4, 10, tzinfo=TALLINN)
    assert expires.utcoffset() != earned.utcoffset()


def test_never_expiring_lots_have_no_expiry():
    assert Programme(expiry=Expiry.NEVER).expires_at(datetime(2026, 1, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(("release", "expected"), [
    (Release.IMMEDIATELY, datetime(2026, 5, 4, 21, 0, tzinfo=UTC)),
    (Release.AFTER_DAYS, datetime(2026, 5, 20, tzinfo=TALLINN)),
    (Release.EXPLICIT, None),
])
def test_points_become_available_per_release_policy(release, expected):
    p = Programme(timezone="Europe/Tallinn", release=release, return_window_days=14)
    # 00:00 on 5 May in Tallinn: the window covers 5..19 May
    assert p.available_at(datetime(2026, 5, 4, 21, 0, tzinfo=UTC)) == expected


@pytest.mark.parametrize(("rounding", "expected"), [
    (Rounding.FLOOR, 12), (Rounding.HALF_UP, 13), (Rounding.CEILING, 13)])
def test_rounding_modes(rounding, expected):
    assert rounding.apply(Decimal("12.5")) == expected


def test_period_start_is_local():
    p = Programme(timezone="Europe/Tallinn")
    at = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April in Tallinn
    assert p.period_start(at, Period.MONTH) == datetime(2026, 4, 1, tzinfo=TALLINN)
    assert p.period_start(at, Period.WEEK).date() == date(2026, 3, 30)
    assert p.period_start(at, Period.YEAR) == datetime(2026, 1, 1, tzinfo=TALLINN)


def test_a_programme_survives_the_round_trip_through_its_stored_form():
    p = Programme(
        timezone="Europe/Tallinn", points_per_unit=Decimal("1.5"), release="explicit",
        multipliers=(Multiplier(MultiplierKind.CAMPAIGN, Decimal(2), "coffee",
                                date(2026, 1, 1), date(2026, 1, 31), "january"),),
        tiers=(Tier("base", Decimal(0)), Tier("gold", Decimal(100), Decimal(2),
                                              Decimal(10), ("lounge",))),
        rewards=(Reward("r", "R", RewardKind.GIFT, 50, valid_days=10, min_tier="gold"),),
        club_fee=Decimal("49.90"), cap_points_per_member=1000,
    )
    back = Programme.from_dict(p.to_dict())
    assert back == p
    assert back.fingerprint() == p.fingerprint()
    assert Programme(points_per_unit=Decimal(2)).fingerprint() != Programme().fingerprint()


def test_a_ladder_without_a_zero_rung_gets_a_base_tier_and_is_sorted():
    p = Programme(tiers=(Tier("gold", Decimal(1000)), Tier("silver", Decimal(100))))
    assert [t.name for t in p.tiers] == ["base", "silver", "gold"]
    assert p.tier("retired").name == "base"


def test_duplicate_tier_names_are_refused():
    with pytest.raises(ValueError, match="unique"):
        Programme(tiers=(Tier("a", Decimal(0)), Tier("a", Decimal(5))))
