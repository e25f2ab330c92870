"""Functions run in separate processes by the concurrency tests (picklable, top level)."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from regulars.adapters.db.loyalty_store import SqlLoyaltyStore
from regulars.domain.loyalty import (
    InsufficientPointsError,
    OutOfStockError,
    Programme,
    Reward,
    RewardError,
    RewardKind,
    Tier,
)
from regulars.services.loyalty import LoyaltyService

PROGRAMME = Programme(
    release="immediately",  # type: ignore[arg-type]
    # the rules these tests were written against: no bonuses and no referral points (the
    # domain's defaults before they became the shipped programme's)
    bonus_sign_up=0, bonus_birthday=0, bonus_review=0, bonus_nps_answer=0,
    referrer_points=0, referee_points=0, max_referrals_per_referrer=None,
    tiers=(Tier("base", Decimal(0)),),
    rewards=(Reward("r100", "100-point reward", RewardKind.DISCOUNT_COUPON, 100,
                    value=Decimal(5)),
             Reward("mug", "one of four mugs", RewardKind.GIFT, 100, stock=4)),
)
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def service(url: str) -> LoyaltyService:
    return LoyaltyService(SqlLoyaltyStore(url), PROGRAMME, clock=lambda: NOW)


def redeem(url: str, member: str, key: str, barrier: Any, results: Any,
           reward: str = "r100") -> None:
    """Wait at the barrier, then redeem; report ``ok:<coupon>:<replayed>``, ``refused`` (not
    enough points, or out of stock) or the error."""
    try:
        svc = service(url)
        svc.versions()  # connect and read the programme before the race starts
        barrier.wait()
        try:
            r = svc.redeem(member, reward, key=key)
            outcome = f"ok:{r.coupon_code}:{int(r.replayed)}"
        except (InsufficientPointsError, OutOfStockError):
            outcome = "refused"
        svc.store.dispose()  # type: ignore[attr-defined]
    except BaseException as e:  # the test shows it
        outcome = f"error:{e!r}"
    results.put(outcome)


def race(url: str, member: str, keys: list[str]) -> list[str]:
    """Redeem once per key, each from its own process, all released at the same moment."""
    return together(redeem, [(url, member, k) for k in keys])


def redeem_a_mug(url: str, member: str, key: str, barrier: Any, results: Any) -> None:
    redeem(url, member, key, barrier, results, reward="mug")


def together(target: Any, argsets: list[tuple[Any, ...]]) -> list[str]:
    """Run ``target(*args, barrier, results)`` once per argument set, each in its own process,
    all released at the same moment by the barrier; the outcomes they report."""
    # Forked from a fork server that imported this module once: a child of the pytest worker
    # itself would share (and, as its garbage collector touches every object, copy) all the
    # worker has grown to -- over a gigabyte after the web pages' tests -- and twenty-four of
    # those ran the machine out of memory.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    barrier = ctx.Barrier(len(argsets))
    results = ctx.SimpleQueue()
    procs = [ctx.Process(target=target, args=(*args, barrier, results)) for args in argsets]
    for p in procs:
        p.start()
    outcomes = [results.get() for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return outcomes


def use_or_cancel(url: str, code: str, action: str, barrier: Any, results: Any) -> None:
    """Wait at the barrier, then use the coupon or cancel its redemption; report
    ``<action>:<code>:ok``, ``<action>:<code>:refused`` or the error."""
    try:
        svc = service(url)
        svc.versions()
        barrier.wait()
        try:
            if action == "use":
                svc.use_coupon(code, order_id=f"O-{code}")
            else:
                svc.cancel_redemption(coupon_code=code, reason="race", actor="test")
            outcome = f"{action}:{code}:ok"
        except RewardError:
            outcome = f"{action}:{code}:refused"
        svc.store.dispose()  # type: ignore[attr-defined]
    except BaseException as e:  # the test shows it
        outcome = f"error:{e!r}"
    results.put(outcome)


def use_cancel_race(url: str, codes: list[str]) -> list[str]:
    """For every coupon, one process uses it while another cancels its redemption, all
    released at the same moment."""
    return together(use_or_cancel, [(url, code, action) for code in codes
                                    for action in ("use", "cancel")])
