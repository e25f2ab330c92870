"""The four public bugs of other loyalty engines, as regression tests (issue 5).

* saleor/saleor#544 — concurrent redemptions overspent a limit;
* odoo/odoo PR 222372 — a retried confirmation credited the points twice;
* odoo/odoo PR 257854 — a refund let the customer keep the points;
* DivanteLtd/open-loyalty#131 — the tier was computed from the spendable balance.

The three that are not races are the scenarios of ``tests/support/loyalty_public_bugs.py``,
run on the in-memory store as well.
"""

from __future__ import annotations

import pytest

from ...support.loyalty import order
from ...support.loyalty_public_bugs import *  # noqa: F403 (the scenarios, collected here)
from . import _workers

PROCESSES = 50


@pytest.fixture
def raced(database_url):
    """A service on the test's database for the races: the test disposes of its pooled
    connections before the processes fork; they are closed at the end, pass or fail."""
    svc = _workers.service(database_url)
    svc.store.ensure_schema()
    yield svc
    svc.close()


def test_saleor_544_concurrent_redemptions_cannot_overspend(raced, database_url):
    """50 separate processes redeem a 100-point reward at once against a balance of 1,000:
    exactly 10 succeed, and the books still balance."""
    svc = raced
    svc.enrol("M")
    svc.accrue(order("O1", "M", 1000))
    assert svc.statement("M").balance == 1000 + svc.programme.bonus_sign_up
    svc.store.dispose()  # no pooled connection of ours crosses the fork
    outcomes = _workers.race(database_url, "M", [f"k{i}" for i in range(PROCESSES)])
    won = [o for o in outcomes if o.startswith("ok:")]
    assert len(won) == 10, outcomes
    assert outcomes.count("refused") == PROCESSES - 10
    assert len({o.split(":")[1] for o in won}) == 10  # ten distinct coupons
    statement = svc.statement("M", history=100)
    assert statement.balance == 0
    assert [line.kind for line in statement.history].count("redeem") == 10
    assert svc.verify() == []


@pytest.mark.parametrize("n", [PROCESSES])
def test_concurrent_retries_of_one_redemption_spend_once(raced, database_url, n):
    """The same idempotency key sent from many processes at once redeems once; every
    caller gets the same coupon back."""
    svc = raced
    svc.enrol("M")
    svc.accrue(order("O1", "M", 1000))
    svc.store.dispose()
    outcomes = _workers.race(database_url, "M", ["same-key"] * n)
    coupons = {o.split(":")[1] for o in outcomes}
    assert len(coupons) == 1, outcomes
    assert sum(o.endswith(":0") for o in outcomes) == 1  # one original, the rest replays
    assert svc.statement("M").balance == 1000 - 100
    assert svc.verify() == []


def test_a_coupon_used_while_its_redemption_is_cancelled_is_one_or_the_other(raced,
                                                                            database_url):
    """For each of 8 coupons, one process uses it at the till while another cancels its
    redemption, released together: exactly one of the two succeeds, the points come back
    only for the coupons that were not used, and the books balance."""
    svc = raced
    svc.enrol("M")
    svc.accrue(order("O1", "M", 800))
    start = svc.statement("M").balance
    codes = [svc.redeem("M", "r100", key=f"k{i}").coupon_code for i in range(8)]
    svc.store.dispose()
    outcomes = _workers.use_cancel_race(database_url, codes)
    assert not [o for o in outcomes if o.startswith("error")], outcomes
    cancelled = []
    for code in codes:
        mine = sorted(o.split(":")[0] for o in outcomes
                      if o.split(":")[1] == code and o.endswith(":ok"))
        assert len(mine) == 1, (code, outcomes)
        if mine == ["cancel"]:
            cancelled.append(code)
    assert svc.statement("M").balance == start - 800 + 100 * len(cancelled)
    assert svc.verify() == []


def test_members_racing_for_the_last_items_of_a_reward_get_exactly_the_stock(raced,
                                                                            database_url):
    """12 members, each in their own process, redeem a reward of which 4 exist, at once:
    exactly 4 succeed (the stock's row is taken in the redeeming transaction)."""
    svc = raced
    members = [f"M{i}" for i in range(12)]
    for m in members:
        svc.enrol(m)
        svc.accrue(order(f"O-{m}", m, 200))
    svc.store.dispose()
    outcomes = _workers.together(_workers.redeem_a_mug,
                                 [(database_url, m, f"mug-{m}") for m in members])
    assert sum(o.startswith("ok:") for o in outcomes) == 4, outcomes
    assert outcomes.count("refused") == 8
    assert svc.stock_left() == {"mug": 0}
    assert svc.verify() == []
