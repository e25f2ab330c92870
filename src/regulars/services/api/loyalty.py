"""The loyalty programme over HTTP: statements, quotes, redemptions, enrolment, adjustments,
referral lookup, tier progress, and the accrual of orders and returns received by ingest.

Accrual happens **within the ingest request**. Where the ledger lives in the ingest's own
database (the server's case: ``join`` is the loyalty store's ``joining``), it is written inside
the ingest's transaction (:meth:`LoyaltyApi.accrue_within`): the orders, their points, the
audit row and the kept answer commit together, one ``BEGIN … COMMIT`` on one connection, and a
failed accrual rolls the ingest back with it. Otherwise (a ledger elsewhere) it runs after
the ingest transaction has committed, in a second, short transaction of the loyalty store
(:meth:`LoyaltyApi.accrue_ingested`). Either way the loyalty service is keyed by order id and
return id, so accruing a retried or replayed request again changes nothing; when the accrual
fails the request answers with an error, and the client's retry accrues what is missing.

Writes are keyed by the caller's ``Idempotency-Key`` (namespaced by the API key), recorded by
the loyalty service under a UNIQUE constraint with its result: a retry returns the first
result, another body under the same key is refused.

``points_expiring`` webhooks (:meth:`LoyaltyApi.notify_expiring`) go out once per member and
expiry instant: the loyalty service records each notice before it is queued, so neither a
second run nor a restart sends it again. :class:`ExpiryNoticeWorker` runs it in the server.

``tier_changed`` webhooks (:meth:`LoyaltyApi.publish_tier_changes`) are read from the tier
history, whatever wrote it (an ingest, ``POST /v1/loyalty/run``, ``regulars points`` from cron,
Python): one event per history row, in id order, behind a durable cursor that moves in the
transaction that queues the events, so a row is queued exactly once — across restarts, and
across servers on one database. :class:`TierEventWorker` runs it in the server every few
seconds, and at once after a request changed a tier.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from regulars.domain.loyalty.codes import normalise_code
from regulars.domain.loyalty.errors import LoyaltyError, RunIncompleteError, UnknownMemberError
from regulars.domain.loyalty.ledger import Line, Purchase, quote
from regulars.domain.loyalty.programme import aware
from regulars.i18n import _
from regulars.services.api.live import events_for, subscribed_events
from regulars.services.api.ports import ApiStore
from regulars.services.api.workers import PeriodicWorker
from regulars.services.audit import (
    AuditTrail,
    Caller,
    Outcome,
    acting_as,
    current_caller,
    one_entry,
)
from regulars.services.loyalty import LoyaltyService
from regulars.services.loyalty.audited import AuditedLoyaltyService, run_body
from regulars.services.loyalty.ports import ExpiringPoints
from regulars.services.loyalty.results import (
    AdjustmentResult,
    CancellationResult,
    CouponUse,
    EnrolResult,
    NoticeResult,
    RedemptionResult,
    Statement,
)

log = logging.getLogger("regulars.api.loyalty")

EventSink = Callable[[list[dict[str, Any]]], object]
# the loyalty store's ``joining``: runs its transactions inside the given ingest transaction
# (yields False when it cannot: another database)
Join = Callable[[object], AbstractContextManager[bool]]

POINTS_EXPIRING = "points_expiring"
TIER_CHANGED = "tier_changed"
TIER_EVENTS_POLL_SECONDS = 2.0  # how often the server looks for tier changes made elsewhere


class TierEventTx(Protocol):
    """One transaction over the tier history, its ``tier_changed`` cursor and the webhook
    outbox (all in one database: the adapter is the loyalty store's transaction)."""

    def commit(self) -> None: ...
    def tier_event_cursor(self, at: datetime) -> int: ...
    def tier_changes_after(self, after: int, limit: int) -> list[dict[str, Any]]: ...
    def queue_webhook_events(self, rows: Sequence[dict[str, Any]]) -> None: ...
    def advance_tier_event_cursor(self, last_id: int, at: datetime) -> None: ...


class TierEventStore(Protocol):
    def transaction(self) -> AbstractContextManager[TierEventTx]: ...
    def tier_changes_pending(self) -> bool:
        """Whether there may be rows to publish (a cheap read without locks)."""


def _utc(value: datetime | None) -> datetime | None:
    """A store moment (naive UTC) or a request's (aware) as an aware instant."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _now() -> datetime:
    return datetime.now(UTC)


def _nothing() -> None:
    return None


def _event(kind: str, customer_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind,
            "created_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
            "customer_id": customer_id, "data": data}


def operation_key(key_id: str, idempotency_key: str | None) -> str:
    """The loyalty operation key of an API write: the caller's ``Idempotency-Key`` under
    the API key that sent it, or a fresh one (no retry protection) without it."""
    if idempotency_key:
        return f"api:{key_id}:{idempotency_key}"
    return f"api:{key_id}:{uuid.uuid4().hex}"


def statement_body(s: Statement) -> dict[str, Any]:
    """A statement as the API answers it."""
    body = asdict(s)
    body["expiring"] = [{"last_day": day, "points": n} for day, n in s.expiring]
    body["tier_perks"] = list(s.tier_perks)
    body["coupons"] = list(s.coupons)
    body["history"] = [asdict(line) for line in s.history]
    return body


class LoyaltyApi:
    """The loyalty use cases as the HTTP API calls them (``ApiServices.loyalty``)."""

    def __init__(self, service: LoyaltyService, store: ApiStore, *,
                 publish: EventSink | None = None, notice_days: int = 14,
                 tier_events: TierEventStore | None = None,
                 on_queued: Callable[[], object] | None = None,
                 join: Join | None = None) -> None:
        self.service = service
        self.join = join  # None: the ledger is written in its own transactions
        self.store = store
        self.publish = publish
        self.notice_days = notice_days  # the window of the points_expiring notices
        self.tier_events = tier_events  # None: no tier_changed events
        self.on_queued = on_queued  # wakes the webhook delivery after tier events are queued
        # called when a request changed a tier (the server wakes its TierEventWorker)
        self.on_tier_change: Callable[[], object] | None = None
        self.audit = AuditTrail(store)
        self.publisher = None if tier_events is None else TierEventPublisher(
            store, tier_events, on_queued=on_queued)
        if isinstance(service, AuditedLoyaltyService):
            # in the server a change wakes the publisher's worker instead of publishing in
            # the request; the ledger's writes are audited in this server's own store
            service.on_tier_change = self._tiers_changed
            service.audit = self.audit

    def close(self) -> None:
        self.service.close()

    def member_id(self, customer_id: str) -> str:
        """The card a customer id names (an id merged into another card names that card)."""
        return self.store.resolve_alias(customer_id)

    def _tiers_changed(self) -> None:
        # the events come from the tier history (publish_tier_changes): only say it is time
        if self.on_tier_change is not None:
            self.on_tier_change()

    # -- accrual on ingest ------------------------------------------------------------------

    def accrue_ingested(self, orders: Sequence[Mapping[str, Any]],
                        returns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Accrue stored orders and take back points for stored returns (rows as ingest
        stores them); members only. Returns one line per order or return of a member."""
        with one_entry():  # the ingest's own audit entry covers its accrual
            lines, tiers_changed = self._accrue_ingested(orders, returns)
        if tiers_changed:
            self._tiers_changed()
        return lines

    def accrue_within(self, tx: object, orders: Sequence[Mapping[str, Any]],
                      returns: Sequence[Mapping[str, Any]]
                      ) -> tuple[list[dict[str, Any]], Callable[[], None]] | None:
        """:meth:`accrue_ingested` inside the ingest's open transaction ``tx``, which the
        caller commits: the lines, and what to call once ``tx`` has committed (wake the
        ``tier_changed`` publisher: before the commit it would find nothing). None, having
        written nothing, when the ledger cannot join ``tx`` (it lives in another database):
        the caller then accrues after its commit."""
        if self.join is None:
            return None
        with self.join(tx) as joined:
            if not joined:
                return None
            with one_entry():
                lines, tiers_changed = self._accrue_ingested(orders, returns)
        return lines, (self._tiers_changed if tiers_changed else _nothing)

    def _accrue_ingested(self, orders: Sequence[Mapping[str, Any]],
                         returns: Sequence[Mapping[str, Any]]
                         ) -> tuple[list[dict[str, Any]], bool]:
        """The lines, and whether an order moved a member's tier."""
        lines: list[dict[str, Any]] = []
        tiers_changed = False
        if orders:
            accrued, tiers_changed = self._accrue(orders)
            lines += accrued
        for r in returns:
            try:
                res = self.service.record_return(
                    str(r["return_id"]), str(r["order_id"]), Decimal(str(r["amount"])),
                    returned_at=_utc(r.get("returned_at")))
            except LoyaltyError:
                continue  # an order that earned nothing, a conflicting re-send: no points
            lines.append({"id": res.return_id, "customer_id": res.member_id,
                          "points": -res.points_reversed, "status": "reversed",
                          "replayed": res.replayed})
        return lines, tiers_changed

    def _accrue(self, orders: Sequence[Mapping[str, Any]]
                ) -> tuple[list[dict[str, Any]], bool]:
        ids = {str(o["customer_id"]) for o in orders}
        with self.service.store.reading() as tx:
            members = tx.members(ids)  # a read first: most ingests are of non-members
        wanted = [o for o in orders if o["customer_id"] in members
                  and members[o["customer_id"]].consent]
        if not wanted:
            return [], False
        purchases = [Purchase(
            order_id=str(o["order_id"]), member_id=str(o["customer_id"]),
            ordered_at=_utc(o["ordered_at"]) or _now(),
            amount=Decimal(str(o["amount"])).normalize(),
            categories=tuple(c.strip() for c in str(o.get("categories") or "").split(";")
                             if c.strip()),
            quantity=o.get("quantity")) for o in wanted]
        purchases.sort(key=lambda p: (p.ordered_at, p.order_id))
        results = self.service.accrue_many(purchases, skip_unknown=True)
        for r in results:
            if r.skipped_reason == "unprocessable":
                log.warning("order %s of %s earned nothing: %s", r.order_id, r.member_id,
                            r.problem)
        tiers_changed = any(r.tier_before != r.tier_after for r in results
                            if not r.replayed and r.status != "skipped")
        return [{"id": r.order_id, "customer_id": r.member_id, "points": r.points,
                 "status": r.status, "replayed": r.replayed}
                for r in results if r.status != "skipped"], tiers_changed

    # -- reading ------------------------------------------------------------------------------

    def statement(self, customer_id: str, history: int = 20) -> dict[str, Any]:
        """Raises :class:`UnknownMemberError` for a customer who is not a member."""
        return statement_body(self.service.statement(self.member_id(customer_id),
                                                     history=history))

    def card_points(self, customer_id: str) -> dict[str, Any] | None:
        """The statement shown on the customer card, or None for a non-member."""
        try:
            return self.statement(customer_id, history=10)
        except UnknownMemberError:
            return None

    def tier(self, customer_id: str) -> dict[str, Any]:
        """Tier, its benefits, the qualification so far, the next tier and its history."""
        s = self.service.statement(self.member_id(customer_id), history=0)
        prog = self.service.programme
        return {
            "customer_id": s.member_id, "as_of": s.as_of, "tier": s.tier,
            "multiplier": s.tier_multiplier, "discount_percent": s.tier_discount_percent,
            "perks": list(s.tier_perks), "basis": s.tier_basis,
            "window_days": prog.tier_window_days, "qualifying": s.qualifying,
            "next_tier": s.next_tier, "to_next_tier": s.to_next_tier,
            "period_end": s.tier_period_end,
            "tiers": [{"name": t.name, "threshold": t.threshold, "multiplier": t.multiplier,
                       "discount_percent": t.discount_percent, "perks": list(t.perks)}
                      for t in prog.tiers],
            "history": [{k: v for k, v in h.items() if k != "member_id"}
                        for h in self.service.tier_history(s.member_id)],
        }

    def referral(self, code: str) -> dict[str, Any] | None:
        """Who a referral code belongs to and how many referrals it has left (None: unknown)."""
        with self.service.store.reading() as tx:
            member = tx.member_by_code(normalise_code(code))
            if member is None:
                return None
            made = tx.count_referrals(member.member_id)
        cap = self.service.programme.max_referrals_per_referrer
        left = None if cap is None else max(cap - made, 0)
        return {"code": member.referral_code, "customer_id": member.member_id,
                "referrals": made, "referrals_left": left,
                "usable": member.consent and (left is None or left > 0),
                "referee_points": self.service.programme.referee_points,
                "referrer_points": self.service.programme.referrer_points}

    def quote(self, *, customer_id: str | None, amount: Decimal, ordered_at: datetime | None,
              categories: Sequence[str] = (), quantity: int | None = None,
              lines: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """The points an order would earn now, for this member (or a new member at the
        lowest tier): tier, club, multipliers and caps applied; nothing is written."""
        service = self.service
        at = aware(ordered_at) if ordered_at is not None else service.now()
        version = service.version_at(at)
        prog = version.programme
        mid = self.member_id(customer_id) if customer_id else None
        member = None
        used = budget = 0
        with service.store.reading() as tx:
            if mid is not None:
                member = tx.members([mid]).get(mid)
            if member is not None and prog.cap_points_per_member is not None:
                start = prog.period_start(at, prog.cap_period)
                used = tx.earned_since([member.member_id], start).get(member.member_id, 0)
            if prog.budget_points is not None:
                start = prog.period_start(at, prog.budget_period)
                budget = sum(tx.earned_since(None, start).values())
        purchase = Purchase(
            order_id="quote", member_id=mid or "", ordered_at=at, amount=amount,
            lines=tuple(Line(Decimal(str(ln["amount"])), ln.get("category"), ln.get("sku"),
                             int(ln.get("quantity") or 1)) for ln in lines),
            categories=tuple(categories), quantity=quantity)
        tier = prog.tier(member.tier if member is not None else None)
        q = quote(prog, purchase, tier=tier,
                  in_club=member.in_club(at) if member is not None else False,
                  member_used_in_period=used, budget_used_in_period=budget)
        earns = member is None or member.consent
        return {
            "customer_id": mid, "member": member is not None,
            "points": q.points if earns else 0, "uncapped": q.uncapped, "factors": list(q.factors),
            "capped_by": q.capped_by, "tier": tier.name, "programme_version": version.number,
            "status": "available" if prog.release.value == "immediately" else "pending",
            "available_at": prog.available_at(at) if earns else None,
            "note": None if earns else _("the member has not opted in: orders earn nothing"),
        }

    def rewards(self) -> list[dict[str, Any]]:
        left = self.service.stock_left()
        return [{"code": r.code, "name": r.name, "kind": r.kind.value, "points": r.points,
                 "value": r.value, "percent": r.percent, "valid_days": r.valid_days,
                 "min_tier": r.min_tier, "stock": r.stock, "stock_left": left.get(r.code),
                 "per_member": r.per_member} for r in self.service.programme.rewards
                if r.active]

    # -- writes: typed results (their ``replayed`` says created or replayed); the audit entry
    # is the service's, under the request's caller -------------------------------------------

    def enrol(self, customer_id: str, *, caller: Caller, consent: bool,
              email: str | None = None, phone: str | None = None,
              birthday: date | None = None, referral_code: str | None = None,
              payment_fingerprint: str | None = None,
              card_number: str | None = None) -> EnrolResult:
        mid = self.member_id(customer_id)
        with acting_as(caller):
            return self.service.enrol(mid, consent=consent, email=email, phone=phone,
                                      birthday=birthday, referral_code=referral_code,
                                      payment_fingerprint=payment_fingerprint,
                                      card_number=card_number)

    def redeem(self, customer_id: str, reward: str, *, caller: Caller,
               idempotency_key: str | None) -> RedemptionResult:
        mid = self.member_id(customer_id)
        with acting_as(caller):
            return self.service.redeem(mid, reward,
                                       key=operation_key(caller.actor, idempotency_key))

    def coupon(self, code: str) -> dict[str, Any]:
        return asdict(self.service.coupon_status(code))

    def use_coupon(self, code: str, order_id: str, *, caller: Caller,
                   idempotency_key: str | None = None) -> CouponUse:
        key = operation_key(caller.actor, idempotency_key) if idempotency_key else None
        with acting_as(caller):
            return self.service.use_coupon(code, order_id=order_id, key=key)

    def cancel_redemption(self, coupon_code: str, *, reason: str,
                          caller: Caller) -> CancellationResult:
        with acting_as(caller):
            return self.service.cancel_redemption(coupon_code=coupon_code, reason=reason,
                                                  actor=caller.ledger_actor)

    def adjust(self, customer_id: str, points: int, *, reason: str, caller: Caller,
               idempotency_key: str | None) -> AdjustmentResult:
        mid = self.member_id(customer_id)
        with acting_as(caller):
            return self.service.adjust(mid, points, reason=reason, actor=caller.ledger_actor,
                                       key=operation_key(caller.actor, idempotency_key))

    def run(self, *, caller: Caller, at: datetime | None = None,
            dry_run: bool = False) -> dict[str, Any]:
        """The programme's periodic work: release points whose return window closed, expire
        due lots, review tiers (downgrades after the period and grace). Idempotent.

        A moment in the future, or before the latest tier review, is refused
        (:class:`RunMomentError`) before anything is written. Each committed chunk records
        what it did in the run's record; a run that stops midway is audited with what it
        committed and raises :class:`RunIncompleteError`. A ``dry_run`` says what the run
        would do, per member, and writes nothing (not even the audit)."""
        if dry_run:
            p = self.service.preview_run(at)
            body = run_body(p)
            body["members"] = [asdict(m) for m in p.members]
            return body
        try:
            with acting_as(caller):
                r = self.service.run(at, actor=f"api-key:{caller.actor}")
        except RunIncompleteError as e:
            log.error("the loyalty run %s stopped while %s: %s", e.run_id, e.step, e.cause,
                      exc_info=e.__cause__)
            raise
        return run_body(r)

    def run_record(self, run_id: str) -> dict[str, Any] | None:
        """What a run committed, chunk by chunk (None: no chunk of that run committed)."""
        chunks = self.service.run_record(run_id)
        if not chunks:
            return None
        return {"run_id": run_id, "as_of": chunks[0].as_of, "actor": chunks[0].actor,
                "chunks": [{"step": c.step, "chunk": c.chunk, "members": c.members,
                            "items": c.items, "points": c.points, "detail": list(c.detail)}
                           for c in chunks]}

    # -- notices of points about to expire ---------------------------------------------------

    def notify_expiring(self, *, caller: Caller | None = None, at: datetime | None = None,
                        within_days: int | None = None) -> dict[str, Any]:
        """Queue one ``points_expiring`` webhook per member and expiry instant of the
        available points that expire after ``at`` (default now) and at most ``within_days``
        (default ``[api] points_expiring_notice_days``) days later. Each is sent once, ever:
        a run finds the notices sent before and skips them. While no subscription wants
        ``points_expiring`` nothing is recorded, so the notices wait for the first one.

        Audited under ``caller`` (or the one acting around the call, e.g. the CLI's); the
        server's own periodic run has none and is logged instead."""
        days = within_days if within_days is not None else self.notice_days
        # not in the future, subscribers or not (a notice is sent once, ever)
        when = self.service.run_moment(aware(at)) if at is not None else self.service.now()
        subscribers = sum(1 for sub in self.store.list_subscriptions()
                          if POINTS_EXPIRING in subscribed_events(sub))
        if subscribers and self.publish is not None:
            result = self.service.notify_expiring(self._send_notices, at=when,
                                                  within_days=days)
        else:
            result = NoticeResult(when, when + timedelta(days=days))
        body = {"as_of": result.as_of, "until": result.until, "within_days": days,
                "subscribers": subscribers, "sent": result.notices, "members": result.members,
                "points": result.points}
        caller = caller or current_caller()
        if caller is not None:
            self.audit.record(caller, "loyalty.notify_expiring", outcome=Outcome.DONE,
                              detail=body)
        elif result.notices:
            log.info("queued %d points_expiring notices (%d points)", result.notices,
                     result.points)
        return body

    def _send_notices(self, notices: Sequence[ExpiringPoints]) -> None:
        # an error here reaches the loyalty service, which forgets the batch's records
        if self.publish is None:
            raise LoyaltyError(_("no webhooks to send the notices through"))
        self.publish([self.expiring_event(n) for n in notices])

    def expiring_event(self, n: ExpiringPoints) -> dict[str, Any]:
        """The ``points_expiring`` event of a notice (its id is the notice's)."""
        expires = aware(n.expires_at)
        last_day = (self.service.programme.local(expires) - timedelta(microseconds=1)).date()
        data = {"member_id": n.member_id, "points": n.points,
                "expires_at": expires.isoformat(), "last_day": last_day.isoformat(),
                "balance": n.balance, "consent": n.consent}
        return _event(POINTS_EXPIRING, n.member_id, data) | {"id": n.notice_id}

    # -- tier_changed events, from the tier history -----------------------------------------

    def publish_tier_changes(self, *, batch: int = 500) -> int:
        """Queue the ``tier_changed`` events recorded since the last call
        (:meth:`TierEventPublisher.publish`); 0 without a tier history to read."""
        return 0 if self.publisher is None else self.publisher.publish(batch=batch)


class TierEventPublisher:
    """Publishes the tier history as ``tier_changed`` events into the webhook outbox. The
    server runs it in its :class:`TierEventWorker`; the CLI and Python run it right after a
    change of theirs changed a tier (``AuditedLoyaltyService.on_tier_change``), so the
    event is queued the same way whichever channel made the change."""

    def __init__(self, store: ApiStore, tier_events: TierEventStore, *,
                 on_queued: Callable[[], object] | None = None) -> None:
        self.store = store
        self.tier_events = tier_events
        self.on_queued = on_queued

    def publish(self, *, batch: int = 500) -> int:
        """Queue one ``tier_changed`` event per tier-history row recorded since the last
        call (by this server or another, across restarts), in id order; returns how many rows
        were published.

        Each batch is one transaction of the loyalty store: it locks the cursor (the last id
        published), reads the rows after it, inserts their outbox rows and moves the cursor,
        so a row is queued once or — when the transaction fails — not at all, and the next
        call retries it. The first call ever starts at the newest row (no flood of old
        history). While nothing subscribes to ``tier_changed`` the cursor moves on all the
        same: a subscription gets the changes recorded after it was made."""
        if not self.tier_events.tier_changes_pending():
            return 0  # an idle poll takes no lock (a row committed later is seen next time)
        subs = [s for s in self.store.list_subscriptions() if TIER_CHANGED in subscribed_events(s)]
        published = 0
        while True:
            with self.tier_events.transaction() as tx:
                now = _now()
                rows = tx.tier_changes_after(tx.tier_event_cursor(now), batch)
                if rows:
                    tx.queue_webhook_events(events_for(subs, [tier_event(r) for r in rows]))
                    tx.advance_tier_event_cursor(int(rows[-1]["id"]), now)
                tx.commit()  # with no rows too: the first call creates the cursor
            published += len(rows)
            if rows and subs and self.on_queued is not None:
                self.on_queued()
            if len(rows) < batch:
                return published


def tier_event(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tier_changed`` event of a tier-history row. Its id is the row's (``tier-<id>``),
    the same whoever publishes it, so a receiver can drop a duplicate by it."""
    data = {"from": row["from_tier"], "to": row["to_tier"], "change": row["change"]}
    return _event(TIER_CHANGED, str(row["member_id"]), data) | {"id": f"tier-{row['id']}"}


class ExpiryNoticeWorker(PeriodicWorker):
    """The ``points_expiring`` notices (:meth:`LoyaltyApi.notify_expiring`), periodically."""

    name = "regulars-expiry-notices"
    what = "the points_expiring notices"


class TierEventWorker(PeriodicWorker):
    """The ``tier_changed`` events (:meth:`LoyaltyApi.publish_tier_changes`): every few
    seconds, and woken at once when a request changed a tier."""

    name = "regulars-tier-events"
    what = "the tier_changed events"
