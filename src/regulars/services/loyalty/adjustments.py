"""Manual adjustments of a balance and the programme's event bonuses."""

from __future__ import annotations

from datetime import datetime

from regulars.domain.loyalty.errors import ConsentRequiredError, LoyaltyError
from regulars.domain.loyalty.ledger import Account, EntryKind
from regulars.domain.loyalty.programme import BONUS_EVENTS, aware
from regulars.i18n import _
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import LoyaltyTx
from regulars.services.loyalty.results import AdjustmentResult, BonusResult


class Adjustments(LoyaltyCore):
    """Manual adjustments and event bonuses.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

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
