"""The ``[loyalty]`` section: the loyalty programme (DOMAIN §8), checked and documented.

The programme's fields and their defaults are the domain's own
(:class:`regulars.domain.loyalty.programme.Programme`): every default below is read from a
``Programme()``, so a programme built in a test or a notebook has the rules a business gets
with no configuration. What this module adds is what a settings file needs: the limits each
value must meet, the documentation ``regulars config show`` prints, the inline-TOML reading of
lists, and :meth:`LoyaltySettings.programme`, which validates the section into the domain's
:class:`Programme`.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regulars.i18n import _

# --- [loyalty]: the loyalty programme (DOMAIN §8) ----------------------------------------------


def _toml_inline(value: Any) -> str:
    """``value`` written as a TOML inline value (how list settings show in docs and files)."""
    if isinstance(value, BaseModel):
        given = value.model_dump(exclude_defaults=True)
        fields = {k: getattr(value, k) for k, f in type(value).model_fields.items()
                  if f.is_required() or k in given}
        body = ", ".join(f"{k} = {_toml_inline(v)}" for k, v in fields.items() if v is not None)
        return "{" + body + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    if isinstance(value, int | Decimal | date):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)


class _InlineModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def __repr__(self) -> str:
        return _toml_inline(self)

    __str__ = __repr__


class LoyaltyMultiplier(_InlineModel):
    """A points multiplier: by category, SKU, weekday, or a campaign window."""

    kind: Literal["category", "sku", "weekday", "campaign"]
    factor: Decimal = Field(gt=0)
    match: str | None = None
    starts: date | None = None
    ends: date | None = None
    name: str | None = None


class LoyaltyTier(_InlineModel):
    """A tier: its qualifying threshold (spend or points earned) and its benefits."""

    name: str = Field(min_length=1)
    threshold: Decimal = Field(ge=0)
    multiplier: Decimal = Field(default=Decimal(1), gt=0)
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    perks: list[str] = Field(default_factory=list)


class LoyaltyReward(_InlineModel):
    """An item of the rewards catalogue."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["discount_coupon", "free_item", "service", "gift"]
    points: int = Field(gt=0)
    value: Decimal = Field(default=Decimal(0), ge=0)
    percent: Decimal = Field(default=Decimal(0), ge=0, le=100)
    valid_days: int = Field(default=90, ge=1)
    min_tier: str | None = None
    stock: int | None = Field(default=None, ge=1, description=(
        "How many may be redeemed in all, by everyone (a cancelled redemption gives one "
        "back); unset: no limit."))
    per_member: int | None = Field(default=None, ge=1, description=(
        "How many one member may redeem (cancelled redemptions do not count); unset: no "
        "limit."))


class LoyaltyPunchCard(_InlineModel):
    """A punch card: every ``every``-th unit of a category or SKU earns ``reward``."""

    name: str = Field(min_length=1)
    every: int = Field(ge=2)
    reward: str
    category: str | None = None
    sku: str | None = None


class LoyaltyOffer(_InlineModel):
    """An exclusive offer by rule: spent over X, customer for over N days, or a draw."""

    name: str = Field(min_length=1)
    kind: Literal["spent_over", "tenure", "draw"]
    reward: str
    min_spend: Decimal = Field(default=Decimal(0), ge=0)
    window_days: int = Field(default=365, ge=1)
    min_tenure_days: int = Field(default=365, ge=0)
    tier: str | None = None
    winners: int = Field(default=1, ge=1)


def _default_tiers() -> list[LoyaltyTier]:
    return [
        LoyaltyTier(name="base", threshold=Decimal(0)),
        LoyaltyTier(name="silver", threshold=Decimal(500), multiplier=Decimal("1.25"),
                    discount_percent=Decimal(5)),
        LoyaltyTier(name="gold", threshold=Decimal(2000), multiplier=Decimal("1.5"),
                    discount_percent=Decimal(10), perks=["free delivery"]),
        LoyaltyTier(name="platinum", threshold=Decimal(5000), multiplier=Decimal(2),
                    discount_percent=Decimal(15), perks=["free delivery", "personal manager"]),
    ]


def _default_rewards() -> list[LoyaltyReward]:
    return [
        LoyaltyReward(code="discount-5", name="5 off your next order", kind="discount_coupon",
                      points=500, value=Decimal(5)),
        LoyaltyReward(code="discount-10pct", name="10 % off your next order",
                      kind="discount_coupon", points=900, percent=Decimal(10)),
    ]


class LoyaltySettings(BaseModel):
    """The ``[loyalty]`` section: the loyalty programme. Each change is kept as a new version
    of the programme in the store, so orders earn under the rules of their day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="points", description="What the programme calls its points.")
    timezone: str | None = Field(
        default=None,
        description="IANA time zone for the programme's days, months and years (default: the "
        "business's `timezone`).",
    )
    effective_from: date | None = Field(
        default=None,
        description="First day these rules apply to orders (default: when first seen).",
    )
    points_per_unit: Decimal = Field(
        default=Decimal(1), ge=0, description="Points per currency unit spent."
    )
    rounding: Literal["floor", "half_up", "ceiling"] = Field(
        default="floor", description="How an order's fractional points are rounded."
    )
    min_order_amount: Decimal = Field(
        default=Decimal(0), ge=0, description="Orders below this amount earn nothing."
    )
    release: Literal["immediately", "after_days", "explicit"] = Field(
        default="after_days",
        description="When earned points become spendable: immediately, when the return window "
        "closes, or on an explicit action (`regulars points release --order`).",
    )
    return_window_days: int = Field(
        default=14, ge=0, description="Days after an order during which it can be returned."
    )
    expiry: Literal["never", "after_days", "end_of_month", "end_of_year"] = Field(
        default="after_days",
        description="When a lot of points expires: never, N days after earning, or at the end "
        "of the month or year holding earning + N days.",
    )
    expiry_days: int = Field(default=365, ge=0, description="The N of `expiry`.")
    expiring_soon_days: int = Field(
        default=30, ge=1, description="Points expiring within this many days are shown as "
        "expiring soon."
    )
    returned_spent_points: Literal["negative_balance", "record_deficit"] = Field(
        default="negative_balance",
        description="When a return takes back points already spent: let the balance go "
        "negative (later earnings repay it), or stop at zero and record the deficit.",
    )
    multipliers: list[LoyaltyMultiplier] = Field(
        default_factory=list,
        description="Points multipliers: kind (category, sku, weekday, campaign), factor, "
        "match, starts, ends.",
    )
    max_points_per_order: int | None = Field(
        default=None, ge=0, description="Most points one order can earn."
    )
    cap_points_per_member: int | None = Field(
        default=None, ge=0, description="Most points a member can earn from orders per "
        "`cap_period`."
    )
    cap_period: Literal["day", "week", "month", "year"] = Field(
        default="month", description="The period of `cap_points_per_member`."
    )
    budget_points: int | None = Field(
        default=None, ge=0, description="Most points the whole programme gives for orders per "
        "`budget_period`."
    )
    budget_period: Literal["day", "week", "month", "year"] = Field(
        default="month", description="The period of `budget_points`."
    )
    bonus_sign_up: int = Field(default=100, ge=0, description="Points for joining (with "
                               "consent).")
    bonus_birthday: int = Field(default=200, ge=0, description="Points on the birthday, once a "
                                "year.")
    bonus_first_order: int = Field(default=0, ge=0, description="Points when the first order "
                                   "completes (its return window closed).")
    bonus_review: int = Field(default=50, ge=0, description="Points for a product review.")
    bonus_nps_answer: int = Field(default=20, ge=0, description="Points for answering the NPS "
                                  "survey.")
    referrer_points: int = Field(default=500, ge=0, description="Points for the referrer when "
                                 "the referee's first qualifying order completes.")
    referee_points: int = Field(default=250, ge=0, description="Points for the referee when "
                                "their first qualifying order completes.")
    referral_min_order_amount: Decimal = Field(
        default=Decimal(0), ge=0, description="A referee's order qualifies from this amount."
    )
    max_referrals_per_referrer: int | None = Field(
        default=20, ge=0, description="Referrals one member can make (unset: no limit)."
    )
    tier_basis: Literal["spend", "points_earned"] = Field(
        default="spend",
        description="What qualifies for a tier: spend or points earned in the window (never "
        "the balance).",
    )
    tier_window_days: int = Field(
        default=365, ge=1, description="The rolling qualification window and period, in days."
    )
    tier_grace_days: int = Field(
        default=30, ge=0, description="Days after the qualification period before a downgrade."
    )
    tiers: list[LoyaltyTier] = Field(
        default_factory=_default_tiers,
        description="The tier ladder: name, threshold, multiplier, discount_percent, perks.",
    )
    rewards: list[LoyaltyReward] = Field(
        default_factory=_default_rewards,
        description="The rewards catalogue: code, name, kind (discount_coupon, free_item, "
        "service, gift), points, value, percent, valid_days, min_tier, stock (how many in "
        "all), per_member.",
    )
    punch_cards: list[LoyaltyPunchCard] = Field(
        default_factory=list,
        description="Punch cards: name, every, reward (a catalogue code), category or sku.",
    )
    club_fee: Decimal | None = Field(
        default=None, ge=0, description="Yearly fee of the paid club (unset: no club)."
    )
    club_multiplier: Decimal = Field(
        default=Decimal(1), gt=0, description="Points multiplier for club members."
    )
    club_discount_percent: Decimal = Field(
        default=Decimal(0), ge=0, le=100, description="Discount for club members."
    )
    club_perks: list[str] = Field(default_factory=list, description="Perks of club members.")
    stored_value_max_balance: Decimal = Field(
        default=Decimal(1000), ge=0, description="Most money a stored-value card can hold."
    )
    offers: list[LoyaltyOffer] = Field(
        default_factory=list,
        description="Exclusive offers: name, kind (spent_over, tenure, draw), reward, "
        "min_spend, window_days, min_tenure_days, tier, winners.",
    )

    @field_validator("multipliers", "tiers", "rewards", "punch_cards", "offers", "club_perks",
                     mode="before")
    @classmethod
    def _inline_toml(cls, value: object) -> object:
        # a list written as text (an environment variable, `config init`) is a TOML value
        if isinstance(value, str):
            try:
                return tomllib.loads(f"v = {value}")["v"]
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(_("not a TOML list: {error}").format(error=exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _programme_timezone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(_("unknown time zone {value!r}").format(value=value)) from None
        return value

    @model_validator(mode="after")
    def _references(self) -> LoyaltySettings:
        tiers = [t.name for t in self.tiers]
        if len(set(tiers)) != len(tiers):
            raise ValueError(_("tier names must be unique"))
        codes = [r.code for r in self.rewards]
        if len(set(codes)) != len(codes):
            raise ValueError(_("reward codes must be unique"))
        named: list[LoyaltyPunchCard | LoyaltyOffer] = [*self.punch_cards, *self.offers]
        for item in named:
            if item.reward not in codes:
                raise ValueError(_("{name} names reward {code}, which is not in rewards").format(
                    name=item.name, code=item.reward))
        return self
