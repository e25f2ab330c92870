"""The catalogue of every setting: its dotted key, default and one-line documentation.

It is read off the :class:`~regulars.config.settings.Settings` model itself (pydantic field
descriptions, and the attribute docstrings of :class:`~regulars.analytics.params.MapParams`),
so a setting cannot exist undocumented; ``regulars config show`` and ``docs/configuration.md``
(``scripts/gen_config_docs.py``) are built from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from regulars.analytics.params import MapParams

if TYPE_CHECKING:
    from regulars.config.settings import Settings

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
    from regulars.config.settings import Settings  # it is built from these modules

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
    from regulars.config.settings import Settings

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

