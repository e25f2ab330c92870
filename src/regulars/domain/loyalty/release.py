"""The rules of releasing, returning and expiring points (DOMAIN §8), without a store.

A pending lot is released when its order's return window closes (dated at the lot's own
moment, so a run at a later moment writes the same entry) or at once on the programme's
explicit action. An order wholly returned never completed: it earns no first-order bonus and
settles no referral. A return takes back points in proportion to the amount returned, never
more than the order earned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from regulars.domain.loyalty.ledger import Account, LotState, proportional_reversal
from regulars.domain.loyalty.programme import aware


@dataclass(frozen=True)
class Released:
    """One pending lot a release went through, at ``when``; ``points`` made available (0
    when the lot had nothing left: no entry was written)."""

    lot_ref: str
    when: datetime
    points: int
    entry: bool


def release_moment(available_at: datetime | None, at: datetime, *, explicit: bool) -> datetime:
    """When a release is dated: at ``at`` for an explicit release (or a lot without a return
    window), else at the moment the lot's window closed."""
    return at if explicit or available_at is None else aware(available_at)


def release_lots(account: Account, refs: Iterable[str], at: datetime, *, explicit: bool,
                 version: int) -> Iterator[Released]:
    """Release the pending lots of ``refs`` on ``account`` (others are skipped: released
    already, or unknown), in order, one at a time: what the caller does with one (a bonus
    that repays debt, …) happens before the next is released, as the ledger has always
    recorded it."""
    for ref in refs:
        lot = account.lots.get(ref)
        if lot is None or lot.state is not LotState.PENDING:
            continue
        when = release_moment(lot.available_at, at, explicit=explicit)
        entry = account.release(ref, when, ref=f"release:{ref}",
                                reason="explicit" if explicit else "return window closed",
                                version=version)
        yield Released(ref, when, entry.points if entry is not None else 0, entry is not None)


def completed(amount: Decimal, returned_amount: Decimal) -> bool:
    """Whether an order counts as completed on release: a wholly returned one never did."""
    return returned_amount < amount


def referral_qualifies(amount: Decimal, returned_amount: Decimal, minimum: Decimal) -> bool:
    """Whether the order (net of returns) is big enough to reward a referral."""
    return amount - returned_amount >= minimum


@dataclass(frozen=True)
class Reversal:
    """What a return changes on its order: the returned amount so far (capped at the
    order's), the points reversed in total, and the points this return takes back."""

    returned_amount: Decimal
    reversed: int
    points: int


def reversal(points: int, amount: Decimal, returned_before: Decimal, reversed_before: int,
             returned_now: Decimal) -> Reversal:
    """The points a return of ``returned_now`` takes back from an order that earned
    ``points`` for ``amount``, of which ``returned_before`` came back already and
    ``reversed_before`` points were taken: in proportion to the amount, never more than the
    order earned."""
    total = min(returned_before + returned_now, amount)
    target = proportional_reversal(points, amount, total)
    return Reversal(total, target, target - reversed_before)


def expire_accounts(accounts: Sequence[Account], at: datetime, *, version: int | None,
                    release: frozenset[str] = frozenset(),
                    ) -> list[tuple[str, int, int, int]]:
    """Expire the lots due at ``at`` on ``accounts`` (in memory); per member touched: (id,
    lots, spendable points, pending points) taken. Lots named in ``release`` are made
    available first (a dry run: the periodic run releases before expiring)."""
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
    return taken
