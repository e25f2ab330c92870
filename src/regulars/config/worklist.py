"""The ``[worklist]`` and ``[contact_policy]`` sections (issue 18), checked and documented.

Each validates straight into the domain's own types: :meth:`WorklistSettings.rules` gives a
:class:`regulars.domain.worklist.WorklistRules`, :meth:`ContactPolicySettings.policy` a
:class:`regulars.domain.contact_policy.ContactPolicy`.
"""

from __future__ import annotations

import tomllib
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regulars.domain import contact_policy as cp
from regulars.domain.worklist import REASON_ORDER, ManagerRules, WorklistRules
from regulars.i18n import _


def _inline_toml(value: object) -> object:
    """A list or table written as text (an environment variable, ``config init``) is a TOML
    value."""
    if isinstance(value, str):
        try:
            return tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(_("not a TOML value: {error}").format(error=exc)) from None
    return value


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(_("unknown time zone {value!r} (use an IANA name such as "
                           "'Europe/Tallinn')").format(value=value)) from None
    return value


class ManagerSettings(BaseModel):
    """``[worklist.managers."Anna Kask"]``: one manager's own time zone and capacity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str | None = Field(default=None, description="IANA zone of the manager's day.")
    daily_capacity: int | None = Field(default=None, ge=0, le=10_000,
                                       description="Customers on the manager's list a day.")

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return _zone(value)


class WorklistSettings(BaseModel):
    """The ``[worklist]`` section: today's list of whom each manager contacts and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily_capacity: int = Field(
        default=15, ge=1, le=10_000,
        description="Customers on one manager's list a day (issue 18: 15).")
    recontact_after_days: int = Field(
        default=30, ge=0, le=3650,
        description=(
            "A customer contacted in person (an outgoing call, or any outgoing interaction "
            "that names its manager: imported, or a done task) is not suggested again for "
            "this many days. 30: the most frequent personal touch of "
            "article 001's communication plan is a message 2-3 times a quarter, about once a "
            "month."))
    default_owner: str | None = Field(
        default=None,
        description=(
            "Who gets the customers without a manager; not set: they are shared out evenly "
            "among the managers, the most money at stake first, in turn."))
    week_days: int = Field(
        default=7, ge=1, le=31,
        description="Days, today included, of the list's 'this week' bucket.")
    quarterly_call_days: int = Field(
        default=90, ge=1, le=3650,
        description=(
            "A regular between orders gets the communication plan's call this many days "
            "after the last contact or order (article 001: once a quarter)."))
    min_money_at_stake: float = Field(
        default=0.0, ge=0,
        description="Customers with less money at stake are not suggested.")
    small_customer_reasons: list[str] = Field(
        default_factory=lambda: ["detractor", "complaints_returns"],
        description=(
            "Reasons for which a customer who has spent less than the median buyer is still "
            "suggested (their reason says why); every other reason leaves such customers out."))
    win_back_min_revenue_quantile: float = Field(
        default=0.5, ge=0, le=1,
        description=(
            "A former customer is worth a win-back contact from this quantile of the buyers' "
            "revenue so far (0.5: at least the median buyer)."))
    managers: dict[str, ManagerSettings] = Field(
        default_factory=dict,
        description=(
            'Per manager, as [worklist.managers."Anna Kask"]: time_zone (default the '
            "business's timezone) and daily_capacity (default the list's). A manager named "
            "here has a list even with no customer of their own."))

    _lists = field_validator("small_customer_reasons", "managers", mode="before")(
        classmethod(lambda cls, value: _inline_toml(value)))

    @field_validator("small_customer_reasons")
    @classmethod
    def _known_reasons(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in REASON_ORDER]
        if unknown:
            raise ValueError(_("unknown reason {r!r} (use one of {known})").format(
                r=unknown[0], known=", ".join(REASON_ORDER)))
        return value

    @field_validator("default_owner")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(_("must name a manager, or be left out"))
        return value

    def rules(self, time_zone: str) -> WorklistRules:
        """The domain's rules; ``time_zone`` is the business's."""
        return WorklistRules(
            daily_capacity=self.daily_capacity,
            recontact_after_days=self.recontact_after_days,
            default_owner=self.default_owner,
            week_days=self.week_days,
            managers={name: ManagerRules(m.time_zone, m.daily_capacity)
                      for name, m in self.managers.items()},
            time_zone=time_zone,
            min_money_at_stake=self.min_money_at_stake,
            small_customer_reasons=tuple(self.small_customer_reasons),
            quarterly_call_days=self.quarterly_call_days,
            win_back_min_revenue_quantile=self.win_back_min_revenue_quantile,
        )


_WHO = ("former", "all", "prospect", "newcomer", "returning", "regular", "loyal", "advocate",
        "active", "lapsing", "lost", "won_back")


class CapSettings(BaseModel):
    """One cap: ``{who = "former", channels = "*", purpose = "any", max = 2, days = 365}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    who: str = Field(default="all", description="former | all | a rung or status code")
    channels: list[str] | Literal["*"] = Field(default="*",
                                                description="channels counted, or '*' (all)")
    purpose: Literal["marketing", "any"] = Field(default="any")
    max: int = Field(ge=0, le=10_000)
    days: int = Field(ge=1, le=3650)

    @field_validator("who")
    @classmethod
    def _known_who(cls, value: str) -> str:
        if value not in _WHO:
            raise ValueError(_("unknown customers {who!r} (use one of {known})").format(
                who=value, known=", ".join(_WHO)))
        return value

    @field_validator("channels")
    @classmethod
    def _known_channels(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list):
            unknown = [c for c in value if c not in cp.CHANNELS]
            if unknown:
                raise ValueError(_("unknown channel {c!r} (use {known} or \"*\")").format(
                    c=unknown[0], known=", ".join(cp.CHANNELS)))
            if not value:
                raise ValueError(_("name at least one channel, or \"*\" for all"))
        return value

    def rule(self) -> cp.CapRule:
        channels = None if self.channels == "*" else frozenset(self.channels)
        return cp.CapRule(who=self.who, channels=channels, purpose=self.purpose,
                          max=self.max, days=self.days)

    def __str__(self) -> str:
        ch = '"*"' if self.channels == "*" else "[" + ", ".join(
            f'"{c}"' for c in self.channels) + "]"
        return (f'{{who = "{self.who}", channels = {ch}, purpose = "{self.purpose}", '
                f"max = {self.max}, days = {self.days}}}")

    __repr__ = __str__


def _default_caps() -> list[CapSettings]:
    return [CapSettings(who="former", channels="*", purpose="any", max=2, days=365),
            CapSettings(who="all", channels="*", purpose="marketing", max=4, days=30)]


class ContactPolicySettings(BaseModel):
    """The ``[contact_policy]`` section: the rules every contact obeys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    caps: list[CapSettings] = Field(
        default_factory=_default_caps,
        description=(
            "At most `max` contacts in any `days` days, as a list of {who, channels, purpose, "
            "max, days}: who is former (status lost), all, or a rung or status code; channels "
            'a list of email, sms, messenger, phone or "*"; purpose marketing (counts and '
            "holds back marketing contacts only) or any. Defaults: former customers at most "
            "2 contacts in 365 days on all channels (article 001), marketing at most 4 in 30 "
            "days."))
    quiet_hours: str = Field(
        default="21:00-09:00",
        description=(
            "No contact between these hours of the customer's wall clock (a range over "
            'midnight is fine; "none" for no quiet hours).'))
    quiet_days: list[str] = Field(
        default_factory=lambda: ["sunday"],
        description="Days of the week (monday … sunday) without contacts, in the customer's zone.")

    _lists = field_validator("caps", "quiet_days", mode="before")(
        classmethod(lambda cls, value: _inline_toml(value)))

    @field_validator("quiet_hours")
    @classmethod
    def _clock_range(cls, value: str) -> str:
        try:
            cp.parse_clock_range(value)
        except cp.PolicyError:
            raise ValueError(_("{value!r} is not a range of clock times such as "
                               "'21:00-09:00'").format(value=value)) from None
        return value

    @field_validator("quiet_days")
    @classmethod
    def _days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower() for d in value]
        unknown = [d for d in days if d not in cp.WEEKDAYS]
        if unknown:
            raise ValueError(_("unknown day {d!r} (use monday … sunday)").format(d=unknown[0]))
        if len(set(days)) == len(cp.WEEKDAYS):
            raise ValueError(_("every day of the week is quiet: no contact would be allowed"))
        return days

    def policy(self, time_zone: str) -> cp.ContactPolicy:
        """The domain's policy; ``time_zone`` is the business's (a customer's default)."""
        return cp.ContactPolicy(caps=tuple(c.rule() for c in self.caps),
                                quiet_hours=cp.parse_clock_range(self.quiet_hours),
                                quiet_days=frozenset(self.quiet_days), zone=time_zone)
