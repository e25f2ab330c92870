"""Members, lots and ledger entries, and the rules that move points between them.

The ledger is append-only: every change to a balance is one :class:`Entry` with a unique
``ref`` (its external reference), a kind, a reason and an actor. Points live in lots: each
credit is a :class:`Lot` that is *pending* until its order's return window closes, then
*available* until it is spent, taken back or expires. The member's figures are derived:

* ``balance`` (spendable) = Σ ``entry.points`` = Σ remaining of available lots − ``debt``;
* ``pending`` = Σ ``entry.pending`` = Σ remaining of pending lots.

``Member.balance`` and ``Member.pending`` are caches of those sums kept in step by
:meth:`Account.post`, the one place an entry touches them; :func:`check_account` proves the
equalities. ``debt`` is what a return took back beyond what was left (policy
``negative_balance``): later credits repay it first. No lot's remaining ever goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from regulars.domain.loyalty.programme import (
    WEEKDAYS,
    Multiplier,
    MultiplierKind,
    Programme,
    ReturnedSpentPoints,
    Tier,
    aware,
)


class LotState(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"
    VOID = "void"  # wholly taken back before it was ever available


class EntryKind(StrEnum):
    EARN = "earn"  # points for an order (pending or available)
    RELEASE = "release"  # pending points become available
    REVERSE = "reverse"  # a return takes points back
    REDEEM = "redeem"  # points spent on a reward or at the till
    EXPIRE = "expire"  # a lot reached its expiry
    ADJUST = "adjust"  # a manual change, with a reason and an actor
    BONUS = "bonus"  # sign-up, birthday, first order, review, NPS answer, referral
    CANCEL = "cancel"  # a cancelled redemption gives its points back


@dataclass
class Member:
    """A customer enrolled in the programme, and the cached figures of their account."""

    member_id: str
    enrolled_at: datetime
    consent: bool = True
    consent_at: datetime | None = None
    email_norm: str | None = None
    phone_norm: str | None = None
    payment_fingerprint: str | None = None
    birthday: date | None = None
    referral_code: str | None = None
    referred_by: str | None = None
    tier: str = "base"
    tier_period_end: datetime | None = None
    balance: int = 0
    pending: int = 0
    debt: int = 0
    deficit: int = 0
    earned_total: int = 0
    club_until: datetime | None = None
    stored_value: Decimal = Decimal(0)
    card_number: str | None = None  # the loyalty card the till scans (normalise_card)

    def in_club(self, at: datetime) -> bool:
        return self.club_until is not None and aware(self.club_until) > aware(at)


@dataclass
class Lot:
    """Points credited together, spent and expired together."""

    lot_ref: str
    member_id: str
    source: str  # "order", "bonus:<event>", "adjust"
    earned_at: datetime
    points: int
    remaining: int
    state: LotState
    available_at: datetime | None = None
    expires_at: datetime | None = None
    order_id: str | None = None

    def spend_key(self) -> tuple[int, datetime, datetime, str]:
        # soonest-expiring first; lots that never expire last; then oldest first
        far = datetime.max.replace(tzinfo=UTC)
        expiry = aware(self.expires_at) if self.expires_at is not None else far
        return (self.expires_at is None, expiry, aware(self.earned_at), self.lot_ref)


@dataclass(frozen=True)
class Entry:
    """One immutable line of the ledger."""

    ref: str
    member_id: str
    at: datetime
    kind: EntryKind
    points: int = 0  # change to the spendable balance
    pending: int = 0  # change to the pending points
    deficit: int = 0  # points a return could not take back (policy record_deficit)
    lot_ref: str | None = None
    order_id: str | None = None
    reason: str = ""
    actor: str = "system"
    programme_version: int | None = None


@dataclass(frozen=True)
class Allocation:
    """``points`` of lot ``lot_ref`` consumed by entry ``entry_ref``."""

    entry_ref: str
    lot_ref: str
    points: int


@dataclass(frozen=True)
class Line:
    """A line of an order; its amount is the money paid for it."""

    amount: Decimal
    category: str | None = None
    sku: str | None = None
    quantity: int = 1


@dataclass(frozen=True)
class Purchase:
    """An order as the programme sees it."""

    order_id: str
    member_id: str
    ordered_at: datetime
    amount: Decimal
    lines: tuple[Line, ...] = ()
    categories: tuple[str, ...] = ()
    payment_fingerprint: str | None = None
    quantity: int | None = None  # units, for punch cards when there are no lines


@dataclass(frozen=True)
class Quote:
    """The points an order earns, and why."""

    points: int
    uncapped: int
    base: Decimal
    factors: tuple[str, ...] = ()
    capped_by: str | None = None


def quote(
    programme: Programme,
    purchase: Purchase,
    *,
    tier: Tier,
    in_club: bool = False,
    member_used_in_period: int = 0,
    budget_used_in_period: int = 0,
) -> Quote:
    """The points ``purchase`` earns under ``programme`` for a member of ``tier``.

    Each line earns ``amount × points_per_unit × factors``: the tier's multiplier, the club's,
    the largest matching category and SKU multipliers, and every matching weekday or campaign
    multiplier (by the order's local date). The total is rounded once, then cut to the caps
    (per order, per member per period) and to what is left of the budget.
    """
    if purchase.amount < programme.min_order_amount or purchase.amount <= 0:
        return Quote(0, 0, Decimal(0))
    local_day = programme.local(purchase.ordered_at).date()
    weekday = WEEKDAYS[local_day.weekday()]
    lines = _scaled_lines(purchase)
    labels: list[str] = []
    if tier.multiplier != 1:
        labels.append(f"tier {tier.name} ×{tier.multiplier}")
    if in_club and programme.club_multiplier != 1:
        labels.append(f"club ×{programme.club_multiplier}")
    raw = Decimal(0)
    for line, cats in lines:
        factor = tier.multiplier * (programme.club_multiplier if in_club else Decimal(1))
        best: dict[MultiplierKind, Decimal] = {}
        for m in programme.multipliers:
            if not _applies(m, cats, line.sku, weekday, local_day):
                continue
            labels.append(f"{m.label} ×{m.factor}")
            if m.kind in (MultiplierKind.CATEGORY, MultiplierKind.SKU):
                # one product earns by its best category or SKU rule, not by all of them
                best[m.kind] = max(best.get(m.kind, Decimal(1)), m.factor)
            else:
                factor *= m.factor
        for f in best.values():
            factor *= f
        raw += line.amount * programme.points_per_unit * factor
    uncapped = max(programme.rounding.apply(raw), 0)
    points, capped_by = uncapped, None
    limits: list[tuple[int, str]] = []
    if programme.max_points_per_order is not None:
        limits.append((programme.max_points_per_order, "max_points_per_order"))
    if programme.cap_points_per_member is not None:
        limits.append((max(programme.cap_points_per_member - member_used_in_period, 0),
                       "cap_points_per_member"))
    if programme.budget_points is not None:
        limits.append((max(programme.budget_points - budget_used_in_period, 0), "budget_points"))
    for limit, name in limits:
        if points > limit:
            points, capped_by = limit, name
    return Quote(points, uncapped, raw, tuple(dict.fromkeys(labels)), capped_by)


def _applies(m: Multiplier, cats: frozenset[str], sku: str | None, weekday: str,
             day: date) -> bool:
    if m.kind is MultiplierKind.CATEGORY:
        return m.match in cats
    if m.kind is MultiplierKind.SKU:
        return sku is not None and m.match == sku
    if m.kind is MultiplierKind.WEEKDAY:
        return (m.match or "").lower() == weekday
    return _in_window(day, m.starts, m.ends) and (m.match is None or m.match in cats)


def _in_window(day: date, starts: date | None, ends: date | None) -> bool:
    return (starts is None or day >= starts) and (ends is None or day <= ends)


def _scaled_lines(purchase: Purchase) -> list[tuple[Line, frozenset[str]]]:
    """The order's lines, scaled so that they add up to what was paid for the order."""
    given = [ln for ln in purchase.lines if ln.amount > 0]
    total = sum((ln.amount for ln in given), Decimal(0))
    if not given or total <= 0:
        return [(Line(purchase.amount), frozenset(purchase.categories))]
    scale = purchase.amount / total
    out = []
    for ln in given:
        cats = frozenset([ln.category]) if ln.category else frozenset(purchase.categories)
        out.append((replace(ln, amount=ln.amount * scale), cats))
    return out


def proportional_reversal(points: int, amount: Decimal, returned_total: Decimal) -> int:
    """Points to have taken back in all once ``returned_total`` of an order of ``amount``
    that earned ``points`` has been returned: in proportion, never more than was earned."""
    if amount <= 0 or points <= 0 or returned_total <= 0:
        return 0
    share = min(returned_total, amount) / amount
    return min(points, int((points * share).to_integral_value(rounding=ROUND_HALF_UP)))


@dataclass
class Account:
    """A member and the open lots of their account, with the changes made to them.

    Services load an account inside a transaction that holds the member's lock, call these
    methods, and persist ``new_lots``, ``dirty_lots``, ``entries`` and ``allocations``.
    """

    member: Member
    lots: dict[str, Lot] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    new_lots: list[str] = field(default_factory=list)
    dirty_lots: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, member: Member, lots: Iterable[Lot] = ()) -> Account:
        return cls(member, {lot.lot_ref: lot for lot in lots})

    def saved(self) -> None:
        """The store kept the new and changed lots, entries and allocations: none pending."""
        self.entries.clear()
        self.allocations.clear()
        self.new_lots.clear()
        self.dirty_lots.clear()

    # -- the one place entries touch the cached figures ----------------------------------

    def post(self, entry: Entry) -> Entry:
        self.member.balance += entry.points
        self.member.pending += entry.pending
        self.member.deficit += entry.deficit
        self.entries.append(entry)
        return entry

    def _take(self, lot: Lot, points: int, entry_ref: str) -> None:
        if points <= 0:
            return
        if points > lot.remaining:
            raise AssertionError(f"lot {lot.lot_ref} would go negative")
        lot.remaining -= points
        self.dirty_lots.add(lot.lot_ref)
        self.allocations.append(Allocation(entry_ref, lot.lot_ref, points))

    def _repay_debt(self, lot: Lot, entry_ref: str) -> None:
        # debt is already out of the balance; paying it from a fresh lot leaves it unchanged
        pay = min(self.member.debt, lot.remaining)
        if pay:
            self.member.debt -= pay
            self._take(lot, pay, entry_ref)

    # -- credits -------------------------------------------------------------------------

    def credit(self, lot: Lot, entry: Entry) -> Entry:
        """Add a new lot of earned points with the entry that records it."""
        if lot.lot_ref in self.lots:
            raise AssertionError(f"lot {lot.lot_ref} exists")
        self.lots[lot.lot_ref] = lot
        self.new_lots.append(lot.lot_ref)
        self.member.earned_total += lot.points
        self.post(entry)
        if lot.state is LotState.AVAILABLE:
            self._repay_debt(lot, entry.ref)
        return entry

    def release(self, lot_ref: str, at: datetime, *, ref: str, reason: str = "",
                actor: str = "system", version: int | None = None) -> Entry | None:
        """Make a pending lot available (``None`` when it was wholly taken back)."""
        lot = self.lots[lot_ref]
        if lot.state is not LotState.PENDING:
            return None
        self.dirty_lots.add(lot_ref)
        if lot.remaining == 0:
            lot.state = LotState.VOID
            return None
        lot.state = LotState.AVAILABLE
        entry = self.post(Entry(ref, lot.member_id, at, EntryKind.RELEASE, points=lot.remaining,
                                pending=-lot.remaining, lot_ref=lot_ref, order_id=lot.order_id,
                                reason=reason, actor=actor, programme_version=version))
        self._repay_debt(lot, ref)
        return entry

    # -- debits --------------------------------------------------------------------------

    def spendable(self, at: datetime) -> list[Lot]:
        """Available lots with points left and not expired at ``at``, in spending order."""
        t = aware(at)
        lots = [lot for lot in self.lots.values()
                if lot.state is LotState.AVAILABLE and lot.remaining > 0
                and (lot.expires_at is None or aware(lot.expires_at) > t)]
        return sorted(lots, key=Lot.spend_key)

    def spend(self, points: int, at: datetime, *, ref: str, kind: EntryKind = EntryKind.REDEEM,
              reason: str = "", actor: str = "system", version: int | None = None) -> Entry:
        """Take ``points`` from the soonest-expiring lots. The caller checks the balance
        first (with a message for the member); here it is an invariant."""
        if points <= 0:
            raise ValueError("points to spend must be positive")
        if points > self.member.balance:
            raise AssertionError("spend beyond the balance")
        entry = self.post(Entry(ref, self.member.member_id, at, kind, points=-points,
                                reason=reason, actor=actor, programme_version=version))
        left = points
        for lot in self.spendable(at):
            take = min(left, lot.remaining)
            self._take(lot, take, ref)
            left -= take
            if not left:
                break
        if left:
            raise AssertionError("lots do not cover the balance")
        return entry

    def reverse(self, lot_ref: str, points: int, at: datetime, *, ref: str,
                policy: ReturnedSpentPoints, order_id: str | None = None, reason: str = "",
                actor: str = "system", version: int | None = None) -> Entry | None:
        """Take back ``points`` earned by lot ``lot_ref`` (a return).

        Pending points come out of the lot itself. Available points come out of the lot,
        then, if it was spent or expired, out of the member's other lots; what is still
        missing after that becomes debt (``negative_balance``) or is recorded as a deficit
        (``record_deficit``).
        """
        if points <= 0:
            return None
        lot = self.lots[lot_ref]
        if lot.state is not LotState.AVAILABLE:
            take = min(points, lot.remaining)
            if not take:
                return None
            entry = self.post(Entry(ref, lot.member_id, at, EntryKind.REVERSE, pending=-take,
                                    lot_ref=lot_ref, order_id=order_id, reason=reason,
                                    actor=actor, programme_version=version))
            self._take(lot, take, ref)
            return entry
        own = min(points, lot.remaining)
        others = [x for x in self.spendable(at) if x.lot_ref != lot_ref]
        from_others = min(points - own, sum(x.remaining for x in others))
        shortfall = points - own - from_others
        if policy is ReturnedSpentPoints.NEGATIVE_BALANCE:
            taken, deficit = points, 0
        else:
            taken, deficit = own + from_others, shortfall
        entry = self.post(Entry(ref, lot.member_id, at, EntryKind.REVERSE, points=-taken,
                                deficit=deficit, lot_ref=lot_ref, order_id=order_id,
                                reason=reason, actor=actor, programme_version=version))
        self._take(lot, own, ref)
        left = from_others
        for other in others:
            take = min(left, other.remaining)
            self._take(other, take, ref)
            left -= take
        if policy is ReturnedSpentPoints.NEGATIVE_BALANCE:
            self.member.debt += shortfall
        return entry

    def restore(self, taken: Sequence[Allocation], at: datetime, *, ref: str,
                reason: str = "", actor: str = "system",
                version: int | None = None) -> tuple[Entry, int]:
        """Give back the points a cancelled spend took (its ``taken`` allocations) to the lots
        they came from, with those lots' own expiry. Points of a lot that has expired by
        ``at`` do not come back: unspent, they would have expired too. Returned points pay
        any debt first, as fresh points do. Returns the entry and the points not given back.

        The lots must be loaded (spent-out lots are not open lots)."""
        t = aware(at)
        back = lapsed = 0
        net: dict[str, int] = {}
        for a in taken:
            lot = self.lots[a.lot_ref]
            if a.points <= 0:
                continue
            if lot.expires_at is not None and aware(lot.expires_at) <= t:
                lapsed += a.points
                continue
            if lot.state is not LotState.AVAILABLE or lot.remaining + a.points > lot.points:
                raise AssertionError(f"lot {lot.lot_ref} cannot take {a.points} points back")
            lot.remaining += a.points
            self.dirty_lots.add(lot.lot_ref)
            net[lot.lot_ref] = net.get(lot.lot_ref, 0) - a.points
            back += a.points
        entry = self.post(Entry(ref, self.member.member_id, t, EntryKind.CANCEL, points=back,
                                reason=reason, actor=actor, programme_version=version))
        for lot_ref in sorted(net, key=lambda r: self.lots[r].spend_key()):
            lot = self.lots[lot_ref]
            pay = min(self.member.debt, lot.remaining)
            if pay:
                self.member.debt -= pay
                lot.remaining -= pay
                net[lot_ref] += pay
        # one allocation per lot: what the cancellation put back, net of debt it paid
        self.allocations += [Allocation(ref, r, n) for r, n in sorted(net.items()) if n]
        return entry, lapsed

    def expire(self, at: datetime, *, version: int | None = None) -> list[Entry]:
        """Expire every lot whose expiry has passed at ``at``; expired lots are left empty,
        so running it again finds nothing (idempotent)."""
        t = aware(at)
        out = []
        for lot in sorted(self.lots.values(), key=Lot.spend_key):
            if lot.remaining <= 0 or lot.expires_at is None or aware(lot.expires_at) > t:
                continue
            n = lot.remaining
            pending = lot.state is LotState.PENDING
            ref = f"expire:{lot.lot_ref}"
            out.append(self.post(Entry(ref, lot.member_id, aware(lot.expires_at),
                                       EntryKind.EXPIRE, points=0 if pending else -n,
                                       pending=-n if pending else 0, lot_ref=lot.lot_ref,
                                       order_id=lot.order_id, reason="expiry",
                                       programme_version=version)))
            self._take(lot, n, ref)
        return out

    def expiring(self, at: datetime, until: datetime) -> list[tuple[datetime, int]]:
        """(expiry, points) of the available points that expire after ``at`` up to ``until``."""
        u = aware(until)
        return [(aware(lot.expires_at), lot.remaining) for lot in self.spendable(at)
                if lot.expires_at is not None and aware(lot.expires_at) <= u]


def check_account(member: Member, lots: Iterable[Lot], entries: Iterable[Entry]) -> list[str]:
    """The broken invariants of one account (empty when the ledger is sound)."""
    lots = list(lots)
    entries = list(entries)
    problems = []
    total_points = sum(e.points for e in entries)
    total_pending = sum(e.pending for e in entries)
    available = sum(lot.remaining for lot in lots if lot.state is LotState.AVAILABLE)
    pending = sum(lot.remaining for lot in lots if lot.state is LotState.PENDING)
    if member.balance != total_points:
        problems.append(f"cached balance {member.balance} != ledger {total_points}")
    if member.pending != total_pending:
        problems.append(f"cached pending {member.pending} != ledger {total_pending}")
    if available - member.debt != total_points:
        problems.append(f"lots {available} - debt {member.debt} != ledger {total_points}")
    if pending != total_pending:
        problems.append(f"pending lots {pending} != ledger {total_pending}")
    if member.deficit != sum(e.deficit for e in entries):
        problems.append("cached deficit differs from the ledger")
    problems += [f"lot {lot.lot_ref} is negative" for lot in lots if lot.remaining < 0]
    problems += [f"lot {lot.lot_ref} above its points"
                 for lot in lots if lot.remaining > lot.points]
    if member.debt < 0:
        problems.append("negative debt")
    return problems
