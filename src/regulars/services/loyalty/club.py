"""The paid club and the stored-value card."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from regulars.domain.loyalty.errors import LoyaltyError, StoredValueError
from regulars.domain.loyalty.programme import aware
from regulars.i18n import _, fmt_money
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import LoyaltyTx
from regulars.services.loyalty.results import CardResult, ClubResult


class Club(LoyaltyCore):
    """The paid club and the stored-value card.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

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
                    v=fmt_money(member.stored_value, self.currency),
                    a=fmt_money(-amount, self.currency)))
            if kind == "top_up" and member.stored_value + amount > \
                    self.programme.stored_value_max_balance:
                raise StoredValueError(_("a card may hold at most {m}").format(
                    m=fmt_money(self.programme.stored_value_max_balance, self.currency)))
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
