"""Enrolment, consent, referral codes and loyalty cards: who is in the programme, and how the
till finds them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from regulars.domain.loyalty.codes import new_code, normalise_card, normalise_code
from regulars.domain.loyalty.errors import (
    CardError,
    IdempotencyConflictError,
    LoyaltyError,
    ReferralRefusedError,
)
from regulars.domain.loyalty.ledger import Account, EntryKind, Member
from regulars.domain.loyalty.referrals import RefusalReason, check_referral
from regulars.i18n import _
from regulars.services.loyalty.core import RETRIES, LoyaltyCore
from regulars.services.loyalty.ports import DuplicateKey, LoyaltyTx, ReferralRecord
from regulars.services.loyalty.results import CardIssued, EnrolResult


class Members(LoyaltyCore):
    """Enrolment (one or many), referral codes, consent and loyalty cards.

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
        card_number: str | None = None,
    ) -> EnrolResult:
        """Enrol a customer (opt-in when ``consent``); with a friend's ``referral_code`` the
        referral is checked now and rewarded when the first qualifying order completes; with
        a ``card_number`` the member gets that loyalty card.

        Raises :class:`ReferralRefusedError` (nothing written) when the code is unknown or the
        referral is not allowed, :class:`CardError` when the card number cannot be one or
        another member holds it.
        """
        email_norm, phone_norm = self.normalise_email(email), self.normalise_phone(phone)
        card = self.card_number(card_number) if card_number else None
        request: dict[str, Any] = {"consent": consent, "email": email_norm, "phone": phone_norm,
                                   "payment": payment_fingerprint, "birthday": birthday,
                                   "referral_code": referral_code}
        if card is not None:  # only then: enrolments recorded before cards keep their replay
            request["card"] = card

        def work(tx: LoyaltyTx, now: datetime) -> EnrolResult:
            if tx.members([member_id], lock=True):
                raise IdempotencyConflictError(
                    _("{id} is already a member").format(id=member_id))
            member = Member(member_id, now, consent=consent, consent_at=now if consent else None,
                            email_norm=email_norm, phone_norm=phone_norm,
                            payment_fingerprint=payment_fingerprint, birthday=birthday,
                            referral_code=new_code(8, "R"), tier=self.programme.tiers[0].name,
                            card_number=card)
            if card is not None:
                self._card_free(tx, card, member_id)
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

    # -- loyalty cards ----------------------------------------------------------------------

    @staticmethod
    def card_number(text: str) -> str:
        """``text`` as a card number is kept (:func:`normalise_card`); raises
        :class:`CardError` when it cannot be one."""
        card = normalise_card(text)
        if card is None:
            raise CardError(_("{card} is not a card number: 4 to 32 letters and digits").format(
                card=text.strip()[:40]))
        return card

    @staticmethod
    def _card_free(tx: LoyaltyTx, card: str, member_id: str) -> None:
        holder = tx.member_by_card(card)
        if holder is not None and holder.member_id != member_id:
            raise CardError(_("card {card} belongs to another member").format(card=card))

    def give_card(self, member_id: str, card_number: str) -> CardIssued:
        """Give the member the loyalty card ``card_number`` (replacing the one they had).

        Giving the same card again changes nothing (``changed`` False). Raises
        :class:`CardError` when the number cannot be one or another member holds the card
        (also when one took it at the same moment: the UNIQUE index decides)."""
        card = self.card_number(card_number)
        for _attempt in range(RETRIES):
            try:
                with self.store.transaction() as tx:
                    member = self._member(tx, member_id)
                    previous = member.card_number
                    if previous != card:
                        self._card_free(tx, card, member_id)
                        member.card_number = card
                        tx.update_members([member])
                        tx.commit()
                    return CardIssued(member_id, card, previous, previous != card)
            except DuplicateKey:
                continue  # someone took the card meanwhile: the next look finds its holder
        raise LoyaltyError(_("{key}: too many conflicting writes; try again").format(
            key=member_id))

    def find_members(self, *, member_id: str | None = None, card: str | None = None,
                     phone: str | None = None, limit: int = 10) -> list[tuple[str, Member]]:
        """The members a till's search names, each with how it matched (``id``, ``card``,
        ``phone``), in that order and once each: by member id, by loyalty card (as
        :func:`normalise_card` keeps it) and by phone (normalised as at enrolment), at most
        ``limit``. One read transaction; each look-up is an indexed one."""
        found: dict[str, tuple[str, Member]] = {}
        phone_norm = self.normalise_phone(phone) if phone else None
        card_norm = normalise_card(card) if card else None
        with self.store.reading() as tx:
            if member_id:
                for m in tx.members([member_id]).values():
                    found.setdefault(m.member_id, ("id", m))
            if card_norm:
                holder = tx.member_by_card(card_norm)
                if holder is not None:
                    found.setdefault(holder.member_id, ("card", holder))
            if phone_norm:
                for m in tx.members_by_phone(phone_norm, limit=limit):
                    found.setdefault(m.member_id, ("phone", m))
        return list(found.values())[:limit]

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
