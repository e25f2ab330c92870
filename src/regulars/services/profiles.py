"""Import profiles: the way one kind of export is read, saved by name and used again.

A monthly export from the same till or accounting program has the same headers, encoding,
delimiter, date and number formats every time. ``--save-profile NAME`` keeps them, as found
on a successful import (the columns recognised or mapped, the encoding detected, …);
``--profile NAME`` reads the next file the same way. What is given explicitly wins over the
profile, field by field, and ``--map`` pairs over the profile's same columns.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from regulars.domain.errors import InputError
from regulars.i18n import _
from regulars.services.importing import ImportReport

# The reading options a profile keeps (fields of the adapters' ReadOptions).
KEPT = ("format", "delimiter", "header", "columns", "encoding", "mapping", "date_format",
        "decimal_comma", "currency", "credit_notes")


class Profiles(Protocol):
    def save_profile(self, name: str, kind: str | None, options: dict[str, Any]) -> None: ...
    def profile(self, name: str) -> dict[str, Any] | None: ...
    def profiles(self) -> list[dict[str, Any]]: ...
    def delete_profile(self, name: str) -> bool: ...


def load(store: Profiles, name: str, kind: str) -> dict[str, Any]:
    """The saved options of ``name``; an error if there is none or it is for other files."""
    found = store.profile(name)
    if found is None:
        known = ", ".join(p["name"] for p in store.profiles()) or _("none")
        raise InputError(_("no import profile '{name}' (saved: {known}); save one with "
                           "--save-profile {name}").format(name=name, known=known))
    if found["kind"] and found["kind"] != kind:
        raise InputError(_("import profile '{name}' is for {saved} files, not {kind}").format(
            name=name, saved=found["kind"], kind=kind))
    options: dict[str, Any] = found["options"]
    return options


def apply(options: Any, saved: dict[str, Any]) -> Any:
    """``options`` with every field it leaves unset (None, empty) taken from ``saved``."""
    changes: dict[str, Any] = {}
    for name in KEPT:
        if name not in saved:
            continue
        given = getattr(options, name)
        if name == "mapping":
            changes[name] = {**saved[name], **given}
        elif name == "columns":
            changes[name] = given or tuple(saved[name])
        elif given is None:
            changes[name] = saved[name]
    return dataclasses.replace(options, **changes)


def from_import(options: Any, report: ImportReport) -> dict[str, Any]:
    """What to save after ``report``: the options given, completed by what the import found
    (the columns recognised, one date format and decimal mark shared by the file's
    columns)."""
    mapping = {ours: theirs for ours, theirs in report.columns.items() if ours != theirs}
    # the encoding and delimiter are found again in every file (next month's may have been
    # saved again as UTF-8): a profile keeps them only when they were given
    found: dict[str, Any] = {
        "date_format": report.read_as.get("date_format") or None,
        "decimal_comma": {"comma": True, "point": False}.get(
            report.read_as.get("decimal", "")),
    }
    saved: dict[str, Any] = {}
    for name in KEPT:
        given = getattr(options, name)
        value = found.get(name) if given in (None, (), {}) else given
        if name == "mapping":
            value = {**mapping, **given}
        if name == "columns":
            value = list(given)
        if value not in (None, [], {}):
            saved[name] = value
    return saved
