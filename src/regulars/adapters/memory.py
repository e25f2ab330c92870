"""In-memory fakes of the ports, for fast tests of the services (no database, no files):
:class:`MemoryLoyaltyStore` for the loyalty programme, and :class:`FakeStore` for the import
(kept in :mod:`regulars.adapters.memory_import`), and :class:`MemoryTouchQueue` for the
customers waiting for a live-map refresh (``map_touched``), and :class:`MemoryUserStore` for
the web pages' users."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from regulars.adapters.db import loyalty_rows as rows
from regulars.adapters.memory_import import FakeStore, FakeWrite
from regulars.domain.loyalty.ledger import (
    Account,
    Allocation,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
)
from regulars.domain.loyalty.programme import aware
from regulars.services.api.ports import Touch, TouchQueue
from regulars.services.loyalty.ports import (
    SOURCE_FILE,
    Accrual,
    Coupon,
    DuplicateKey,
    ExpiringPoints,
    LoyaltyStore,
    Operation,
    ProgrammeRecord,
    ReferralRecord,
    RunChunk,
)

__all__ = ["FakeStore", "FakeWrite", "MemoryLoyaltyStore", "MemoryLoyaltyTx",
           "MemoryTouchQueue", "memory_loyalty_store", "memory_touch_queue"]

_T = TypeVar("_T")

# -- the loyalty store ------------------------------------------------------------------------


@dataclass
class _LoyaltyState:
    """Every loyalty table, keyed as the SQL store's primary and unique keys are."""

    programmes: list[ProgrammeRecord] = field(default_factory=list)
    operations: dict[str, Operation] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    lots: dict[str, Lot] = field(default_factory=dict)
    ledger: list[Entry] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    accruals: dict[str, Accrual] = field(default_factory=dict)
    tier_history: list[dict[str, Any]] = field(default_factory=list)
    runs: list[tuple[RunChunk, datetime]] = field(default_factory=list)
    referrals: dict[str, ReferralRecord] = field(default_factory=dict)
    coupons: dict[str, Coupon] = field(default_factory=dict)
    reward_stock: dict[str, int] = field(default_factory=dict)
    punches: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    club_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    card_entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    draws: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: dict[tuple[str, datetime], ExpiringPoints] = field(default_factory=dict)
    customer_names: dict[str, str] = field(default_factory=dict)


class MemoryLoyaltyStore:
    """The loyalty ledger in memory, for tests of the services' logic without a database.

    A transaction works on a copy of the tables that replaces them only when committed; a
    write that breaks a primary or unique key raises :class:`DuplicateKey` at once (the SQL
    store raises it when the transaction ends), which rolls the transaction back. Row locks
    are no-ops: one thread at a time (races and concurrency stay on real databases)."""

    def __init__(self) -> None:
        self.state = _LoyaltyState()
        self.commits = 0

    def ensure_schema(self) -> None:
        pass

    def dispose(self) -> None:
        pass

    @contextmanager
    def transaction(self) -> Iterator[MemoryLoyaltyTx]:
        tx = MemoryLoyaltyTx(copy.deepcopy(self.state))
        yield tx
        if tx.committed:
            self.state = tx.state
            self.commits += 1

    @contextmanager
    def reading(self) -> Iterator[MemoryLoyaltyTx]:
        yield MemoryLoyaltyTx(copy.deepcopy(self.state))


def _as_stored(value: _T) -> _T:
    """``value`` as the SQL store would hand it back: through the same row conversions
    (:mod:`regulars.adapters.db.loyalty_rows`), so instants come back as aware UTC and money
    as the table keeps it, here as there; anything else is copied."""
    if isinstance(value, Member):
        return cast(_T, rows.member_from_row(rows.member_to_row(value)))
    if isinstance(value, Lot):
        return cast(_T, rows.lot_from_row(rows.lot_to_row(value)))
    if isinstance(value, Entry):
        return cast(_T, rows.entry_from_row(rows.entry_to_row(value)))
    if isinstance(value, Accrual):
        return cast(_T, rows.accrual_from_row(rows.accrual_to_row(value)))
    if isinstance(value, Coupon):
        return cast(_T, rows.coupon_from_row(rows.coupon_to_row(value)))
    return copy.deepcopy(value)


def _out(value: _T) -> _T:
    # a read hands out copies, as a database hands out fresh rows
    return copy.deepcopy(value)


class MemoryLoyaltyTx:
    """The reads and writes of one transaction on :class:`MemoryLoyaltyStore`; see
    :class:`~regulars.services.loyalty.ports.LoyaltyTx` for what each one means."""

    def __init__(self, state: _LoyaltyState) -> None:
        self.state = state
        self.committed = False

    def commit(self) -> None:
        self.committed = True

    @staticmethod
    def _unique(table: dict[Any, Any], key: Any) -> None:
        if key in table:
            raise DuplicateKey(f"{key!r} exists")

    # -- programme versions, operations ---------------------------------------------------

    def programme_versions(self) -> list[ProgrammeRecord]:
        return _out(sorted(self.state.programmes, key=lambda r: r.version))

    def programme_head(self) -> int | None:
        return max((r.version for r in self.state.programmes), default=None)

    def add_programme_version(self, version: int, effective_from: datetime, fingerprint: str,
                              definition: dict[str, Any], at: datetime, *,
                              source: str = SOURCE_FILE, author: str | None = None,
                              note: str | None = None) -> None:
        self._unique({r.version: r for r in self.state.programmes}, version)
        self.state.programmes.append(ProgrammeRecord(
            version, effective_from, fingerprint, copy.deepcopy(definition), at, source,
            author, note))

    def operations(self, keys: Iterable[str]) -> dict[str, Operation]:
        return {k: _out(self.state.operations[k]) for k in keys if k in self.state.operations}

    def add_operations(self, ops: Sequence[Operation], at: datetime) -> None:
        for o in ops:
            self._unique(self.state.operations, o.key)
            self.state.operations[o.key] = copy.deepcopy(o)

    # -- members ----------------------------------------------------------------------------

    def members(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Member]:
        return {i: _out(self.state.members[i]) for i in sorted(set(ids))
                if i in self.state.members}

    def member_by_code(self, code: str) -> Member | None:
        return next((_out(m) for m in self.state.members.values() if m.referral_code == code),
                    None)

    def members_by_phone(self, phone_norm: str, *, limit: int = 10) -> list[Member]:
        return [_out(m) for _i, m in sorted(self.state.members.items())
                if m.phone_norm == phone_norm][:limit]

    def member_by_card(self, card_number: str) -> Member | None:
        return next((_out(m) for m in self.state.members.values()
                     if m.card_number == card_number), None)

    def member_ids(self, *, consent_only: bool = False) -> list[str]:
        return sorted(i for i, m in self.state.members.items() if m.consent or not consent_only)

    def all_members(self) -> list[Member]:
        return [_out(self.state.members[i]) for i in sorted(self.state.members)]

    def customer_names(self, ids: Iterable[str]) -> dict[str, str]:
        return {i: self.state.customer_names[i] for i in ids if i in self.state.customer_names}

    def known_customers(self, ids: Iterable[str]) -> dict[str, str | None]:
        # the fake knows only the customers it was given names of
        return {i: self.state.customer_names[i] for i in ids if i in self.state.customer_names}

    def customers_by_phone(self, phone_norm: str, *, limit: int = 10) -> dict[str, str | None]:
        return {}  # no customers table here

    def _card_taken(self, member: Member) -> None:
        holder = self.member_by_card(member.card_number) if member.card_number else None
        if holder is not None and holder.member_id != member.member_id:
            raise DuplicateKey(f"card {member.card_number} exists")

    def add_member(self, member: Member) -> None:
        self._unique(self.state.members, member.member_id)
        if member.referral_code and self.member_by_code(member.referral_code):
            raise DuplicateKey(f"referral code {member.referral_code} exists")
        self._card_taken(member)
        self.state.members[member.member_id] = _as_stored(member)

    def update_members(self, members: Sequence[Member]) -> None:
        for m in members:
            if m.member_id in self.state.members:
                self._card_taken(m)
                self.state.members[m.member_id] = _as_stored(m)

    # -- lots, entries, accounts ------------------------------------------------------------

    def open_lots(self, member_ids: Iterable[str]) -> dict[str, list[Lot]]:
        wanted = set(member_ids)
        out: dict[str, list[Lot]] = {}
        for lot in self.state.lots.values():
            if lot.member_id in wanted and (lot.remaining > 0
                                            or lot.state is LotState.PENDING):
                out.setdefault(lot.member_id, []).append(_out(lot))
        return out

    def lots(self, refs: Iterable[str]) -> dict[str, Lot]:
        return {r: _out(self.state.lots[r]) for r in refs if r in self.state.lots}

    def member_lots(self, member_id: str) -> list[Lot]:
        return sorted((_out(x) for x in self.state.lots.values() if x.member_id == member_id),
                      key=lambda x: (aware(x.earned_at), x.lot_ref))

    def save_accounts(self, accounts: Sequence[Account]) -> None:
        refs = {e.ref for e in self.state.ledger}
        for a in accounts:
            for ref in a.new_lots:
                self._unique(self.state.lots, ref)
                self.state.lots[ref] = _as_stored(a.lots[ref])
            for ref in a.dirty_lots - set(a.new_lots):
                self.state.lots[ref] = _as_stored(a.lots[ref])
            for e in a.entries:
                self._unique(dict.fromkeys(refs), e.ref)
                refs.add(e.ref)
                self.state.ledger.append(_as_stored(e))
            self.state.allocations += copy.deepcopy(a.allocations)
        self.update_members([a.member for a in accounts])
        for a in accounts:
            a.saved()

    def entries(self, member_id: str, *, limit: int | None = None) -> list[Entry]:
        mine = [_out(e) for e in self.state.ledger if e.member_id == member_id]
        return mine[-limit:] if limit is not None else mine

    def entry_refs(self, refs: Iterable[str]) -> set[str]:
        return set(refs) & {e.ref for e in self.state.ledger}

    def allocations(self, entry_ref: str) -> list[Allocation]:
        return sorted((_out(x) for x in self.state.allocations if x.entry_ref == entry_ref),
                      key=lambda x: x.lot_ref)

    def earned_since(self, member_ids: Iterable[str] | None,
                     since: datetime) -> dict[str, int]:
        wanted = set(member_ids) if member_ids is not None else None
        out: dict[str, int] = {}
        for e in self.state.ledger:
            if e.kind is EntryKind.EARN and aware(e.at) >= aware(since) and (
                    wanted is None or e.member_id in wanted):
                out[e.member_id] = out.get(e.member_id, 0) + e.points + e.pending
        return out

    def due_releases(self, at: datetime) -> list[tuple[str, str]]:
        due = [(x.member_id, x.lot_ref) for x in self.state.lots.values()
               if x.state is LotState.PENDING and x.available_at is not None
               and aware(x.available_at) <= aware(at)]
        return sorted(due, key=lambda d: d[0])

    def due_expiries(self, at: datetime) -> list[str]:
        return sorted({x.member_id for x in self.state.lots.values()
                       if x.remaining > 0 and x.expires_at is not None
                       and aware(x.expires_at) <= aware(at)})

    def ledger_sums(self) -> dict[str, tuple[int, int, int]]:
        out: dict[str, tuple[int, int, int]] = {}
        for e in self.state.ledger:
            p, q, d = out.get(e.member_id, (0, 0, 0))
            out[e.member_id] = (p + e.points, q + e.pending, d + e.deficit)
        return out

    def lot_sums(self) -> dict[str, tuple[int, int, int]]:
        out: dict[str, tuple[int, int, int]] = {}
        for x in self.state.lots.values():
            a, p, n = out.get(x.member_id, (0, 0, 0))
            out[x.member_id] = (a + (x.remaining if x.state is LotState.AVAILABLE else 0),
                                p + (x.remaining if x.state is LotState.PENDING else 0),
                                n + (x.remaining < 0))
        return out

    # -- notices of points about to expire ----------------------------------------------------

    def expiring_points(self, at: datetime, until: datetime) -> list[ExpiringPoints]:
        now, end = aware(at), aware(until)
        due: dict[tuple[str, datetime], int] = {}
        spendable: dict[str, int] = {}
        for x in self.state.lots.values():
            if x.state is not LotState.AVAILABLE or x.remaining <= 0:
                continue
            expires = aware(x.expires_at) if x.expires_at is not None else None
            if expires is None or expires > now:
                spendable[x.member_id] = spendable.get(x.member_id, 0) + x.remaining
            if expires is not None and now < expires <= end and (
                    (x.member_id, expires) not in self.state.notices):
                due[(x.member_id, expires)] = due.get((x.member_id, expires), 0) + x.remaining
        return [ExpiringPoints(m, x, n, spendable[m] - self.state.members[m].debt,
                               self.state.members[m].consent)
                for (m, x), n in sorted(due.items()) if m in self.state.members]

    def expiry_notices(self, member_ids: Iterable[str],
                       after: datetime) -> set[tuple[str, datetime]]:
        wanted = set(member_ids)
        return {(m, x) for m, x in self.state.notices if m in wanted and x > aware(after)}

    def add_expiry_notices(self, notices: Sequence[ExpiringPoints], at: datetime) -> None:
        for n in notices:
            key = (n.member_id, aware(n.expires_at))
            self._unique(self.state.notices, key)
            self.state.notices[key] = n

    def delete_expiry_notices(self, notices: Sequence[ExpiringPoints]) -> None:
        for n in notices:
            key = (n.member_id, aware(n.expires_at))
            if key in self.state.notices and self.state.notices[key].notice_id == n.notice_id:
                del self.state.notices[key]

    # -- accruals ------------------------------------------------------------------------------

    def accruals(self, order_ids: Iterable[str]) -> dict[str, Accrual]:
        return {o: _out(self.state.accruals[o]) for o in order_ids if o in self.state.accruals}

    def add_accruals(self, accruals: Sequence[Accrual]) -> None:
        for a in accruals:
            self._unique(self.state.accruals, a.order_id)
            self.state.accruals[a.order_id] = _as_stored(a)

    def update_accrual(self, a: Accrual) -> None:
        old = self.state.accruals[a.order_id]
        old.returned_amount, old.reversed = a.returned_amount, a.reversed

    def accrual_history(self, member_ids: Iterable[str], since: datetime) -> list[Accrual]:
        wanted = set(member_ids)
        return [_out(a) for a in self.state.accruals.values()
                if a.member_id in wanted and aware(a.ordered_at) >= aware(since)]

    def has_accruals(self, member_id: str) -> bool:
        return any(a.member_id == member_id for a in self.state.accruals.values())

    def spend_since(self, since: datetime) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for a in self.state.accruals.values():
            if aware(a.ordered_at) >= aware(since):
                out[a.member_id] = out.get(a.member_id, Decimal(0)) + (a.amount
                                                                       - a.returned_amount)
        return out

    # -- tiers, runs ---------------------------------------------------------------------------

    def add_tier_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        for r in rows:
            self.state.tier_history.append({**r, "id": len(self.state.tier_history) + 1})

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.state.tier_history if r["member_id"] == member_id]

    def add_run_chunk(self, chunk: RunChunk, at: datetime) -> None:
        if any((c.run_id, c.step, c.chunk) == (chunk.run_id, chunk.step, chunk.chunk)
               for c, _at in self.state.runs):
            raise DuplicateKey(f"run chunk {chunk.run_id}/{chunk.step}/{chunk.chunk} exists")
        self.state.runs.append((chunk, at))

    def run_chunks(self, run_id: str) -> list[RunChunk]:
        return [c for c, _at in self.state.runs if c.run_id == run_id]

    def last_run_at(self, step: str) -> datetime | None:
        moments = [aware(c.as_of) for c, _at in self.state.runs if c.step == step]
        return max(moments) if moments else None

    # -- referrals ---------------------------------------------------------------------------

    def referral(self, referee_id: str) -> ReferralRecord | None:
        return self.state.referrals.get(referee_id)

    def count_referrals(self, referrer_id: str) -> int:
        return sum(1 for r in self.state.referrals.values()
                   if r.referrer_id == referrer_id and r.status != "refused")

    def add_referral(self, r: ReferralRecord) -> None:
        self._unique(self.state.referrals, r.referee_id)
        self.state.referrals[r.referee_id] = r

    def settle_referral(self, referee_id: str, status: str, reason: str | None,
                        order_id: str | None, at: datetime) -> None:
        r = self.state.referrals.get(referee_id)
        if r is not None:
            self.state.referrals[referee_id] = replace(r, status=status, reason=reason,
                                                       order_id=order_id, settled_at=at)

    # -- coupons and rewards -------------------------------------------------------------------

    def add_coupons(self, coupons: Sequence[Coupon]) -> None:
        sources = {c.source_ref for c in self.state.coupons.values()}
        for c in coupons:
            self._unique(self.state.coupons, c.code)
            self._unique(dict.fromkeys(sources), c.source_ref)
            sources.add(c.source_ref)
            self.state.coupons[c.code] = _as_stored(c)

    def coupon(self, code: str, *, lock: bool = False) -> Coupon | None:
        return self.state.coupons.get(code)

    def coupons_of(self, member_id: str) -> list[Coupon]:
        return sorted((c for c in self.state.coupons.values() if c.member_id == member_id),
                      key=lambda c: (aware(c.issued_at), c.code))

    def coupon_sources(self, refs: Iterable[str]) -> set[str]:
        return set(refs) & {c.source_ref for c in self.state.coupons.values()}

    def coupon_from(self, source_ref: str) -> Coupon | None:
        return next((c for c in self.state.coupons.values() if c.source_ref == source_ref),
                    None)

    def use_coupon(self, code: str, order_id: str, at: datetime) -> bool:
        c = self.state.coupons.get(code)
        if c is None or c.used_at is not None or c.cancelled_at is not None or not (
                aware(c.issued_at) <= aware(at) < aware(c.valid_until)):
            return False
        self.state.coupons[code] = replace(c, used_at=at, used_order_id=order_id)
        return True

    def cancel_coupon(self, code: str, at: datetime) -> bool:
        c = self.state.coupons.get(code)
        if c is None or c.used_at is not None or c.cancelled_at is not None:
            return False
        self.state.coupons[code] = replace(c, cancelled_at=at)
        return True

    def take_reward(self, reward: str, stock: int) -> bool:
        issued = self.state.reward_stock.setdefault(reward, 0)
        if issued >= stock:
            return False
        self.state.reward_stock[reward] = issued + 1
        return True

    def give_back_reward(self, reward: str) -> None:
        if self.state.reward_stock.get(reward, 0) > 0:
            self.state.reward_stock[reward] -= 1

    def rewards_issued(self) -> dict[str, int]:
        return dict(self.state.reward_stock)

    # -- punch cards, club, stored value, draws --------------------------------------------

    def punches(self, member_ids: Iterable[str]) -> dict[tuple[str, str], tuple[int, int]]:
        wanted = set(member_ids)
        return {k: v for k, v in self.state.punches.items() if k[0] in wanted}

    def save_punches(self, changed: dict[tuple[str, str], tuple[int, int]],
                     existing: set[tuple[str, str]]) -> None:
        for k, v in changed.items():
            if k not in existing:
                self._unique(self.state.punches, k)
            self.state.punches[k] = v

    def add_club_payment(self, payment_ref: str, member_id: str, at: datetime, fee: Decimal,
                         starts: datetime, ends: datetime) -> None:
        self._unique(self.state.club_payments, payment_ref)
        self.state.club_payments[payment_ref] = {
            "payment_ref": payment_ref, "member_id": member_id, "paid_at": at, "fee": fee,
            "starts_at": starts, "ends_at": ends}

    def add_card_entry(self, ref: str, member_id: str, at: datetime, kind: str,
                       amount: Decimal, payment_method: str | None,
                       original_ref: str | None) -> None:
        self._unique(self.state.card_entries, ref)
        self.state.card_entries[ref] = {
            "ref": ref, "member_id": member_id, "at": at, "kind": kind, "amount": amount,
            "payment_method": payment_method, "original_ref": original_ref}

    def card_entry(self, ref: str) -> dict[str, Any] | None:
        row = self.state.card_entries.get(ref)
        return dict(row) if row is not None else None

    def card_refunded(self, original_ref: str) -> Decimal:
        return sum((r["amount"] for r in self.state.card_entries.values()
                    if r["original_ref"] == original_ref and r["kind"] == "refund"),
                   Decimal(0))

    def card_sums(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for r in self.state.card_entries.values():
            out[r["member_id"]] = out.get(r["member_id"], Decimal(0)) + r["amount"]
        return out

    def add_draw(self, key: str, offer: str, at: datetime, seed: int, eligible: int,
                 digest: str, winners: Sequence[str]) -> None:
        self._unique(self.state.draws, key)
        self.state.draws[key] = {"offer": offer, "at": at, "seed": seed, "eligible": eligible,
                                 "digest": digest, "winners": list(winners)}


def memory_loyalty_store() -> LoyaltyStore:
    """A fresh in-memory loyalty store, typed as the port: mypy proves it is one."""
    return MemoryLoyaltyStore()


# -- the customers waiting for a live-map refresh -----------------------------------------------


class MemoryTouchQueue:
    """``map_touched`` in memory, with the SQL store's rules: a first touch records when, a
    later one counts one more; :meth:`settle_touched` forgets a customer only if the count
    is the one it read. ``clock`` gives the instants (tests pass their own)."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self.rows: dict[str, Touch] = {}

    def touch_customers(self, ids: Iterable[str]) -> None:
        at = self.clock()
        for cid in sorted(set(ids)):
            old = self.rows.get(cid)
            self.rows[cid] = (Touch(cid, at, 1) if old is None
                              else replace(old, touches=old.touches + 1))

    def touched(self, limit: int | None = None) -> list[Touch]:
        ordered = sorted(self.rows.values(), key=lambda t: (t.touched_at, t.customer_id))
        return ordered if limit is None else ordered[:limit]

    def settle_touched(self, seen: Sequence[Touch]) -> int:
        gone = 0
        for s in seen:
            now = self.rows.get(s.customer_id)
            if now is not None and now.touches == s.touches:
                del self.rows[s.customer_id]
                gone += 1
        return gone

    def touched_count(self) -> int:
        return len(self.rows)


def memory_touch_queue() -> TouchQueue:
    """A fresh in-memory touch queue, typed as the port: mypy proves it is one."""
    return MemoryTouchQueue()


class MemoryUserStore:
    """The web pages' users and the server's secrets in memory (the port
    ``services.users.UserStore``), for fast tests of :class:`~regulars.services.users.Users`."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        self.attempts: list[tuple[str, str, datetime]] = []
        self.reads = 0  # get_user calls: what the session cache saves

    def add_user(self, record: Mapping[str, Any]) -> None:
        from regulars.services.api.ports import DuplicateError

        if any(u["login"] == record["login"] for u in self.users.values()):
            raise DuplicateError(record["login"])
        self.users[record["user_id"]] = dict(record)

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        self.reads += 1
        found = self.users.get(user_id)
        return dict(found) if found is not None else None

    def user_by_login(self, login: str) -> dict[str, Any] | None:
        return next((dict(u) for u in self.users.values() if u["login"] == login), None)

    def list_users(self) -> list[dict[str, Any]]:
        return sorted((dict(u) for u in self.users.values()), key=lambda u: u["login"])

    def update_user(self, user_id: str, values: Mapping[str, Any]) -> None:
        self.users[user_id].update(values)

    def secret(self, name: str, make: str) -> str:
        return self.secrets.setdefault(name, make)

    def attempts_since(self, scope: str, subject: str, since: datetime) -> list[datetime]:
        return sorted(at for s, k, at in self.attempts if (s, k) == (scope, subject)
                      and at > since)

    def add_attempts(self, rows: Sequence[tuple[str, str, datetime]]) -> None:
        self.attempts += list(rows)

    def clear_attempts(self, scope: str, subject: str) -> None:
        self.attempts = [r for r in self.attempts if (r[0], r[1]) != (scope, subject)]

    def prune_attempts(self, before: datetime) -> None:
        self.attempts = [r for r in self.attempts if r[2] > before]
