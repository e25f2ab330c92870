"""The programme's definition as value objects (DOMAIN §8), and its calendar arithmetic.

A :class:`Programme` is what the business wrote under ``[loyalty]`` in ``regulars.toml``,
checked by the settings and handed over as a plain mapping (:meth:`Programme.from_dict`).
Each distinct definition is stored as a numbered version, so that an order is always earned
under the rules that were in force when it was placed and history survives a change of rules.

Every calendar boundary (end of day, month, year; weekdays; campaign windows) is taken in the
programme's time zone; instants are timezone-aware throughout.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Rounding(StrEnum):
    """How fractional points are rounded (once per order, on the total)."""

    FLOOR = "floor"
    HALF_UP = "half_up"
    CEILING = "ceiling"

    def apply(self, value: Decimal) -> int:
        mode = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceiling": ROUND_CEILING}[self]
        return int(value.to_integral_value(rounding=mode))


class Release(StrEnum):
    """When earned points stop being pending and become spendable."""

    IMMEDIATELY = "immediately"
    AFTER_DAYS = "after_days"  # when the return window closes
    EXPLICIT = "explicit"  # on an explicit action (delivery confirmed, …)


class Expiry(StrEnum):
    """When a lot of earned points expires."""

    NEVER = "never"
    AFTER_DAYS = "after_days"  # at the end of the day N days after earning
    END_OF_MONTH = "end_of_month"  # at the end of the month that holds earning + N days
    END_OF_YEAR = "end_of_year"  # at the end of the year that holds earning + N days


class ReturnedSpentPoints(StrEnum):
    """What a return does when the points it takes back were already spent."""

    NEGATIVE_BALANCE = "negative_balance"  # the balance goes below zero; later earnings repay it
    RECORD_DEFICIT = "record_deficit"  # the balance stops at zero; the rest is recorded as deficit


class TierBasis(StrEnum):
    """What qualifies a member for a tier: never the spendable balance."""

    SPEND = "spend"
    POINTS_EARNED = "points_earned"


class Period(StrEnum):
    """A calendar period, for caps and budgets."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class MultiplierKind(StrEnum):
    CATEGORY = "category"
    SKU = "sku"
    WEEKDAY = "weekday"
    CAMPAIGN = "campaign"


class RewardKind(StrEnum):
    DISCOUNT_COUPON = "discount_coupon"
    FREE_ITEM = "free_item"
    SERVICE = "service"
    GIFT = "gift"


class OfferKind(StrEnum):
    SPENT_OVER = "spent_over"  # a voucher for customers who spent over X in a window
    TENURE = "tenure"  # a discount for customers of more than N days
    DRAW = "draw"  # a seeded prize draw among a tier's members


BONUS_EVENTS = ("sign_up", "birthday", "first_order", "review", "nps_answer", "referral")


@dataclass(frozen=True)
class Multiplier:
    """Earn ``factor`` times the points on matching lines.

    ``match`` is a category, a SKU or a weekday name; a campaign applies from ``starts`` to
    ``ends`` (local dates, both inclusive) to every line, or only to lines of category
    ``match`` when it is given.
    """

    kind: MultiplierKind
    factor: Decimal
    match: str | None = None
    starts: date | None = None
    ends: date | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.kind.value}:{self.match or ''}"


@dataclass(frozen=True)
class Tier:
    """A rung of the tier ladder and its benefits."""

    name: str
    threshold: Decimal
    multiplier: Decimal = Decimal(1)
    discount_percent: Decimal = Decimal(0)
    perks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reward:
    """An item of the rewards catalogue."""

    code: str
    name: str
    kind: RewardKind
    points: int
    value: Decimal = Decimal(0)  # money off, or the item's worth
    percent: Decimal = Decimal(0)  # percent off (discount coupons)
    valid_days: int = 90
    min_tier: str | None = None
    stock: int | None = None  # how many may be redeemed in all (None: no limit)
    per_member: int | None = None  # how many one member may redeem (None: no limit)
    active: bool = True  # False: no longer offered (members' coupons of it stay good)


@dataclass(frozen=True)
class PunchCard:
    """"Every ``every``-th unit of ``category`` (or ``sku``) free": issues ``reward``."""

    name: str
    every: int
    reward: str
    category: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class Offer:
    """An exclusive offer by rule (DOMAIN §8), issued as coupons of ``reward`` to eligible
    members; a draw picks ``winners`` of them with a recorded seed."""

    name: str
    kind: OfferKind
    reward: str
    min_spend: Decimal = Decimal(0)
    window_days: int = 365
    min_tenure_days: int = 365
    tier: str | None = None
    winners: int = 1
    active: bool = True  # False: no longer run (the coupons it issued stay good)


def _shipped_tiers() -> tuple[Tier, ...]:
    return (
        Tier("base", Decimal(0)),
        Tier("silver", Decimal(500), Decimal("1.25"), Decimal(5)),
        Tier("gold", Decimal(2000), Decimal("1.5"), Decimal(10), ("free delivery",)),
        Tier("platinum", Decimal(5000), Decimal(2), Decimal(15),
             ("free delivery", "personal manager")),
    )


def _shipped_rewards() -> tuple[Reward, ...]:
    return (
        Reward("discount-5", "5 off your next order", RewardKind.DISCOUNT_COUPON, 500,
               value=Decimal(5)),
        Reward("discount-10pct", "10 % off your next order", RewardKind.DISCOUNT_COUPON, 900,
               percent=Decimal(10)),
    )


@dataclass(frozen=True)
class Programme:
    """One version of the programme's rules.

    The defaults are the programme a business runs with no ``[loyalty]`` section: the settings
    read theirs from here (:mod:`regulars.config.loyalty`), so that ``Programme()`` in a test or
    a notebook and the shipped configuration are one and the same programme.
    """

    timezone: str = "UTC"
    name: str = "points"
    points_per_unit: Decimal = Decimal(1)
    rounding: Rounding = Rounding.FLOOR
    min_order_amount: Decimal = Decimal(0)
    release: Release = Release.AFTER_DAYS
    return_window_days: int = 14
    expiry: Expiry = Expiry.AFTER_DAYS
    expiry_days: int = 365
    expiring_soon_days: int = 30
    returned_spent_points: ReturnedSpentPoints = ReturnedSpentPoints.NEGATIVE_BALANCE
    multipliers: tuple[Multiplier, ...] = ()
    max_points_per_order: int | None = None
    cap_points_per_member: int | None = None
    cap_period: Period = Period.MONTH
    budget_points: int | None = None
    budget_period: Period = Period.MONTH
    bonus_sign_up: int = 100
    bonus_birthday: int = 200
    bonus_first_order: int = 0
    bonus_review: int = 50
    bonus_nps_answer: int = 20
    referrer_points: int = 500
    referee_points: int = 250
    referral_min_order_amount: Decimal = Decimal(0)
    max_referrals_per_referrer: int | None = 20
    tier_basis: TierBasis = TierBasis.SPEND
    tier_window_days: int = 365
    tier_grace_days: int = 30
    tiers: tuple[Tier, ...] = field(default_factory=_shipped_tiers)
    rewards: tuple[Reward, ...] = field(default_factory=_shipped_rewards)
    punch_cards: tuple[PunchCard, ...] = ()
    club_fee: Decimal | None = None
    club_multiplier: Decimal = Decimal(1)
    club_discount_percent: Decimal = Decimal(0)
    club_perks: tuple[str, ...] = ()
    stored_value_max_balance: Decimal = Decimal(1000)
    offers: tuple[Offer, ...] = ()
    effective_from: datetime | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # the enums may be given by their values ("immediately")
        for name, enum in _ENUM_FIELDS.items():
            object.__setattr__(self, name, enum(getattr(self, name)))
        if not self.tiers:
            raise ValueError("a programme needs at least one tier")
        ordered = tuple(sorted(self.tiers, key=lambda t: t.threshold))
        if ordered[0].threshold != 0:
            ordered = (Tier("base", Decimal(0)), *ordered)
        object.__setattr__(self, "tiers", ordered)
        names = [t.name for t in ordered]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        codes = [r.code for r in self.rewards]
        if len(set(codes)) != len(codes):
            raise ValueError("reward codes must be unique")

    # -- lookups ------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def tier(self, name: str | None) -> Tier:
        """The tier called ``name``; an unknown or retired name is the lowest tier."""
        return next((t for t in self.tiers if t.name == name), self.tiers[0])

    def reward(self, code: str) -> Reward | None:
        return next((r for r in self.rewards if r.code == code), None)

    def offer(self, name: str) -> Offer | None:
        return next((o for o in self.offers if o.name == name), None)

    def bonus_points(self, event: str) -> int:
        if event == "referral":
            return self.referee_points
        if event not in BONUS_EVENTS:
            raise ValueError(event)
        value: int = getattr(self, f"bonus_{event}")
        return value

    # -- calendar -----------------------------------------------------------------------

    def local(self, at: datetime) -> datetime:
        return aware(at).astimezone(self.tz)

    def midnight(self, day: date) -> datetime:
        """The instant a local day starts (DST-correct)."""
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def available_at(self, earned_at: datetime) -> datetime | None:
        """When points earned at ``earned_at`` become spendable (``None``: on explicit action)."""
        if self.release is Release.IMMEDIATELY:
            return aware(earned_at)
        if self.release is Release.EXPLICIT:
            return None
        # the window closes at the end of the last local day of it
        day = self.local(earned_at).date() + timedelta(days=self.return_window_days + 1)
        return self.midnight(day)

    def expires_at(self, earned_at: datetime) -> datetime | None:
        """When a lot earned at ``earned_at`` expires (``None``: never)."""
        if self.expiry is Expiry.NEVER:
            return None
        day = self.local(earned_at).date() + timedelta(days=self.expiry_days)
        if self.expiry is Expiry.AFTER_DAYS:
            return self.midnight(day + timedelta(days=1))
        if self.expiry is Expiry.END_OF_MONTH:
            first_next = date(day.year + day.month // 12, day.month % 12 + 1, 1)
            return self.midnight(first_next)
        return self.midnight(date(day.year + 1, 1, 1))

    def period_start(self, at: datetime, period: Period) -> datetime:
        """The start of the local calendar period holding ``at``."""
        d = self.local(at).date()
        if period is Period.WEEK:
            d -= timedelta(days=d.weekday())
        elif period is Period.MONTH:
            d = d.replace(day=1)
        elif period is Period.YEAR:
            d = d.replace(month=1, day=1)
        return self.midnight(d)

    # -- versions -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping that :meth:`from_dict` reads back to an equal programme."""
        data = asdict(self)
        data.pop("effective_from")
        for reward in data["rewards"]:
            # limits came later: left out when unset, so a programme without them keeps the
            # fingerprint (and the stored version) it had before they existed
            for key in ("stock", "per_member"):
                if reward[key] is None:
                    del reward[key]
        # so is `active`, left out while true
        for item in (*data["rewards"], *data["offers"]):
            if item["active"]:
                del item["active"]
        return _jsonable(data)  # type: ignore[no-any-return]

    def fingerprint(self) -> str:
        """A digest of the rules: equal programmes have equal fingerprints."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Programme:
        """Build a programme from a plain mapping (settings, or a stored version)."""
        d = dict(data)
        d.pop("effective_from", None)
        dec = ("points_per_unit", "min_order_amount", "referral_min_order_amount",
               "club_multiplier", "club_discount_percent", "stored_value_max_balance")
        for k in dec:
            if k in d and d[k] is not None:
                d[k] = Decimal(str(d[k]))
        if d.get("club_fee") is not None:
            d["club_fee"] = Decimal(str(d["club_fee"]))
        for k, enum in _ENUM_FIELDS.items():
            if k in d:
                d[k] = enum(d[k])
        if "multipliers" in d:
            d["multipliers"] = tuple(
                Multiplier(
                    kind=MultiplierKind(m["kind"]), factor=Decimal(str(m["factor"])),
                    match=m.get("match"), starts=_date(m.get("starts")),
                    ends=_date(m.get("ends")), name=m.get("name"),
                )
                for m in d["multipliers"]
            )
        if "tiers" in d:
            d["tiers"] = tuple(
                Tier(name=t["name"], threshold=Decimal(str(t["threshold"])),
                     multiplier=Decimal(str(t.get("multiplier", 1))),
                     discount_percent=Decimal(str(t.get("discount_percent", 0))),
                     perks=tuple(t.get("perks", ())))
                for t in d["tiers"]
            )
        if "rewards" in d:
            d["rewards"] = tuple(
                Reward(code=r["code"], name=r["name"], kind=RewardKind(r["kind"]),
                       points=int(r["points"]), value=Decimal(str(r.get("value", 0))),
                       percent=Decimal(str(r.get("percent", 0))),
                       valid_days=int(r.get("valid_days", 90)), min_tier=r.get("min_tier"),
                       stock=_int_or_none(r.get("stock")),
                       per_member=_int_or_none(r.get("per_member")),
                       active=bool(r.get("active", True)))
                for r in d["rewards"]
            )
        if "punch_cards" in d:
            d["punch_cards"] = tuple(
                PunchCard(name=p["name"], every=int(p["every"]), reward=p["reward"],
                          category=p.get("category"), sku=p.get("sku"))
                for p in d["punch_cards"]
            )
        if "offers" in d:
            d["offers"] = tuple(
                Offer(name=o["name"], kind=OfferKind(o["kind"]), reward=o["reward"],
                      min_spend=Decimal(str(o.get("min_spend", 0))),
                      window_days=int(o.get("window_days", 365)),
                      min_tenure_days=int(o.get("min_tenure_days", 365)),
                      tier=o.get("tier"), winners=int(o.get("winners", 1)),
                      active=bool(o.get("active", True)))
                for o in d["offers"]
            )
        for k in ("club_perks",):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


_ENUM_FIELDS: dict[str, type[StrEnum]] = {
    "rounding": Rounding, "release": Release, "expiry": Expiry,
    "returned_spent_points": ReturnedSpentPoints, "tier_basis": TierBasis,
    "cap_period": Period, "budget_period": Period,
}


def aware(at: datetime) -> datetime:
    """``at`` itself when it carries a zone; a naive instant is taken as UTC."""
    if at.tzinfo is None:
        from datetime import UTC

        return at.replace(tzinfo=UTC)
    return at


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)

