"""The ``[playbooks]`` section (issue 20): which playbooks run, where more of them are written,
the control group, and what templates say about the business.

The playbooks themselves are not settings: they are the ``[playbook.<name>]`` and
``[template.<name>.<language>]`` tables of ``regulars.toml`` (and of the ``files`` named
here), read by ``services/playbooks/definitions.py``; the settings' loader leaves those tables
to it (:data:`DEFINITION_TABLES`).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from regulars.config.worklist import _inline_toml
from regulars.domain.playbooks.model import KNOWN_EVENTS
from regulars.domain.playbooks.parse import DEFINITION_TABLES
from regulars.i18n import DEFAULT_LANGUAGE, _

__all__ = ["DEFINITION_TABLES", "PlaybooksSettings"]

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class PlaybooksSettings(BaseModel):
    """The ``[playbooks]`` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: list[str] = Field(
        default_factory=list,
        description=(
            "The sets of playbooks that run (communication_plan, retention, or a set of the "
            "business's own). Empty: nothing runs and nothing is sent until a set is switched "
            "on here."))
    disabled: list[str] = Field(
        default_factory=list,
        description="Names of single playbooks switched off, even when their set is enabled.")
    files: list[str] = Field(
        default_factory=list,
        description=(
            "More TOML files of [playbook.<name>] and [template.<name>.<language>] tables; a "
            "relative path is relative to the configuration file. A playbook named like a "
            "shipped one replaces it."))
    control_share: float = Field(
        default=0.1, ge=0, lt=1,
        description=(
            "Share of the customers entering a playbook who are kept as its control group: they "
            "enter but receive nothing, so the report can show what the playbook changed. A "
            "playbook may set its own control_share."))
    custom_events: list[str] = Field(
        default_factory=list,
        description=(
            "Event names, besides the product's own, that triggers and goals may name (sent to "
            "POST /v1/events), e.g. visited_fair."))
    default_language: str = Field(
        default=DEFAULT_LANGUAGE,
        description=(
            "Language of a message to a customer whose own language has no version of the "
            "template (ru, et, en, …)."))
    default_country: str = Field(
        default="EE",
        description=(
            "ISO 3166 country whose public holidays count for a customer without a country "
            "(date triggers with base = \"holiday\")."))
    business_name: str = Field(default="", description="The business's name in messages.")
    business_phone: str = Field(default="", description="The business's phone in messages.")
    business_email: str = Field(default="", description="The business's e-mail in messages.")
    business_website: str = Field(default="",
                                  description="The business's web site in messages.")

    _lists = field_validator("enabled", "disabled", "files", "custom_events",
                             mode="before")(classmethod(lambda cls, value: _inline_toml(value)))

    @field_validator("enabled", "disabled", "custom_events")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not _CODE.match(v)]
        if bad:
            raise ValueError(_("{value!r} is not a name (lower-case letters, digits and _)")
                             .format(value=bad[0]))
        return value

    @field_validator("custom_events")
    @classmethod
    def _new_events(cls, value: list[str]) -> list[str]:
        taken = [v for v in value if v in KNOWN_EVENTS]
        if taken:
            raise ValueError(_("{value!r} is one of the product's own events already").format(
                value=taken[0]))
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if not re.match(r"^[a-z]{2,3}$", value):
            raise ValueError(_("must be a language code such as ru, et or en"))
        return value

    @field_validator("default_country")
    @classmethod
    def _country(cls, value: str) -> str:
        code = value.strip().upper()
        if not (len(code) == 2 and code.isascii() and code.isalpha()):
            raise ValueError(_("must be a two-letter ISO 3166 code, such as EE or RU"))
        return code
