"""The loyalty programme's use cases (DOMAIN §8); each owns one transaction.

Every write is keyed: an order by its id, a return by its id, a redemption or adjustment by
the caller's idempotency key. The key is recorded with the write's result in the same
transaction, under a UNIQUE constraint, so a retried call — even one racing the original —
returns the original result and changes nothing (odoo/odoo#222372 credited points twice when a
confirmation was retried). Writes to one member serialise on that member (see
``adapters/loyalty_store.py``), so two redemptions cannot both spend the same points
(saleor/saleor#544).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from regulars.domain.loyalty.codes import draw, new_code, normalise_code
from regulars.domain.loyalty.errors import (
    ConsentRequiredError,
    CouponUsedError,
    IdempotencyConflictError,
    InsufficientPointsError,
    LoyaltyError,
    OutOfStockError,
    ReferralRefusedError,
    RewardError,
    RunIncompleteError,
    RunMomentError,
    StoredValueError,
    UnknownCouponError,
    UnknownMemberError,
    UnknownOrderError,
    UnknownRedemptionError,
)
from regulars.domain.loyalty.ledger import (
    Account,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
    Purchase,
    check_account,
    proportional_reversal,
    quote,
)
from regulars.domain.loyalty.programme import (
    BONUS_EVENTS,
    OfferKind,
    Programme,
    Release,
    RewardKind,
    TierBasis,
    aware,
)
from regulars.domain.loyalty.referrals import RefusalReason, check_referral, same_person
from regulars.domain.loyalty.tiers import next_tier, review
from regulars.i18n import _
from regulars.services.loyalty.ports import (
    Accrual,
    Clock,
    Coupon,
    DuplicateKey,
    ExpiringPoints,
    LoyaltyStore,
    LoyaltyTx,
    Operation,
    ReferralRecord,
    RunChunk,
)
from regulars.services.loyalty.results import (
    AccrualResult,
    AdjustmentResult,
    BonusResult,
    CancellationResult,
    CardResult,
    ClubResult,
    CouponStatus,
    CouponUse,
    DrawResult,
    EnrolResult,
    NoticeResult,
    PeriodicRun,
    RedemptionResult,
    ReturnResult,
    RunMember,
    RunResult,
    Statement,
    StatementLine,
    from_json,
    to_json,
)

R = TypeVar("R")
RETRIES = 5
# what an order's own data can make the arithmetic of its accrual raise (dates beyond the
# calendar, amounts beyond Decimal's context); a store failure is none of these
_DATA_ERRORS = (ArithmeticError, ValueError)
# how far ahead of the server's clock a periodic run's moment may be (clocks drift)
RUN_CLOCK_TOLERANCE = timedelta(minutes=5)
RUN_STEPS = ("release", "expire", "tiers")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _fingerprint(kind: str, request: dict[str, Any]) -> str:
    text = json.dumps([kind, request], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _norm_email(value: str | None) -> str | None:
    return value.strip().lower() or None if value else None


def _norm_phone(value: str | None) -> str | None:
    digits = "".join(c for c in value if c.isdigit()) if value else ""
    return digits or None


class _RunLog:
    """A periodic run's identity and what its committed chunks did so far."""

    def __init__(self, run_id: str, as_of: datetime, actor: str) -> None:
        self.run_id, self.as_of, self.actor = run_id, as_of, actor
        self.next_chunk: dict[str, int] = defaultdict(int)
        self.done: dict[str, dict[str, int]] = {}

    def chunk(self, step: str, members: int, items: int, points: int,
              detail: Iterable[str]) -> RunChunk:
        return RunChunk(self.run_id, step, self.next_chunk[step], self.as_of, self.actor,
                        members, items, points, tuple(detail))

    def committed(self, chunk: RunChunk) -> None:
        self.next_chunk[chunk.step] = chunk.chunk + 1
        d = self.done.setdefault(chunk.step, {"chunks": 0, "members": 0, "items": 0,
                                              "points": 0})
        d["chunks"] += 1
        d["members"] += chunk.members
        d["items"] += chunk.items
        d["points"] += chunk.points


def _incomplete(log: _RunLog, step: str, e: Exception) -> RunIncompleteError:
    doing = {"release": _("releasing points"), "expire": _("expiring points"),
             "tiers": _("reviewing tiers")}.get(step, step)
    cause = str(e).strip() or type(e).__name__
    d = {k: log.done.get(k, {}) for k in RUN_STEPS}
    message = _(
        "the run {run} at {at} stopped while {doing}: {cause}. What it committed is recorded: "
        "{rl} lots released ({rp} points), {el} lots expired ({ep} points), {tc} tier "
        "changes; nothing else was written. Run it again at {at} to finish: nothing is done "
        "twice.").format(run=log.run_id, at=log.as_of.isoformat(timespec="seconds"),
                         doing=doing, cause=cause, rl=d["release"].get("items", 0),
                         rp=d["release"].get("points", 0), el=d["expire"].get("items", 0),
                         ep=d["expire"].get("points", 0), tc=d["tiers"].get("items", 0))
    return RunIncompleteError(message, run_id=log.run_id, as_of=log.as_of, step=step,
                              committed={k: dict(v) for k, v in log.done.items()},
                              cause=cause)


@dataclass
class _Version:
    number: int
    effective_from: datetime
    programme: Programme


class LoyaltyService:
    """The programme's use cases over a :class:`~regulars.services.loyalty.ports.LoyaltyStore`.

    Parameters
    ----------
    store
        Where the ledger lives.
    programme
        The rules in force now (from ``[loyalty]`` in the settings). It is recorded as a new
        version the first time it is seen; orders earn under the version in force when they
        were placed.
    clock
        Returns the current instant (timezone-aware); tests pass a fixed one.
    chunk
        Orders per transaction in :meth:`accrue_many`.
    run_chunk
        Members per transaction in the periodic run (:meth:`run`).
    normalise_email, normalise_phone
        How contacts are normalised to detect self-referrals (bootstrap passes the import's).
    """

    def __init__(
        self,
        store: LoyaltyStore,
        programme: Programme,
        *,
        clock: Clock | None = None,
        chunk: int = 500,
        run_chunk: int = 200,
        normalise_email: Callable[[str | None], str | None] = _norm_email,
        normalise_phone: Callable[[str | None], str | None] = _norm_phone,
    ) -> None:
        self.store = store
        self.programme = programme
        self.clock: Clock = clock or _utcnow
        self.chunk = chunk
        self.run_chunk = run_chunk
        self.normalise_email = normalise_email
        self.normalise_phone = normalise_phone
        self._versions: list[_Version] | None = None

    def close(self) -> None:
        """Close the store's pooled connections (the service can still be used after)."""
        self.store.dispose()

    def __enter__(self) -> LoyaltyService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- programme versions --------------------------------------------------------------

    def now(self) -> datetime:
        return aware(self.clock())

    def versions(self) -> list[_Version]:
        """Every recorded version of the programme, oldest first (recording this one)."""
        if self._versions is None:
            self._versions = self._record_programme()
        return self._versions

    @property
    def current_version(self) -> int:
        return self.versions()[-1].number

    def _record_programme(self) -> list[_Version]:
        fp = self.programme.fingerprint()
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    rows = tx.programme_versions()
                    if not rows or rows[-1][2] != fp:
                        number = rows[-1][0] + 1 if rows else 1
                        start = self.programme.effective_from or self.now()
                        if rows and aware(start) < rows[-1][1]:
                            start = rows[-1][1]
                        tx.add_programme_version(number, start, fp, self.programme.to_dict(),
                                                 self.now())
                        rows.append((number, aware(start), fp, self.programme.to_dict()))
                        tx.commit()
                out = [_Version(n, aware(start), Programme.from_dict(d))
                       for n, start, _fp, d in rows]
                out[-1].programme = self.programme
                return out
            except DuplicateKey:
                continue
        raise LoyaltyError(_("could not record the programme's version"))

    def version_at(self, at: datetime) -> _Version:
        """The version in force at ``at`` (the first one for anything before it)."""
        versions = self.versions()
        chosen = versions[0]
        for v in versions:
            if v.effective_from <= aware(at):
                chosen = v
        return chosen

    # -- the idempotent write ------------------------------------------------------------

    def _once(self, key: str, kind: str, request: dict[str, Any], cls: type[R],
              work: Callable[[LoyaltyTx, datetime], R], member_id: str | None = None) -> R:
        """Run ``work`` once per ``key``: a retry returns the first result unchanged."""
        self.versions()
        fp = _fingerprint(kind, request)
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    if member_id is not None:
                        # lock first: the operation check below then sees any write that
                        # finished while we waited
                        tx.members([member_id], lock=True)
                    prior = tx.operations([key]).get(key)
                    if prior is not None:
                        return self._replay(prior, fp, cls)
                    now = self.now()
                    result = work(tx, now)
                    tx.add_operations([Operation(key, kind, member_id, fp, to_json(result))], now)
                    tx.commit()
                    return result
            except DuplicateKey:
                continue  # someone recorded the same key (or a code collided): look again
        raise LoyaltyError(_("{key}: too many conflicting writes; try again").format(key=key))

    @staticmethod
    def _replay(prior: Operation, fp: str, cls: type[R]) -> R:
        if prior.fingerprint != fp:
            raise IdempotencyConflictError(
                _("{key} was already used for a different request").format(key=prior.key))
        return from_json(cls, prior.result, replayed=True)

    def _member(self, tx: LoyaltyTx, member_id: str, *, lock: bool = True) -> Member:
        member = tx.members([member_id], lock=lock).get(member_id)
        if member is None:
            raise UnknownMemberError(_("no member {id} in the programme").format(id=member_id))
        return member

    def _account(self, tx: LoyaltyTx, member: Member, extra_lots: Iterable[str] = ()) -> Account:
        lots = tx.open_lots([member.member_id]).get(member.member_id, [])
        have = {lot.lot_ref for lot in lots}
        missing = [r for r in extra_lots if r not in have]
        if missing:
            lots += list(tx.lots(missing).values())
        return Account.of(member, lots)

    def _credit(self, account: Account, *, ref: str, source: str, points: int, at: datetime,
                kind: EntryKind, reason: str, actor: str = "system",
                programme: Programme | None = None, version: int | None = None) -> Entry:
        """Add an immediately available lot (bonus, adjustment, referral)."""
        prog = programme or self.programme
        lot = Lot(ref, account.member.member_id, source, at, points, points, LotState.AVAILABLE,
                  available_at=at, expires_at=prog.expires_at(at))
        entry = Entry(ref, account.member.member_id, at, kind, points=points, lot_ref=ref,
                      reason=reason, actor=actor,
                      programme_version=version or self.current_version)
        return account.credit(lot, entry)

    # -- members -------------------------------------------------------------------------

    def enrol(
        self,
        member_id: str,
        *,
        consent: bool = True,
        email: str | None = None,
        phone: str | None = None,
        payment_fingerprint: str | None = None,
        birthday: date | None = None,
        referral_code: str | None = None,
    ) -> EnrolResult:
        """Enrol a customer (opt-in when ``consent``); with a friend's ``referral_code`` the
        referral is checked now and rewarded when the first qualifying order completes.

        Raises :class:`ReferralRefusedError` (nothing written) when the code is unknown or the
        referral is not allowed.
        """
        email_norm, phone_norm = self.normalise_email(email), self.normalise_phone(phone)
        request = {"consent": consent, "email": email_norm, "phone": phone_norm,
                   "payment": payment_fingerprint, "birthday": birthday,
                   "referral_code": referral_code}

        def work(tx: LoyaltyTx, now: datetime) -> EnrolResult:
            if tx.members([member_id], lock=True):
                raise IdempotencyConflictError(
                    _("{id} is already a member").format(id=member_id))
            member = Member(member_id, now, consent=consent, consent_at=now if consent else None,
                            email_norm=email_norm, phone_norm=phone_norm,
                            payment_fingerprint=payment_fingerprint, birthday=birthday,
                            referral_code=new_code(8, "R"), tier=self.programme.tiers[0].name)
            referrer = None
            if referral_code:
                referrer = self._check_referral(tx, member, referral_code)
                member.referred_by = referrer.member_id
            tx.add_member(member)
            account = Account.of(member)
            bonus = self.programme.bonus_sign_up if consent else 0
            if bonus:
                self._credit(account, ref=f"bonus:sign_up:{member_id}", source="bonus:sign_up",
                             points=bonus, at=now, kind=EntryKind.BONUS, reason="sign_up")
            tx.save_accounts([account])
            if referrer is not None:
                tx.add_referral(ReferralRecord(member_id, referrer.member_id,
                                               referrer.referral_code or "", now, "pending"))
            return EnrolResult(member_id, member.referral_code or "", now, consent,
                               member.referred_by, bonus)

        return self._once(f"enrol:{member_id}", "enrol", request, EnrolResult, work)

    def enrol_many(self, people: Sequence[dict[str, Any]]) -> int:
        """Enrol many customers at once (``member_id``, ``consent``, ``email``, ``phone``,
        ``birthday``); those already enrolled are left as they are. Returns how many joined."""
        self.versions()
        joined = 0
        for i in range(0, len(people), self.chunk):
            part = people[i : i + self.chunk]
            with self.store.transaction() as tx:
                now = self.now()
                known = tx.members([p["member_id"] for p in part], lock=True)
                accounts = []
                for p in part:
                    if p["member_id"] in known:
                        continue
                    consent = bool(p.get("consent", True))
                    member = Member(
                        p["member_id"], now, consent=consent,
                        consent_at=now if consent else None,
                        email_norm=self.normalise_email(p.get("email")),
                        phone_norm=self.normalise_phone(p.get("phone")),
                        birthday=p.get("birthday"), referral_code=new_code(8, "R"),
                        tier=self.programme.tiers[0].name)
                    known[member.member_id] = member
                    tx.add_member(member)
                    account = Account.of(member)
                    if consent and self.programme.bonus_sign_up:
                        self._credit(account, ref=f"bonus:sign_up:{member.member_id}",
                                     source="bonus:sign_up", points=self.programme.bonus_sign_up,
                                     at=now, kind=EntryKind.BONUS, reason="sign_up")
                    accounts.append(account)
                    joined += 1
                tx.save_accounts(accounts)
                tx.commit()
        return joined

    def _check_referral(self, tx: LoyaltyTx, referee: Member, code: str) -> Member:
        referrer = tx.member_by_code(normalise_code(code))
        if referrer is None:
            raise ReferralRefusedError(
                _("referral code {code} is not known").format(code=code),
                reason=RefusalReason.UNKNOWN_CODE.value)
        tx.members([referrer.member_id], lock=True)
        reason = check_referral(
            referrer, referee, referrals_so_far=tx.count_referrals(referrer.member_id),
            cap=self.programme.max_referrals_per_referrer,
            referee_has_orders=tx.has_accruals(referee.member_id))
        if reason is not None:
            raise ReferralRefusedError(_refusal_message(reason), reason=reason.value)
        return referrer

    def refer(self, member_id: str, code: str) -> EnrolResult:
        """Attach a referral code to a member who has not ordered yet."""

        def work(tx: LoyaltyTx, now: datetime) -> EnrolResult:
            member = self._member(tx, member_id)
            referrer = self._check_referral(tx, member, code)
            member.referred_by = referrer.member_id
            tx.update_members([member])
            tx.add_referral(ReferralRecord(member_id, referrer.member_id,
                                           referrer.referral_code or "", now, "pending"))
            return EnrolResult(member_id, member.referral_code or "", member.enrolled_at,
                               member.consent, referrer.member_id)

        return self._once(f"refer:{member_id}", "refer", {"code": normalise_code(code)},
                          EnrolResult, work, member_id=member_id)

    def set_consent(self, member_id: str, consent: bool) -> None:
        """Record that the member opted in (or out); without consent orders earn nothing."""
        with self.store.transaction() as tx:
            member = self._member(tx, member_id)
            if member.consent != consent:
                member.consent = consent
                member.consent_at = self.now()
                tx.update_members([member])
            tx.commit()

    # -- earning -------------------------------------------------------------------------

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
        except _DATA_ERRORS as e:
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
                key, fp = keys[i], _fingerprint("accrue", _purchase_request(p))
                done = prior.get(key)
                if done is not None or key in seen:
                    old = done.fingerprint if done is not None else seen[key]
                    if old != fp:
                        if not skip_unknown:
                            raise IdempotencyConflictError(
                                _("order {id} was already accrued with other content").format(
                                    id=p.order_id))
                        results[i] = AccrualResult(p.order_id, p.member_id, 0, "skipped",
                                                   skipped_reason="conflict")
                    elif done is not None:
                        results[i] = from_json(AccrualResult, done.result, replayed=True)
                    continue
                member = members.get(p.member_id)
                if member is None or not member.consent:
                    reason = "not_enrolled" if member is None else "no_consent"
                    if not skip_unknown:
                        if member is None:
                            raise UnknownMemberError(
                                _("no member {id} in the programme").format(id=p.member_id))
                        raise ConsentRequiredError(
                            _("member {id} has not opted in").format(id=p.member_id))
                    results[i] = AccrualResult(p.order_id, p.member_id, 0, "skipped",
                                               skipped_reason=reason)
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
        prog_now = self.programme
        member_ids = {p.member_id for p, _fp in todo}
        accounts = {m: Account.of(members[m]) for m in member_ids}
        # the history tiers qualify on, for upgrades at once
        history: dict[str, list[Accrual]] = defaultdict(list)
        if len(prog_now.tiers) > 1:
            start = min(aware(p.ordered_at) for p, _fp in todo) - timedelta(
                days=max(v.programme.tier_window_days for v in self.versions()))
            for a in tx.accrual_history(member_ids, start):
                history[a.member_id].append(a)
        cap_used = self._period_usage(tx, todo, member_ids)
        punches = tx.punches(member_ids) if prog_now.punch_cards else {}
        punch_existing = set(punches)
        punch_changed: dict[tuple[str, str], tuple[int, int]] = {}
        accruals: list[Accrual] = []
        tier_rows: list[dict[str, Any]] = []
        coupons: list[Coupon] = []
        ops: list[Operation] = []
        results: list[AccrualResult] = []
        for p, fp in todo:
            version = self.version_at(p.ordered_at)
            prog = version.programme
            account = accounts[p.member_id]
            member = account.member
            at = aware(p.ordered_at)
            tier_before = member.tier
            member_key = (p.member_id, prog.period_start(at, prog.cap_period).isoformat())
            budget_key = ("", prog.period_start(at, prog.budget_period).isoformat())
            q = quote(prog, p, tier=prog.tier(member.tier), in_club=member.in_club(at),
                      member_used_in_period=cap_used.get(member_key, 0),
                      budget_used_in_period=cap_used.get(budget_key, 0))
            cap_used[member_key] = cap_used.get(member_key, 0) + q.points
            cap_used[budget_key] = cap_used.get(budget_key, 0) + q.points
            lot_ref = f"order:{p.order_id}"
            immediate = prog.release is Release.IMMEDIATELY
            available_at = prog.available_at(at)
            lot = Lot(lot_ref, p.member_id, "order", at, q.points, q.points,
                      LotState.AVAILABLE if immediate else LotState.PENDING,
                      available_at=available_at, expires_at=prog.expires_at(at),
                      order_id=p.order_id)
            entry = Entry(lot_ref, p.member_id, at, EntryKind.EARN,
                          points=q.points if immediate else 0,
                          pending=0 if immediate else q.points, lot_ref=lot_ref,
                          order_id=p.order_id, reason=", ".join(q.factors) or "order",
                          programme_version=version.number)
            if q.points:
                account.credit(lot, entry)
            else:
                account.lots[lot_ref] = lot
                account.new_lots.append(lot_ref)
            accrual = Accrual(p.order_id, p.member_id, at, p.amount, Decimal(0), q.points, 0,
                              lot_ref, version.number, p.payment_fingerprint)
            accruals.append(accrual)
            history[p.member_id].append(accrual)
            # upgrade at once (downgrades wait for the review at the end of the period); a
            # back-dated order whose qualification period is already over grants nothing: the
            # order lies outside today's rolling window, so the tier would be one the member
            # no longer qualifies for, held for a period that has ended
            qualifying = _qualifying(prog, history[p.member_id], at)
            decision = review(prog, current=member.tier, period_end=member.tier_period_end,
                              qualifying=qualifying, at=at)
            if decision.change in ("upgrade", "renew") and decision.period_end > now:
                if decision.change == "upgrade":
                    tier_rows.append({"member_id": p.member_id, "at": at, "from_tier": member.tier,
                                      "to_tier": decision.tier, "change": "upgrade",
                                      "qualifying": qualifying})
                member.tier = decision.tier
                member.tier_period_end = decision.period_end
            issued: list[str] = []
            for card in prog.punch_cards:
                units = _punch_units(card.category, card.sku, p)
                if not units:
                    continue
                k = (p.member_id, card.name)
                count, rewarded = punch_changed.get(k) or punches.get(k) or (0, 0)
                count += units
                while count // card.every > rewarded:
                    rewarded += 1
                    reward = prog.reward(card.reward)
                    if reward is not None:
                        c = self._coupon(p.member_id, reward.code, reward.kind.value, reward.value,
                                         reward.percent, at, reward.valid_days,
                                         f"punch:{p.member_id}:{card.name}:{rewarded}")
                        coupons.append(c)
                        issued.append(c.code)
                punch_changed[k] = (count, rewarded)
            result = AccrualResult(
                p.order_id, p.member_id, q.points,
                "available" if immediate else "pending", available_at, lot.expires_at,
                version.number, q.uncapped, q.factors, q.capped_by, tier_before, member.tier,
                tuple(issued))
            results.append(result)
            ops.append(Operation(f"order:{p.order_id}", "accrue", p.member_id, fp,
                                 to_json(result)))
        tx.add_accruals(accruals)
        tx.save_accounts(list(accounts.values()))
        tx.add_tier_changes(tier_rows)
        if punch_changed:
            tx.save_punches(punch_changed, punch_existing)
        tx.add_coupons(coupons)
        tx.add_operations(ops, now)
        return results

    def _period_usage(self, tx: LoyaltyTx, todo: list[tuple[Purchase, str]],
                      member_ids: set[str]) -> dict[tuple[str, str], int]:
        """Points already earned in the cap and budget periods the orders fall in."""
        used: dict[tuple[str, str], int] = {}
        for p, _fp in todo:
            prog = self.version_at(p.ordered_at).programme
            at = aware(p.ordered_at)
            if prog.cap_points_per_member is not None:
                start = prog.period_start(at, prog.cap_period)
                key = (p.member_id, start.isoformat())
                if key not in used:
                    sums = tx.earned_since([p.member_id], start)
                    used[key] = sums.get(p.member_id, 0)
            if prog.budget_points is not None:
                start = prog.period_start(at, prog.budget_period)
                key = ("", start.isoformat())
                if key not in used:
                    used[key] = sum(tx.earned_since(None, start).values())
        return used

    # -- returns and releases ------------------------------------------------------------

    def record_return(self, return_id: str, order_id: str, amount: Decimal,
                      returned_at: datetime | None = None) -> ReturnResult:
        """Take back points for ``amount`` returned of order ``order_id``: in proportion to
        the amount, never more than the order earned (odoo/odoo#257854 let customers keep
        them). Points already spent are handled by the programme's ``returned_spent_points``
        policy."""
        if amount <= 0:
            raise LoyaltyError(_("a returned amount must be positive"))
        with self.store.reading() as tx:
            accrual = tx.accruals([order_id]).get(order_id)
        if accrual is None:
            raise UnknownOrderError(_("order {id} never earned points").format(id=order_id))

        def work(tx: LoyaltyTx, now: datetime) -> ReturnResult:
            a = tx.accruals([order_id])[order_id]
            member = self._member(tx, a.member_id)
            account = self._account(tx, member, [a.lot_ref])
            at = aware(returned_at) if returned_at is not None else now
            account.expire(at, version=self.current_version)
            new_total = min(a.returned_amount + amount, a.amount)
            target = proportional_reversal(a.points, a.amount, new_total)
            k = target - a.reversed
            entry = account.reverse(a.lot_ref, k, at, ref=f"return:{return_id}",
                                    policy=self.programme.returned_spent_points,
                                    order_id=order_id, reason=f"return {return_id}",
                                    version=self.current_version)
            a.returned_amount = new_total
            a.reversed = target
            tx.update_accrual(a)
            tx.save_accounts([account])
            return ReturnResult(
                return_id, order_id, a.member_id, amount, k,
                -entry.pending if entry else 0, -entry.points if entry else 0,
                entry.deficit if entry else 0, account.member.balance)

        return self._once(f"return:{return_id}", "return",
                          {"order_id": order_id, "amount": str(amount)}, ReturnResult, work,
                          member_id=accrual.member_id)

    def release_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Make available every pending lot whose return window has closed by ``at``
        (idempotent: a released lot is not pending any more). See :meth:`run` for the
        moments allowed and what a failure midway leaves."""
        return self.run(at, steps=("release",), actor=actor).released

    def _release_step(self, at: datetime, log: _RunLog) -> RunResult:
        with self.store.reading() as tx:
            due = tx.due_releases(at)
        by_member: dict[str, list[str]] = defaultdict(list)
        for member_id, lot_ref in due:
            by_member[member_id].append(lot_ref)
        return self._release(by_member, at, explicit=False, log=log)

    def release_order(self, order_id: str) -> RunResult:
        """Release an order's points now (the programme's explicit action: delivered, …)."""
        with self.store.reading() as tx:
            a = tx.accruals([order_id]).get(order_id)
        if a is None:
            raise UnknownOrderError(_("order {id} never earned points").format(id=order_id))
        return self._release({a.member_id: [a.lot_ref]}, self.now(), explicit=True)

    def _release(self, by_member: dict[str, list[str]], at: datetime, *,
                 explicit: bool, log: _RunLog | None = None) -> RunResult:
        members_done, lots_done, points = 0, 0, 0
        ids = sorted(by_member)
        for i in range(0, len(ids), self.run_chunk):
            part = ids[i : i + self.run_chunk]
            for _attempt in range(RETRIES):
                try:
                    with self.store.transaction() as tx:
                        m, n, p = self._release_part(tx, part, by_member, at, explicit)
                        chunk = None
                        if log is not None:
                            chunk = log.chunk("release", m, n, p, part)
                            tx.add_run_chunk(chunk, self.now())
                        tx.commit()
                    if chunk is not None and log is not None:
                        log.committed(chunk)
                    members_done, lots_done, points = members_done + m, lots_done + n, points + p
                    break
                except DuplicateKey:
                    continue
            else:
                raise LoyaltyError(_("too many conflicting writes; try again"))
        return RunResult(members_done, lots_done, points)

    def _release_part(self, tx: LoyaltyTx, part: list[str], by_member: dict[str, list[str]],
                      at: datetime, explicit: bool) -> tuple[int, int, int]:
        peek = tx.members(part)
        referrers = {m.referred_by for m in peek.values() if m.referred_by}
        members = tx.members(set(part) | referrers, lock=True)
        lots = tx.open_lots(members)
        accounts = {mid: Account.of(m, lots.get(mid, [])) for mid, m in members.items()}
        order_lots = [ref for mid in part for ref in by_member[mid]]
        accruals = tx.accruals([ref.removeprefix("order:") for ref in order_lots
                                if ref.startswith("order:")])
        bonus_refs = tx.entry_refs([f"bonus:first_order:{mid}" for mid in part])
        n = p = 0
        touched = set()
        for mid in part:
            account = accounts.get(mid)
            if account is None:
                continue
            for ref in by_member[mid]:
                lot = account.lots.get(ref)
                if lot is None or lot.state is not LotState.PENDING:
                    continue
                when = at if explicit or lot.available_at is None else aware(lot.available_at)
                entry = account.release(ref, when, ref=f"release:{ref}",
                                        reason="explicit" if explicit else "return window closed",
                                        version=self.current_version)
                touched.add(mid)
                if entry is not None:
                    n += 1
                    p += entry.points
                a = accruals.get(ref.removeprefix("order:"))
                if a is None or a.returned_amount >= a.amount:
                    continue  # a wholly returned order never completed
                first_ref = f"bonus:first_order:{mid}"
                if self.programme.bonus_first_order and first_ref not in bonus_refs:
                    bonus_refs.add(first_ref)
                    self._credit(account, ref=first_ref, source="bonus:first_order",
                                 points=self.programme.bonus_first_order, at=when,
                                 kind=EntryKind.BONUS, reason="first_order")
                if account.member.referred_by:
                    self._settle_referral(tx, accounts, account.member, a, when)
                    touched.add(account.member.referred_by)
        tx.save_accounts([accounts[mid] for mid in sorted(touched) if mid in accounts])
        return len(touched & set(part)), n, p

    def _settle_referral(self, tx: LoyaltyTx, accounts: dict[str, Account], referee: Member,
                         a: Accrual, at: datetime) -> None:
        record = tx.referral(referee.member_id)
        if record is None or record.status != "pending":
            return
        prog = self.programme
        if a.amount - a.returned_amount < prog.referral_min_order_amount:
            return  # not a qualifying order; a later one may be
        referrer = accounts.get(record.referrer_id)
        if referrer is None:
            return
        reason = same_person(referrer.member, referee, a.payment_fingerprint)
        if reason is not None:
            tx.settle_referral(referee.member_id, "refused", reason.value, a.order_id, at)
            return
        if prog.referee_points:
            self._credit(accounts[referee.member_id], ref=f"bonus:referral:{referee.member_id}",
                         source="bonus:referral", points=prog.referee_points, at=at,
                         kind=EntryKind.BONUS, reason="referral (referee)")
        if prog.referrer_points:
            self._credit(referrer, ref=f"bonus:referral:{referee.member_id}:referrer",
                         source="bonus:referral", points=prog.referrer_points, at=at,
                         kind=EntryKind.BONUS,
                         reason=f"referral of {referee.member_id} (referrer)")
        tx.settle_referral(referee.member_id, "rewarded", None, a.order_id, at)

    # -- expiry --------------------------------------------------------------------------

    def expire_due(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Expire every lot past its expiry at ``at``. Idempotent: expired lots are empty.
        See :meth:`run` for the moments allowed and what a failure midway leaves."""
        return self.run(at, steps=("expire",), actor=actor).expired

    def _expire_step(self, at: datetime, log: _RunLog) -> RunResult:
        with self.store.reading() as tx:
            ids = tx.due_expiries(at)
        members_done = lots_done = points = 0
        for i in range(0, len(ids), self.run_chunk):
            part = ids[i : i + self.run_chunk]
            with self.store.transaction() as tx:
                accounts, taken = self._expire_part(tx, part, at, lock=True,
                                                    version=self.current_version)
                tx.save_accounts(accounts)
                m, n, p = len(taken), sum(t[1] for t in taken), sum(t[2] + t[3] for t in taken)
                chunk = log.chunk("expire", m, n, p,
                                  [f"{mid}: {pts + pend}" for mid, _n, pts, pend in taken])
                tx.add_run_chunk(chunk, self.now())
                tx.commit()
            log.committed(chunk)
            members_done, lots_done, points = members_done + m, lots_done + n, points + p
        return RunResult(members_done, lots_done, points)

    @staticmethod
    def _expire_part(tx: LoyaltyTx, part: Sequence[str], at: datetime, *, lock: bool,
                     version: int | None, release: frozenset[str] = frozenset(),
                     ) -> tuple[list[Account], list[tuple[str, int, int, int]]]:
        """The accounts of ``part`` with their lots due at ``at`` expired (in memory), and per
        member touched: (id, lots, spendable points, pending points) taken. Lots named in
        ``release`` are made available first (a dry run: the run releases before expiring)."""
        members = tx.members(part, lock=lock)
        lots = tx.open_lots(part)
        accounts = [Account.of(m, lots.get(mid, [])) for mid, m in members.items()]
        taken = []
        for account in accounts:
            for ref in sorted(release & set(account.lots)):
                lot = account.lots[ref]
                account.release(ref, aware(lot.available_at) if lot.available_at else at,
                                ref=f"release:{ref}")
            entries = account.expire(at, version=version)
            if entries:
                taken.append((account.member.member_id, len(entries),
                              -sum(e.points for e in entries), -sum(e.pending for e in entries)))
        return accounts, taken

    # -- notices of points about to expire -------------------------------------------------

    def _notice_window(self, at: datetime | None, within_days: int) -> tuple[datetime, datetime]:
        if within_days < 1:
            raise LoyaltyError(_("the notice window must be at least one day, not {n}").format(
                n=within_days))
        start = aware(at) if at is not None else self.now()
        return start, start + timedelta(days=within_days)

    def expiring_points(self, at: datetime | None = None, *,
                        within_days: int) -> list[ExpiringPoints]:
        """The available points that expire after ``at`` (default now) and at most
        ``within_days`` days later, per member and expiry instant, that no notice has been
        recorded for (pending points cannot be spent before they expire: they are left
        out). Computed by the store in one grouped query."""
        start, until = self._notice_window(at, within_days)
        with self.store.reading() as tx:
            return tx.expiring_points(start, until)

    def notify_expiring(self, send: Callable[[Sequence[ExpiringPoints]], object], *,
                        at: datetime | None = None, within_days: int,
                        chunk: int = 500) -> NoticeResult:
        """Send one notice per member and expiry instant of the points expiring within
        ``within_days`` days of ``at`` (see :meth:`expiring_points`), through ``send``.

        A notice is recorded (under the primary key member + expiry) *before* it is handed to
        ``send``, in batches of ``chunk``: a second run, a concurrent one or one after a
        restart finds it recorded and sends nothing again. When ``send`` raises, the batch's
        records are removed again (so the next run retries it) and the error propagates; a
        crash between the two loses a notice rather than sending it twice.

        ``at`` may not lie in the future (:meth:`run_moment`): a notice is sent once, ever, so
        one recorded early would keep the real one from going out."""
        self.versions()
        at = self.run_moment(at) if at is not None else None
        start, until = self._notice_window(at, within_days)
        with self.store.reading() as tx:
            found = tx.expiring_points(start, until)
        notices = members = points = 0
        for i in range(0, len(found), chunk):
            fresh = self._record_notices(found[i : i + chunk], start)
            if not fresh:
                continue
            try:
                send(fresh)
            except BaseException:
                with self.store.transaction() as tx:
                    tx.delete_expiry_notices(fresh)
                    tx.commit()
                raise
            notices += len(fresh)
            members += len({n.member_id for n in fresh})
            points += sum(n.points for n in fresh)
        return NoticeResult(start, until, notices, members, points)

    def _record_notices(self, part: Sequence[ExpiringPoints],
                        start: datetime) -> list[ExpiringPoints]:
        """Record the notices of ``part`` nobody recorded yet; returns those (with ids)."""
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    done = tx.expiry_notices({n.member_id for n in part}, start)
                    fresh = [replace(n, notice_id=secrets.token_hex(16)) for n in part
                             if (n.member_id, aware(n.expires_at)) not in done]
                    tx.add_expiry_notices(fresh, self.now())
                    tx.commit()
                return fresh
            except DuplicateKey:
                continue  # a concurrent run recorded some of them first: look again
        raise LoyaltyError(_("too many concurrent runs of the expiry notices; try again"))

    # -- spending ------------------------------------------------------------------------

    def redeem(self, member_id: str, reward_code: str, *, key: str,
               at: datetime | None = None) -> RedemptionResult:
        """Spend points on a catalogue reward and issue its single-use coupon.

        The balance is checked and the points taken in one transaction holding the member's
        lock, so concurrent redemptions cannot overspend. ``key`` makes the call idempotent.
        """
        reward = self.programme.reward(reward_code)
        if reward is None:
            raise RewardError(_("no reward {code} in the catalogue").format(code=reward_code))

        def work(tx: LoyaltyTx, now: datetime) -> RedemptionResult:
            when = aware(at) if at is not None else now
            member = self._member(tx, member_id)
            if not member.consent:
                raise ConsentRequiredError(_("member {id} has not opted in").format(id=member_id))
            if reward.min_tier is not None:
                names = [t.name for t in self.programme.tiers]
                if names.index(self.programme.tier(member.tier).name) < names.index(
                        self.programme.tier(reward.min_tier).name):
                    raise RewardError(_("{reward} needs tier {tier}").format(
                        reward=reward.name, tier=reward.min_tier))
            if reward.per_member is not None:
                had = sum(1 for c in tx.coupons_of(member_id)
                          if c.reward == reward.code and c.source_ref.startswith("redeem:")
                          and c.cancelled_at is None)
                if had >= reward.per_member:
                    raise RewardError(_("{id} has redeemed {reward} {n} times, the most one "
                                        "member may").format(id=member_id, reward=reward.code,
                                                             n=had))
            account = self._spend(tx, member, reward.points, when, ref=f"redeem:{key}",
                                  reason=f"reward {reward.code}")
            # last: the stock's row lock is held from here to the commit, and a refusal
            # above takes nothing from the stock
            if reward.stock is not None and not tx.take_reward(reward.code, reward.stock):
                raise OutOfStockError(_("{reward}: all {n} have been redeemed").format(
                    reward=reward.code, n=reward.stock))
            coupon = self._coupon(member_id, reward.code, reward.kind.value, reward.value,
                                  reward.percent, when, reward.valid_days, f"redeem:{key}")
            tx.add_coupons([coupon])
            return RedemptionResult(member_id, reward.points, account.member.balance,
                                    reward.code, coupon.code, coupon.valid_until)

        return self._once(f"redeem:{key}", "redeem", {"member": member_id, "reward": reward_code},
                          RedemptionResult, work, member_id=member_id)

    def spend(self, member_id: str, points: int, *, key: str, reason: str = "payment",
              at: datetime | None = None) -> RedemptionResult:
        """Spend ``points`` directly (paying with points at the till)."""
        if points <= 0:
            raise LoyaltyError(_("points to spend must be positive"))

        def work(tx: LoyaltyTx, now: datetime) -> RedemptionResult:
            member = self._member(tx, member_id)
            account = self._spend(tx, member, points, aware(at) if at else now,
                                  ref=f"redeem:{key}", reason=reason)
            return RedemptionResult(member_id, points, account.member.balance)

        return self._once(f"redeem:{key}", "spend", {"member": member_id, "points": points},
                          RedemptionResult, work, member_id=member_id)

    def stock_left(self) -> dict[str, int]:
        """Per reward with a stock limit: how many can still be redeemed."""
        with self.store.reading() as tx:
            issued = tx.rewards_issued()
        return {r.code: max(0, r.stock - issued.get(r.code, 0))
                for r in self.programme.rewards if r.stock is not None}

    def cancel_redemption(self, *, key: str | None = None, coupon_code: str | None = None,
                          reason: str = "cancelled", actor: str = "system",
                          at: datetime | None = None) -> CancellationResult:
        """Undo a redemption (or a payment with points), named by its idempotency ``key`` or
        by the ``coupon_code`` it issued: the coupon stops being valid and the points go back
        to the lots they came from, with those lots' expiry (points of lots that have expired
        since do not come back; returned points pay any debt first). Refused while nothing
        is written when the coupon has been used. Cancelling again answers the first
        cancellation (``replayed``)."""
        if (key is None) == (coupon_code is None):
            raise LoyaltyError(_("name the redemption by its key or by its coupon's code"))
        with self.store.reading() as tx:
            if coupon_code is not None:
                code = normalise_code(coupon_code)
                coupon = tx.coupon(code)
                ref = coupon.source_ref if coupon is not None else ""
                if not ref.startswith("redeem:"):
                    raise UnknownRedemptionError(
                        _("no redemption issued coupon {code}").format(code=code))
            else:
                ref = f"redeem:{key}"
            op = tx.operations([ref]).get(ref)
        if op is None or op.kind not in ("redeem", "spend") or op.member_id is None:
            raise UnknownRedemptionError(_("no redemption under key {key}").format(
                key=ref.removeprefix("redeem:")))
        member_id = op.member_id

        def work(tx: LoyaltyTx, now: datetime) -> CancellationResult:
            when = aware(at) if at is not None else now
            member = self._member(tx, member_id)
            coupon = tx.coupon_from(ref)
            # one atomic update, conditional on the coupon being unused: a use racing this
            # cancellation either lands first (and this is refused) or finds it cancelled
            if coupon is not None:
                if not tx.cancel_coupon(coupon.code, when):
                    used = tx.coupon(coupon.code)
                    raise CouponUsedError(
                        _("coupon {code} was used on order {order}: its redemption cannot be "
                          "cancelled").format(code=coupon.code,
                                              order=used.used_order_id if used else "?"))
                tx.give_back_reward(coupon.reward)  # a no-op for a reward without a stock
            taken = tx.allocations(ref)
            account = self._account(tx, member, [a.lot_ref for a in taken])
            account.expire(when, version=self.current_version)
            entry, lapsed = account.restore(taken, when, ref=f"cancel:{ref}", reason=reason,
                                            actor=actor, version=self.current_version)
            tx.save_accounts([account])
            return CancellationResult(member_id, ref.removeprefix("redeem:"), entry.points,
                                      lapsed, account.member.balance, reason, actor,
                                      coupon.code if coupon is not None else None)

        return self._once(f"cancel:{ref}", "cancel", {"redemption": ref}, CancellationResult,
                          work, member_id=member_id)

    def _spend(self, tx: LoyaltyTx, member: Member, points: int, at: datetime, *, ref: str,
               reason: str, kind: EntryKind = EntryKind.REDEEM, actor: str = "system") -> Account:
        account = self._account(tx, member)
        account.expire(at, version=self.current_version)
        if member.balance < points:
            raise InsufficientPointsError(
                _("{id} has {balance} points available; {needed} needed").format(
                    id=member.member_id, balance=member.balance, needed=points),
                balance=member.balance, needed=points)
        account.spend(points, at, ref=ref, kind=kind, reason=reason, actor=actor,
                      version=self.current_version)
        tx.save_accounts([account])
        return account

    def _coupon(self, member_id: str, reward: str, kind: str, value: Decimal, percent: Decimal,
                at: datetime, valid_days: int, source_ref: str) -> Coupon:
        last_day = self.programme.local(at).date() + timedelta(days=valid_days)
        until = self.programme.midnight(last_day + timedelta(days=1))
        return Coupon(new_code(10, "C"), member_id, reward, kind, value, percent, at, until,
                      source_ref=source_ref)

    def coupon_status(self, code: str, at: datetime | None = None) -> CouponStatus:
        """A coupon and whether it can be used at ``at`` (default now)."""
        code = normalise_code(code)
        with self.store.reading() as tx:
            coupon = tx.coupon(code)
        if coupon is None:
            raise UnknownCouponError(_("coupon {code} does not exist").format(code=code))
        state = coupon.state(at if at is not None else self.now())
        return CouponStatus(coupon.code, coupon.member_id, coupon.reward, coupon.kind,
                            coupon.value, coupon.percent, coupon.issued_at, coupon.valid_until,
                            state, coupon.used_at, coupon.used_order_id, coupon.cancelled_at)

    def use_coupon(self, code: str, *, order_id: str, at: datetime | None = None,
                   key: str | None = None) -> CouponUse:
        """Mark a coupon used on ``order_id`` (once; the same order again is a replay).

        With ``key`` (a till's idempotency key) the answer is also recorded under it: the
        same key again returns it (``replayed``), the same key for another order or coupon
        is an :class:`IdempotencyConflictError`."""
        code = normalise_code(code)

        def work(tx: LoyaltyTx, now: datetime) -> CouponUse:
            # locked: a till that loses a race waits for the winner and reads its use
            coupon = tx.coupon(code, lock=True)
            if coupon is None:
                raise UnknownCouponError(_("coupon {code} does not exist").format(code=code))
            when = aware(at) if at is not None else now
            replay = self._check_use(coupon, order_id, when)
            if replay is not None:
                return replay
            if not tx.use_coupon(code, order_id, when):
                # the update matched nothing although the row read usable: someone changed it
                # in between (a store without the row lock); judge the row as it is now
                now_row = tx.coupon(code)
                replay = self._check_use(now_row, order_id, when) if now_row else None
                if replay is not None:
                    return replay
                raise CouponUsedError(_("coupon {code} was already used").format(code=code))
            return self._coupon_use(coupon, order_id)

        if key is not None:
            return self._once(f"coupon-use:{key}", "coupon_use",
                              {"code": code, "order_id": order_id}, CouponUse, work)
        with self.store.transaction() as tx:
            use = work(tx, self.now())
            if not use.replayed:
                tx.commit()
            return use

    @staticmethod
    def _coupon_use(coupon: Coupon, order_id: str, *, replayed: bool = False) -> CouponUse:
        return CouponUse(coupon.code, coupon.member_id, coupon.reward, coupon.kind,
                         coupon.value, coupon.percent, order_id, replayed=replayed)

    def _check_use(self, coupon: Coupon, order_id: str, when: datetime) -> CouponUse | None:
        """Whether ``coupon`` can be used on ``order_id`` at ``when``: None when it can, the
        first use when it was used on this very order (a replay), else raises why not — used
        on another order (:class:`CouponUsedError`), cancelled, or outside its dates. Used is
        judged first, so a till that lost a race hears "used" whatever the moment."""
        if coupon.used_at is not None:
            if coupon.used_order_id == order_id:
                return self._coupon_use(coupon, order_id, replayed=True)
            raise CouponUsedError(_("coupon {code} was already used on order {order}"
                                    ).format(code=coupon.code, order=coupon.used_order_id))
        if coupon.cancelled_at is not None:
            raise RewardError(_("coupon {code} was cancelled on {at}").format(
                code=coupon.code, at=aware(coupon.cancelled_at).isoformat()))
        if not aware(coupon.issued_at) <= when < aware(coupon.valid_until):
            raise RewardError(_("coupon {code} is not valid at {at} (valid {start} to "
                                "{end})").format(code=coupon.code, at=when.isoformat(),
                                                 start=coupon.issued_at.isoformat(),
                                                 end=coupon.valid_until.isoformat()))
        return None

    # -- manual adjustments and bonuses -------------------------------------------------

    def adjust(self, member_id: str, points: int, *, reason: str, actor: str,
               key: str) -> AdjustmentResult:
        """A manual change of the balance; needs a reason and an actor, and is a ledger entry
        like any other. A deduction cannot exceed the available balance."""
        if not reason.strip() or not actor.strip():
            raise LoyaltyError(_("a manual adjustment needs a reason and an actor"))
        if points == 0:
            raise LoyaltyError(_("an adjustment of 0 points changes nothing"))

        def work(tx: LoyaltyTx, now: datetime) -> AdjustmentResult:
            member = self._member(tx, member_id)
            ref = f"adjust:{key}"
            if points > 0:
                account = Account.of(member)
                self._credit(account, ref=ref, source="adjust", points=points, at=now,
                             kind=EntryKind.ADJUST, reason=reason, actor=actor)
                tx.save_accounts([account])
            else:
                account = self._spend(tx, member, -points, now, ref=ref, reason=reason,
                                      kind=EntryKind.ADJUST, actor=actor)
            return AdjustmentResult(member_id, points, account.member.balance, reason, actor)

        return self._once(f"adjust:{key}", "adjust",
                          {"member": member_id, "points": points, "reason": reason,
                           "actor": actor}, AdjustmentResult, work, member_id=member_id)

    def award_bonus(self, member_id: str, event: str, *, key: str | None = None,
                    at: datetime | None = None) -> BonusResult:
        """Credit the programme's bonus for ``event`` (sign_up, birthday, review,
        nps_answer, …) once per ``key`` (birthday: once a year by default)."""
        if event not in BONUS_EVENTS:
            raise LoyaltyError(_("unknown bonus event {e}: use one of {all}").format(
                e=event, all=", ".join(BONUS_EVENTS)))
        points = self.programme.bonus_points(event)
        if points <= 0:
            raise LoyaltyError(_("the programme gives no {e} bonus").format(e=event))
        when = aware(at) if at is not None else self.now()
        if key is None:
            if event in ("review", "nps_answer"):
                raise LoyaltyError(_("a {e} bonus needs the id of the {e} as its key").format(
                    e=event))
            key = str(self.programme.local(when).year) if event == "birthday" else "once"
        ref = f"bonus:{event}:{member_id}:{key}"

        def work(tx: LoyaltyTx, now: datetime) -> BonusResult:
            member = self._member(tx, member_id)
            if not member.consent:
                raise ConsentRequiredError(_("member {id} has not opted in").format(id=member_id))
            account = Account.of(member)
            self._credit(account, ref=ref, source=f"bonus:{event}", points=points, at=when,
                         kind=EntryKind.BONUS, reason=event)
            tx.save_accounts([account])
            return BonusResult(member_id, event, points)

        return self._once(ref, "bonus", {"member": member_id, "event": event}, BonusResult,
                          work, member_id=member_id)

    # -- tiers ---------------------------------------------------------------------------

    def review_tiers(self, at: datetime | None = None, *, actor: str = "system") -> RunResult:
        """Review every member's tier at ``at``: downgrades after the qualification period
        and its grace period, renewals, and any upgrade not yet applied. Idempotent. See
        :meth:`run` for the moments allowed (never before the latest review)."""
        return self.run(at, steps=("tiers",), actor=actor).tiers

    def _tiers_step(self, at: datetime, log: _RunLog) -> RunResult:
        with self.store.reading() as tx:
            ids = tx.member_ids()
        changed: list[str] = []
        for i in range(0, len(ids), self.run_chunk):
            part = ids[i : i + self.run_chunk]
            with self.store.transaction() as tx:
                self._check_review_moment(tx, at)  # a concurrent later review: stop here
                rows, updated, lines = self._review_part(tx, part, at, lock=True)
                tx.update_members(updated)
                tx.add_tier_changes(rows)
                chunk = log.chunk("tiers", len(lines), len(lines), 0, lines)
                tx.add_run_chunk(chunk, self.now())
                tx.commit()
            log.committed(chunk)
            changed += lines
        return RunResult(len(changed), len(changed), 0, tuple(changed))

    def _review_part(self, tx: LoyaltyTx, part: Sequence[str], at: datetime, *, lock: bool,
                     ) -> tuple[list[dict[str, Any]], list[Member], list[str]]:
        """The tier review of ``part`` at ``at``, in memory: the history rows, the members
        whose tier or period moves, and one line per tier change."""
        prog = self.programme
        since = at - timedelta(days=prog.tier_window_days)
        members = tx.members(part, lock=lock)
        history: dict[str, list[Accrual]] = defaultdict(list)
        for a in tx.accrual_history(part, since):
            history[a.member_id].append(a)
        rows: list[dict[str, Any]] = []
        updated: list[Member] = []
        lines: list[str] = []
        for mid, member in members.items():
            qualifying = _qualifying(prog, history[mid], at)
            d = review(prog, current=member.tier, period_end=member.tier_period_end,
                       qualifying=qualifying, at=at)
            if d.changed_tier:
                rows.append({"member_id": mid, "at": at, "from_tier": member.tier,
                             "to_tier": d.tier, "change": d.change, "qualifying": qualifying})
                lines.append(f"{mid}: {member.tier} → {d.tier}")
            if d.tier != member.tier or d.period_end != member.tier_period_end:
                member.tier, member.tier_period_end = d.tier, d.period_end
                updated.append(member)
        return rows, updated, lines

    # -- the periodic run: release, expiry, tiers ---------------------------------------

    def run_moment(self, at: datetime | None) -> datetime:
        """The moment a periodic run may run at: ``at`` (default now), refused with
        :class:`RunMomentError` when it is later than now plus :data:`RUN_CLOCK_TOLERANCE`
        (a run in the future expires points and moves tiers before their time, and nothing
        can undo it)."""
        now = self.now()
        if at is None:
            return now
        when = aware(at)
        if when > now + RUN_CLOCK_TOLERANCE:
            raise RunMomentError(_(
                "{at} is in the future (it is now {now}): a run may not take points or move "
                "tiers before their time").format(at=when.isoformat(timespec="seconds"),
                                                  now=now.isoformat(timespec="seconds")))
        try:
            when - timedelta(days=self.programme.tier_window_days
                             + self.programme.tier_grace_days + 366)
        except OverflowError:
            raise RunMomentError(_("{at} is too far in the past for a run").format(
                at=when.isoformat(timespec="seconds"))) from None
        return when

    @staticmethod
    def _check_review_moment(tx: LoyaltyTx, at: datetime) -> None:
        """Refuse a tier review before the latest one: it judges the window ending at its
        own moment, so it could move back up a member that review moved down."""
        last = tx.last_run_at("tiers")
        if last is not None and aware(at) < aware(last):
            raise RunMomentError(_(
                "the tiers were last reviewed at {last}: a review at an earlier moment "
                "({at}) could undo what that one did; use {last} or later").format(
                last=aware(last).isoformat(timespec="seconds"),
                at=aware(at).isoformat(timespec="seconds")))

    def run(self, at: datetime | None = None, *, steps: Sequence[str] = RUN_STEPS,
            actor: str = "system", run_id: str | None = None) -> PeriodicRun:
        """The programme's periodic work at ``at`` (default now): release the points whose
        return window has closed, expire due lots, review tiers — in that order, each in
        chunks of ``run_chunk`` members, one transaction per chunk.

        The moment (:meth:`run_moment`): not in the future; in the past, release and expiry
        only do what was due by then (each entry is dated at its lot's own moment, so a past
        moment after a later run finds nothing: nothing twice, nothing undone); a tier review
        is refused before the latest review (:class:`RunMomentError`, nothing written).

        Every chunk records what it did (``loyalty_runs``) in its own transaction. When a
        chunk fails, :class:`RunIncompleteError` says what the committed ones did; nothing
        else was written, and running again at the same moment finishes the work (each step
        is idempotent)."""
        unknown = set(steps) - set(RUN_STEPS)
        if unknown:
            raise LoyaltyError(_("unknown run steps: {s}").format(s=", ".join(sorted(unknown))))
        self.versions()
        when = self.run_moment(at)
        if "tiers" in steps:
            with self.store.reading() as tx:
                self._check_review_moment(tx, when)
        log = _RunLog(run_id or secrets.token_hex(8), when, actor)
        done: dict[str, RunResult] = {}
        step = steps[0] if steps else ""
        try:
            for step in RUN_STEPS:
                if step in steps:
                    done[step] = {"release": self._release_step, "expire": self._expire_step,
                                  "tiers": self._tiers_step}[step](when, log)
        except Exception as e:
            raise _incomplete(log, step, e) from e
        return PeriodicRun(log.run_id, when, done.get("release", RunResult()),
                           done.get("expire", RunResult()), done.get("tiers", RunResult()))

    def run_record(self, run_id: str) -> list[RunChunk]:
        """What a run committed, chunk by chunk (as recorded in its chunks' transactions)."""
        with self.store.reading() as tx:
            return tx.run_chunks(run_id)

    def preview_run(self, at: datetime | None = None) -> PeriodicRun:
        """What :meth:`run` at ``at`` would do, per member (with the customer's name when the
        store has it): the points the expiry would take and the tier the review would move
        to, and the totals. Refuses the moments the run refuses. Writes nothing (one read
        transaction, rolled back)."""
        when = self.run_moment(at)
        per_member: dict[str, list[int]] = {}
        tiers: dict[str, tuple[str, str]] = {}
        with self.store.reading() as tx:
            self._check_review_moment(tx, when)
            due = tx.due_releases(when)
            due_refs = frozenset(ref for _m, ref in due)
            due_lots = tx.lots(sorted(due_refs))
            released = [lot for lot in due_lots.values()
                        if lot.state is LotState.PENDING and lot.remaining > 0]
            ids = tx.due_expiries(when)
            for i in range(0, len(ids), self.run_chunk):
                _accounts, taken = self._expire_part(tx, ids[i : i + self.run_chunk], when,
                                                     lock=False, version=None,
                                                     release=due_refs)
                for mid, n, pts, pend in taken:
                    per_member[mid] = [pts, pend, n]
            all_ids = tx.member_ids()
            for i in range(0, len(all_ids), self.run_chunk):
                part = all_ids[i : i + self.run_chunk]
                before = {m.member_id: m.tier for m in tx.members(part).values()}
                rows, _updated, _lines = self._review_part(tx, part, when, lock=False)
                for row in rows:
                    tiers[row["member_id"]] = (before[row["member_id"]], row["to_tier"])
            touched = sorted(set(per_member) | set(tiers))
            names = tx.customer_names(touched)
            current = {m.member_id: m.tier for m in tx.members(touched).values()}
        members = []
        for mid in touched:
            pts, pend, n = per_member.get(mid, [0, 0, 0])
            tier_from, tier_to = tiers.get(mid, (current.get(mid, ""), current.get(mid, "")))
            members.append(RunMember(mid, names.get(mid), pts, pend, n, tier_from, tier_to))
        lines = tuple(f"{mid}: {a} → {b}" for mid, (a, b) in sorted(tiers.items()))
        expired = RunResult(len(per_member), sum(v[2] for v in per_member.values()),
                            sum(v[0] + v[1] for v in per_member.values()))
        released_result = RunResult(len({lot.member_id for lot in released}), len(released),
                                    sum(lot.remaining for lot in released))
        return PeriodicRun("", when, released_result, expired,
                           RunResult(len(tiers), len(tiers), 0, lines), dry_run=True,
                           members=tuple(members))

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        with self.store.reading() as tx:
            return tx.tier_history(member_id)

    # -- club and stored value ----------------------------------------------------------

    def join_club(self, member_id: str, *, payment_ref: str) -> ClubResult:
        """Record a paid year of club membership (from today, or from the end of the
        current year of membership)."""
        fee = self.programme.club_fee
        if fee is None:
            raise LoyaltyError(_("the programme has no paid club (set loyalty.club_fee)"))

        def work(tx: LoyaltyTx, now: datetime) -> ClubResult:
            member = self._member(tx, member_id)
            start = max(now, aware(member.club_until)) if member.club_until else now
            local = self.programme.local(start)
            try:
                end = local.replace(year=local.year + 1)
            except ValueError:  # 29 February
                end = local.replace(year=local.year + 1, day=28)
            tx.add_club_payment(payment_ref, member_id, now, fee, start, end)
            member.club_until = end
            tx.update_members([member])
            return ClubResult(member_id, payment_ref, fee, end)

        return self._once(f"club:{payment_ref}", "club", {"member": member_id}, ClubResult,
                          work, member_id=member_id)

    def top_up(self, member_id: str, amount: Decimal, *, ref: str,
               payment_method: str) -> CardResult:
        """Put money on the member's stored-value card. ``payment_method`` says how it was
        paid; ``stored_value`` (the card itself) is refused."""
        method = payment_method.strip().lower()
        if not method:
            raise StoredValueError(_("say how the top-up was paid"))
        if method in ("stored_value", f"stored_value:{member_id.lower()}"):
            raise StoredValueError(_("a stored-value card cannot be topped up with itself"))
        return self._card(member_id, amount, ref=ref, kind="top_up",
                          payment_method=payment_method)

    def pay_with_card(self, member_id: str, amount: Decimal, *, ref: str) -> CardResult:
        """Pay ``amount`` from the stored-value card."""
        return self._card(member_id, -amount, ref=ref, kind="spend")

    def refund_to_card(self, member_id: str, amount: Decimal, *, ref: str,
                       original_ref: str) -> CardResult:
        """Give back to the card (part of) what payment ``original_ref`` took from it."""
        return self._card(member_id, amount, ref=ref, kind="refund", original_ref=original_ref)

    def _card(self, member_id: str, amount: Decimal, *, ref: str, kind: str,
              payment_method: str | None = None, original_ref: str | None = None) -> CardResult:
        if amount == 0 or (kind != "spend" and amount < 0) or (kind == "spend" and amount > 0):
            raise StoredValueError(_("the amount must be positive"))

        def work(tx: LoyaltyTx, now: datetime) -> CardResult:
            member = self._member(tx, member_id)
            if kind == "spend" and member.stored_value + amount < 0:
                raise StoredValueError(_("the card holds {v}; {a} needed").format(
                    v=member.stored_value, a=-amount))
            if kind == "top_up" and member.stored_value + amount > \
                    self.programme.stored_value_max_balance:
                raise StoredValueError(_("a card may hold at most {m}").format(
                    m=self.programme.stored_value_max_balance))
            if kind == "refund":
                original = tx.card_entry(original_ref or "")
                if original is None or original["member_id"] != member_id or \
                        original["kind"] != "spend":
                    raise StoredValueError(_("{ref} is not a payment from this card").format(
                        ref=original_ref))
                if tx.card_refunded(original_ref or "") + amount > -original["amount"]:
                    raise StoredValueError(_("cannot refund more than the payment took"))
            tx.add_card_entry(ref, member_id, now, kind, amount, payment_method, original_ref)
            member.stored_value += amount
            tx.update_members([member])
            return CardResult(member_id, ref, kind, amount, member.stored_value)

        return self._once(f"card:{ref}", f"card_{kind}",
                          {"member": member_id, "amount": str(amount), "kind": kind,
                           "original": original_ref}, CardResult, work, member_id=member_id)

    # -- exclusive offers ----------------------------------------------------------------

    def run_offer(self, name: str, *, run_key: str | None = None, seed: int | None = None,
                  at: datetime | None = None) -> DrawResult:
        """Issue an exclusive offer's coupons to the members its rule selects (DOMAIN §8).

        ``run_key`` (default: the local date) makes a run idempotent: running it again
        returns the first run. A draw records its seed, the number and a digest of the
        eligible members, and the winners.
        """
        offer = self.programme.offer(name)
        if offer is None:
            raise RewardError(_("no offer {name} in the programme").format(name=name))
        reward = self.programme.reward(offer.reward)
        if reward is None:
            raise RewardError(_("offer {name} names reward {r}, which is not in the "
                                "catalogue").format(name=name, r=offer.reward))
        when = aware(at) if at is not None else self.now()
        run_key = run_key or self.programme.local(when).date().isoformat()

        def work(tx: LoyaltyTx, now: datetime) -> DrawResult:
            members = {m.member_id: m for m in tx.all_members() if m.consent}
            if offer.kind is OfferKind.SPENT_OVER:
                spend = tx.spend_since(when - timedelta(days=offer.window_days))
                eligible = [m for m in members if spend.get(m, Decimal(0)) > offer.min_spend]
            elif offer.kind is OfferKind.TENURE:
                cutoff = when - timedelta(days=offer.min_tenure_days)
                eligible = [m for m, x in members.items() if aware(x.enrolled_at) <= cutoff]
            else:
                tier = self.programme.tier(offer.tier).name
                eligible = [m for m, x in members.items()
                            if self.programme.tier(x.tier).name == tier]
            used_seed = digest = None
            chosen = sorted(eligible)
            if offer.kind is OfferKind.DRAW:
                used_seed = seed if seed is not None else secrets.randbits(62)
                d = draw(eligible, offer.winners, used_seed)
                chosen, digest = list(d.winners), d.eligible_digest
                tx.add_draw(f"{name}:{run_key}", name, when, used_seed, d.eligible, digest,
                            d.winners)
            coupons = [self._coupon(m, reward.code, reward.kind.value, reward.value,
                                    reward.percent, when, reward.valid_days,
                                    f"offer:{name}:{run_key}:{m}") for m in chosen]
            tx.add_coupons(coupons)
            return DrawResult(name, run_key, len(eligible), tuple(chosen),
                              tuple(c.code for c in coupons), used_seed, digest)

        return self._once(f"offer:{name}:{run_key}", "offer", {"seed": seed}, DrawResult, work)

    # -- reading -------------------------------------------------------------------------

    def statement(self, member_id: str, *, at: datetime | None = None,
                  history: int = 20) -> Statement:
        """Balance, pending, expiring soon, tier and progress to the next one, history."""
        self.versions()
        when = aware(at) if at is not None else self.now()
        prog = self.programme
        with self.store.reading() as tx:
            member = self._member(tx, member_id, lock=False)
            account = self._account(tx, member)
            soon = account.expiring(when, when + timedelta(days=prog.expiring_soon_days))
            # lots past their expiry that no expiry run has written off yet: not spendable
            unswept = member.balance + member.debt - sum(
                lot.remaining for lot in account.spendable(when))
            since = when - timedelta(days=prog.tier_window_days)
            qualifying = _qualifying(prog, tx.accrual_history([member_id], since), when)
            entries = tx.entries(member_id, limit=history)
            coupons = [c for c in tx.coupons_of(member_id)
                       if c.state(when) in ("valid", "not_yet_valid")]
        by_day: dict[str, int] = defaultdict(int)
        for expiry, n in soon:
            # the last local day the points can be used
            by_day[(prog.local(expiry) - timedelta(microseconds=1)).date().isoformat()] += n
        tier = prog.tier(member.tier)
        nxt, missing = next_tier(prog, tier.name, qualifying)
        unswept = max(0, unswept)
        return Statement(
            member_id, when, member.balance - unswept, member.pending, member.debt,
            member.deficit,
            sum(by_day.values()), tuple(sorted(by_day.items())), tier.name, tier.multiplier,
            tier.discount_percent, tier.perks, prog.tier_basis.value, qualifying,
            nxt.name if nxt else None, missing, member.tier_period_end, member.referral_code,
            member.club_until, member.stored_value,
            tuple(f"{c.code} ({c.reward}, until {c.valid_until.date().isoformat()})"
                  for c in coupons),
            tuple(StatementLine(e.at, e.kind.value, e.points, e.pending, e.reason, e.actor,
                                e.ref) for e in entries),
            unswept,
        )

    def verify(self) -> list[str]:
        """Every broken invariant in the whole programme (empty when the books balance):
        cached figures equal the ledger's sums and the lots' remaining points, no lot is
        negative, stored-value balances equal their entries."""
        with self.store.reading() as tx:
            members = tx.all_members()
            sums = tx.ledger_sums()
            lots = tx.lot_sums()
            cards = tx.card_sums()
        problems = []
        for m in members:
            points, pending, deficit = sums.get(m.member_id, (0, 0, 0))
            available, pending_lots, negative = lots.get(m.member_id, (0, 0, 0))
            if m.balance != points:
                problems.append(f"{m.member_id}: balance {m.balance} != ledger {points}")
            if m.pending != pending:
                problems.append(f"{m.member_id}: pending {m.pending} != ledger {pending}")
            if m.deficit != deficit:
                problems.append(f"{m.member_id}: deficit {m.deficit} != ledger {deficit}")
            if available - m.debt != points:
                problems.append(f"{m.member_id}: lots {available} - debt {m.debt} != {points}")
            if pending_lots != pending:
                problems.append(f"{m.member_id}: pending lots {pending_lots} != {pending}")
            if negative:
                problems.append(f"{m.member_id}: {negative} negative lots")
            if m.stored_value != cards.get(m.member_id, Decimal(0)):
                problems.append(f"{m.member_id}: stored value differs from its entries")
        return problems

    def account_problems(self, member_id: str) -> list[str]:
        """:func:`check_account` on one member's full ledger and lots."""
        with self.store.reading() as tx:
            member = self._member(tx, member_id, lock=False)
            return check_account(member, tx.member_lots(member_id),
                                 tx.entries(member_id))


def _purchase_request(p: Purchase) -> dict[str, Any]:
    # what makes an order the same order: not the moment it was sent (a retry sent later, or
    # without a time, is the same confirmation)
    return {"member": p.member_id,
            "amount": str(p.amount.normalize()), "lines": [
                [str(ln.amount), ln.category, ln.sku, ln.quantity] for ln in p.lines],
            "categories": sorted(p.categories), "payment": p.payment_fingerprint,
            "quantity": p.quantity}


def _qualifying(prog: Programme, accruals: Iterable[Accrual], at: datetime) -> Decimal:
    """Spend or points earned in the rolling window ending at ``at`` — never the balance."""
    start = aware(at) - timedelta(days=prog.tier_window_days)
    total = Decimal(0)
    for a in accruals:
        if start < aware(a.ordered_at) <= aware(at):
            if prog.tier_basis is TierBasis.SPEND:
                total += a.amount - a.returned_amount
            else:
                total += a.points - a.reversed
    return total


def _punch_units(category: str | None, sku: str | None, p: Purchase) -> int:
    if p.lines:
        return sum(ln.quantity for ln in p.lines
                   if (category is not None and ln.category == category)
                   or (sku is not None and ln.sku == sku))
    if category is not None and category in p.categories:
        return p.quantity or 1
    return 0


def _refusal_message(reason: RefusalReason) -> str:
    messages = {
        RefusalReason.SELF: _("a member cannot refer themselves"),
        RefusalReason.SAME_EMAIL: _("referral refused: the referrer has the same e-mail"),
        RefusalReason.SAME_PHONE: _("referral refused: the referrer has the same phone"),
        RefusalReason.SAME_PAYMENT: _("referral refused: the same payment card as the referrer"),
        RefusalReason.CAP_REACHED: _("referral refused: the referrer has no referrals left"),
        RefusalReason.ALREADY_REFERRED: _("referral refused: the member was already referred"),
        RefusalReason.ALREADY_ORDERED: _("referral refused: the member has already ordered"),
        RefusalReason.UNKNOWN_CODE: _("referral code is not known"),
    }
    return messages[reason]


__all__ = ["LoyaltyService", "RewardKind"]
