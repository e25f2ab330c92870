"""Crediting the points of orders, many per transaction, each once (keyed by the order)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from regulars.domain.loyalty.earning import (
    PeriodUsage,
    credit_order,
    punch,
    punch_units,
    qualifying_total,
    upgrade_at_once,
)
from regulars.domain.loyalty.errors import (
    ConsentRequiredError,
    IdempotencyConflictError,
    LoyaltyError,
    UnknownMemberError,
)
from regulars.domain.loyalty.ledger import Account, Member, Purchase
from regulars.domain.loyalty.programme import Programme, Release, aware
from regulars.i18n import _
from regulars.services.loyalty.core import DATA_ERRORS, RETRIES, LoyaltyCore, fingerprint
from regulars.services.loyalty.ports import Accrual, Coupon, DuplicateKey, LoyaltyTx, Operation
from regulars.services.loyalty.results import AccrualResult, from_json, to_json


class Earning(LoyaltyCore):
    """Accruing orders: caps and budgets, tiers at once, punch cards; each order once.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def accrue(self, purchase: Purchase) -> AccrualResult:
        """Credit the points of one order (pending until its return window closes).

        Raises :class:`UnknownMemberError` or :class:`ConsentRequiredError` when the
        customer cannot earn, and :class:`IdempotencyConflictError` when the order id was
        already accrued with other content. Accruing the same order again returns the first
        result (``replayed=True``).
        """
        result = self.accrue_many([purchase], skip_unknown=False)[0]
        return result

    def accrue_many(self, purchases: Sequence[Purchase], *,
                    skip_unknown: bool = True) -> list[AccrualResult]:
        """Credit many orders, ``chunk`` per transaction, in the order given.

        With ``skip_unknown``, orders of non-members, of members without consent and
        conflicting re-sends are returned as ``skipped`` instead of raising.
        """
        self.versions()
        out: list[AccrualResult] = []
        for i in range(0, len(purchases), self.chunk):
            out += self._accrue_isolating(purchases[i : i + self.chunk], skip_unknown)
        return out

    def _accrue_isolating(self, part: Sequence[Purchase],
                          skip_unknown: bool) -> list[AccrualResult]:
        """Accrue ``part`` in one transaction; when one order's data makes the accrual fail
        (a date so far out that its return window or expiry overflows the calendar, …), the
        chunk is rolled back and its orders accrued one by one, so that order alone is
        skipped as ``unprocessable`` (or, without ``skip_unknown``, refused) and everyone
        else's points are still credited."""
        try:
            return self._accrue_retrying(part, skip_unknown)
        except DATA_ERRORS as e:
            if len(part) > 1:
                return [r for p in part for r in self._accrue_isolating([p], skip_unknown)]
            p = part[0]
            problem = str(e).strip() or type(e).__name__
            if not skip_unknown:
                raise LoyaltyError(_("order {id} cannot be accrued: {problem}").format(
                    id=p.order_id, problem=problem)) from e
            return [AccrualResult(p.order_id, p.member_id, 0, "skipped",
                                  skipped_reason="unprocessable", problem=problem)]

    def _accrue_retrying(self, part: Sequence[Purchase],
                         skip_unknown: bool) -> list[AccrualResult]:
        for _attempt in range(RETRIES):
            try:
                return self._accrue_chunk(part, skip_unknown)
            except DuplicateKey:
                continue
        raise LoyaltyError(_("too many conflicting writes; try again"))

    def _accrue_chunk(self, chunk: Sequence[Purchase], skip_unknown: bool) -> list[AccrualResult]:
        results: dict[int, AccrualResult] = {}
        with self.store.transaction() as tx:
            now = self.now()
            members = tx.members({p.member_id for p in chunk}, lock=True)
            keys = [f"order:{p.order_id}" for p in chunk]
            prior = tx.operations(keys)
            seen: dict[str, str] = {}
            todo: list[tuple[int, Purchase, str]] = []
            for i, p in enumerate(chunk):
                key, fp = keys[i], fingerprint("accrue", _purchase_request(p))
                done = prior.get(key)
                if done is not None or key in seen:
                    old = _resent(p, fp, done, seen.get(key), skip_unknown)
                    if old is not None:
                        results[i] = old
                    continue
                refused = _cannot_earn(p, members.get(p.member_id), skip_unknown)
                if refused is not None:
                    results[i] = refused
                    continue
                seen[key] = fp
                todo.append((i, p, fp))
            if todo:
                fresh = self._earn(tx, [(p, fp) for _i, p, fp in todo], members, now)
                for (i, _p, _fp), r in zip(todo, fresh, strict=True):
                    results[i] = r
                # duplicates inside the chunk replay the first
                for i, p in enumerate(chunk):
                    if i not in results:
                        first = next(r for r in fresh if r.order_id == p.order_id)
                        results[i] = replace(first, replayed=True)
                tx.commit()
        return [results[i] for i in range(len(chunk))]

    def _earn(self, tx: LoyaltyTx, todo: list[tuple[Purchase, str]], members: dict[str, Member],
              now: datetime) -> list[AccrualResult]:
        """Credit ``todo`` (orders not seen before, of members who may earn) in ``tx``."""
        batch = self._earning_batch(tx, todo, members)
        results: list[AccrualResult] = []
        for p, fp in todo:
            result = self._earn_one(batch, p, now)
            results.append(result)
            batch.ops.append(Operation(f"order:{p.order_id}", "accrue", p.member_id, fp,
                                       to_json(result)))
        tx.add_accruals(batch.accruals)
        tx.save_accounts(list(batch.accounts.values()))
        tx.add_tier_changes(batch.tier_rows)
        if batch.punch_changed:
            tx.save_punches(batch.punch_changed, set(batch.punches))
        tx.add_coupons(batch.coupons)
        tx.add_operations(batch.ops, now)
        return results

    def _earning_batch(self, tx: LoyaltyTx, todo: list[tuple[Purchase, str]],
                       members: dict[str, Member]) -> _Batch:
        """What earning ``todo`` reads first: accounts, the history tiers qualify on (for
        upgrades at once), the cap and budget periods' usage, the punch cards."""
        member_ids = {p.member_id for p, _fp in todo}
        batch = _Batch({m: Account.of(members[m]) for m in member_ids},
                       PeriodUsage(self._period_usage(tx, todo)))
        if len(self.programme.tiers) > 1:
            start = min(aware(p.ordered_at) for p, _fp in todo) - timedelta(
                days=max(v.programme.tier_window_days for v in self.versions()))
            for a in tx.accrual_history(member_ids, start):
                batch.history[a.member_id].append(a)
        if self.programme.punch_cards:
            batch.punches = tx.punches(member_ids)
        return batch

    def _earn_one(self, batch: _Batch, p: Purchase, now: datetime) -> AccrualResult:
        """One order under the version in force when it was placed: its points within the
        periods' caps, its lot, an upgrade at once, its punch cards."""
        version = self.version_at(p.ordered_at)
        prog = version.programme
        account = batch.accounts[p.member_id]
        member = account.member
        at = aware(p.ordered_at)
        tier_before = member.tier
        q = batch.usage.quote(prog, p, member)
        lot = credit_order(account, prog, p, q, version.number)
        accrual = Accrual(p.order_id, p.member_id, at, p.amount, Decimal(0), q.points, 0,
                          lot.lot_ref, version.number, p.payment_fingerprint)
        batch.accruals.append(accrual)
        batch.history[p.member_id].append(accrual)
        qualifying = qualifying_total(prog, batch.history[p.member_id], at)
        decision = upgrade_at_once(prog, member, qualifying, at, now)
        if decision is not None and decision.change == "upgrade":
            batch.tier_rows.append({"member_id": p.member_id, "at": at, "from_tier": tier_before,
                                    "to_tier": decision.tier, "change": "upgrade",
                                    "qualifying": qualifying})
        issued = self._punch_cards(batch, prog, p, at)
        immediate = prog.release is Release.IMMEDIATELY
        return AccrualResult(
            p.order_id, p.member_id, q.points,
            "available" if immediate else "pending", lot.available_at, lot.expires_at,
            version.number, q.uncapped, q.factors, q.capped_by, tier_before, member.tier,
            tuple(issued))

    def _punch_cards(self, batch: _Batch, prog: Programme, p: Purchase,
                     at: datetime) -> list[str]:
        """Count the order's units on its punch cards; the codes of the coupons completed."""
        issued: list[str] = []
        for card in prog.punch_cards:
            units = punch_units(card.category, card.sku, p)
            if not units:
                continue
            k = (p.member_id, card.name)
            count, rewarded = batch.punch_changed.get(k) or batch.punches.get(k) or (0, 0)
            count, rewarded, fresh = punch(count, rewarded, units, card.every)
            reward = prog.reward(card.reward)
            for n in fresh:
                if reward is None:
                    continue  # a card naming a reward no longer in the catalogue counts on
                c = self._coupon(p.member_id, reward.code, reward.kind.value, reward.value,
                                 reward.percent, at, reward.valid_days,
                                 f"punch:{p.member_id}:{card.name}:{n}")
                batch.coupons.append(c)
                issued.append(c.code)
            batch.punch_changed[k] = (count, rewarded)
        return issued

    def _period_usage(self, tx: LoyaltyTx,
                      todo: list[tuple[Purchase, str]]) -> dict[tuple[str, str], int]:
        """Points already earned in the cap and budget periods the orders fall in."""
        used: dict[tuple[str, str], int] = {}
        for p, _fp in todo:
            prog = self.version_at(p.ordered_at).programme
            at = aware(p.ordered_at)
            if prog.cap_points_per_member is not None:
                key = PeriodUsage.member_key(prog, p.member_id, at)
                if key not in used:
                    sums = tx.earned_since([p.member_id], prog.period_start(at, prog.cap_period))
                    used[key] = sums.get(p.member_id, 0)
            if prog.budget_points is not None:
                key = PeriodUsage.budget_key(prog, at)
                if key not in used:
                    start = prog.period_start(at, prog.budget_period)
                    used[key] = sum(tx.earned_since(None, start).values())
        return used


@dataclass
class _Batch:
    """The state of one transaction's earning: what was read, and what is to be written."""

    accounts: dict[str, Account]
    usage: PeriodUsage
    history: dict[str, list[Accrual]] = field(default_factory=lambda: defaultdict(list))
    punches: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    punch_changed: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    accruals: list[Accrual] = field(default_factory=list)
    tier_rows: list[dict[str, Any]] = field(default_factory=list)
    coupons: list[Coupon] = field(default_factory=list)
    ops: list[Operation] = field(default_factory=list)


def _resent(p: Purchase, fp: str, done: Operation | None, seen_fp: str | None,
            skip_unknown: bool) -> AccrualResult | None:
    """An order accrued before (``done``) or earlier in this chunk (``seen_fp``): the first
    result again, a conflict when its content differs, or None for a duplicate inside the
    chunk (it replays the first once that is earned)."""
    old = done.fingerprint if done is not None else seen_fp
    if old != fp:
        if not skip_unknown:
            raise IdempotencyConflictError(
                _("order {id} was already accrued with other content").format(id=p.order_id))
        return AccrualResult(p.order_id, p.member_id, 0, "skipped", skipped_reason="conflict")
    if done is not None:
        return from_json(AccrualResult, done.result, replayed=True)
    return None


def _cannot_earn(p: Purchase, member: Member | None, skip_unknown: bool) -> AccrualResult | None:
    """Why ``member`` cannot earn on ``p`` (not enrolled, no consent), as a skipped result or
    raised; None when they can."""
    if member is not None and member.consent:
        return None
    if not skip_unknown:
        if member is None:
            raise UnknownMemberError(_("no member {id} in the programme").format(id=p.member_id))
        raise ConsentRequiredError(_("member {id} has not opted in").format(id=p.member_id))
    reason = "not_enrolled" if member is None else "no_consent"
    return AccrualResult(p.order_id, p.member_id, 0, "skipped", skipped_reason=reason)


def _purchase_request(p: Purchase) -> dict[str, Any]:
    # what makes an order the same order: not the moment it was sent (a retry sent later, or
    # without a time, is the same confirmation)
    return {"member": p.member_id,
            "amount": str(p.amount.normalize()), "lines": [
                [str(ln.amount), ln.category, ln.sku, ln.quantity] for ln in p.lines],
            "categories": sorted(p.categories), "payment": p.payment_fingerprint,
            "quantity": p.quantity}
