"""The :class:`Settings` model and :func:`load_settings`: the sections put together, read from
their sources (:mod:`regulars.config.sources`) in order of precedence."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PrivateAttr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from regulars.analytics.params import MapParams
from regulars.config.loyalty import LoyaltySettings
from regulars.config.messaging import EmailSettings, MessagesSettings
from regulars.config.playbook_runner import PlaybookRunnerSettings
from regulars.config.playbooks import DEFINITION_TABLES, PlaybooksSettings
from regulars.config.sections import ApiSettings, ImportSettings, InputSettings, WebSettings
from regulars.config.sources import (
    _NESTED,
    ENV_PREFIX,
    _active_config_file,
    _config_file,
    _describe_validation_error,
    _file_label,
    _normalise_overrides,
    _raise_unknown_keys,
    _read_toml,
    _resolve_config_file,
    _trace_sources,
)
from regulars.config.worklist import ContactPolicySettings, WorklistSettings
from regulars.domain.contact_policy import ContactPolicy
from regulars.domain.errors import ConfigError
from regulars.domain.worklist import WorklistRules
from regulars.i18n import _


def _settings_only(data: dict[str, Any]) -> dict[str, Any]:
    """The file without its playbook and template tables: they are definitions, read by the
    playbooks' loader, not settings."""
    return {k: v for k, v in data.items() if k not in DEFINITION_TABLES}


class _TomlSettings(TomlConfigSettingsSource):
    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return _settings_only(super()._read_file(file_path))


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
    web: WebSettings = Field(
        default_factory=WebSettings,
        description="The [web] section: the web pages (sign-in, sessions).",
    )
    analysis: MapParams = Field(
        default_factory=MapParams,
        description="The [analysis] section: every threshold of the customer map.",
    )
    loyalty: LoyaltySettings = Field(
        default_factory=LoyaltySettings,
        description="The [loyalty] section: the loyalty programme.",
    )
    worklist: WorklistSettings = Field(
        default_factory=WorklistSettings,
        description="The [worklist] section: today's list of whom each manager contacts.",
    )
    contact_policy: ContactPolicySettings = Field(
        default_factory=ContactPolicySettings,
        description="The [contact_policy] section: the rules every contact obeys.",
    )
    playbooks: PlaybooksSettings = Field(
        default_factory=PlaybooksSettings,
        description="The [playbooks] section: which playbooks run, and their control group.",
    )
    email: EmailSettings = Field(
        default_factory=EmailSettings,
        description="The [email] section: the SMTP server playbooks send e-mail through.",
    )
    messages: MessagesSettings = Field(
        default_factory=MessagesSettings,
        description="The [messages] section: SMS and messenger gateways, unsubscribe links.",
    )
    playbook_runner: PlaybookRunnerSettings = Field(
        default_factory=PlaybookRunnerSettings,
        description="The [playbook_runner] section: how the playbooks' schedule is run.",
    )

    # key ("analysis.regular_min_orders") -> where its value came from
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)
    _file: Path | None = PrivateAttr(default=None)

    def __init__(self, **values: Any) -> None:
        path = _active_config_file()
        label = _file_label(path) if path is not None else ""
        toml_data = _settings_only(_read_toml(path)) if path is not None else {}
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
        return init_settings, env_settings, _TomlSettings(settings_cls, toml_file=path)

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

    def worklist_rules(self) -> WorklistRules:
        """The ``[worklist]`` rules, a manager's day in the business's zone by default."""
        return self.worklist.rules(self.timezone)

    def contact_rules(self) -> ContactPolicy:
        """The ``[contact_policy]``, a customer without a ``time_zone`` tag in the business's
        zone."""
        return self.contact_policy.policy(self.timezone)

    @property
    def config_file(self) -> Path | None:
        """The TOML file these settings were read from, or ``None`` when there was none."""
        return self._file


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

