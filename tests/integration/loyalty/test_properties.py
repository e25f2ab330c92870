"""Property tests through the services on a real database: random sequences of orders,
returns, redemptions, expiries and adjustments — each call also replayed — keep the books
balanced, never leave a lot negative, never let a return create points, and a replay never
changes anything."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regulars.domain.loyalty import InsufficientPointsError, ReturnedSpentPoints

from .conftest import order

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
