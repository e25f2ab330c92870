"""How many points an order earns: rate, rounding, multipliers, caps, budgets."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from regulars.domain.loyalty import (
    Line,
    Multiplier,
    MultiplierKind,
    Programme,
    Purchase,
    Rounding,
    Tier,
    quote,
)

BASE = Tier("base", Decimal(0))
GOLD = Tier("gold", Decimal(100), Decimal(2))
SATURDAY = datetime(2026, 3, 7, 12, tzinfo=UTC)
MONDAY = datetime(2026, 3, 9, 12, tzinfo=UTC)


def buy(amount: str, at: datetime = MONDAY, **kw) -> Purchase:
    return Purchase("O", "M", at, Decimal(amount), **kw)


def test_points_per_currency_unit_rounded_once_per_order():
    p = Programme(points_per_unit=Decimal("1.5"))
    assert quote(p, buy("10.99"), tier=BASE).points == 16  # 16.485 floored
    assert quote(replace(p, rounding=Rounding.HALF_UP), buy("10.99"), tier=BASE).points == 16
    assert quote(replace(p, rounding=Rounding.CEILING), buy("10.99"), tier=BASE).points == 17


def test_orders_below_the_minimum_earn_nothing():
    p = Programme(min_order_amount=Decimal(5))
    assert quote(p, buy("4.99"), tier=BASE).points == 0
    assert quote(p, buy("5.00"), tier=BASE).points == 5


def test_tier_multiplier_applies():
    assert quote(Programme(), buy("10"), tier=GOLD).points == 20


def test_category_and_sku_multipliers_take_the_best_match_per_line():
    p = Programme(multipliers=(
        Multiplier(MultiplierKind.CATEGORY, Decimal(2), "coffee"),
        Multiplier(MultiplierKind.CATEGORY, Decimal(3), "beans"),
        Multiplier(MultiplierKind.SKU, Decimal(5), "SKU-1"),
    ))
    lines = (Line(Decimal(10), "coffee"), Line(Decimal(10), "tea"),
             Line(Decimal(10), "beans", "SKU-1"))
    # coffee 10×2 + tea 10×1 + beans 10×3×5
    assert quote(p, buy("30", lines=lines), tier=BASE).points == 180
    # without lines: the order's best category
    assert quote(p, buy("10", categories=("coffee", "beans")), tier=BASE).points == 30


def test_lines_are_scaled_to_what_was_paid():
    p = Programme(multipliers=(Multiplier(MultiplierKind.CATEGORY, Decimal(2), "coffee"),))
    lines = (Line(Decimal(50), "coffee"), Line(Decimal(50), "tea"))
    # a 20 % discount on the whole order: 40 coffee ×2 + 40 tea
    assert quote(p, buy("80", lines=lines), tier=BASE).points == 120


def test_weekday_multiplier_uses_the_programme_time_zone():
    p = Programme(timezone="Pacific/Auckland",
                  multipliers=(Multiplier(MultiplierKind.WEEKDAY, Decimal(2), "sunday"),))
    # 12:00 UTC on Saturday is already Sunday in Auckland
    assert quote(p, buy("10", at=SATURDAY), tier=BASE).points == 20
    assert quote(replace(p, timezone="UTC"), buy("10", at=SATURDAY), tier=BASE).points == 10


def test_campaign_window_is_inclusive_and_local():
    campaign = Multiplier(MultiplierKind.CAMPAIGN, Decimal(3), None, date(2026, 3, 1),
                          date(2026, 3, 7), "spring")
    p = Programme(timezone="Europe/Tallinn", multipliers=(campaign,))
    assert quote(p, buy("10", at=SATURDAY), tier=BASE).points == 30
    assert quote(p, buy("10", at=MONDAY), tier=BASE).points == 10
    q = quote(p, buy("10", at=SATURDAY), tier=GOLD)
    assert q.points == 60
    assert any("spring" in f for f in q.factors)


def test_caps_and_budget_cut_the_points_and_say_why():
    p = Programme(max_points_per_order=50)
    q = quote(p, buy("80"), tier=BASE)
    assert (q.points, q.uncapped, q.capped_by) == (50, 80, "max_points_per_order")
    p = Programme(cap_points_per_member=100)
    assert quote(p, buy("80"), tier=BASE, member_used_in_period=70).points == 30
    assert quote(p, buy("80"), tier=BASE, member_used_in_period=120).points == 0
    p = Programme(budget_points=1000)
    q = quote(p, buy("80"), tier=BASE, budget_used_in_period=990)
    assert (q.points, q.capped_by) == (10, "budget_points")


def test_club_members_earn_the_club_multiplier():
    p = Programme(club_multiplier=Decimal("1.5"))
    assert quote(p, buy("10"), tier=BASE, in_club=True).points == 15
    assert quote(p, buy("10"), tier=BASE, in_club=False).points == 10
