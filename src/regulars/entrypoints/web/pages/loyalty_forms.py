"""The loyalty admin's forms: what a form sent, checked by the same models that check the
settings file's ``[loyalty]`` (:mod:`regulars.config.loyalty`), into the domain's programme
parts, with each problem in the reader's words next to its field; and a part's current
values as a form shows them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from regulars.config.loyalty import LoyaltyOffer, LoyaltyReward, LoyaltySettings, LoyaltyTier
from regulars.config.pydantic_words import error_message
from regulars.domain.loyalty.programme import Offer, OfferKind, Reward, RewardKind, Tier
from regulars.i18n import _
from regulars.services.loyalty.programmes import RULE_NAMES

#: the fields whose numbers may be written with a decimal comma
_DECIMALS = frozenset({"value", "percent", "threshold", "multiplier", "discount_percent",
                       "min_spend", "referral_min_order_amount"})


class FormError(Exception):
    """The form's problems: field -> message (already in the reader's language)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(dict(errors))
        self.errors = dict(errors)


def _clean(form: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields given (a blank one is left out: the default, or no limit)."""
    out: dict[str, Any] = {}
    for name in fields:
        raw = form.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        text = raw.strip()
        if name in _DECIMALS:
            text = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
        out[name] = text
    return out


def _check(model: type[BaseModel], data: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        errors: dict[str, str] = {}
        for err in e.errors():
            field = str(err["loc"][0]) if err.get("loc") else ""
            errors.setdefault(field, error_message(err))
        raise FormError(errors) from None


def _none_if_blank(text: Any) -> str | None:
    return text.strip() or None if isinstance(text, str) else None


_REWARD_FIELDS = ("name", "kind", "points", "value", "percent", "valid_days", "min_tier",
                  "stock", "per_member")


def parse_reward(form: Mapping[str, Any], code: str) -> Reward:
    """A reward from its form; ``code`` is the reward's (made from the name when new)."""
    data = _clean(form, _REWARD_FIELDS)
    checked = _check(LoyaltyReward, {"code": code, "active": "active" in form, **data})
    assert isinstance(checked, LoyaltyReward)
    return Reward(code=checked.code, name=checked.name, kind=RewardKind(checked.kind),
                  points=checked.points, value=checked.value, percent=checked.percent,
                  valid_days=checked.valid_days, min_tier=checked.min_tier,
                  stock=checked.stock, per_member=checked.per_member, active=checked.active)


def parse_tier(form: Mapping[str, Any], name: str | None = None) -> Tier:
    """A tier from its form (``name``: the tier's, which an edit does not change)."""
    data = _clean(form, ("name", "threshold", "multiplier", "discount_percent"))
    if name is not None:
        data["name"] = name
    perks = [line.strip() for line in str(form.get("perks") or "").splitlines() if line.strip()]
    checked = _check(LoyaltyTier, {**data, "perks": perks})
    assert isinstance(checked, LoyaltyTier)
    return Tier(checked.name, checked.threshold, checked.multiplier, checked.discount_percent,
                tuple(checked.perks))


_OFFER_FIELDS = ("name", "kind", "reward", "min_spend", "window_days", "min_tenure_days",
                 "tier", "winners")


def parse_offer(form: Mapping[str, Any], name: str | None = None) -> Offer:
    data = _clean(form, _OFFER_FIELDS)
    if name is not None:
        data["name"] = name
    checked = _check(LoyaltyOffer, {"active": "active" in form or name is None, **data})
    assert isinstance(checked, LoyaltyOffer)
    return Offer(checked.name, OfferKind(checked.kind), checked.reward, checked.min_spend,
                 checked.window_days, checked.min_tenure_days, checked.tier, checked.winners,
                 checked.active)


#: the bonus events' rules, checked as ``[loyalty]`` checks them
_Rules = create_model(  # type: ignore[call-overload]
    "Rules", __config__={"extra": "forbid"},
    **{k: (LoyaltySettings.model_fields[k].annotation, LoyaltySettings.model_fields[k])
       for k in RULE_NAMES})


def parse_rules(form: Mapping[str, Any]) -> dict[str, Any]:
    """The bonus events' points and the referrals' limits (a blank referral limit: none)."""
    data = _clean(form, tuple(RULE_NAMES))
    if "max_referrals_per_referrer" not in data:
        data["max_referrals_per_referrer"] = None
    checked = _check(_Rules, data)
    return {k: getattr(checked, k) for k in RULE_NAMES}


def parse_starts(form: Mapping[str, Any]) -> date | None:
    """The day a change applies from (blank: now)."""
    text = _none_if_blank(form.get("starts"))
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormError({"starts": _("not a valid date: write it as 2026-03-31")}) from None


def parse_base(form: Mapping[str, Any]) -> int:
    try:
        return int(str(form.get("base_version")))
    except ValueError:
        raise FormError({"": _("The form has no version: open the page again.")}) from None


# -- a part's values as its form shows them ------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    return str(value)


def reward_values(r: Reward) -> dict[str, Any]:
    return {**{k: _text(getattr(r, k)) for k in _REWARD_FIELDS}, "code": r.code,
            "kind": r.kind.value, "active": r.active}


def tier_values(t: Tier) -> dict[str, Any]:
    return {"name": t.name, "threshold": _text(t.threshold), "multiplier": _text(t.multiplier),
            "discount_percent": _text(t.discount_percent), "perks": "\n".join(t.perks)}


def offer_values(o: Offer) -> dict[str, Any]:
    return {**{k: _text(getattr(o, k)) for k in _OFFER_FIELDS}, "kind": o.kind.value,
            "active": o.active}


def rules_values(programme: Any) -> dict[str, Any]:
    return {k: _text(getattr(programme, k)) for k in RULE_NAMES}


def form_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """What the form sent, to show it again with its problems."""
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    values["active"] = "active" in form
    return values
