"""DuckDB staging: read a foreign file, type and validate it, and plan what a store import adds.

Every step is a set-based SQL statement over the whole file, never a Python loop over rows,
so a 10-million-row export validates in seconds. Problems carry the data row (from 1), the
file line when it is known, the column as the file names it, the raw value and a message.

One module per step: :mod:`.detect` (format, encoding, delimiter), :mod:`.reading` (the file
into ``raw``, headers to columns), :mod:`.typed` (typing and the checks generated from
``domain/rules.py``, SQL from :mod:`.text`), :mod:`.credit` (credit notes), :mod:`.merging`
(identity, duplicates and the store's rows), :mod:`.reports` (rows set aside); :mod:`.base` is
the DuckDB database they share. :class:`Staging` is all of them on one file.
"""

from __future__ import annotations

from regulars.adapters.staging.credit import CreditNotes
from regulars.adapters.staging.detect import (
    FORMATS,
    ReadOptions,
    detect_encoding,
    detect_format,
    sniff_delimiter,
)
from regulars.adapters.staging.merging import Merging
from regulars.adapters.staging.reading import Reading
from regulars.adapters.staging.reports import Reports
from regulars.adapters.staging.text import (
    _email_sql,
    _phone_sql,
    limit_sql,
    normalise_email,
    normalise_phone,
)
from regulars.adapters.staging.typed import Checked, typed_table

__all__ = [
    "FORMATS",
    "Checked",
    "ReadOptions",
    "Staging",
    "_email_sql",
    "_phone_sql",
    "detect_encoding",
    "detect_format",
    "limit_sql",
    "normalise_email",
    "normalise_phone",
    "sniff_delimiter",
    "typed_table",
]


class Staging(Reading, CreditNotes, Merging, Reports):
    """A private DuckDB database holding one file on its way into the store."""
