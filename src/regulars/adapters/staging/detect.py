"""What a foreign file is before it is read: its format, its encoding, its delimiter, and the
options a person gives (or a saved profile keeps) for reading it."""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

from regulars.domain.errors import FileFormatError
from regulars.i18n import _

FORMATS = ("csv", "tsv", "ws", "parquet", "jsonl")
_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "ws",
    ".dat": "ws",
    ".ws": "ws",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass(frozen=True)
class ReadOptions:
    """How to read a foreign file. ``None`` means "find out from the file" (and lets a saved
    profile fill the field); every field has a sensible default for our own exports."""

    format: str | None = None
    """csv, tsv, ws (whitespace-separated text), parquet or jsonl; None: from the suffix."""
    delimiter: str | None = None
    """None: the one of ``; , tab |`` the first line has most of."""
    header: bool | None = None
    """Whether the first line names the columns; None: yes for CSV/TSV, detected for text."""
    columns: tuple[str, ...] = ()
    """Names for the columns of a file without a header."""
    encoding: str | None = None
    """None: detected (:func:`detect_encoding`)."""
    mapping: dict[str, str] = field(default_factory=dict)
    """Our column name -> the file's column name (``--map ordered_at=date``)."""
    date_format: str | None = None
    """strptime format of dates in text files (``%Y%m%d``); None: detected per column. A
    format without a time also reads the same dates with ``%H:%M`` or ``%H:%M:%S`` after."""
    decimal_comma: bool | None = None
    """True: 12,50; False: 12.50 (a comma groups thousands); None: detected per column."""
    currency: str | None = None
    """Currency of orders that do not say (``orders.currency``)."""
    credit_notes: str | None = None
    """What a negative order or invoice row is: None or "reject" (a problem), "returns" (a
    return of an earlier order of its customer)."""


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise FileFormatError(
                _("{path}: unknown format '{fmt}' (use one of: {formats})").format(
                    path=path, fmt=given, formats=", ".join(FORMATS)
                )
            )
        return given
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMAT.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise FileFormatError(
            _("{path}: cannot tell the format from the name; pass --format ({formats})").format(
                path=path, formats=", ".join(FORMATS)
            )
        )
    return fmt


_SAMPLE = 1 << 20
"""Bytes of a text file looked at to tell its encoding and delimiter."""
# Estonian letters in cp1257 (õ ä ö ü š ž and capitals): a Russian text in cp1251 has these
# bytes too (д х ц ь р ю ...), but as a small share of its letters; an Estonian text has
# hardly any other byte above 0x7f.
_ESTONIAN_1257 = frozenset(b"\xf5\xe4\xf6\xfc\xf0\xfe\xd5\xc4\xd6\xdc\xd0\xde")
# Bytes that say nothing about the language: the euro sign (0x80 in cp1257, 0x88 in cp1251),
# no-break space, section sign and quotes.
_NEUTRAL = frozenset(b"\x80\x88\xa0\xa7\xab\xbb\x93\x94\x96\x97\xb9")


def detect_encoding(path: Path) -> tuple[str | None, str]:
    """The encoding of a text file and why, from its first megabyte.

    1. A byte-order mark says it (UTF-8 or UTF-16).
    2. Text that decodes as UTF-8 is UTF-8 (ASCII is too).
    3. Otherwise the bytes above 0x7f are letters of a single-byte code page. If nine in ten
       of them are Estonian letters in cp1257 (õ ä ö ü š ž), it is cp1257 (Estonian and Baltic
       Windows exports); if nine in ten are Cyrillic letters in cp1251 (0xc0-0xff, ё, Ё), it is
       cp1251 (Russian 1C and Excel exports).
    4. Anything else is not told: None, and the caller asks for ``--encoding``.
    """
    with path.open("rb") as f:
        head = f.read(_SAMPLE)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", _("byte-order mark")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", _("byte-order mark")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _SAMPLE)
        return "utf-8", _("valid UTF-8")
    except UnicodeDecodeError:
        pass
    high = [b for b in head if b > 0x7F and b not in _NEUTRAL]
    if high:
        estonian = sum(b in _ESTONIAN_1257 for b in high) / len(high)
        cyrillic = sum(b >= 0xC0 or b in (0xA8, 0xB8) for b in high) / len(high)
        if estonian >= 0.9:
            return "cp1257", _("not UTF-8; Estonian letters in cp1257")
        if cyrillic >= 0.9:
            return "cp1251", _("not UTF-8; Cyrillic letters in cp1251")
    return None, _("not UTF-8, and neither Cyrillic cp1251 nor Estonian cp1257")


def sniff_delimiter(first_line: str) -> str | None:
    """The one of ``; , tab |`` the first line has most of, outside quotes; None if none."""
    counts = dict.fromkeys(";,\t|", 0)
    quoted = False
    for ch in first_line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else None


