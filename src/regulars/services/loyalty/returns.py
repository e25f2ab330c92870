"""Returns take points back; releases make pending points available, settling the
first-order bonus and referrals of orders that completed."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from regulars.domain.loyalty.errors import LoyaltyError, UnknownOrderError
from regulars.domain.loyalty.ledger import Account, EntryKind, Member
from regulars.domain.loyalty.programme import aware
from regulars.domain.loyalty.referrals import same_person
from regulars.domain.loyalty.release import completed, referral_qualifies, release_lots, reversal
from regulars.i18n import _
from regulars.services.loyalty.core import RETRIES, LoyaltyCore, RunLog
from regulars.services.loyalty.ports import Accrual, DuplicateKey, LoyaltyTx
from regulars.services.loyalty.results import ReturnResult, RunResult


class Returns(LoyaltyCore):
    """Returns, and releases of pending points with what a completed order settles.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

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
            r = reversal(a.points, a.amount, a.returned_amount, a.reversed, amount)
            k = r.points
            entry = account.reverse(a.lot_ref, k, at, ref=f"return:{return_id}",
                                    policy=self.programme.returned_spent_points,
                                    order_id=order_id, reason=f"return {return_id}",
                                    version=self.current_version)
            a.returned_amount = r.returned_amount
            a.reversed = r.reversed
            tx.update_accrual(a)
            tx.save_accounts([account])
            return ReturnResult(
                return_id, order_id, a.member_id, amount, k,
                -entry.pending if entry else 0, -entry.points if entry else 0,
                entry.deficit if entry else 0, account.member.balance)

        return self._once(f"return:{return_id}", "return",
                          {"order_id": order_id, "amount": str(amount)}, ReturnResult, work,
                          member_id=accrual.member_id)

    def release_order(self, order_id: str) -> RunResult:
        """Release an order's points now (the programme's explicit action: delivered, …)."""
        with self.store.reading() as tx:
            a = tx.accruals([order_id]).get(order_id)
        if a is None:
            raise UnknownOrderError(_("order {id} never earned points").format(id=order_id))
        return self._release({a.member_id: [a.lot_ref]}, self.now(), explicit=True)

    def _release(self, by_member: dict[str, list[str]], at: datetime, *,
                 explicit: bool, log: RunLog | None = None) -> RunResult:
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
        touched: set[str] = set()
        for mid in part:
            account = accounts.get(mid)
            if account is None:
                continue
            for done in release_lots(account, by_member[mid], at, explicit=explicit,
                                     version=self.current_version):
                touched.add(mid)
                n, p = n + done.entry, p + done.points
                a = accruals.get(done.lot_ref.removeprefix("order:"))
                if a is not None and completed(a.amount, a.returned_amount):
                    touched |= self._order_completed(tx, accounts, account, a, done.when,
                                                     bonus_refs)
        tx.save_accounts([accounts[mid] for mid in sorted(touched) if mid in accounts])
        return len(touched & set(part)), n, p

    def _order_completed(self, tx: LoyaltyTx, accounts: dict[str, Account], account: Account,
                         a: Accrual, when: datetime, bonus_refs: set[str]) -> set[str]:
        """An order released without having been wholly returned: the member's first-order
        bonus (once), and their referral settled; the referrer's id when it was touched."""
        mid = account.member.member_id
        first_ref = f"bonus:first_order:{mid}"
        if self.programme.bonus_first_order and first_ref not in bonus_refs:
            bonus_refs.add(first_ref)
            self._credit(account, ref=first_ref, source="bonus:first_order",
                         points=self.programme.bonus_first_order, at=when,
                         kind=EntryKind.BONUS, reason="first_order")
        if not account.member.referred_by:
            return set()
        self._settle_referral(tx, accounts, account.member, a, when)
        return {account.member.referred_by}

    def _settle_referral(self, tx: LoyaltyTx, accounts: dict[str, Account], referee: Member,
                         a: Accrual, at: datetime) -> None:
        record = tx.referral(referee.member_id)
        if record is None or record.status != "pending":
            return
        prog = self.programme
        if not referral_qualifies(a.amount, a.returned_amount, prog.referral_min_order_amount):
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
