"""The loyalty service's scenarios, written once and run on every store: earning, returns,
releases, expiry, tiers, referrals, spending, coupons, club, offers, statements.

Collected by ``tests/unit/loyalty/test_service_on_fake.py`` (the in-memory store) and
``tests/integration/loyalty/test_service.py`` (SQLite and PostgreSQL), which adds the one
scenario that reads a table with SQL. Races, concurrency and the property tests stay on the
real databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from regulars.domain.loyalty import (
    ConsentRequiredError,
    CouponUsedError,
    Expiry,
    IdempotencyConflictError,
    InsufficientPointsError,
    Line,
    LoyaltyError,
    OutOfStockError,
    PunchCard,
    ReferralRefusedError,
    Release,
    ReturnedSpentPoints,
    Reward,
    RewardError,
    RewardKind,
    StoredValueError,
    UnknownMemberError,
    UnknownOrderError,
    UnknownRedemptionError,
)
from regulars.services.loyalty import LoyaltyService

from .loyalty import T0, order, programme

IMMEDIATE = {"release": Release.IMMEDIATELY, "bonus_sign_up": 0}


def test_points_stay_pending_until_the_return_window_closes(make_service, clock):
    service = make_service(bonus_sign_up=0)
    service.enrol("M")
    r = service.accrue(order("O1", "M", "99.90"))
    assert (r.points, r.status) == (99, "pending")
    assert service.statement("M").pending == 99
    with pytest.raises(InsufficientPointsError):
        service.spend("M", 1, key="too-early")
    clock.at = r.available_at - timedelta(seconds=1)
    assert service.release_due().items == 0
    clock.at = r.available_at
    assert service.release_due().items == 1
    assert service.release_due().items == 0  # idempotent
    s = service.statement("M")
    assert (s.balance, s.pending) == (99, 0)


def test_explicit_release_policy_waits_for_the_action(make_service, clock):
    service = make_service(release=Release.EXPLICIT, bonus_sign_up=0)
    service.enrol("M")
    assert service.accrue(order("O1", "M", 50)).available_at is None
    clock.advance(days=400)
    assert service.release_due().items == 0
    assert service.release_order("O1").points == 50
    assert service.release_order("O1").items == 0
    with pytest.raises(UnknownOrderError):
        service.release_order("nope")


def test_members_must_exist_and_consent_to_earn(service):
    with pytest.raises(UnknownMemberError):
        service.accrue(order("O1", "ghost", 10))
    service.enrol("N", consent=False)
    with pytest.raises(ConsentRequiredError):
        service.accrue(order("O2", "N", 10))
    skipped = service.accrue_many([order("O3", "ghost", 10), order("O4", "N", 10)])
    assert [r.skipped_reason for r in skipped] == ["not_enrolled", "no_consent"]
    service.set_consent("N", True)
    assert service.accrue(order("O4", "N", 10)).points == 10


def test_the_same_key_with_other_content_is_a_conflict(service):
    service.enrol("M")
    service.accrue(order("O1", "M", 10))
    with pytest.raises(IdempotencyConflictError):
        service.accrue(order("O1", "M", 11))
    assert service.accrue_many([order("O1", "M", 11)])[0].skipped_reason == "conflict"
    service.adjust("M", 5, reason="goodwill", actor="anna", key="a1")
    with pytest.raises(IdempotencyConflictError):
        service.adjust("M", 6, reason="goodwill", actor="anna", key="a1")


def test_partial_returns_reverse_in_proportion_and_stop_at_what_was_earned(make_service):
    service = make_service(**IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", "300.00"))
    assert service.record_return("R1", "O1", Decimal("100")).points_reversed == 100
    assert service.record_return("R1", "O1", Decimal("100")).replayed
    assert service.record_return("R2", "O1", Decimal("100")).points_reversed == 100
    assert service.record_return("R3", "O1", Decimal("500")).points_reversed == 100
    assert service.record_return("R4", "O1", Decimal("1")).points_reversed == 0
    assert service.statement("M").balance == 0
    with pytest.raises(UnknownOrderError):
        service.record_return("R5", "nope", Decimal(1))


@pytest.mark.parametrize("policy", list(ReturnedSpentPoints))
def test_a_return_after_the_points_were_spent_follows_the_policy(make_service, policy):
    service = make_service(returned_spent_points=policy, **IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 100))
    service.spend("M", 80, key="s1")
    r = service.record_return("R1", "O1", Decimal(100))
    s = service.statement("M")
    if policy is ReturnedSpentPoints.NEGATIVE_BALANCE:
        assert (r.from_balance, r.deficit, s.balance, s.debt) == (100, 0, -80, 80)
        service.accrue(order("O2", "M", 50))
        assert service.statement("M").balance == -30
    else:
        assert (r.from_balance, r.deficit, s.balance, s.deficit) == (20, 80, 0, 80)
    assert service.verify() == []


def test_expiry_is_idempotent_and_expiring_soon_is_shown(make_service, clock):
    service = make_service(expiry=Expiry.AFTER_DAYS, expiry_days=40, expiring_soon_days=30,
                           **IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 100))
    clock.advance(days=20)
    service.accrue(order("O2", "M", 50, clock.at))
    s = service.statement("M")
    assert s.expiring_soon == 100 and len(s.expiring) == 1
    service.spend("M", 30, key="s1")  # from the soonest-expiring lot
    assert service.statement("M").expiring_soon == 70
    clock.advance(days=25)
    # past the expiry, before the expiry run: the statement no longer counts those points
    # as spendable (as a redemption would not), and says they await the run
    s = service.statement("M")
    assert (s.balance, s.expired_unswept) == (50, 70)
    first = service.expire_due()
    assert (first.items, first.points) == (1, 70)
    assert service.expire_due().items == 0
    s = service.statement("M")
    assert (s.balance, s.expired_unswept) == (50, 0)
    assert service.verify() == []


def test_redemption_issues_a_single_use_coupon_with_validity(make_service, clock):
    service = make_service(**IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 250))
    r = service.redeem("M", "r100", key="k1")
    assert r.balance_after == 150 and r.coupon_code
    assert service.redeem("M", "r100", key="k1") == replace(r, replayed=True)
    with pytest.raises(RewardError, match="no reward"):
        service.redeem("M", "nope", key="k2")
    use = service.use_coupon(r.coupon_code.lower(), order_id="O9")
    assert (use.reward, use.value) == ("r100", Decimal(5))
    assert service.use_coupon(r.coupon_code, order_id="O9").replayed
    with pytest.raises(RewardError, match="already used"):
        service.use_coupon(r.coupon_code, order_id="O10")
    late = service.redeem("M", "r100", key="k3")
    clock.at = late.valid_until
    with pytest.raises(RewardError, match="not valid"):
        service.use_coupon(late.coupon_code, order_id="O11")
    with pytest.raises(RewardError, match="does not exist"):
        service.use_coupon("CNOPE", order_id="O12")
    with pytest.raises(InsufficientPointsError) as exc:
        service.redeem("M", "gift", key="k4")
    assert (exc.value.balance, exc.value.needed) == (50, 300)


def test_a_redemption_can_be_cancelled_until_its_coupon_is_used(make_service, clock):
    service = make_service(**IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 250))
    r = service.redeem("M", "r100", key="k1")
    assert r.balance_after == 150
    clock.advance(hours=1)
    c = service.cancel_redemption(coupon_code=r.coupon_code.lower(), reason="customer changed "
                                  "their mind", actor="till 3")
    assert (c.member_id, c.redemption, c.points_back, c.points_lapsed, c.balance_after,
            c.coupon_code) == ("M", "k1", 100, 0, 250, r.coupon_code)
    # the coupon ends with the cancellation; the points are spendable again
    with pytest.raises(RewardError, match=f"coupon {r.coupon_code} was cancelled on 2026-03-02T11"):
        service.use_coupon(r.coupon_code, order_id="O9")
    assert service.redeem("M", "r100", key="k2").balance_after == 150
    # again, by key or by code: the first answer
    assert service.cancel_redemption(key="k1") == replace(c, replayed=True)
    assert service.cancel_redemption(coupon_code=r.coupon_code) == replace(c, replayed=True)
    statement = service.statement("M")
    cancel = next(e for e in statement.history if e.kind == "cancel")
    assert r.coupon_code not in statement.coupons
    assert (cancel.points, cancel.reason, cancel.actor) == (100, "customer changed their "
                                                            "mind", "till 3")
    assert service.verify() == []


def test_a_used_coupon_or_an_unknown_redemption_cannot_be_cancelled(make_service):
    service = make_service(**IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 250))
    r = service.redeem("M", "r100", key="k1")
    service.use_coupon(r.coupon_code, order_id="O9")
    with pytest.raises(CouponUsedError, match=f"{r.coupon_code} was used on order O9"):
        service.cancel_redemption(key="k1")
    assert service.statement("M").balance == 150  # nothing written
    with pytest.raises(UnknownRedemptionError, match="no redemption under key nope"):
        service.cancel_redemption(key="nope")
    with pytest.raises(UnknownRedemptionError, match="no redemption issued coupon CNOPE"):
        service.cancel_redemption(coupon_code="cnope")
    with pytest.raises(LoyaltyError, match="by its key or by its coupon"):
        service.cancel_redemption()
    assert service.verify() == []


def test_a_cancelled_payment_with_points_gives_back_what_has_not_expired(make_service, clock):
    service = make_service(**IMMEDIATE, expiry_days=30)
    service.enrol("M")
    service.accrue(order("O1", "M", 100))  # expires in 30 days
    service.accrue(order("O2", "M", 50, at=clock.advance(days=20)))  # expires on day 50
    assert service.spend("M", 120, key="pay1").balance_after == 30  # O1's 100, O2's 20
    clock.advance(days=15)  # O1's lot has expired
    c = service.cancel_redemption(key="pay1", actor="till 1")
    assert (c.points_back, c.points_lapsed, c.balance_after, c.coupon_code) == (20, 100, 50,
                                                                                None)
    assert service.verify() == []


def test_a_reward_with_a_stock_and_a_limit_per_member(make_service):
    mug = Reward("mug", "a mug", RewardKind.GIFT, 100, stock=2, per_member=1)
    service = make_service(rewards=(mug,), **IMMEDIATE)
    for m in ("A", "B", "C"):
        service.enrol(m)
        service.accrue(order(f"O-{m}", m, 500))
    assert service.stock_left() == {"mug": 2}
    first = service.redeem("A", "mug", key="a1")
    with pytest.raises(RewardError, match="A has redeemed mug 1 times, the most one member may"):
        service.redeem("A", "mug", key="a2")
    service.redeem("B", "mug", key="b1")
    assert service.stock_left() == {"mug": 0}
    with pytest.raises(OutOfStockError, match="mug: all 2 have been redeemed"):
        service.redeem("C", "mug", key="c1")
    assert service.statement("C").balance == 500  # nothing spent
    # a cancelled redemption gives its item back, and no longer counts for the member
    service.cancel_redemption(coupon_code=first.coupon_code, actor="till")
    assert service.stock_left() == {"mug": 1}
    service.redeem("C", "mug", key="c2")
    with pytest.raises(OutOfStockError):
        service.redeem("A", "mug", key="a3")
    assert service.stock_left() == {"mug": 0}
    assert service.verify() == []


def test_rewards_can_require_a_tier(make_service):
    service = make_service(rewards=(Reward("vip", "VIP", RewardKind.SERVICE, 10,
                                           min_tier="gold"),), **IMMEDIATE)
    service.enrol("M")
    service.accrue(order("O1", "M", 600))  # silver
    with pytest.raises(RewardError, match="gold"):
        service.redeem("M", "vip", key="k")


def test_manual_adjustments_need_a_reason_and_an_actor(service):
    service.enrol("M")
    with pytest.raises(LoyaltyError, match="reason and an actor"):
        service.adjust("M", 10, reason=" ", actor="anna", key="a")
    r = service.adjust("M", 10, reason="goodwill", actor="anna", key="a")
    line = service.statement("M").history[-1]
    assert (line.kind, line.reason, line.actor, line.points) == ("adjust", "goodwill", "anna", 10)
    with pytest.raises(InsufficientPointsError):
        service.adjust("M", -(r.balance_after + 1), reason="fix", actor="anna", key="b")
    assert service.adjust("M", -10, reason="fix", actor="anna", key="c").balance_after == \
        r.balance_after - 10


def test_bonus_events_are_credited_once_per_key(make_service, clock):
    service = make_service(bonus_sign_up=100, bonus_birthday=200, bonus_review=50)
    assert service.enrol("M").bonus_points == 100
    assert service.award_bonus("M", "birthday").points == 200
    assert service.award_bonus("M", "birthday").replayed
    clock.advance(days=365)
    assert not service.award_bonus("M", "birthday").replayed
    with pytest.raises(LoyaltyError, match="needs the id"):
        service.award_bonus("M", "review")
    service.award_bonus("M", "review", key="review-1")
    with pytest.raises(LoyaltyError, match="no nps_answer bonus"):
        service.award_bonus("M", "nps_answer", key="x")
    assert service.statement("M").balance == 550


def test_referral_rewards_both_when_the_first_order_completes(make_service, clock):
    service = make_service(referrer_points=500, referee_points=250, bonus_sign_up=0,
                           referral_min_order_amount=Decimal(20),
                           max_referrals_per_referrer=2)
    code = service.enrol("A", email="a@example.com").referral_code
    service.enrol("B", email="b@example.com", referral_code=code)
    service.accrue(order("B1", "B", 10))  # below the minimum: does not qualify
    clock.advance(days=20)
    service.release_due()
    assert service.statement("A").balance == 0
    service.accrue(order("B2", "B", 40, clock.at))
    clock.advance(days=20)
    service.release_due()
    assert service.statement("A").balance == 500
    assert service.statement("B").balance == 10 + 40 + 250
    clock.advance(days=20)
    service.accrue(order("B3", "B", 40, clock.at))
    clock.advance(days=20)
    service.release_due()
    assert service.statement("A").balance == 500  # only the first qualifying order counts


def test_self_referrals_and_caps_are_refused_with_a_reason(make_service, clock):
    service = make_service(max_referrals_per_referrer=1, bonus_sign_up=0,
                           referrer_points=500, referee_points=250)
    code = service.enrol("A", email="a@example.com", phone="+372 555 0101",
                         payment_fingerprint="card-A").referral_code
    for member, kw, reason in [
        ("B", {"email": " A@Example.com"}, "same_email"),
        ("C", {"phone": "372-555-0101"}, "same_phone"),
        ("D", {"payment_fingerprint": "card-A"}, "same_payment_fingerprint"),
    ]:
        with pytest.raises(ReferralRefusedError) as exc:
            service.enrol(member, referral_code=code, **kw)
        assert exc.value.reason == reason
    with pytest.raises(ReferralRefusedError) as exc:
        service.enrol("E", referral_code="RXXXXXXXX")
    assert exc.value.reason == "unknown_code"
    service.enrol("F", referral_code=code)
    with pytest.raises(ReferralRefusedError) as exc:
        service.enrol("G", referral_code=code)
    assert exc.value.reason == "referrer_cap_reached"
    # the referee pays with the referrer's card: no reward when the order completes
    service.accrue(order("F1", "F", 50, payment_fingerprint="card-A"))
    clock.advance(days=20)
    service.release_due()
    assert service.statement("A").balance == 0
    # a member who already ordered cannot be referred afterwards
    service.enrol("H")
    service.accrue(order("H1", "H", 5, clock.at))
    with pytest.raises(ReferralRefusedError) as exc:
        service.refer("H", code)
    assert exc.value.reason in ("already_ordered", "referrer_cap_reached")


def test_tiers_upgrade_at_once_and_downgrade_after_period_and_grace(make_service, clock,
                                                                    store):
    service = make_service(tier_window_days=365, tier_grace_days=30, **IMMEDIATE)
    service.enrol("M")
    r = service.accrue(order("O1", "M", 600))
    assert (r.tier_before, r.tier_after) == ("base", "silver")
    r = service.accrue(order("O2", "M", 100, clock.at))
    assert r.points == 150  # silver earns ×1.5
    s = service.statement("M")
    assert (s.tier, s.next_tier, s.to_next_tier) == ("silver", "gold", Decimal(1300))
    clock.advance(days=380)
    assert service.review_tiers().items == 0  # still in the grace period
    clock.advance(days=20)
    assert service.review_tiers().details == ("M: silver → base",)
    assert service.review_tiers().items == 0
    history = service.tier_history("M")
    assert [(h["from_tier"], h["to_tier"], h["change"]) for h in history] == [
        ("base", "silver", "upgrade"), ("silver", "base", "downgrade")]


def test_club_membership_is_paid_yearly_and_multiplies_points(make_service, clock):
    service = make_service(club_fee=Decimal("49.00"), club_multiplier=Decimal(2), **IMMEDIATE)
    service.enrol("M")
    first = service.join_club("M", payment_ref="pay-1")
    assert first.club_until.year == T0.year + 1
    assert service.join_club("M", payment_ref="pay-1").replayed
    second = service.join_club("M", payment_ref="pay-2")
    assert second.club_until.year == T0.year + 2
    assert service.accrue(order("O1", "M", 10)).points == 20
    with pytest.raises(LoyaltyError, match="no paid club"):
        make_service().join_club("M", payment_ref="x")


def test_stored_value_card(service):
    service.enrol("M")
    with pytest.raises(StoredValueError, match="itself"):
        service.top_up("M", Decimal(10), ref="t0", payment_method="stored_value")
    assert service.top_up("M", Decimal(50), ref="t1", payment_method="cash").balance_after == 50
    assert service.top_up("M", Decimal(50), ref="t1", payment_method="cash").replayed
    assert service.pay_with_card("M", Decimal("20.50"), ref="p1").balance_after == \
        Decimal("29.50")
    with pytest.raises(StoredValueError):
        service.pay_with_card("M", Decimal(100), ref="p2")
    assert service.refund_to_card("M", Decimal(10), ref="f1", original_ref="p1") \
        .balance_after == Decimal("39.50")
    with pytest.raises(StoredValueError, match="more than"):
        service.refund_to_card("M", Decimal(11), ref="f2", original_ref="p1")
    with pytest.raises(StoredValueError, match="not a payment"):
        service.refund_to_card("M", Decimal(1), ref="f3", original_ref="t1")
    with pytest.raises(StoredValueError, match="at most"):
        service.top_up("M", Decimal(1000), ref="t2", payment_method="card")
    assert service.verify() == []


def test_punch_card_every_tenth_coffee_free(make_service):
    service = make_service(
        rewards=(Reward("coffee", "a free coffee", RewardKind.FREE_ITEM, 1),),
        punch_cards=(PunchCard("coffee", 10, "coffee", category="coffee"),), **IMMEDIATE)
    service.enrol("M")
    issued = []
    for i in range(7):
        r = service.accrue(order(f"O{i}", "M", 9,
                                 lines=(Line(Decimal(6), "coffee", quantity=3),
                                        Line(Decimal(3), "cake"))))
        issued += r.coupons
    assert len(issued) == 2  # 21 coffees
    assert service.accrue(order("O0", "M", 9, lines=(Line(Decimal(6), "coffee", quantity=3),
                                                     Line(Decimal(3), "cake")))).replayed


def test_caps_and_budgets_through_the_service(make_service):
    service = make_service(cap_points_per_member=100, budget_points=150, **IMMEDIATE)
    for m in ("A", "B"):
        service.enrol(m)
    results = service.accrue_many([order("A1", "A", 80), order("A2", "A", 80),
                                   order("B1", "B", 80)])
    assert [(r.points, r.capped_by) for r in results] == [
        (80, None), (20, "cap_points_per_member"), (50, "budget_points")]
    assert service.accrue(order("B2", "B", 80)).points == 0


def test_an_order_earns_under_the_programme_version_of_its_day(store, clock):
    old = LoyaltyService(store, programme(points_per_unit=Decimal(1), **IMMEDIATE),
                         clock=clock)
    old.enrol("M")
    clock.advance(days=10)
    new = LoyaltyService(store, programme(points_per_unit=Decimal(3), **IMMEDIATE),
                         clock=clock)
    assert [v.number for v in new.versions()] == [1, 2]
    assert new.accrue(order("O-old", "M", 10, T0 + timedelta(days=1))).points == 10
    r = new.accrue(order("O-new", "M", 10, clock.at))
    assert (r.points, r.programme_version) == (30, 2)
    # the same rules again do not make a new version
    assert [v.number for v in LoyaltyService(store, programme(
        points_per_unit=Decimal(3), **IMMEDIATE), clock=clock).versions()] == [1, 2]


def test_statement_shows_balance_pending_expiry_tier_and_history(make_service, clock):
    service = make_service(bonus_sign_up=10)
    service.enrol("M")
    service.accrue(order("O1", "M", 120))
    s = service.statement("M")
    assert (s.balance, s.pending, s.tier, s.next_tier) == (10, 120, "base", "silver")
    assert s.to_next_tier == Decimal(380)
    assert [line.kind for line in s.history] == ["bonus", "earn"]
    assert s.referral_code and s.referral_code.startswith("R")
