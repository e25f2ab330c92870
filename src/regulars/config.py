"""The business's settings: built-in defaults, ``regulars.toml``, environment, code.

Every threshold of the domain spec has its default here (or in
:class:`regulars.analytics.params.MapParams`, which is used as is), and every business can change
it ("each company must define for itself whom it counts as a regular customer").

Sources, lowest to highest precedence:

1. the built-in defaults;
2. the business's TOML file: ``regulars.toml`` in the working directory, or the file named by
   ``REGULARS_CONFIG``, or ``load_settings(config_file=...)``;
3. environment variables ``REGULARS_<KEY>`` and, for a key in a section,
   ``REGULARS_<SECTION>__<KEY>`` (e.g. ``REGULARS_ANALYSIS__REGULAR_MIN_ORDERS=4``);
4. keyword overrides passed in code: ``load_settings(analysis={"regular_min_orders": 4})`` or
   ``load_settings(**{"analysis.regular_min_orders": 4})``.

A key nobody knows is an error, not a silently ignored typo, and every error is a
:class:`ConfigError` whose message names where the value came from (file or variable), the key
and the problem. :func:`effective_settings` tells, for every key, its value, where it came from
and what it means (``regulars config show``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from regulars.analytics.params import MapParams
from regulars.domain import rules as input_rules
from regulars.domain.errors import ConfigError
from regulars.i18n import _

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "ApiSettings",
    "ConfigError",
    "ImportSettings",
    "InputSettings",
    "LoyaltySettings",
    "SettingValue",
    "Settings",
    "effective_settings",
    "env_var_name",
    "load_settings",
    "settings_reference",
]

ENV_PREFIX: Final = "REGULARS_"
CONFIG_ENV_VAR: Final = "REGULARS_CONFIG"
DEFAULT_CONFIG_FILE: Final = Path("regulars.toml")
_NESTED: Final = "__"

# The TOML file of the Settings being built; set by load_settings for the duration of one
# construction. Unset means the usual lookup (REGULARS_CONFIG, then ./regulars.toml).
_config_file: ContextVar[Path | None] = ContextVar("regulars_config_file", default=None)


class ImportSettings(BaseModel):
    """The ``[import]`` section: how input files are read and checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_errors: int = Field(
        default=20,
        ge=1,
        description="Problems listed in the report of a rejected input file.",
    )
    blacklist: Path | None = Field(
        default=None,
        description=(
            "File of known junk leads (e-mails, phones or customer ids, one per line) left out "
            "of every import; relative to the working directory."
        ),
    )
    default_phone_country: str = Field(
        default="372",
        description=(
            "Calling code (digits only, e.g. 372 for Estonia) assumed for phone numbers written "
            "without one, when phones are normalised to find duplicate customers."
        ),
    )
    batch_rows: int = Field(
        default=100_000,
        ge=1,
        description="Rows written to the store per batch during an import.",
    )

    @field_validator("default_phone_country", mode="before")
    @classmethod
    def _calling_code_as_text(cls, value: object) -> object:
        # TOML users write `default_phone_country = 372` or "+372"; both mean the same code.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value.strip().removeprefix("+")
        return value

    @field_validator("default_phone_country")
    @classmethod
    def _calling_code(cls, value: str) -> str:
        if not (value.isascii() and value.isdigit() and 1 <= len(value) <= 3 and value[0] != "0"):
            raise ValueError(_("must be the digits of a calling code, such as 372"))
        return value


class InputSettings(BaseModel):
    """The ``[input]`` section: the limits every input row meets, on import and over the API
    (:mod:`regulars.domain.rules` says why each default is what it is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    earliest_date: date = Field(
        default=input_rules.EARLIEST_DATE,
        description="No date or time of any input row may fall before this day.",
    )
    future_days: int = Field(
        default=input_rules.FUTURE_DAYS,
        ge=0,
        description=(
            "Days after today (UTC) that the date of something that happened (an order, a "
            "return, a payment, an interaction, feedback, a referral) or a birthday may fall "
            "on: 1 allows for time zones ahead of UTC."
        ),
    )
    due_days_ahead: int = Field(
        default=input_rules.DUE_DAYS_AHEAD,
        ge=0,
        description="Days after today that an invoice may fall due on.",
    )
    max_amount: Decimal = Field(
        default=input_rules.MAX_AMOUNT,
        gt=0,
        le=input_rules.AMOUNT_CEILING,
        description=(
            "The largest amount of money one row may hold (amount, discount, cost; the same "
            "below zero for cost). At most 100000000000 (10^11): the analytics sum money "
            "exactly in DECIMAL(18, 6), which holds less than 10^12."
        ),
    )

    def rules(self) -> input_rules.InputRules:
        return input_rules.InputRules(self.earliest_date, self.future_days,
                                      self.due_days_ahead, self.max_amount)


class ApiSettings(BaseModel):
    """The ``[api]`` section: the HTTP API of ``regulars serve``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(default="127.0.0.1", description="Address `regulars serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `regulars serve` listens on.")
    rate_limit: float = Field(
        default=100.0,
        gt=0,
        description="Requests per second one API key may make on average (429 beyond it).",
    )
    rate_burst: int = Field(
        default=200,
        ge=1,
        description="Requests one API key may make at once above its average rate.",
    )
    max_body_bytes: int = Field(
        default=4_000_000,
        ge=1024,
        description="Largest request body accepted, in bytes (413 beyond it).",
    )
    max_batch: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Most records one ingest request may carry.",
    )
    map_as_of: str = Field(
        default="last_order",
        pattern="^(now|last_order)$",
        description=(
            "The moment the served customer map describes: `last_order` (the end of the day "
            "of the last order in the store, as `regulars analyze` chooses it) or `now` (the "
            "clock: for a business whose till sends every order as it happens, so that a "
            "quiet week counts; on an export loaded once, every customer drifts to lost). "
            "Every map answer says its `as_of` and `as_of_source`."
        ),
    )
    live_map: bool = Field(
        default=True,
        description=(
            "Recompute the customers an ingest touched in a background worker (off: only "
            "`POST /v1/map/rebuild` refreshes the map)."
        ),
    )
    webhook_max_attempts: int = Field(
        default=8,
        ge=1,
        description="Delivery attempts of one webhook event before it is given up.",
    )
    webhook_backoff_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Wait before the first retry of a webhook; doubles with every attempt.",
    )
    points_expiring_notice_days: int = Field(
        default=14,
        ge=1,
        le=3650,
        description=(
            "A `points_expiring` webhook is sent once per member and expiry date when available "
            "points expire within this many days."
        ),
    )
    points_expiring_check_minutes: int = Field(
        default=60,
        ge=0,
        description=(
            "How often `regulars serve` looks for points about to expire (and once at start); "
            "0 turns the check off (`POST /v1/loyalty/expiry-notices` or `regulars points "
            "notify-expiring` still send them)."
        ),
    )


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


class Settings(BaseSettings):
    """Everything a business can configure; build it with :func:`load_settings`.

    ``Settings(**overrides)`` is ``load_settings(None, **overrides)``: the same sources, checks
    and errors. The ``[import]`` section is the attribute ``import_`` (``import`` is a keyword).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        # the prefix also applies to the alias of `import_` (REGULARS_IMPORT__MAX_ERRORS)
        env_prefix_target="all",
        env_nested_delimiter=_NESTED,
        extra="forbid",
        frozen=True,
    )

    database_url: str = Field(
        default="sqlite:///regulars.db",
        min_length=1,
        description=(
            "SQLAlchemy URL of the store; a relative SQLite path is relative to the working "
            "directory."
        ),
    )
    currency: str = Field(
        default="EUR",
        description="ISO 4217 currency of imported orders that do not name one.",
    )
    timezone: str = Field(
        default="UTC",
        description=(
            "IANA time zone of the business (e.g. Europe/Tallinn): days, periods and points "
            "expiry are counted in it."
        ),
    )
    import_: ImportSettings = Field(
        default_factory=ImportSettings,
        alias="import",
        description="The [import] section.",
    )
    input: InputSettings = Field(
        default_factory=InputSettings,
        description="The [input] section: limits of input rows, on import and over the API.",
    )
    api: ApiSettings = Field(
        default_factory=ApiSettings,
        description="The [api] section: the HTTP API.",
    )
    analysis: MapParams = Field(
        default_factory=MapParams,
        description="The [analysis] section: every threshold of the customer map.",
    )
    loyalty: LoyaltySettings = Field(
        default_factory=LoyaltySettings,
        description="The [loyalty] section: the loyalty programme.",
    )

    # key ("analysis.regular_min_orders") -> where its value came from
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _file: Path | None = PrivateAttr(default=None)

    def __init__(self, **values: Any) -> None:
        path = _active_config_file()
        label = _file_label(path) if path is not None else ""
        toml_data = _read_toml(path) if path is not None else {}
        overrides = _normalise_overrides(values)
        _raise_unknown_keys(toml_data, label)
        _raise_unknown_keys(overrides, _("override"))
        sources = _trace_sources(toml_data, label, os.environ, overrides)
        # settings_customise_sources must read the very file we checked and traced
        token = _config_file.set(path)
        try:
            super().__init__(**overrides)
        except ValidationError as exc:
            raise ConfigError(_describe_validation_error(exc, sources)) from None
        except SettingsError as exc:
            raise ConfigError(str(exc)) from None
        finally:
            _config_file.reset(token)
        self._sources = sources
        self._file = path

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First wins: code overrides, then the environment, then the TOML file; no .env files
        # or secrets directories (a business configures regulars in one visible file).
        path = _config_file.get()
        if path is None:
            return init_settings, env_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=path)

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        code = value.strip().upper()
        if not (code.isascii() and code.isalpha() and len(code) == 3):
            raise ValueError(_("must be a three-letter ISO 4217 code, such as EUR"))
        return code

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                _("unknown time zone {value!r} (use an IANA name such as 'Europe/Tallinn')").format(
                    value=value
                )
            ) from None
        return value

    @property
    def tzinfo(self) -> ZoneInfo:
        """The business's time zone as a ``tzinfo``."""
        return ZoneInfo(self.timezone)

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from, or ``None`` when there was none."""
        return self._file


@dataclass(frozen=True)
class SettingValue:
    """One setting as in effect: its dotted key, value, source and one-line documentation.

    ``source`` is ``"default"``, ``"<file name> (<path>)"``, ``"env REGULARS_…"`` or
    ``"override"``.
    """

    key: str
    value: Any
    source: str
    doc: str
    default: Any


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the settings: defaults < the TOML file < ``REGULARS_…`` variables < ``overrides``.

    Parameters
    ----------
    config_file
        The TOML file to read. Without it, ``REGULARS_CONFIG`` names the file, or else
        ``regulars.toml`` in the working directory is read when it exists. A file that is
        named (by argument or variable) but missing is an error.
    **overrides
        Values that win over every other source: top-level keys (``currency="USD"``), a
        section as a mapping (``analysis={"regular_min_orders": 4}``, ``import_={...}``), or
        dotted keys (``**{"analysis.regular_min_orders": 4}``).

    Raises
    ------
    ConfigError
        A file is missing or not valid TOML, a key is unknown, or a value is invalid. The
        message names the file or variable, the key and the problem.
    """
    path = _resolve_config_file(config_file)
    token = _config_file.set(path)
    try:
        return Settings(**overrides)
    finally:
        _config_file.reset(token)


def effective_settings(settings: Settings) -> list[SettingValue]:
    """Every setting with its value in ``settings``, where the value came from, and its doc."""
    result = []
    for entry in _catalogue():
        value = _value_at(settings, entry.key)
        result.append(
            SettingValue(
                key=entry.key,
                value=value,
                source=settings._sources.get(entry.key, "default"),
                doc=entry.doc,
                default=entry.default,
            )
        )
    return result


def settings_reference() -> list[SettingValue]:
    """Every setting at its built-in default, whatever the file and environment say."""
    return [
        SettingValue(key=e.key, value=e.default, source="default", doc=e.doc, default=e.default)
        for e in _catalogue()
    ]


def env_var_name(key: str) -> str:
    """The environment variable that sets a dotted key: ``REGULARS_ANALYSIS__RFM_BINS``."""
    return ENV_PREFIX + key.replace(".", _NESTED).upper()


# --- the catalogue of keys ------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    key: str
    default: Any
    doc: str


@dataclass(frozen=True)
class _Section:
    name: str  # in TOML and in dotted keys ("import")
    attribute: str  # on Settings ("import_")
    model: type[Any]
    entries: tuple[_Entry, ...]


@cache
def _sections() -> tuple[_Section, ...]:
    sections = []
    for attribute, field in Settings.model_fields.items():
        model = field.annotation
        if not isinstance(model, type):
            continue
        name = field.alias or attribute
        if issubclass(model, BaseModel):
            entries = tuple(
                _Entry(
                    f"{name}.{sub}",
                    sub_field.get_default(call_default_factory=True),
                    sub_field.description or "",
                )
                for sub, sub_field in model.model_fields.items()
            )
        elif dataclasses.is_dataclass(model):
            docs = model.field_docs() if model is MapParams else {}
            default = model()
            entries = tuple(
                _Entry(f"{name}.{f.name}", getattr(default, f.name), docs.get(f.name, ""))
                for f in dataclasses.fields(model)
            )
        else:
            continue
        sections.append(_Section(name, attribute, model, entries))
    return tuple(sections)


def _top_level() -> tuple[_Entry, ...]:
    section_attributes = {s.attribute for s in _sections()}
    return tuple(
        _Entry(name, field.get_default(call_default_factory=True), field.description or "")
        for name, field in Settings.model_fields.items()
        if name not in section_attributes
    )


def _catalogue() -> Iterator[_Entry]:
    yield from _top_level()
    for section in _sections():
        yield from section.entries


def _value_at(settings: Settings, key: str) -> Any:
    if "." not in key:
        return getattr(settings, key)
    section_name, name = key.split(".", 1)
    section = next(s for s in _sections() if s.name == section_name)
    return getattr(getattr(settings, section.attribute), name)


# --- reading the sources ourselves, to check keys and to know where each value came from ---------


def _resolve_config_file(config_file: Path | None) -> Path | None:
    """The TOML file to read, or ``None`` when the default one does not exist."""
    if config_file is not None:
        named, how = Path(config_file), _("named in code")
    elif os.environ.get(CONFIG_ENV_VAR):
        named, how = (
            Path(os.environ[CONFIG_ENV_VAR]),
            _("named by {var}").format(var=CONFIG_ENV_VAR),
        )
    else:
        default = DEFAULT_CONFIG_FILE.absolute()
        if default.exists() and not default.is_file():
            raise ConfigError(_("{path}: not a file").format(path=default))
        return default if default.exists() else None
    named = named.absolute()
    if not named.is_file():
        problem = _("does not exist") if not named.exists() else _("is not a file")
        raise ConfigError(
            _("configuration file {path} ({how}) {problem}").format(
                path=named, how=how, problem=problem
            )
        )
    return named


def _active_config_file() -> Path | None:
    """The file chosen by load_settings, or else the usual lookup (for a bare ``Settings()``)."""
    return _config_file.get() or _resolve_config_file(None)


def _file_label(path: Path) -> str:
    return f"{path.name} ({path})"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _("{path}: not valid TOML: {error}").format(path=path, error=exc)
        ) from None
    except OSError as exc:
        raise ConfigError(
            _("{path}: cannot be read: {error}").format(path=path, error=exc.strerror or exc)
        ) from None


def _normalise_overrides(values: Mapping[str, Any]) -> dict[str, Any]:
    """Nest dotted keys and spell the import section as in TOML (``import``)."""
    sections = {s.attribute: s.name for s in _sections()}
    result: dict[str, Any] = {}
    for raw_key, value in values.items():
        head, _dot, rest = raw_key.partition(".")
        head = sections.get(head, head)
        if rest:
            existing = result.setdefault(head, {})
            if isinstance(existing, dict):
                existing[rest] = value
            else:  # a whole section object and a dotted key for it: the dotted key wins
                result[head] = {**_as_mapping(existing), rest: value}
        elif isinstance(result.get(head), dict) and isinstance(value, Mapping):
            result[head] = {**value, **result[head]}
        else:
            result[head] = value
    return result


def _as_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    return {}


def _set_keys(data: Mapping[str, Any]) -> Iterator[str]:
    """The dotted keys a source sets, including keys no setting has."""
    sections = {s.name for s in _sections()}
    for key, value in data.items():
        if key in sections and (
            isinstance(value, Mapping | BaseModel)
            or (dataclasses.is_dataclass(value) and not isinstance(value, type))
        ):
            for sub in _as_mapping(value):
                yield f"{key}.{sub}"
        else:
            yield key


def _raise_unknown_keys(data: Mapping[str, Any], origin: str) -> None:
    known = [e.key for e in _catalogue()]
    section_names = {s.name for s in _sections()}
    problems = []
    for key, value in data.items():
        if key in section_names and not (
            isinstance(value, Mapping | BaseModel)
            or (dataclasses.is_dataclass(value) and not isinstance(value, type))
        ):
            problems.append(
                _("{origin}: {key} must be a table ([{key}]), not {value!r}").format(
                    origin=origin, key=key, value=value
                )
            )
    for key in _set_keys(data):
        if key in known or key in section_names:
            continue
        problems.append(_unknown_key(origin, key))
    if problems:
        raise ConfigError(_join_problems(problems))


def _trace_sources(
    toml_data: Mapping[str, Any],
    toml_label: str,
    environ: Mapping[str, str],
    overrides: Mapping[str, Any],
) -> dict[str, str]:
    """Which source set each key: override > env > TOML (keys no setting has are kept too)."""
    sources = dict.fromkeys(_set_keys(toml_data), toml_label)
    sources.update(_env_keys(environ))
    sources.update(dict.fromkeys(_set_keys(overrides), "override"))
    return sources


def _env_keys(environ: Mapping[str, str]) -> dict[str, str]:
    """The dotted keys set by ``REGULARS_…`` variables, as pydantic-settings reads them."""
    # pydantic-settings matches names case-insensitively; a whole section may come as JSON
    # (REGULARS_ANALYSIS='{"rfm_bins": 4}') and its single keys override that JSON.
    top = {e.key for e in _top_level()}
    sections = {s.name for s in _sections()}
    by_json: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for var, raw in environ.items():
        upper = var.upper()
        if not upper.startswith(ENV_PREFIX):
            continue
        rest = upper[len(ENV_PREFIX) :].lower()
        label = f"env {var}"
        if rest in top:
            by_name[rest] = label
        elif rest in sections:
            try:
                decoded = json.loads(raw)
            except ValueError as exc:
                # pydantic-settings would fail here too, without naming the variable
                raise ConfigError(
                    _("{origin}: the [{section}] section must be a JSON object: {error}").format(
                        origin=label, section=rest, error=exc
                    )
                ) from None
            if isinstance(decoded, dict):
                by_json.update({f"{rest}.{sub}": label for sub in decoded})
            else:
                by_name[rest] = label
        else:
            section, delimiter, name = rest.partition(_NESTED)
            if delimiter and section in sections and name:
                by_name[f"{section}.{name}"] = label
    return {**by_json, **by_name}


def _describe_validation_error(exc: ValidationError, sources: Mapping[str, str]) -> str:
    section_names = {s.attribute: s.name for s in _sections()}
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if loc:
            loc[0] = section_names.get(loc[0], loc[0])
        key = ".".join(loc) or _("(settings)")
        origin = sources.get(key) or next(
            (label for k, label in sources.items() if k.startswith(key + ".")), "default"
        )
        if error["type"] in {"extra_forbidden", "unexpected_keyword_argument"}:
            problem = _unknown_key(origin, key)
        else:
            problem = _("{origin}: {key}: {message} (got {value!r})").format(
                origin=origin, key=key, message=error["msg"], value=error.get("input")
            )
        problems.append(problem)
    return _join_problems(problems)


def _unknown_key(origin: str, key: str) -> str:
    """An "unknown setting" problem, with the closest known key of the same section."""
    section, _dot, name = key.rpartition(".")
    siblings = [
        e.key.rpartition(".")[2] for e in _catalogue() if e.key.rpartition(".")[0] == section
    ]
    if not section:
        siblings += [s.name for s in _sections()]
    problem = _("{origin}: unknown setting {key!r}").format(origin=origin, key=key)
    close = difflib.get_close_matches(name, siblings, n=1)
    if close:
        suggestion = f"{section}.{close[0]}" if section else close[0]
        problem += " " + _("(did you mean {key!r}?)").format(key=suggestion)
    return problem


def _join_problems(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    header = _("{n} problems in the configuration:").format(n=len(problems))
    return "\n".join([header, *(f"  - {p}" for p in problems)])
