"""The plain sections of the settings: ``[import]``, ``[input]``, ``[api]`` and ``[web]``.

(``[analysis]`` is :class:`regulars.analytics.params.MapParams` as it is, and ``[loyalty]`` is
in :mod:`regulars.config.loyalty`.)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from regulars.domain import rules as input_rules
from regulars.i18n import _


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
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Request processes `regulars serve` runs (`--workers`); the background work "
            "(live map, webhooks, tier events, expiry notices) runs in one process of its "
            "own beside them."
        ),
    )
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



class WebSettings(BaseModel):
    """The ``[web]`` section: the web pages `regulars serve` serves beside the API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "The key that signs session cookies (at least 32 characters; changing it signs "
            "everyone out). Unset: the server makes one on first use and keeps it in the "
            "store, so every request process and restart uses the same."
        ),
    )
    session_days: int = Field(
        default=14,
        ge=1,
        le=365,
        description=(
            "Days a session lasts without a visit that changes it (sign-in, a form); then "
            "the user signs in again."
        ),
    )
    import_max_mb: int = Field(
        default=20,
        ge=1,
        le=2048,
        description=(
            "The largest file the import page takes, in megabytes; a larger one is refused "
            "with a message (import it with `regulars import`)."
        ),
    )
    import_keep_minutes: int = Field(
        default=60,
        ge=5,
        le=7 * 24 * 60,
        description=(
            "Minutes a file uploaded on the import page is kept waiting for its "
            "confirmation (and its result and rows set aside after it); then it is removed."
        ),
    )

    sign_in_attempts_per_login: int = Field(
        default=5,
        ge=1,
        le=1000,
        description=(
            "Failed sign-ins for one login within sign_in_window_minutes after which "
            "further attempts for it are refused until the window has moved on (the same "
            "for a login that does not exist). A successful sign-in clears the count."
        ),
    )
    sign_in_attempts_per_address: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description=(
            "Failed sign-ins from one network address within sign_in_window_minutes after "
            "which further attempts from it are refused for a while (behind a reverse "
            "proxy, the address it forwards)."
        ),
    )
    sign_in_window_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="The rolling window the failed sign-ins are counted over (minutes).",
    )

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError(_("must be at least 32 characters (a random string)"))
        return value
