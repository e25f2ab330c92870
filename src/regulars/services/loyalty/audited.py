"""The loyalty programme's one front door: every write audited, every tier change published.

:class:`AuditedLoyaltyService` is the :class:`LoyaltyService` every channel gets (the HTTP
API through ``LoyaltyApi``, ``regulars points`` and ``regulars.open_loyalty()``), so that

- each write that succeeded is in the audit log (``regulars.services.audit``) with its caller
  (the API key, or the operating-system user of the CLI or of Python), its channel, its use
  case (``loyalty.redeem``, …), its subject and its outcome; a periodic run that stopped
  midway is recorded as ``incomplete`` with what it committed. The entry is written right
  after the write's own transaction committed (the ledger's transaction is the loyalty
  store's; the audit log is the API store's, and on SQLite two write transactions cannot
  nest). A use case called inside another (the steps of a run, an accrual inside an ingest)
  is covered by the outer one's entry.
- a write that changed a tier calls ``on_tier_change``: the server wakes its
  ``tier_changed`` publisher, the CLI and Python publish at once
  (``services.api.loyalty.TierEventPublisher``), so the event reaches the webhook outbox the
  same way whoever made the change.

The caller is the one set around the call (``services.audit.acting_as``: the HTTP API per
request, the CLI per command), else the service's own ``caller`` (Python's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from regulars.domain.loyalty.errors import RunIncompleteError
from regulars.domain.loyalty.ledger import Purchase
from regulars.domain.loyalty.programme import Programme
from regulars.services.audit import (
    AuditTrail,
    Caller,
    Outcome,
    current_caller,
    one_entry,
    written,
)
from regulars.services.loyalty.core import RUN_STEPS, Version
from regulars.services.loyalty.programmes import Part
from regulars.services.loyalty.results import (
    AccrualResult,
    AdjustmentResult,
    BonusResult,
    CancellationResult,
    CardIssued,
    CardResult,
    ClubResult,
    CouponUse,
    DrawResult,
    EnrolResult,
    PeriodicRun,
    RedemptionResult,
    ReturnResult,
    RunResult,
)
from regulars.services.loyalty.service import LoyaltyService

R = TypeVar("R")


def run_body(r: PeriodicRun) -> dict[str, Any]:
    """A periodic run as the API answers it and the audit log keeps it."""
    return {"as_of": r.as_of, "run_id": r.run_id or None, "dry_run": r.dry_run,
            "released_lots": r.released.items, "released_points": r.released.points,
            "expired_members": r.expired.members, "expired_lots": r.expired.items,
            "expired_points": r.expired.points, "tier_changes": list(r.tiers.details)}


def _batch(r: RunResult) -> dict[str, Any]:
    return {"members": r.members, "items": r.items, "points": r.points}


class AuditedLoyaltyService(LoyaltyService):
    """:class:`LoyaltyService`, audited and publishing tier changes (module docstring).

    ``audit`` None writes no audit entries (a store without the API's tables);
    ``on_tier_change`` None publishes nothing."""

    def __init__(self, *args: Any, audit: AuditTrail | None = None,
                 caller: Caller | None = None,
                 on_tier_change: Callable[[], object] | None = None,
                 on_close: Sequence[Callable[[], object]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit = audit
        self.caller = caller or Caller.python()
        self.on_tier_change = on_tier_change
        self._on_close = list(on_close)

    def close(self) -> None:
        # the audit store's connections first, the ledger's last
        for close in self._on_close:
            close()
        super().close()

    # -- the one way every write goes -------------------------------------------------------

    def _audited(self, use_case: str, work: Callable[[], R],
                 entry: Callable[[R], tuple[str, Outcome, Mapping[str, Any]]],
                 tiers_changed: Callable[[R], bool] = lambda _r: False) -> R:
        """Run ``work``; when it is the outermost use case, record ``entry(result)``
        (subject, outcome, detail) and say whether a tier changed."""
        with one_entry() as outermost:
            try:
                result = work()
            except RunIncompleteError as e:
                if outermost:  # what a run that stopped midway committed
                    self._record(use_case, "", Outcome.INCOMPLETE, {
                        "run_id": e.run_id, "as_of": e.as_of, "complete": False,
                        "stopped_while": e.step, "error": e.cause,
                        "committed": e.committed})
                    if e.committed.get("tiers", {}).get("items"):
                        self._tiers_changed()
                raise
        if outermost:
            subject, outcome, detail = entry(result)
            self._record(use_case, subject, outcome, detail)
            if tiers_changed(result):
                self._tiers_changed()
        return result

    def as_one(self, use_case: str, work: Callable[[], R],
               entry: Callable[[R], tuple[str, Outcome, Mapping[str, Any]]]) -> R:
        """Run a batch of use cases (``work``) as one audited use case: one entry,
        ``entry(result)``, for all it did (a bulk sync)."""
        return self._audited(use_case, work, entry)

    def _record(self, use_case: str, subject: str, outcome: Outcome,
                detail: Mapping[str, Any]) -> None:
        if self.audit is not None:
            self.audit.record(current_caller() or self.caller, use_case, subject=subject,
                              outcome=outcome, detail=detail)

    def _tiers_changed(self) -> None:
        if self.on_tier_change is not None:
            self.on_tier_change()

    # -- members ---------------------------------------------------------------------------

    def enrol(self, member_id: str, *, consent: bool = True, email: str | None = None,
              phone: str | None = None, birthday: date | None = None,
              referral_code: str | None = None,
              payment_fingerprint: str | None = None,
              card_number: str | None = None) -> EnrolResult:
        return self._audited("loyalty.enrol", lambda: super(AuditedLoyaltyService, self).enrol(
            member_id, consent=consent, email=email, phone=phone, birthday=birthday,
            referral_code=referral_code, payment_fingerprint=payment_fingerprint,
            card_number=card_number),
            lambda r: (r.member_id, written(r.replayed), {
                "consent": consent, "referred_by": r.referred_by,
                "bonus_points": r.bonus_points, "replayed": r.replayed,
                # only when given: enrolments without a card are recorded as before
                **({"card": card_number} if card_number else {})}))

    def give_card(self, member_id: str, card_number: str) -> CardIssued:
        return self._audited("loyalty.give_card", lambda: super(
            AuditedLoyaltyService, self).give_card(member_id, card_number),
            lambda r: (r.member_id, Outcome.CREATED if r.changed else Outcome.UNCHANGED, {
                "card": r.card_number, "previous": r.previous}))

    def enrol_many(self, people: Sequence[dict[str, Any]]) -> int:
        return self._audited("loyalty.enrol_many", lambda: super(
            AuditedLoyaltyService, self).enrol_many(people),
            lambda n: ("", Outcome.DONE, {"received": len(people), "enrolled": n}))

    def refer(self, member_id: str, code: str) -> EnrolResult:
        return self._audited("loyalty.refer", lambda: super(AuditedLoyaltyService, self).refer(
            member_id, code), lambda r: (r.member_id, written(r.replayed), {
                "code": code, "referred_by": r.referred_by, "replayed": r.replayed}))

    def set_consent(self, member_id: str, consent: bool) -> None:
        self._audited("loyalty.set_consent", lambda: super(
            AuditedLoyaltyService, self).set_consent(member_id, consent),
            lambda _r: (member_id, Outcome.DONE, {"consent": consent}))

    # -- earning and returns ---------------------------------------------------------------

    def accrue(self, purchase: Purchase) -> AccrualResult:
        return self._audited("loyalty.accrue", lambda: super(
            AuditedLoyaltyService, self).accrue(purchase),
            lambda r: (r.member_id, written(r.replayed), {
                "order_id": r.order_id, "points": r.points, "status": r.status,
                "replayed": r.replayed}),
            lambda r: not r.replayed and r.tier_before != r.tier_after)

    def accrue_many(self, purchases: Sequence[Purchase], *,
                    skip_unknown: bool = True) -> list[AccrualResult]:
        def entry(rs: list[AccrualResult]) -> tuple[str, Outcome, Mapping[str, Any]]:
            done = [r for r in rs if r.status != "skipped" and not r.replayed]
            return "", Outcome.DONE, {"orders": len(purchases), "accrued": len(done),
                                      "points": sum(r.points for r in done)}

        return self._audited("loyalty.accrue_many", lambda: super(
            AuditedLoyaltyService, self).accrue_many(purchases, skip_unknown=skip_unknown),
            entry, lambda rs: any(r.tier_before != r.tier_after for r in rs
                                  if not r.replayed and r.status != "skipped"))

    def record_return(self, return_id: str, order_id: str, amount: Decimal,
                      returned_at: datetime | None = None) -> ReturnResult:
        return self._audited("loyalty.return", lambda: super(
            AuditedLoyaltyService, self).record_return(return_id, order_id, amount,
                                                       returned_at=returned_at),
            lambda r: (r.member_id, written(r.replayed), {
                "return_id": r.return_id, "order_id": r.order_id,
                "points_reversed": r.points_reversed, "replayed": r.replayed}),
            lambda r: not r.replayed)

    def release_order(self, order_id: str) -> RunResult:
        return self._audited("loyalty.release_order", lambda: super(
            AuditedLoyaltyService, self).release_order(order_id),
            lambda r: (order_id, Outcome.DONE, _batch(r)))

    # -- the periodic run and its steps ----------------------------------------------------

    def release_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        return self._audited("loyalty.release", lambda: super(
            AuditedLoyaltyService, self).release_due(at, actor=actor),
            lambda r: ("", Outcome.DONE, _batch(r)))

    def expire_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        return self._audited("loyalty.expire", lambda: super(
            AuditedLoyaltyService, self).expire_due(at, actor=actor),
            lambda r: ("", Outcome.DONE, _batch(r)))

    def review_tiers(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        return self._audited("loyalty.review_tiers", lambda: super(
            AuditedLoyaltyService, self).review_tiers(at, actor=actor),
            lambda r: ("", Outcome.DONE, {**_batch(r), "tier_changes": list(r.details)}),
            lambda r: bool(r.items))

    def run(self, at: datetime | None = None, *, steps: Sequence[str] = RUN_STEPS,
            actor: str = "system", run_id: str | None = None) -> PeriodicRun:
        """The periodic run (:meth:`LoyaltyService.run`); one that stops midway is audited
        as ``incomplete`` with what it committed, then raised."""
        return self._audited("loyalty.run", lambda: super(
            AuditedLoyaltyService, self).run(at, steps=steps, actor=actor,
                                             run_id=run_id),
            lambda r: ("", Outcome.DONE, {**run_body(r), "complete": True}),
            lambda r: bool(r.tiers.details))

    # -- spending, coupons, adjustments ----------------------------------------------------

    def redeem(self, member_id: str, reward_code: str, *, key: str,
               at: datetime | None = None) -> RedemptionResult:
        return self._audited("loyalty.redeem", lambda: super(
            AuditedLoyaltyService, self).redeem(member_id, reward_code, key=key, at=at),
            lambda r: (r.member_id, written(r.replayed), {
                "reward": reward_code, "points": r.points, "coupon": r.coupon_code,
                "replayed": r.replayed}))

    def gift_coupon(self, member_id: str, reward_code: str, *, key: str,
                    at: datetime | None = None) -> RedemptionResult:
        return self._audited("loyalty.gift_coupon", lambda: super(
            AuditedLoyaltyService, self).gift_coupon(member_id, reward_code, key=key, at=at),
            lambda r: (r.member_id, written(r.replayed), {
                "reward": reward_code, "coupon": r.coupon_code, "replayed": r.replayed}))

    def spend(self, member_id: str, points: int, *, key: str, reason: str = "payment",
              at: datetime | None = None) -> RedemptionResult:
        return self._audited("loyalty.spend", lambda: super(
            AuditedLoyaltyService, self).spend(member_id, points, key=key, reason=reason, at=at),
            lambda r: (r.member_id, written(r.replayed), {
                "points": r.points, "reason": reason, "replayed": r.replayed}))

    def cancel_redemption(self, *, key: str | None = None, coupon_code: str | None = None,
                          reason: str = "cancelled", actor: str = "system",
                          at: datetime | None = None) -> CancellationResult:
        return self._audited("loyalty.cancel_redemption", lambda: super(
            AuditedLoyaltyService, self).cancel_redemption(
                key=key, coupon_code=coupon_code, reason=reason, actor=actor, at=at),
            lambda r: (r.member_id, written(r.replayed), {
                "coupon": r.coupon_code, "points_back": r.points_back,
                "points_lapsed": r.points_lapsed, "replayed": r.replayed}))

    def use_coupon(self, code: str, *, order_id: str, at: datetime | None = None,
                   key: str | None = None) -> CouponUse:
        return self._audited("loyalty.use_coupon", lambda: super(
            AuditedLoyaltyService, self).use_coupon(code, order_id=order_id, at=at, key=key),
            lambda r: (r.member_id, written(r.replayed), {
                "coupon": r.code, "order_id": order_id, "replayed": r.replayed}))

    def adjust(self, member_id: str, points: int, *, reason: str, actor: str,
               key: str) -> AdjustmentResult:
        return self._audited("loyalty.adjust", lambda: super(
            AuditedLoyaltyService, self).adjust(member_id, points, reason=reason, actor=actor,
                                                key=key),
            lambda r: (r.member_id, written(r.replayed), {
                "points": points, "reason": reason, "replayed": r.replayed}))

    def award_bonus(self, member_id: str, event: str, *, key: str | None = None,
                    at: datetime | None = None) -> BonusResult:
        return self._audited("loyalty.bonus", lambda: super(
            AuditedLoyaltyService, self).award_bonus(member_id, event, key=key, at=at),
            lambda r: (r.member_id, written(r.replayed), {
                "event": r.event, "points": r.points, "replayed": r.replayed}))

    # -- club, stored value, offers --------------------------------------------------------

    def join_club(self, member_id: str, *, payment_ref: str) -> ClubResult:
        return self._audited("loyalty.join_club", lambda: super(
            AuditedLoyaltyService, self).join_club(member_id, payment_ref=payment_ref),
            lambda r: (r.member_id, written(r.replayed), {
                "payment_ref": r.payment_ref, "fee": r.fee, "club_until": r.club_until,
                "replayed": r.replayed}))

    def _audited_card(self, use_case: str, work: Callable[[], CardResult]) -> CardResult:
        return self._audited(use_case, work, lambda r: (r.member_id, written(r.replayed), {
            "ref": r.ref, "kind": r.kind, "amount": r.amount, "replayed": r.replayed}))

    def top_up(self, member_id: str, amount: Decimal, *, ref: str,
               payment_method: str) -> CardResult:
        return self._audited_card("loyalty.card_top_up", lambda: super(
            AuditedLoyaltyService, self).top_up(member_id, amount, ref=ref,
                                                payment_method=payment_method))

    def pay_with_card(self, member_id: str, amount: Decimal, *, ref: str) -> CardResult:
        return self._audited_card("loyalty.card_pay", lambda: super(
            AuditedLoyaltyService, self).pay_with_card(member_id, amount, ref=ref))

    def refund_to_card(self, member_id: str, amount: Decimal, *, ref: str,
                       original_ref: str) -> CardResult:
        return self._audited_card("loyalty.card_refund", lambda: super(
            AuditedLoyaltyService, self).refund_to_card(member_id, amount, ref=ref,
                                                        original_ref=original_ref))

    def run_offer(self, name: str, *, run_key: str | None = None, seed: int | None = None,
                  at: datetime | None = None) -> DrawResult:
        return self._audited("loyalty.offer", lambda: super(
            AuditedLoyaltyService, self).run_offer(name, run_key=run_key, seed=seed, at=at),
            lambda r: (r.offer, written(r.replayed), {
                "run_key": r.run_key, "eligible": r.eligible, "issued": len(r.issued),
                "seed": r.seed, "replayed": r.replayed}))

    # -- the programme's versions ------------------------------------------------------------

    def save_programme(self, change: Callable[[Programme], Programme], *, base_version: int,
                       part: Part, author: str, note: str | None = None,
                       starts: date | None = None) -> Version | None:
        return self._audited("loyalty.programme", lambda: super(
            AuditedLoyaltyService, self).save_programme(change, base_version=base_version,
                                                        part=part, author=author, note=note,
                                                        starts=starts),
            lambda v: (f"v{v.number}" if v else "", Outcome.CREATED if v else Outcome.UNCHANGED,
                       {"base_version": base_version, "author": author, "note": note,
                        "effective_from": v.effective_from if v else None}))

    def adopt_file(self, *, author: str, note: str | None = None) -> Version:
        return self._audited("loyalty.programme_adopt_file", lambda: super(
            AuditedLoyaltyService, self).adopt_file(author=author, note=note),
            lambda v: (f"v{v.number}", Outcome.CREATED, {
                "author": author, "note": note, "effective_from": v.effective_from}))
