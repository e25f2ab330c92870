"""Tier reviews, referral rules, codes and draws."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty import (
    Member,
    Programme,
    RefusalReason,
    Tier,
    check_referral,
    draw,
    is_well_formed,
    new_code,
    next_tier,
    normalise_code,
    review,
)

T = datetime(2026, 1, 1, tzinfo=UTC)
P = Programme(tier_window_days=365, tier_grace_days=30,
              tiers=(Tier("base", Decimal(0)), Tier("silver", Decimal(500)),
                     Tier("gold", Decimal(2000))))


def test_upgrade_is_immediate_and_starts_a_qualification_period():
    d = review(P, current="base", period_end=None, qualifying=Decimal(600), at=T)
    assert (d.tier, d.change, d.period_end) == ("silver", "upgrade", T + timedelta(days=365))
    d = review(P, current="base", period_end=None, qualifying=Decimal(2500), at=T)
    assert d.tier == "gold"


def test_downgrade_waits_for_the_end_of_the_period_and_the_grace():
    end = T + timedelta(days=365)
    during = review(P, current="gold", period_end=end, qualifying=Decimal(0),
                    at=end - timedelta(days=1))
    grace = review(P, current="gold", period_end=end, qualifying=Decimal(0),
                   at=end + timedelta(days=29))
    after = review(P, current="gold", period_end=end, qualifying=Decimal(600),
                   at=end + timedelta(days=30))
    assert (during.tier, during.change) == ("gold", "keep")
    assert (grace.tier, grace.change) == ("gold", "keep")
    assert (after.tier, after.change) == ("silver", "downgrade")


def test_requalifying_renews_the_period():
    end = T + timedelta(days=365)
    d = review(P, current="silver", period_end=end, qualifying=Decimal(700), at=end)
    assert (d.tier, d.change, d.period_end) == ("silver", "renew", end + timedelta(days=365))


def test_progress_to_the_next_tier():
    assert next_tier(P, "silver", Decimal(1200)) == (P.tiers[2], Decimal(800))
    assert next_tier(P, "gold", Decimal(5000)) == (None, Decimal(0))


def member(mid: str, **kw) -> Member:
    return Member(mid, T, **kw)


def test_self_referral_is_refused_by_email_phone_or_payment():
    a = member("A", email_norm="a@x.ee", phone_norm="3725551", payment_fingerprint="card1")
    assert check_referral(a, a, referrals_so_far=0, cap=None, referee_has_orders=False) \
        is RefusalReason.SELF
    for kw, reason in [({"email_norm": "a@x.ee"}, RefusalReason.SAME_EMAIL),
                       ({"phone_norm": "3725551"}, RefusalReason.SAME_PHONE),
                       ({"payment_fingerprint": "card1"}, RefusalReason.SAME_PAYMENT)]:
        assert check_referral(a, member("B", **kw), referrals_so_far=0, cap=None,
                              referee_has_orders=False) is reason


def test_referral_caps_and_late_referrals_are_refused():
    a, b = member("A"), member("B")
    assert check_referral(a, b, referrals_so_far=3, cap=3, referee_has_orders=False) \
        is RefusalReason.CAP_REACHED
    assert check_referral(a, b, referrals_so_far=0, cap=3, referee_has_orders=True) \
        is RefusalReason.ALREADY_ORDERED
    assert check_referral(a, member("B", referred_by="C"), referrals_so_far=0, cap=None,
                          referee_has_orders=False) is RefusalReason.ALREADY_REFERRED
    assert check_referral(a, b, referrals_so_far=2, cap=3, referee_has_orders=False) is None


def test_codes_carry_a_check_character_that_catches_typos():
    code = new_code(10, "C")
    assert len(code) == 11 and is_well_formed(code, "C")
    typo = code[:3] + ("A" if code[3] != "A" else "B") + code[4:]
    assert not is_well_formed(typo, "C")
    assert normalise_code(" c-" + code[1:].lower()) == code


def test_a_draw_is_reproducible_from_its_seed_whatever_the_input_order():
    people = [f"M{i}" for i in range(50)]
    a = draw(people, 3, seed=42)
    b = draw(list(reversed(people)), 3, seed=42)
    assert a == b and len(set(a.winners)) == 3 and a.eligible == 50
    assert draw(people, 3, seed=43).winners != a.winners
    assert sorted(draw(people[:2], 5, seed=1).winners) == people[:2]
