"""The till: what a cashier does with a member at the counter (issue 19's till page).

Find a member by phone, loyalty card or id (:meth:`Till.find`); see their panel — balance,
pending, what expires soon, tier and how far to the next, the rewards they can afford now and
the next ones with the points missing, their valid coupons (:meth:`Till.panel`); accrue an
order, redeem a reward, use a coupon, give a card, enrol a customer.

Nothing here has rules of its own: every write is the loyalty engine's or the ingest's, with
their idempotency and audit, under the signed-in person's :class:`~regulars.services.audit.Caller`
(``Caller.web``). An order goes through the ingest (:class:`~regulars.services.api.ingest.Ingest`),
as ``POST /v1/orders`` does, so the customer map and the points agree. Each form carries a
one-time key (:func:`new_form_key`): the same form sent twice is one write, replayed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from regulars.domain.loyalty.codes import normalise_card, normalise_code
from regulars.domain.loyalty.errors import (
    CardError,
    CouponUsedError,
    RewardError,
    UnknownCouponError,
    UnknownMemberError,
)
from regulars.domain.loyalty.programme import Programme, Reward
from regulars.domain.phones import typed_phone_digits
from regulars.domain.tables import Kind
from regulars.i18n import _, fmt_date
from regulars.services.api.ingest import Ingest, request_hash
from regulars.services.api.loyalty import LoyaltyApi
from regulars.services.audit import Caller, acting_as
from regulars.services.loyalty.ports import Coupon
from regulars.services.loyalty.results import (
    CardIssued,
    CouponUse,
    EnrolResult,
    RedemptionResult,
    Statement,
)

#: How many matches a search lists at most.
FIND_LIMIT = 10
#: How many of the next rewards (those only points short) the panel names.
NEXT_REWARDS = 3


def new_form_key() -> str:
    """A one-time key for a form: the same form sent twice is one write."""
    return uuid.uuid4().hex


def looks_like_phone(text: str) -> bool:
    """A member is looked up by phone from five digits on (fewer would match too many)."""
    return typed_phone_digits(text, 5) is not None


@dataclass(frozen=True)
class Match:
    """A member a search found: how (``id``, ``card`` or ``phone``), and what the list shows."""

    member_id: str
    name: str | None
    how: str
    card_number: str | None
    tier: str
    balance: int


@dataclass(frozen=True)
class Found:
    """What a search found: ``members``; when none, the ``customers`` (not members) it names,
    who may be enrolled; ``phone`` and ``card`` as the query reads (to fill the enrolment)."""

    query: str
    members: tuple[Match, ...] = ()
    customers: tuple[tuple[str, str | None], ...] = ()
    phone: str | None = None
    card: str | None = None


@dataclass(frozen=True)
class RewardOption:
    """A reward of the catalogue as one member sees it: ``missing`` points to afford it (0:
    the balance covers it) and ``blocked``, what keeps it out of reach whatever the balance
    (``tier``, ``stock``, ``limit``, ``consent``; None: nothing)."""

    code: str
    name: str
    kind: str
    points: int
    value: Decimal
    percent: Decimal
    valid_days: int
    missing: int
    blocked: str | None = None
    min_tier: str | None = None

    @property
    def affordable(self) -> bool:
        return self.missing == 0 and self.blocked is None


def reward_options(programme: Programme, *, tier: str, balance: int, consent: bool,
                   stock_left: Mapping[str, int], redeemed: Mapping[str, int]
                   ) -> list[RewardOption]:
    """Every reward of ``programme`` for a member of ``tier`` with ``balance`` spendable
    points, as :meth:`~regulars.services.loyalty.spending.Spending.redeem` would judge it:
    the tier it needs, the stock left, the member's limit (``redeemed``: their redemptions
    of each reward not cancelled), their consent; catalogue order."""
    names = [t.name for t in programme.tiers]
    rank = names.index(programme.tier(tier).name)
    out = []
    for r in programme.rewards:
        blocked = None
        if not consent:
            blocked = "consent"
        elif r.min_tier is not None and rank < names.index(programme.tier(r.min_tier).name):
            blocked = "tier"
        elif r.stock is not None and stock_left.get(r.code, r.stock) <= 0:
            blocked = "stock"
        elif r.per_member is not None and redeemed.get(r.code, 0) >= r.per_member:
            blocked = "limit"
        out.append(_option(r, max(0, r.points - balance), blocked))
    return out


def _option(r: Reward, missing: int, blocked: str | None) -> RewardOption:
    return RewardOption(r.code, r.name, r.kind.value, r.points, r.value, r.percent,
                        r.valid_days, missing, blocked, r.min_tier)


@dataclass(frozen=True)
class CouponLine:
    """A member's coupon as the panel lists it."""

    code: str
    reward: str
    reward_name: str
    kind: str
    value: Decimal
    percent: Decimal
    valid_until: datetime
    state: str


@dataclass(frozen=True)
class Panel:
    """A member at the till: who, their statement, the rewards now and next, their coupons."""

    member_id: str
    name: str | None
    card_number: str | None
    consent: bool
    statement: Statement
    rewards_now: tuple[RewardOption, ...]
    rewards_next: tuple[RewardOption, ...]
    coupons: tuple[CouponLine, ...]
    rewards: tuple[RewardOption, ...] = field(default=())
    #: the points that expire soon by the last day they can be used, soonest first
    expiring: tuple[tuple[date, int], ...] = ()

    @property
    def balance(self) -> int:
        return self.statement.balance


@dataclass(frozen=True)
class Accrued:
    """An order accrued at the till: its id, the points it earned (``status`` ``pending``
    or ``available``; None when the member earns nothing: no consent), and whether it was
    there already (``replayed``: the same form again, or an order recorded before)."""

    order_id: str
    amount: Decimal
    points: int
    status: str | None
    replayed: bool


class TillRefusedError(RewardError):
    """The till refuses an action as asked (a coupon that cannot be used now, …); the
    message says why in the reader's language."""


class Till:
    """The till's reads and writes on the API's services (``loyalty``, ``ingest``)."""

    def __init__(self, loyalty: LoyaltyApi, ingest: Ingest) -> None:
        self.loyalty = loyalty
        self.ingest = ingest

    @property
    def programme(self) -> Programme:
        return self.loyalty.service.programme

    # -- finding ----------------------------------------------------------------------------

    def find(self, text: str, *, limit: int = FIND_LIMIT) -> Found:
        """The members ``text`` names: a member id (or an id merged into one), a loyalty
        card's number, a phone number (normalised as at enrolment). None found: the customers
        it names who are not members (by id or phone), to enrol."""
        query = text.strip()
        if not query:
            return Found(query)
        service = self.loyalty.service
        phone = query if looks_like_phone(query) else None
        card = normalise_card(query)
        mid = self.loyalty.member_id(query)
        hits = service.find_members(member_id=mid, card=card, phone=phone, limit=limit)
        phone_norm = service.normalise_phone(phone) if phone else None
        with service.store.reading() as tx:
            if hits:
                names = tx.known_customers([m.member_id for _how, m in hits])
                return Found(query, tuple(
                    Match(m.member_id, names.get(m.member_id), how, m.card_number, m.tier,
                          m.balance) for how, m in hits), phone=phone, card=card)
            customers = dict(tx.known_customers([mid]))
            if phone_norm:
                customers.update(tx.customers_by_phone(phone_norm, limit=limit))
        return Found(query, customers=tuple(customers.items())[:limit], phone=phone,
                     card=card)

    # -- the panel ----------------------------------------------------------------------------

    def panel(self, member_id: str, *, history: int = 5) -> Panel:
        """The member's panel; raises :class:`UnknownMemberError` for a non-member."""
        view = self.loyalty.service.member_view(member_id, history=history)
        s, member, coupons = view.statement, view.member, view.coupons
        now = s.as_of
        stock_left = {r.code: max(0, r.stock - view.rewards_issued.get(r.code, 0))
                      for r in self.programme.rewards if r.stock is not None}
        redeemed: dict[str, int] = {}
        for c in coupons:
            if c.source_ref.startswith("redeem:") and c.cancelled_at is None:
                redeemed[c.reward] = redeemed.get(c.reward, 0) + 1
        options = reward_options(self.programme, tier=s.tier, balance=s.balance,
                                 consent=member.consent, stock_left=stock_left,
                                 redeemed=redeemed)
        now_ = tuple(o for o in options if o.affordable)
        nxt = tuple(sorted((o for o in options if o.blocked is None and o.missing > 0),
                           key=lambda o: (o.missing, o.code))[:NEXT_REWARDS])
        return Panel(member_id, view.name, member.card_number, member.consent, s, now_, nxt,
                     tuple(self._line(c, now) for c in reversed(coupons)
                           if c.state(now) in ("valid", "not_yet_valid")),
                     tuple(options),
                     tuple((date.fromisoformat(day), n) for day, n in s.expiring))

    def _line(self, c: Coupon, now: datetime) -> CouponLine:
        reward = self.programme.reward(c.reward)
        return CouponLine(c.code, c.reward, reward.name if reward else c.reward, c.kind,
                          c.value, c.percent, c.valid_until, c.state(now))

    # -- writes -------------------------------------------------------------------------------

    def enrol(self, customer_id: str | None, *, caller: Caller, name: str | None = None,
              phone: str | None = None, card: str | None = None,
              consent: bool = True) -> EnrolResult:
        """Enrol ``customer_id`` (a new customer when None: their card is made through the
        ingest first, with ``name`` and ``phone``, so the map knows them), with a loyalty
        ``card`` when given. Raises :class:`CardError` before anything is written when the
        card cannot be one or is another member's."""
        service = self.loyalty.service
        card_norm = service.card_number(card) if card else None
        if card_norm is not None:
            with service.store.reading() as tx:
                holder = tx.member_by_card(card_norm)
            if holder is not None:
                raise CardError(_("card {card} belongs to another member").format(
                    card=card_norm))
        if customer_id is None:
            customer_id = "till-" + uuid.uuid4().hex[:12]
            record = {"customer_id": customer_id, "name": name or None, "phone": phone or None}
            self.ingest.run([(Kind.CUSTOMERS, record)], caller=caller)
        with acting_as(caller):
            return self.loyalty.enrol(customer_id, caller=caller, consent=consent,
                                      phone=phone or None, card_number=card_norm)

    def give_card(self, member_id: str, card: str, *, caller: Caller) -> CardIssued:
        with acting_as(caller):
            return self.loyalty.service.give_card(member_id, card)

    def accrue(self, member_id: str, amount: Decimal, *, key: str, caller: Caller,
               reference: str | None = None, at: datetime | None = None) -> Accrued:
        """Record the order (``reference`` as its id, else one made from ``key``) through the
        ingest, which accrues its points in the same transaction. The same ``key`` again
        replays the first answer and writes nothing. Raises :class:`UnknownMemberError` for
        anyone not a member (nothing written)."""
        with self.loyalty.service.store.reading() as tx:
            if not tx.members([member_id]):  # the ingest would make a card for anyone
                raise UnknownMemberError(_("no member {id} in the programme").format(
                    id=member_id))
        order_id = (reference or "").strip() or f"till-{key[:16]}"
        record = {"order_id": order_id, "customer_id": member_id,
                  "ordered_at": (at or datetime.now(UTC)), "amount": amount}
        # the moment is not part of what makes the form the same form
        fingerprint = request_hash("POST", "/till/accrue", {
            "order_id": order_id, "customer_id": member_id, "amount": str(amount)})
        answer = self.ingest.run([(Kind.ORDERS, record)], caller=caller,
                                 idempotency_key=f"till:{key}", fingerprint=fingerprint)
        body: dict[str, Any] = answer.body
        stored_id = (body.get("ids") or [order_id])[0]
        line = next((p for p in body.get("points") or [] if p.get("id") == stored_id), None)
        return Accrued(stored_id, amount, int(line["points"]) if line else 0,
                       str(line["status"]) if line else None,
                       answer.replayed or not body.get("added") or bool(
                           line and line.get("replayed")))

    def redeem(self, member_id: str, reward: str, *, key: str,
               caller: Caller) -> RedemptionResult:
        with acting_as(caller):
            return self.loyalty.service.redeem(member_id, reward,
                                               key=f"web:{caller.actor}:{key}")

    def check_coupon(self, code: str) -> Coupon | None:
        """The coupon with ``code`` as typed (None: no such coupon)."""
        with self.loyalty.service.store.reading() as tx:
            return tx.coupon(normalise_code(code))

    def use_coupon(self, code: str, *, key: str, caller: Caller,
                   reference: str | None = None) -> CouponUse:
        """Use the coupon on the order ``reference`` (else one made from ``key``). A coupon
        that is not valid now is refused with why, in words: used (when, on which order),
        cancelled, expired (when), not valid yet (from when), unknown."""
        service = self.loyalty.service
        coupon = self.check_coupon(code)
        if coupon is None:
            raise UnknownCouponError(_("There is no coupon {code}.").format(
                code=normalise_code(code)[:40]))
        order_id = (reference or "").strip() or f"till-{key[:16]}"
        state = coupon.state(service.now())
        if state == "used" and coupon.used_order_id != order_id:
            raise CouponUsedError(_("Coupon {code} was already used on {date} (order "
                                    "{order}).").format(
                code=coupon.code, date=fmt_date(coupon.used_at),
                order=coupon.used_order_id))
        if state == "cancelled":
            raise TillRefusedError(_("Coupon {code} was cancelled on {date}.").format(
                code=coupon.code, date=fmt_date(coupon.cancelled_at)))
        if state == "expired":
            raise TillRefusedError(_("Coupon {code} expired on {date}.").format(
                code=coupon.code, date=fmt_date(coupon.valid_until)))
        if state == "not_yet_valid":
            raise TillRefusedError(_("Coupon {code} is valid from {date}.").format(
                code=coupon.code, date=fmt_date(coupon.issued_at)))
        with acting_as(caller):
            return service.use_coupon(coupon.code, order_id=order_id,
                                      key=f"web:{caller.actor}:{key}")
