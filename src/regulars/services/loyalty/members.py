"""Enrolment, consent and referral codes: who is in the programme."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from regulars.domain.loyalty.codes import new_code, normalise_code
from regulars.domain.loyalty.errors import IdempotencyConflictError, ReferralRefusedError
from regulars.domain.loyalty.ledger import Account, EntryKind, Member
from regulars.domain.loyalty.referrals import RefusalReason, check_referral
from regulars.i18n import _
from regulars.services.loyalty.core import LoyaltyCore
from regulars.services.loyalty.ports import LoyaltyTx, ReferralRecord
from regulars.services.loyalty.results import EnrolResult


class Members(LoyaltyCore):
    """Enrolment (one or many), referral codes and consent.

    Part of :class:`~regulars.services.loyalty.LoyaltyService`.
    """

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
