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

import dataclasses
import json
import tomllib
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from regulars.domain.loyalty.programme import Offer, Programme, Reward, Tier
from regulars.i18n import _

# --- [loyalty]: the loyalty programme (DOMAIN §8) ----------------------------------------------


# The programme a business gets with no [loyalty] section: the domain's defaults.
_DEFAULT: Final = Programme()


def _default(name: str) -> Any:
    """The domain's default of a programme field, as the settings spell it (an enum's value)."""
    value = getattr(_DEFAULT, name)
    return value.value if isinstance(value, StrEnum) else value


def _rule(name: str, description: str, **limits: Any) -> Any:
    """The settings field of programme rule ``name``: the domain's default (one definition,
    in :class:`Programme`), the limits a value must meet and what the reference prints."""
    return Field(default=_default(name), description=description, **limits)


def _field_default(cls: type[Any], name: str) -> Any:
    """The default of a field of one of the domain's programme parts (Tier, Reward, Offer)."""
    return next(f.default for f in dataclasses.fields(cls) if f.name == name)


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
    multiplier: Decimal = Field(default=_field_default(Tier, "multiplier"), gt=0)
    discount_percent: Decimal = Field(default=_field_default(Tier, "discount_percent"), ge=0,
                                      le=100)
    perks: list[str] = Field(default_factory=list)


class LoyaltyReward(_InlineModel):
    """An item of the rewards catalogue."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: Literal["discount_coupon", "free_item", "service", "gift"]
    points: int = Field(gt=0)
    value: Decimal = Field(default=_field_default(Reward, "value"), ge=0)
    percent: Decimal = Field(default=_field_default(Reward, "percent"), ge=0, le=100)
    valid_days: int = Field(default=_field_default(Reward, "valid_days"), ge=1)
    min_tier: str | None = None
    stock: int | None = Field(default=None, ge=1, description=(
        "How many may be redeemed in all, by everyone (a cancelled redemption gives one "
        "back); unset: no limit."))
    per_member: int | None = Field(default=None, ge=1, description=(
        "How many one member may redeem (cancelled redemptions do not count); unset: no "
        "limit."))
    active: bool = Field(default=True, description=(
        "false: no longer offered (coupons already issued stay good)."))


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
    min_spend: Decimal = Field(default=_field_default(Offer, "min_spend"), ge=0)
    window_days: int = Field(default=_field_default(Offer, "window_days"), ge=1)
    min_tenure_days: int = Field(default=_field_default(Offer, "min_tenure_days"), ge=0)
    tier: str | None = None
    winners: int = Field(default=_field_default(Offer, "winners"), ge=1)
    active: bool = True


def _default_tiers() -> list[LoyaltyTier]:
    return [LoyaltyTier.model_validate(t) for t in _DEFAULT.to_dict()["tiers"]]


def _default_rewards() -> list[LoyaltyReward]:
    return [LoyaltyReward.model_validate(r) for r in _DEFAULT.to_dict()["rewards"]]


class LoyaltySettings(BaseModel):
    """The ``[loyalty]`` section: the loyalty programme. Each change is kept as a new version
    of the programme in the store, so orders earn under the rules of their day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = _rule("name", "What the programme calls its points.")
    timezone: str | None = Field(
        default=None,
        description="IANA time zone for the programme's days, months and years (default: the "
        "business's `timezone`).",
    )
    effective_from: date | None = Field(
        default=None,
        description="First day these rules apply to orders (default: when first seen).",
    )
    points_per_unit: Decimal = _rule("points_per_unit", "Points per currency unit spent.", ge=0)
    rounding: Literal["floor", "half_up", "ceiling"] = _rule(
        "rounding",
        "How an order's fractional points are rounded.",
    )
    min_order_amount: Decimal = _rule(
        "min_order_amount",
        "Orders below this amount earn nothing.", ge=0,
    )
    release: Literal["immediately", "after_days", "explicit"] = _rule(
        "release",
        "When earned points become spendable: immediately, when the return window closes, or "
        "on an explicit action (`regulars points release --order`).",
    )
    return_window_days: int = _rule(
        "return_window_days",
        "Days after an order during which it can be returned.", ge=0,
    )
    expiry: Literal["never", "after_days", "end_of_month", "end_of_year"] = _rule(
        "expiry",
        "When a lot of points expires: never, N days after earning, or at the end of the "
        "month or year holding earning + N days.",
    )
    expiry_days: int = _rule("expiry_days", "The N of `expiry`.", ge=0)
    expiring_soon_days: int = _rule(
        "expiring_soon_days",
        "Points expiring within this many days are shown as expiring soon.", ge=1,
    )
    returned_spent_points: Literal["negative_balance", "record_deficit"] = _rule(
        "returned_spent_points",
        "When a return takes back points already spent: let the balance go negative (later "
        "earnings repay it), or stop at zero and record the deficit.",
    )
    multipliers: list[LoyaltyMultiplier] = Field(
        default_factory=list,
        description="Points multipliers: kind (category, sku, weekday, campaign), factor, "
        "match, starts, ends.",
    )
    max_points_per_order: int | None = _rule(
        "max_points_per_order",
        "Most points one order can earn.", ge=0,
    )
    cap_points_per_member: int | None = _rule(
        "cap_points_per_member",
        "Most points a member can earn from orders per `cap_period`.", ge=0,
    )
    cap_period: Literal["day", "week", "month", "year"] = _rule(
        "cap_period",
        "The period of `cap_points_per_member`.",
    )
    budget_points: int | None = _rule(
        "budget_points",
        "Most points the whole programme gives for orders per `budget_period`.", ge=0,
    )
    budget_period: Literal["day", "week", "month", "year"] = _rule(
        "budget_period",
        "The period of `budget_points`.",
    )
    bonus_sign_up: int = _rule("bonus_sign_up", "Points for joining (with consent).", ge=0)
    bonus_birthday: int = _rule("bonus_birthday", "Points on the birthday, once a year.", ge=0)
    bonus_first_order: int = _rule(
        "bonus_first_order",
        "Points when the first order completes (its return window closed).", ge=0,
    )
    bonus_review: int = _rule("bonus_review", "Points for a product review.", ge=0)
    bonus_nps_answer: int = _rule("bonus_nps_answer", "Points for answering the NPS survey.", ge=0)
    referrer_points: int = _rule(
        "referrer_points",
        "Points for the referrer when the referee's first qualifying order completes.", ge=0,
    )
    referee_points: int = _rule(
        "referee_points",
        "Points for the referee when their first qualifying order completes.", ge=0,
    )
    referral_min_order_amount: Decimal = _rule(
        "referral_min_order_amount",
        "A referee's order qualifies from this amount.", ge=0,
    )
    max_referrals_per_referrer: int | None = _rule(
        "max_referrals_per_referrer",
        "Referrals one member can make (unset: no limit).", ge=0,
    )
    tier_basis: Literal["spend", "points_earned"] = _rule(
        "tier_basis",
        "What qualifies for a tier: spend or points earned in the window (never the balance).",
    )
    tier_window_days: int = _rule(
        "tier_window_days",
        "The rolling qualification window and period, in days.", ge=1,
    )
    tier_grace_days: int = _rule(
        "tier_grace_days",
        "Days after the qualification period before a downgrade.", ge=0,
    )
    tiers: list[LoyaltyTier] = Field(
        default_factory=_default_tiers,
        description="The tier ladder: name, threshold, multiplier, discount_percent, perks.",
    )
    rewards: list[LoyaltyReward] = Field(
        default_factory=_default_rewards,
        description="The rewards catalogue: code, name, kind (discount_coupon, free_item, "
        "service, gift), points, value, percent, valid_days, min_tier, stock (how many in "
        "all), per_member, active (false: no longer offered).",
    )
    punch_cards: list[LoyaltyPunchCard] = Field(
        default_factory=list,
        description="Punch cards: name, every, reward (a catalogue code), category or sku.",
    )
    club_fee: Decimal | None = _rule(
        "club_fee",
        "Yearly fee of the paid club (unset: no club).", ge=0,
    )
    club_multiplier: Decimal = _rule("club_multiplier", "Points multiplier for club members.", gt=0)
    club_discount_percent: Decimal = _rule(
        "club_discount_percent",
        "Discount for club members.", ge=0, le=100,
    )
    club_perks: list[str] = Field(default_factory=list, description="Perks of club members.")
    stored_value_max_balance: Decimal = _rule(
        "stored_value_max_balance",
        "Most money a stored-value card can hold.", ge=0,
    )
    offers: list[LoyaltyOffer] = Field(
        default_factory=list,
        description="Exclusive offers: name, kind (spent_over, tenure, draw), reward, "
        "min_spend, window_days, min_tenure_days, tier, winners, active (false: no longer "
        "run).",
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

    def programme(self, business_timezone: str) -> Programme:
        """The domain's :class:`Programme` this section defines, in ``business_timezone``
        unless the section names its own time zone."""
        data = self.model_dump(mode="python")
        data["timezone"] = data.get("timezone") or business_timezone
        start = data.pop("effective_from", None)
        programme = Programme.from_dict(data)
        if start is not None:
            moment = datetime.combine(start, time(0), tzinfo=programme.tz)
            programme = dataclasses.replace(programme, effective_from=moment)
        return programme

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
