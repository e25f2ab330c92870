"""What every loyalty scenario stands on, whatever the store: the clock the test moves by
hand, the one ``programme()`` the scenarios were written against, ``order()``, and the
``clock``, ``make_service`` and ``service`` fixtures.

The store is the directory's own ``store`` fixture: the in-memory fake
(``adapters/memory.py``) in ``tests/unit/loyalty``, SQLite and PostgreSQL in
``tests/integration/loyalty``. Their conftests import these fixtures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from regulars.domain.loyalty import Programme, Purchase, Reward, RewardKind, Tier
from regulars.services.loyalty import LoyaltyService

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> datetime:
        self.at += timedelta(**kw)
        return self.at


def programme(**changes: object) -> Programme:
    base = Programme(
        timezone="Europe/Tallinn",
        # the rules these scenarios were written against: no bonuses and no referral points
        # (the domain's defaults before they became the shipped programme's)
        bonus_sign_up=0, bonus_birthday=0, bonus_review=0, bonus_nps_answer=0,
        referrer_points=0, referee_points=0, max_referrals_per_referrer=None,
        return_window_days=14,
        expiry_days=365,
        tiers=(Tier("base", Decimal(0)), Tier("silver", Decimal(500), Decimal("1.5")),
               Tier("gold", Decimal(2000), Decimal(2))),
        rewards=(Reward("r100", "100-point reward", RewardKind.DISCOUNT_COUPON, 100,
                        value=Decimal(5)),
                 Reward("gift", "a gift", RewardKind.GIFT, 300)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_service(store, clock: Clock):
    def make(**changes: object) -> LoyaltyService:
        return LoyaltyService(store, programme(**changes), clock=clock)

    return make


@pytest.fixture
def service(make_service) -> LoyaltyService:
    return make_service()


def order(order_id: str, member: str, amount: str | int, at: datetime = T0,
          **kw: object) -> Purchase:
    return Purchase(order_id, member, at, Decimal(str(amount)), **kw)  # type: ignore[arg-type]
