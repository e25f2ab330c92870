"""Property tests through the services on a real database: random sequences of orders,
returns, redemptions, expiries and adjustments — each call also replayed — keep the books
balanced, never leave a lot negative, never let a return create points, and a replay never
changes anything."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulars.domain.loyalty import (
    InsufficientPointsError,
    Release,
    ReturnedSpentPoints,
    Reward,
    RewardError,
    RewardKind,
)

from ...support.loyalty import order

_ids = itertools.count()

steps = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(1, 400)),
        st.tuples(st.just("return"), st.integers(0, 10), st.integers(1, 100)),
        st.tuples(st.just("redeem"), st.integers(1, 500)),
        st.tuples(st.just("expire")),
        st.tuples(st.just("release")),
        st.tuples(st.just("adjust"), st.integers(-200, 200).filter(bool)),
        st.tuples(st.just("wait"), st.integers(1, 200)),
    ),
    min_size=1,
    max_size=25,
)


def snapshot(service, member):
    s = service.statement(member, history=1000)
    return (s.balance, s.pending, s.debt, s.deficit, len(s.history))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=steps, policy=st.sampled_from(list(ReturnedSpentPoints)))
def test_random_histories_through_the_services(make_service, clock, steps, policy):
    service = make_service(returned_spent_points=policy, expiry_days=60, bonus_sign_up=0)
    member = f"M{next(_ids)}"
    service.enrol(member)
    orders: list[str] = []
    for n, step in enumerate(steps):
        key = f"{member}-{n}"
        before = snapshot(service, member)

        def call(step=step, key=key):
            kind = step[0]
            if kind == "order":
                orders.append(key) if key not in orders else None
                return service.accrue(order(key, member, step[1], clock.at))
            if kind == "return" and orders:
                target = orders[step[1] % len(orders)]
                return service.record_return(key, target, Decimal(step[2]))
            if kind == "redeem":
                return service.spend(member, step[1], key=key)
            if kind == "expire":
                return service.expire_due()
            if kind == "release":
                return service.release_due()
            if kind == "adjust":
                return service.adjust(member, step[1], reason="test", actor="hypothesis",
                                      key=key)
            if kind == "wait":
                clock.advance(days=step[1])
            return None

        try:
            first = call()
        except InsufficientPointsError:
            assert snapshot(service, member) == before  # a refusal writes nothing
            continue
        if step[0] == "wait":
            continue  # time passing is not a call to replay (lots may expire meanwhile)
        after = snapshot(service, member)
        if step[0] == "return":
            # a return never creates points
            assert after[0] <= before[0] and after[1] <= before[1]
        # replaying the same call changes nothing and returns the original result
        again = call()
        assert snapshot(service, member) == after
        if first is not None and hasattr(first, "replayed") and step[0] not in (
                "expire", "release"):
            assert again.replayed and again == type(first)(**{**first.__dict__,
                                                             "replayed": True})
        assert service.account_problems(member) == []
        if policy is ReturnedSpentPoints.RECORD_DEFICIT:
            assert after[0] >= 0
    assert service.verify() == []
    clock.advance(days=-sum(s[1] for s in steps if s[0] == "wait"))


limited = st.lists(
    st.one_of(
        st.tuples(st.just("redeem"), st.integers(0, 3)),
        st.tuples(st.just("redeem"), st.integers(0, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(steps=limited, stock=st.integers(1, 4), per_member=st.one_of(st.none(),
                                                                   st.integers(1, 2)))
def test_a_limited_reward_never_goes_beyond_its_stock_or_a_members_limit(
        make_service, steps, stock, per_member):
    """Four members redeem a reward with a stock and cancel redemptions in any order: the
    redemptions standing never exceed the stock nor, per member, the limit; what the catalogue
    says is left is the stock minus those standing; the books balance."""
    n = next(_ids)
    mug = Reward(f"mug{n}", "a mug", RewardKind.GIFT, 10, stock=stock, per_member=per_member)
    service = make_service(rewards=(mug,), release=Release.IMMEDIATELY, bonus_sign_up=0)
    members = [f"L{n}-{i}" for i in range(4)]
    for m in members:
        service.enrol(m)
        service.accrue(order(f"{m}-o", m, 1000))
    standing: list[tuple[str, str]] = []  # (member, coupon)
    for k, step in enumerate(steps):
        if step[0] == "redeem":
            member = members[step[1]]
            mine = sum(1 for m, _c in standing if m == member)
            try:
                r = service.redeem(member, mug.code, key=f"{member}-{k}")
            except RewardError:  # out of stock, or the member's limit
                assert len(standing) >= stock or (per_member is not None
                                                  and mine >= per_member)
            else:
                assert len(standing) < stock and (per_member is None or mine < per_member)
                standing.append((member, r.coupon_code))
        elif step[0] == "cancel" and standing:
            _member, code = standing.pop(step[1] % len(standing))
            service.cancel_redemption(coupon_code=code, actor="test")
        assert service.stock_left() == {mug.code: stock - len(standing)}
    assert service.verify() == []
