"""The exceptions regulars raises, in one hierarchy.

::

    RegularsError                 anything regulars raises on purpose
    ├── ConfigError               a setting is unknown or invalid (names file and key)
    ├── InputError                input data cannot be used
    │   ├── FileFormatError       the file cannot be read at all (format, encoding, header)
    │   ├── MissingColumnError    a required column is absent (names file and column)
    │   └── RejectedFileError     rows failed validation; carries every Problem found
    │   └── StoreRefusedValueError  the database refused a value (e.g. a NUL byte in a text)
    ├── StoreError                the store cannot be reached or is at the wrong version
    │   └── StoreUnavailableError the store cannot be used now: disk full, read-only, locked,
    │                             server unreachable, login refused, database missing
    └── AnalysisError             the data does not allow the requested analysis

Entry points turn these into a clear message and a non-zero exit code (CLI) or a 4xx
problem+json response (HTTP; 503 for a store error). The adapters turn the drivers' own
exceptions (SQLAlchemy, sqlite3, psycopg, ADBC, ``OSError``) into ``StoreUnavailableError`` or
``StoreRefusedValueError`` (:func:`regulars.bootstrap.store_failure`), so neither services nor
entry points know a driver. Anything else escaping is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class RegularsError(Exception):
    """Base class of every error regulars raises on purpose."""


class ConfigError(RegularsError):
    """A setting is unknown or has an invalid value."""


class InputError(RegularsError):
    """Input data cannot be used as given."""


class FileFormatError(InputError):
    """The file cannot be read: unknown format, wrong encoding, no header."""


class MissingColumnError(InputError):
    """A required column is not in the file (after column mapping)."""

    def __init__(self, path: Path | str, column: str, available: list[str], message: str):
        super().__init__(message)
        self.path = str(path)
        self.column = column
        self.available = available


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value of one row of an input file.

    ``row`` counts data rows from 1; ``line`` is the line in the file when it is known.
    """

    row: int
    column: str
    value: str | None
    message: str
    line: int | None = None


class RejectedFileError(InputError):
    """The whole file was rejected; nothing was written. ``problems`` lists the first ones."""

    def __init__(self, path: Path | str, problems: list[Problem], total: int, message: str):
        super().__init__(message)
        self.path = str(path)
        self.problems = problems
        self.total = total


class StoreError(RegularsError):
    """The store cannot be reached, or its schema is not what this version expects."""


class StoreRefusedValueError(InputError):
    """The database refused a value the input rules let through (a driver's data error)."""


class StoreUnavailable(StrEnum):
    """Why the store cannot be used: what the person at the keyboard can do about it differs."""

    DISK_FULL = "disk_full"
    READ_ONLY = "read_only"
    LOCKED = "locked"
    UNREACHABLE = "unreachable"
    AUTH = "auth"
    MISSING = "missing"
    IO = "io"


class StoreUnavailableError(StoreError):
    """The store cannot be used now, for ``reason``; the message is one sentence, free of
    secrets. Retrying later may work (a lock released, space freed, the server back)."""

    def __init__(self, reason: StoreUnavailable, message: str):
        super().__init__(message)
        self.reason = reason


class AnalysisError(RegularsError):
    """The data does not allow the analysis asked for."""
