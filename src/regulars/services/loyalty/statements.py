"""Reading a member's statement and checking that the books balance."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from regulars.domain.loyalty.earning import qualifying_total
from regulars.domain.loyalty.ledger import Member, check_account
from regulars.domain.loyalty.programme import aware
from regulars.domain.loyalty.tiers import next_tier
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import Coupon, LoyaltyTx
from regulars.services.loyalty.results import Statement, StatementLine


@dataclass(frozen=True)
class MemberView:
    """A member as a till sees them (:meth:`Statements.member_view`): one read's worth."""

    statement: Statement
    member: Member
    coupons: tuple[Coupon, ...]
    name: str | None
    rewards_issued: dict[str, int]


class Statements(LoyaltyCore):
    """A member's statement, and the checks that the books balance.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

    def statement(self, member_id: str, *, at: datetime | None = None,
                  history: int = 20) -> Statement:
        """Balance, pending, expiring soon, tier and progress to the next one, history."""
        self.versions()
        when = aware(at) if at is not None else self.now()
        with self.store.reading() as tx:
            return self._statement(tx, self._member(tx, member_id, lock=False), when,
                                   history)[0]

    def member_view(self, member_id: str, *, at: datetime | None = None,
                    history: int = 20) -> MemberView:
        """What a till shows of a member, in one read: the statement, the member, every
        coupon they were issued, their name, and how many of each stocked reward were
        issued."""
        self.versions()
        when = aware(at) if at is not None else self.now()
        with self.store.reading() as tx:
            member = self._member(tx, member_id, lock=False)
            statement, coupons = self._statement(tx, member, when, history)
            name = tx.known_customers([member_id]).get(member_id)
            issued = tx.rewards_issued() if any(
                r.stock is not None for r in self.programme.rewards) else {}
        return MemberView(statement, member, tuple(coupons), name, issued)

    def _statement(self, tx: LoyaltyTx, member: Member, when: datetime,
                   history: int) -> tuple[Statement, list[Coupon]]:
        """The member's statement at ``when``, and all their coupons (read for it)."""
        prog = self.programme
        member_id = member.member_id
        account = self._account(tx, member)
        soon = account.expiring(when, when + timedelta(days=prog.expiring_soon_days))
        # lots past their expiry that no expiry run has written off yet: not spendable
        unswept = member.balance + member.debt - sum(
            lot.remaining for lot in account.spendable(when))
        since = when - timedelta(days=prog.tier_window_days)
        qualifying = qualifying_total(prog, tx.accrual_history([member_id], since), when)
        entries = tx.entries(member_id, limit=history)
        all_coupons = tx.coupons_of(member_id)
        coupons = [c for c in all_coupons if c.state(when) in ("valid", "not_yet_valid")]
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
        ), all_coupons

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
