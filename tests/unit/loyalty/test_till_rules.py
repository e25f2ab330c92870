"""The till's rules on the in-memory store: card numbers as kept, a card given once and to
one member, members found by id, card and phone, and the rewards a member can afford now or
next, as the redemption would judge them (expectations computed by hand)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from regulars.domain.loyalty import Reward, RewardKind
from regulars.domain.loyalty.codes import normalise_card
from regulars.domain.loyalty.errors import CardError, IdempotencyConflictError
from regulars.entrypoints.web.pages.till import parse_amount
from regulars.services.till import looks_like_phone, reward_options

from ...support.loyalty import programme


@pytest.mark.parametrize(("typed", "kept"), [
    ("card0001", "CARD0001"), (" 7 000-123 ", "7000123"), ("12.34.56", "123456"),
    ("abc", None), ("x" * 33, None), ("ÄÖ12", None), ("12/34", None), ("", None)])
def test_a_card_number_is_kept_upper_case_without_separators(typed, kept):
    assert normalise_card(typed) == kept


@pytest.mark.parametrize(("typed", "phone"), [
    ("+372 5551 0001", True), ("(372) 5551-0001", True), ("5551", False), ("M001", False),
    ("CARD0001", False), ("12345", True)])
def test_what_looks_like_a_phone(typed, phone):
    assert looks_like_phone(typed) is phone


@pytest.mark.parametrize(("typed", "amount"), [
    ("12,50", Decimal("12.50")), ("1 234,5", Decimal("1234.5")), ("0.01", Decimal("0.01")),
    ("0", None), ("-1", None), ("12.345", None), ("abc", None), ("", None), ("NaN", None),
    ("Infinity", None), ("10000000", None), ("1e3", Decimal("1E+3"))])
def test_an_amount_as_a_cashier_types_it(typed, amount):
    assert parse_amount(typed) == amount


def test_a_card_is_given_at_enrolment_or_later_and_to_one_member_only(service):
    service.enrol("a", phone="+372 5551 0001", card_number="card-0001")
    service.enrol("b", phone="+372 5551 0001")
    assert service.statement("a").member_id == "a"
    with pytest.raises(CardError, match="belongs to another member"):
        service.give_card("b", "CARD0001")
    with pytest.raises(CardError, match="belongs to another member"):
        service.enrol("c", card_number="card0001")
    with pytest.raises(CardError, match="not a card number"):
        service.give_card("b", "x!")
    given = service.give_card("b", "7000 123")
    assert (given.card_number, given.previous, given.changed) == ("7000123", None, True)
    again = service.give_card("b", "7000123")
    assert again.changed is False
    swapped = service.give_card("b", "7000124")
    assert (swapped.previous, swapped.changed) == ("7000123", True)
    assert service.find_members(card="7000123") == []  # the old card names nobody now


def test_an_enrolment_with_a_card_replays_as_it_was(service):
    first = service.enrol("a", card_number="CARD0001")
    assert service.enrol("a", card_number="card0001").replayed is True
    with pytest.raises(IdempotencyConflictError):
        service.enrol("a", card_number="CARD0002")
    assert first.replayed is False


def test_members_are_found_by_id_card_and_phone_each_once(service):
    service.enrol("a", phone="+372 5551 0001", card_number="5551 0001")
    service.enrol("b", phone="+3725551 0001")
    service.enrol("c", phone="+372 5551 0002")
    found = service.find_members(member_id="x", card="55510001", phone="+372 5551 0001")
    # "a" matched by its card first (then by phone: listed once), "b" by phone
    assert [(how, m.member_id) for how, m in found] == [("card", "a"), ("phone", "b")]
    assert [m.member_id for _h, m in service.find_members(member_id="c")] == ["c"]
    assert service.find_members(phone="+372 5551 0001", limit=1)[0][1].member_id == "a"
    assert service.find_members(member_id="nobody", card="NOPE1", phone="999999") == []


REWARDS = (
    Reward("r100", "100-point reward", RewardKind.DISCOUNT_COUPON, 100, value=Decimal(5)),
    Reward("gift", "a gift", RewardKind.GIFT, 300),
    Reward("gold", "for gold", RewardKind.GIFT, 50, min_tier="gold"),
    Reward("few", "limited", RewardKind.GIFT, 10, stock=2),
    Reward("once", "once each", RewardKind.GIFT, 20, per_member=1),
)


def test_rewards_now_and_next_as_the_redemption_would_judge_them():
    prog = replace(programme(), rewards=REWARDS)
    options = {o.code: o for o in reward_options(
        prog, tier="silver", balance=150, consent=True, stock_left={"few": 0},
        redeemed={"once": 1})}
    # 150 points: r100 now; the gift 150 short; gold needs a tier; the stock is gone; the
    # one-per-member reward was had
    assert options["r100"].affordable and options["r100"].missing == 0
    assert (options["gift"].affordable, options["gift"].missing) == (False, 150)
    assert options["gift"].blocked is None
    assert [(c, options[c].blocked) for c in ("gold", "few", "once")] == [
        ("gold", "tier"), ("few", "stock"), ("once", "limit")]
    gold = reward_options(prog, tier="gold", balance=150, consent=True, stock_left={"few": 1},
                          redeemed={})
    assert all(o.affordable for o in gold if o.code != "gift")
    nobody = reward_options(prog, tier="gold", balance=1000, consent=False, stock_left={},
                            redeemed={})
    assert {o.blocked for o in nobody} == {"consent"}
