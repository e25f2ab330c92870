"""DuckDB staging: read a foreign file, type and validate it, and plan what a store import adds.

Every step is a set-based SQL statement over the whole file, never a Python loop over rows,
so a 10-million-row export validates in seconds. Problems carry the data row (from 1), the
file line when it is known, the column as the file names it, the raw value and a message.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from regulars.domain.errors import FileFormatError, MissingColumnError, Problem
from regulars.domain.headers import BASE_DOCUMENT, HEADERS, header_key
from regulars.domain.privacy import ERASED
from regulars.domain.rules import RETURN_TOO_LARGE, Check, InputRules, Limit, limits
from regulars.domain.tables import NO_WORDS, SPECS, YES_WORDS, ColumnType, Kind, TableSpec
from regulars.i18n import _
from regulars.services.ports import Blacklist

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
_TRUE = YES_WORDS
_FALSE = NO_WORDS
_NEVER_BLANK = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE",
                "TIMESTAMP", "TIME", "BOOLEAN")
"""DuckDB types whose values, written as text, are never blank."""
_NULL = "\x00"  # stands for a missing value inside hashed content
_SEP = "\x1f"


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


# Currency signs and codes written beside amounts, and the code each means.
_CURRENCY_RE = r"(?i)(₽|€|\$|£|руб\.?|р\.|eur|rub|rur|usd|gbp)"
_CURRENCY_CODES = {"₽": "RUB", "руб": "RUB", "р": "RUB", "rub": "RUB", "rur": "RUB",
                   "€": "EUR", "eur": "EUR", "$": "USD", "usd": "USD", "£": "GBP", "gbp": "GBP"}
# Currency signs and codes _money_clean removes (in lower case), longest first, and the
# spaces that group thousands.
_CURRENCY_NOISE = ("руб.", "руб", "р.", "₽", "€", "$", "£", "eur", "rub", "rur", "usd", "gbp")
_SPACES = (" ", "\u00a0", "\u202f", "\u2009", "\u2007", "'")


def _money_clean(t: str, signs: Sequence[str] = _CURRENCY_NOISE) -> str:
    """An amount's text without currency signs and codes, spaces, a Unicode minus as '-'.

    Only the ``signs`` a column's sample wrote are looked for (each is a pass over every
    value), with their longer forms (руб. before руб): a sign first seen later in the file
    makes its value a problem, never a misread one."""
    wanted = [n for n in _CURRENCY_NOISE if any(n.startswith(s.rstrip(".")) or
                                                s.startswith(n) for s in signs)]
    v = f"replace({t}, '\u2212', '-')"
    if any(n.isalpha() or n.rstrip(".").isalpha() for n in wanted):
        v = f"lower({v})"
    for noise in (*wanted, *_SPACES):
        v = f"replace({v}, {_lit(noise)}, '')"
    return v


# Ways of writing a day, tried in this order; ISO 8601 (2025-12-31) is read by a cast first.
_DATE_FAMILIES = ("%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d")


def _with_times(fmt: str) -> list[str]:
    """A day's format, and the same followed by a time: one column may hold both."""
    if "%H" in fmt:
        return [fmt]
    return [f"{fmt} %H:%M:%S", f"{fmt} %H:%M", f"{fmt}T%H:%M:%S", fmt]


def _money_text(t: str) -> str:
    """An amount's text without currency signs and spaces (no-break and narrow ones too,
    and apostrophes), a Unicode minus as '-': what is left is digits and separators."""
    v = f"regexp_replace({t}, {_lit(_CURRENCY_RE)}, '', 'g')"
    v = f"regexp_replace({v}, '[\\s\\x{{00a0}}\\x{{202f}}\\x{{2009}}\\x{{2007}}'']', '', 'g')"
    return f"replace({v}, '\u2212', '-')"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list_sql(v: str) -> str:
    """LIST: any of ; | , separates values; stored ';'-joined, trimmed, no empties."""
    return (
        f"nullif(array_to_string(list_filter(list_transform("
        f"string_split_regex({v}, '[;|,]'), lambda x: trim(x)), lambda x: x <> ''), ';'), '')"
    )


def normalise_email(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    return v if "@" in v else None


# Digits of a national number (without the trunk 8 or 0) where a country fixes it; elsewhere
# at least 7 (Estonia writes 7 or 8). A number as long as the country code and this, starting
# with the code, already has it: 79123456789, 37255551234.
_NATIONAL_DIGITS = {"7": 10}
_MIN_NATIONAL = 7


def normalise_phone(value: str | None, default_country: str) -> str | None:
    """Digits only, with the country code: '8 (912) 345-67-89' -> '79123456789'.

    Written with + or 00 the number has its code. Else eleven digits starting with 8 are a
    Russian number with its trunk prefix; else a number that does not already start with
    the default country's code (and is long enough to hold it) is local, whatever its
    length, and gets that code: 9123456789 -> 79123456789 when the default is 7, 5555 1234
    -> 37255551234 when it is 372. Fewer than 7 digits in the end is not a phone. The same
    rule in SQL is :func:`_phone_sql`; a property test keeps them equal.
    """
    if value is None:
        return None
    marks = re.sub(r"[^0-9+]", "", value)
    digits = re.sub(r"[^0-9]", "", value)
    international = marks.startswith(("+", "00"))
    if marks.startswith("00"):
        digits = digits[2:]
    national = _NATIONAL_DIGITS.get(default_country, _MIN_NATIONAL)
    if len(digits) == 11 and digits.startswith("8"):  # Russian trunk prefix
        digits = "7" + digits[1:]
    elif not international and digits and not (
        digits.startswith(default_country) and len(digits) >= len(default_country) + national
    ):
        digits = default_country + digits
    return digits if len(digits) >= 7 else None


# The same rules in SQL, so that whole files normalise in one pass.
def _email_sql(col: str) -> str:
    return f"CASE WHEN strpos(lower(trim({col})), '@') > 0 THEN lower(trim({col})) END"


def _phone_sql(col: str, default_country: str) -> str:
    m = f"regexp_replace({col}, '[^0-9+]', '', 'g')"
    d0 = f"regexp_replace({col}, '[^0-9]', '', 'g')"
    d = f"(CASE WHEN starts_with({m}, '00') THEN substr({d0}, 3) ELSE {d0} END)"
    cc = _lit(default_country)
    national = _NATIONAL_DIGITS.get(default_country, _MIN_NATIONAL)
    body = (
        f"CASE WHEN length({d}) = 11 AND starts_with({d}, '8') THEN '7' || substr({d}, 2) "
        f"WHEN NOT starts_with({m}, '+') AND NOT starts_with({m}, '00') AND length({d}) > 0 "
        f"AND NOT (starts_with({d}, {cc}) AND length({d}) >= {len(default_country) + national}) "
        f"THEN {cc} || {d} ELSE {d} END"
    )
    return f"CASE WHEN length({body}) >= 7 THEN {body} END"


def limit_sql(limit: Limit, typed: str) -> str:
    """The SQL condition, over the typed value ``typed``, true when ``limit`` is broken
    (NULL, like a missing value, breaks nothing)."""
    b = limit.bound
    if limit.check is Check.NO_NUL:
        return f"strpos(CAST({typed} AS VARCHAR), chr(0)) > 0"
    if limit.check is Check.MAX_LENGTH:
        return f"length(CAST({typed} AS VARCHAR)) > {int(b)}"  # type: ignore[arg-type]
    if limit.check is Check.ONE_OF:
        assert isinstance(b, tuple)
        return f"{typed} NOT IN ({', '.join(_lit(c) for c in b)})"
    op = "<" if limit.check is Check.AT_LEAST else ">"
    if isinstance(b, date):
        return f"CAST({typed} AS DATE) {op} DATE {_lit(b.isoformat())}"
    if isinstance(b, Decimal):
        return f"{typed} {op} {format(b, 'f')}"
    return f"{typed} {op} {int(b)}"  # type: ignore[arg-type]


@dataclass
class Checked:
    """The outcome of reading and validating one file."""

    rows_read: int
    problems: list[Problem]
    total_problems: int
    ignored_columns: list[str]


class Staging:
    """A private DuckDB database holding one file on its way into the store."""

    def __init__(self, *, default_phone_country: str = "372",
                 rules: InputRules | None = None, today: date | None = None) -> None:
        self.rules = rules or InputRules()
        self.today = today  # None: the clock's day (UTC) when a file is checked
        self.con = duckdb.connect()
        self._tmp = tempfile.TemporaryDirectory(prefix="regulars-")
        self.default_phone_country = default_phone_country
        self.path: Path | None = None
        self.source_names: dict[str, str] = {}  # our column -> file's column
        self._ws_width: int | None = None
        self.detected: dict[str, str] = {}
        """How the file was read: encoding, delimiter, format (for a saved profile)."""
        self.notes: list[str] = []
        """What was found out about the file, to be said to the user."""
        self.base_column: str | None = None
        """The file's column naming the document a credit note corrects, if any."""
        self._money: dict[str, tuple[bool, str | None]] = {}  # column -> (decimal comma, cur.)
        self._money_text: dict[str, tuple[bool, tuple[str, ...]]] = {}
        """Money column -> whether its sample was plain numbers, the signs it wrote."""
        self._dates: dict[str, list[str] | None] = {}  # column -> strptime formats; None: ISO
        self._typing: str | None = None  # the column _typed_expr typed last

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def _encoding(self, path: Path, given: str | None) -> str:
        """The encoding given, else the one detected; a file whose encoding cannot be told
        is refused with the flag to pass."""
        if given:
            self.detected["encoding"] = given
            return given
        found, how = detect_encoding(path)
        if found is None:
            raise FileFormatError(
                _("{path}: cannot tell the text encoding ({how}); try --encoding cp1251 "
                  "(Russian), --encoding cp1257 (Estonian) or --encoding latin-1").format(
                    path=path, how=how))
        self.detected["encoding"] = found
        self.notes.append(_("encoding {enc} ({how})").format(enc=found, how=how))
        return found

    def _utf8(self, path: Path, encoding: str | None) -> Path:
        """DuckDB reads UTF-8; other encodings (cp1251 exports) are transcoded once."""
        encoding = self._encoding(path, encoding)
        try:
            codecs.lookup(encoding)
        except LookupError as e:
            raise FileFormatError(
                _("{path}: unknown encoding '{enc}'").format(path=path, enc=encoding)
            ) from e
        if codecs.lookup(encoding).name in ("utf-8", "ascii"):
            return path
        out = Path(self._tmp.name) / (path.stem + ".utf8" + path.suffix)
        try:
            with (
                path.open("r", encoding=encoding, newline="") as src,
                out.open("w", encoding="utf-8", newline="") as dst,
            ):
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        except UnicodeDecodeError as e:
            raise FileFormatError(
                _("{path}: not valid {enc} text ({err}); try --encoding cp1251 or "
                  "--encoding cp1257").format(path=path, enc=encoding, err=e)
            ) from e
        return out

    def read(self, path: Path, opts: ReadOptions) -> list[str]:
        """Load ``path`` into the staging table ``raw``; return the file's column names."""
        if not path.exists():
            raise FileFormatError(_("{path}: no such file").format(path=path))
        self.path = path
        fmt = detect_format(path, opts.format)
        self.detected["format"] = fmt
        src = _lit(str(path))
        try:
            if fmt in ("csv", "tsv"):
                utf8 = self._utf8(path, opts.encoding)
                src = _lit(str(utf8))
                self._read_delimited(src, fmt, opts, utf8)
            elif fmt == "ws":
                src = _lit(str(self._utf8(path, opts.encoding)))
                self._read_whitespace(src, opts)
            elif fmt == "parquet":
                self._read_parquet(src)
            else:
                src = _lit(str(self._utf8(path, opts.encoding)))
                self.con.execute(
                    f"CREATE TABLE raw AS SELECT row_number() OVER () AS _row, "
                    f"row_number() OVER () AS _line, * "
                    f"FROM read_json({src}, format='newline_delimited')"
                )
        except duckdb.Error as e:
            hint = ""
            if "encoding" not in self.detected or "unicode" in str(e).lower():
                hint = _(" (if the text is not UTF-8, try --encoding cp1251)")
            raise FileFormatError(
                _("{path}: cannot be read as {fmt}: {err}").format(
                    path=path, fmt=fmt, err=str(e).splitlines()[0]
                ) + hint
            ) from e
        names = [
            r[0]
            for r in self.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'raw' "
                "AND column_name NOT IN ('_row', '_line', '_width') ORDER BY column_index"
            ).fetchall()
        ]
        return names

    def _read_parquet(self, src: str) -> None:
        """The row numbers come from the reader (``file_row_number``): numbering the rows
        with ``row_number() OVER ()`` doubled the time of reading ten million. A file with
        a column of that name of its own is numbered the slow way."""
        own = self.con.execute(
            f"SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet({src})) "
            "WHERE lower(column_name) = 'file_row_number'").fetchall()[0][0]
        if own:
            self.con.execute(
                f"CREATE TABLE raw AS SELECT row_number() OVER () AS _row, "
                f"NULL::BIGINT AS _line, * FROM read_parquet({src})"
            )
            return
        self.con.execute(
            f"CREATE TABLE raw AS SELECT file_row_number + 1 AS _row, NULL::BIGINT AS _line, "
            f"* EXCLUDE (file_row_number) FROM read_parquet({src}, file_row_number = true)"
        )

    def _read_delimited(self, src: str, fmt: str, opts: ReadOptions, utf8: Path) -> None:
        header = True if opts.header is None else opts.header
        args = ["all_varchar=true", f"header={str(header).lower()}"]
        delim = opts.delimiter or ("\t" if fmt == "tsv" else None)
        if delim is None:
            # DuckDB's sniffer guesses from a sample and can take the comma of 46 476,66
            # for the separator of a ';' file: the first line (the header) says it plainly
            with utf8.open(encoding="utf-8", errors="replace", newline="") as f:
                delim = sniff_delimiter(f.readline().lstrip("\ufeff"))
            if delim and delim != ",":
                self.notes.append(_("delimiter {d!r}").format(d=delim))
        if delim:
            self.detected["delimiter"] = delim
            args.append(f"delim={_lit(delim)}")
        if opts.columns:
            args.append("names=[" + ", ".join(_lit(c) for c in opts.columns) + "]")
        self.con.execute(
            f"CREATE TABLE raw AS SELECT row_number() OVER () AS _row, "
            f"row_number() OVER () + {int(header)} AS _line, * "
            f"FROM read_csv({src}, {', '.join(args)})"
        )

    def _read_whitespace(self, src: str, opts: ReadOptions) -> None:
        self.con.execute(
            f"CREATE TEMP TABLE _lines AS SELECT row_number() OVER () AS _line, "
            f"string_split_regex(trim(l), '\\s+') AS tok FROM read_csv({src}, "
            f"columns={{'l': 'VARCHAR'}}, delim='\\x01', quote='', escape='', "
            f"header=false, auto_detect=false)"
        )
        self.con.execute("DELETE FROM _lines WHERE tok IS NULL OR tok = ['']")
        rows = self.con.execute("SELECT tok FROM _lines ORDER BY _line LIMIT 1").fetchall()
        first = rows[0] if rows else None
        if first is None:
            raise FileFormatError(_("{path}: the file is empty").format(path=self.path))
        tokens: list[str] = first[0]
        header = opts.header
        if header is None:
            # a header names columns; a data line of an export has numbers or dates in it
            header = not opts.columns and not any(re.search(r"\d", t) for t in tokens)
        width = self.con.execute("SELECT max(len(tok)) FROM _lines").fetchall()[0][0]
        if opts.columns:
            names = list(opts.columns)
        elif header:
            names = tokens
        else:
            names = [f"column{i}" for i in range(1, width + 1)]
        if header:
            self.con.execute(
                "DELETE FROM _lines WHERE _line = (SELECT min(_line) FROM _lines)"
            )
        cols = ", ".join(f"tok[{i}] AS {_q(n)}" for i, n in enumerate(names, 1))
        self.con.execute(
            f"CREATE TABLE raw AS SELECT row_number() OVER (ORDER BY _line) AS _row, _line, "
            f"{cols}, len(tok) AS _width FROM _lines ORDER BY _line"
        )
        self._ws_width = len(names)

    # -- typing and validation ---------------------------------------------------------------

    def _source_types(self, table: str = "raw") -> dict[str, str]:
        return {
            r[0]: r[1]
            for r in self.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?",
                [table]).fetchall()
        }

    def resolve_columns(
        self, spec: TableSpec, file_columns: Sequence[str], opts: ReadOptions
    ) -> tuple[dict[str, str], list[str]]:
        """Match our columns to the file's: explicit mapping first, then our own name (any
        case), then the headers of real exports (:mod:`regulars.domain.headers`)."""
        by_lower = {c.strip().lower(): c for c in file_columns}
        found: dict[str, str] = {}
        unknown_targets = [t for t in opts.mapping if t not in spec.names]
        if unknown_targets:
            raise FileFormatError(
                _("--map names {cols}, which {kind} do not have (columns: {known})").format(
                    cols=", ".join(unknown_targets), kind=spec.kind, known=", ".join(spec.names)
                )
            )
        for col in spec.columns:
            source = opts.mapping.get(col.name)
            if source is not None:
                actual = by_lower.get(source.strip().lower())
                if actual is None:
                    raise MissingColumnError(
                        str(self.path),
                        source,
                        list(file_columns),
                        _("{path}: --map {target}={source}: the file has no column '{source}' "
                          "(it has: {cols})").format(
                            path=self.path, target=col.name, source=source,
                            cols=", ".join(file_columns),
                        ),
                    )
                found[col.name] = actual
        for col in spec.columns:
            if (col.name not in found and col.name in by_lower
                    and by_lower[col.name] not in found.values()):
                found[col.name] = by_lower[col.name]
        self._match_headers(spec, file_columns, found)
        for col in spec.columns:
            if col.required and col.name not in found:
                raise MissingColumnError(
                    str(self.path),
                    col.name,
                    list(file_columns),
                    _("{path}: required column '{col}' is missing (the file has: {cols}); "
                      "map it with --map {col}=<file column>").format(
                        path=self.path, col=col.name, cols=", ".join(file_columns)
                    ),
                )
        used = set(found.values())
        ignored = [c for c in file_columns if c not in used]
        if spec.kind in (Kind.ORDERS, Kind.INVOICES):
            base = {header_key(h) for h in BASE_DOCUMENT}
            self.base_column = next((c for c in ignored if header_key(c) in base), None)
        self.source_names = found
        return found, ignored

    def _match_headers(self, spec: TableSpec, file_columns: Sequence[str],
                       found: dict[str, str]) -> None:
        """Add to ``found`` the columns whose file headers are recognised: per column, the
        first tier with a match wins; two file columns in that tier are ambiguous."""
        keys: dict[str, list[str]] = {}
        for c in file_columns:
            keys.setdefault(header_key(c), []).append(c)
        for name, tiers in HEADERS.get(spec.kind, {}).items():
            if name in found:
                continue
            for tier in tiers:
                wanted = {header_key(h) for h in tier}
                hits = [c for c in file_columns
                        if header_key(c) in wanted and c not in found.values()]
                if len(hits) > 1:
                    raise FileFormatError(
                        _("{path}: columns {cols} could each be {target}; say which with "
                          "--map {target}=<file column>").format(
                            path=self.path, cols=", ".join(repr(h) for h in hits), target=name))
                if hits:
                    found[name] = hits[0]
                    break

    def _typed_expr(self, spec: TableSpec, name: str, src_type: str, opts: ReadOptions) -> str:
        col = spec.column(name)
        s = _q(self.source_names[name])
        text = src_type == "VARCHAR"
        t = f"nullif(trim({s}), '')" if text else s
        typ = col.type
        self._typing = name
        if typ in (ColumnType.ID, ColumnType.TEXT):
            return t if text else f"CAST({s} AS VARCHAR)"
        if typ in (ColumnType.TIMESTAMP, ColumnType.DATE):
            target = "TIMESTAMP" if typ is ColumnType.TIMESTAMP else "DATE"
            if text or not src_type.startswith(("TIMESTAMP", "DATE")):
                v = t if text else f"CAST({s} AS VARCHAR)"
                formats = self._date_formats(name, v, opts)
                if formats and len(formats) == 1:
                    return f"CAST(try_strptime({v}, {_lit(formats[0])}) AS {target})"
                if formats:
                    # the value's colons say which format is its (a list of formats costs
                    # four times as much: each failing one is tried on every value)
                    seconds, minutes, _t, day = (_lit(f) for f in formats)
                    colons = f"length({v}) - length(replace({v}, ':', ''))"
                    return (f"CAST(CASE {colons} WHEN 0 THEN try_strptime({v}, {day}) "
                            f"WHEN 1 THEN try_strptime({v}, {minutes}) "
                            f"ELSE try_strptime({v}, [{seconds}, {_t}]) END AS {target})")
            return f"TRY_CAST({t} AS {target})"
        if typ is ColumnType.MONEY:
            if not text:
                return f"TRY_CAST({s} AS DECIMAL(18,4))"
            comma, _currency = self._money_format(name, t, opts)
            # a plain number is cast as it is; only other values pay for the clean-up, and
            # are read only in the shapes of the decimal mark decided
            # (a CASE, not coalesce: DuckDB evaluates coalesce's arguments on every row)
            plain = f"TRY_CAST({t} AS DECIMAL(18,4))"
            is_plain = f"{plain} IS NOT NULL"
            if comma:
                is_plain = f"NOT contains({t}, '.') AND {is_plain}"
            sample_plain, signs = self._money_text.get(name, (True, _CURRENCY_NOISE))
            if not sample_plain:
                # a failing cast costs as much as the clean-up: a column of 46 476,66 руб.
                # goes straight to it
                is_plain = "false"
            # signs, codes and spaces go by plain replacements (a regular expression over
            # every value costs ten times as much); a value still holding the other mark is
            # read only if that mark groups thousands, so 1.5 in a comma file is a problem
            x = _money_clean(t, signs)
            other, group = ((".", r"[-+]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]*)?") if comma
                            else (",", r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?"))
            read = (f"TRY_CAST(replace(replace({x}, '.', ''), ',', '.') AS DECIMAL(18,4))"
                    if comma else f"TRY_CAST(replace({x}, ',', '') AS DECIMAL(18,4))")
            return (f"CASE WHEN {is_plain} THEN {plain} "
                    f"WHEN NOT contains({x}, {_lit(other)}) THEN {read} "
                    f"WHEN regexp_full_match({x}, {_lit(group)}) THEN {read} END")
        if typ is ColumnType.INTEGER:
            return f"TRY_CAST({t} AS BIGINT)"
        if typ is ColumnType.BOOLEAN:
            v = f"lower({t})" if text else f"lower(CAST({s} AS VARCHAR))"
            trues = ", ".join(_lit(x) for x in _TRUE)
            falses = ", ".join(_lit(x) for x in _FALSE)
            return f"CASE WHEN {v} IN ({trues}) THEN true WHEN {v} IN ({falses}) THEN false END"
        return _list_sql(t if text else f"CAST({s} AS VARCHAR)")

    # -- what a column's text looks like -----------------------------------------------------

    def _money_format(self, name: str, t: str, opts: ReadOptions) -> tuple[bool, str | None]:
        """Whether the column writes a decimal comma, and the currency its signs name.

        Values vote: the last separator is the decimal one when the other also appears
        (1.234,56) or when it is followed by other than three digits (12,5; 12.50); a
        separator written twice groups thousands (1,234,567); 1,234 alone could be either.
        The first 10,000 values vote; when they do not decide (whole numbers, or only
        1,234-like values) the whole column does. Values voting both ways, or a column of
        only undecided ones, are refused rather than misread, unless the flag decides.
        Whatever is decided, a value written the other way is a problem of its row, never
        misread (:meth:`_typed_expr` reads only the shapes of the decimal mark chosen).
        """
        if name in self._money:
            return self._money[name]
        label = self.source_names.get(name, name)
        v = _money_text("v")
        nc = f"(length({v}) - length(replace({v}, ',', '')))"
        nd = f"(length({v}) - length(replace({v}, '.', '')))"
        tail = f"length(regexp_extract({v}, '[.,]([0-9]*)$', 1))"
        last = f"regexp_extract({v}, '([.,])[0-9]*$', 1)"
        vote = (f"CASE WHEN {nc} > 0 AND {nd} > 0 THEN CASE WHEN {last} = ',' THEN 'c' "
                f"ELSE 'd' END WHEN {nc} > 1 THEN 'd' WHEN {nd} > 1 THEN 'c' "
                f"WHEN {nc} = 1 THEN CASE WHEN {tail} = 3 THEN 'a' ELSE 'c' END "
                f"WHEN {nd} = 1 THEN CASE WHEN {tail} = 3 THEN 'a' ELSE 'd' END END")
        sign = f"lower(regexp_extract(v, {_lit(_CURRENCY_RE)}, 1))"

        def votes(limit: str) -> tuple[Any, ...]:
            return tuple(self.con.execute(
                f"SELECT count(*) FILTER (WHERE vote = 'c'), count(*) FILTER (WHERE vote = 'd'),"
                f" count(*) FILTER (WHERE vote = 'a'), any_value(v) FILTER (WHERE vote = 'a'), "
                f"any_value(v) FILTER (WHERE vote = 'c'), any_value(v) FILTER (WHERE vote = 'd')"
                f", list(DISTINCT sign) FILTER (WHERE sign <> ''), "
                f"count(*) FILTER (WHERE TRY_CAST(v AS DECIMAL(18,4)) IS NULL) "
                f"FROM (SELECT {vote} AS vote, {sign} AS sign, v FROM (SELECT {t} AS v FROM raw "
                f"WHERE {t} IS NOT NULL {limit}))").fetchall()[0])

        commas, dots, unclear, unclear_eg, comma_eg, dot_eg, signs, odd = votes("LIMIT 10000")
        self._money_text[name] = (not odd, tuple(signs or ()))
        if not (commas or dots) and self._exists(
                "raw", f"contains({t}, ',') OR contains({t}, '.')"):
            commas, dots, unclear, unclear_eg, comma_eg, dot_eg, _signs, _odd = votes("")
        comma = opts.decimal_comma
        if comma is None:
            if commas and dots:
                raise FileFormatError(
                    _("{path}: column {col} writes amounts both as {a} and as {b}; say which "
                      "is right with --decimal-comma or --decimal-point").format(
                        path=self.path, col=label, a=comma_eg, b=dot_eg))
            if unclear and not (commas or dots):
                raise FileFormatError(
                    _("{path}: column {col}: {eg} may be a thousand times more or less than "
                      "meant (is the comma a decimal one?); pass --decimal-comma or "
                      "--decimal-point").format(path=self.path, col=label, eg=unclear_eg))
            comma = bool(commas)
            if commas:
                self.notes.append(_("{col}: decimal comma").format(col=label))
        if commas or dots:
            self._agree("decimal", "comma" if comma else "point")
        codes = {_CURRENCY_CODES.get(x.rstrip("."), "") for x in signs or []}
        currency = codes.pop() if len(codes) == 1 else None
        self._money[name] = (comma, currency or None)
        return self._money[name]

    def _date_formats(self, name: str, v: str, opts: ReadOptions) -> list[str] | None:
        """The strptime formats of a date column; None: ISO 8601 (a cast reads it).

        A given ``--date-format`` is used as it is. Otherwise the first 10,000 values choose
        among the common ways of writing a day (:data:`_DATE_FAMILIES`), each with or without
        a time after it: the way that reads most of them wins. 04/03/2025 can be day first or
        month first: the whole column is then searched for a day above 12 that decides, and
        a column that never decides is refused, with an example and the flag.
        """
        if name in self._dates:
            return self._dates[name]
        label = self.source_names.get(name, name)
        if opts.date_format:
            self._dates[name] = _with_times(opts.date_format)
            return self._dates[name]
        sample = (f"(SELECT {v} AS v FROM raw WHERE {v} IS NOT NULL LIMIT 10000)")
        seen, iso = self.con.execute(
            f"SELECT count(*), count(TRY_CAST(v AS TIMESTAMP)) FROM {sample}").fetchall()[0]
        if seen == iso:  # ISO 8601, our own exports: nothing more to try
            self._dates[name] = None
            return None
        counts = ", ".join(
            ["count(TRY_CAST(v AS TIMESTAMP))"]
            + [f"count(try_strptime(v, [{', '.join(_lit(f) for f in _with_times(fam))}]))"
               for fam in _DATE_FAMILIES])
        row = self.con.execute(f"SELECT {counts}, any_value(v) FROM {sample}").fetchall()[0]
        hits, example = list(row[:-1]), row[-1]
        best = max(hits)
        if best == 0 or hits[0] == best:
            self._dates[name] = None
            return None
        fams = [f for f, n in zip(_DATE_FAMILIES, hits[1:], strict=True) if n == best]
        if len(fams) > 1:
            # day first or month first: a day above 12 anywhere in the column decides
            day = "regexp_extract(v, '^[^ T]+')"
            dm, md = (f"try_strptime({day}, {_lit(f)})" for f in ("%d/%m/%Y", "%m/%d/%Y"))
            day_first, month_first = self.con.execute(
                f"SELECT count(*) FILTER (WHERE {dm} IS NOT NULL AND {md} IS NULL), "
                f"count(*) FILTER (WHERE {md} IS NOT NULL AND {dm} IS NULL) "
                f"FROM (SELECT {v} AS v FROM raw WHERE {v} IS NOT NULL)").fetchall()[0]
            if bool(day_first) == bool(month_first):
                raise FileFormatError(
                    _("{path}: column {col}: a date like {eg} may be day first or month "
                      "first; pass --date-format %d/%m/%Y or --date-format %m/%d/%Y").format(
                        path=self.path, col=label, eg=example))
            fams = ["%d/%m/%Y" if day_first else "%m/%d/%Y"]
        self._dates[name] = _with_times(fams[0])
        self._agree("date_format", fams[0])
        self.notes.append(_("{col}: dates {fmt}").format(col=label, fmt=fams[0]))
        return self._dates[name]

    def _list_lookup(self, name: str, src_type: str) -> tuple[str, str]:
        """A list column typed once per distinct value: the typed value and the join that
        finds it. An export repeats a handful of lists (categories, add-ons) over millions of
        rows, and splitting and trimming each row's list is most of the time of typing it."""
        table = _q(f"__regulars_list_{name}")
        s = _q(self.source_names[name])
        value = "nullif(trim(__regulars_value), '')" if src_type == "VARCHAR" else (
            "CAST(__regulars_value AS VARCHAR)")
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT __regulars_value, "
            f"{_list_sql(value)} AS __regulars_list FROM (SELECT DISTINCT {s} AS "
            f"__regulars_value FROM raw WHERE {s} IS NOT NULL)"
        )
        return (f"{table}.__regulars_list",
                f"LEFT JOIN {table} ON {table}.__regulars_value = raw.{s}")

    def _problem_message(self, typ: ColumnType, opts: ReadOptions) -> str:
        # check() asks right after typing the column: self._typing names it
        name = self._typing
        if typ in (ColumnType.TIMESTAMP, ColumnType.DATE):
            formats = self._dates.get(name) if name else None
            if formats:
                return _("unparseable date (expected {fmt}, or pass --date-format)").format(
                    fmt=formats[-1])
            return _("unparseable date (expected YYYY-MM-DD, or pass --date-format)")
        if typ is ColumnType.MONEY:
            comma = self._money.get(name, (opts.decimal_comma, None))[0] if name else None
            hint = (_(" (expected 1 234,56)") if comma
                    else _(" (for 12,50 pass --decimal-comma)"))
            return _("not a number") + hint
        if typ is ColumnType.INTEGER:
            return _("not a whole number")
        if typ is ColumnType.BOOLEAN:
            return _("not a yes/no value")
        return _("invalid value")

    def check(self, spec: TableSpec, opts: ReadOptions, *, max_problems: int) -> Checked:
        """Build the typed table ``typed`` and the table ``problems`` for one file.

        Each check reads a typed value beside its raw one (``_raw_<column>``): one query over
        ``raw`` computes both, stores only the typed values and whether any check failed on
        the row, so that a clean file is typed and checked in one pass, and the raw values are
        read again, per check, only when something is wrong.
        """
        types = self._source_types()
        by_column: dict[str, list[Limit]] = {}
        for limit in limits(spec, self.rules, self.today or datetime.now(UTC).date()):
            by_column.setdefault(limit.column, []).append(limit)
        selects = ["_row", "_line"]
        raw_cols: list[str] = []
        conditions: list[tuple[str, str, str]] = []  # (our column, SQL condition, message)
        joins: list[str] = []
        for col in spec.columns:
            name = col.name
            if name not in self.source_names:
                default = _lit(opts.currency) if name == "currency" and opts.currency else "NULL"
                selects.append(f"{default} AS {_q(name)}")
                continue
            src = self.source_names[name]
            if col.type is ColumnType.LIST:
                expr, join = self._list_lookup(name, types[src])
                joins.append(join)
            else:
                expr = self._typed_expr(spec, name, types[src], opts)
            if col.choices:
                expr = f"lower({expr})"
            if name == "currency" and opts.currency:
                expr = f"coalesce({expr}, {_lit(opts.currency)})"
            raw = _q("_raw_" + name)
            raw_cols.append(raw)
            selects += [f"{expr} AS {_q(name)}", f"{_q(src)} AS {raw}"]
            typed = _q(name)
            # a number, date or time read as such is present when it is not null (its text is
            # never blank): no need to write every value out as text to know it
            present = (f"{raw} IS NOT NULL" if types[src].startswith(_NEVER_BLANK)
                       else f"nullif(trim(CAST({raw} AS VARCHAR)), '') IS NOT NULL")
            if col.type not in (ColumnType.ID, ColumnType.TEXT, ColumnType.LIST):
                conditions.append(
                    (name, f"{present} AND {typed} IS NULL", self._problem_message(col.type, opts))
                )
            for limit in by_column.get(name, ()):
                # a required value is judged on the raw text (blank is missing), the
                # others on the typed value
                cond = f"NOT ({present})" if limit.check is Check.REQUIRED else limit_sql(
                    limit, typed)
                conditions.append((name, cond, limit.message(_)))
        if self._ws_width:
            # a whitespace line with more fields than the header names
            conditions.append(
                ("", f"_width > {self._ws_width}",
                 _("more fields than columns ({n})").format(n=self._ws_width))
            )
            selects.append("_width")
        checked = f"(SELECT {', '.join(selects)} FROM raw {' '.join(joins)})"
        drop = raw_cols + (["_width"] if self._ws_width else [])
        keep = f"* EXCLUDE ({', '.join(drop)})" if drop else "*"
        # the one pass: typed values, and whether any check failed on the row
        bad = " OR ".join(f"coalesce({c}, false)" for _n, c, _m in conditions)
        flag = f", ({bad}) AS _bad" if conditions else ""
        self.con.execute(f"CREATE OR REPLACE TABLE typed AS SELECT {keep}{flag} FROM {checked}")
        self.con.execute(
            "CREATE OR REPLACE TABLE problems (_row BIGINT, _line BIGINT, col VARCHAR, "
            "value VARCHAR, message VARCHAR)"
        )
        # the per-check scans run only if something is wrong
        anything_wrong = bool(conditions) and self._exists("typed", "_bad")
        for name, cond, msg in conditions if anything_wrong else []:
            src = self.source_names.get(name, name)
            label = src if src == name else f"{src} ({name})"
            value = f"CAST({_q('_raw_' + name)} AS VARCHAR)" if name else "NULL"
            self.add_problems(
                f"SELECT _row, _line, {_lit(label)}, {value}, {_lit(msg)} FROM {checked} "
                f"WHERE {cond}"
            )
        if conditions:
            self.con.execute("ALTER TABLE typed DROP COLUMN _bad")
        rows = self._count("raw")
        self.con.execute("DROP TABLE raw")
        problems, total = self.problem_list(max_problems)
        return Checked(rows, problems, total, ignored_columns=[])

    def _agree(self, key: str, value: str) -> None:
        """Record how the file writes something, if all its columns write it so ("" if not)."""
        self.detected[key] = value if self.detected.get(key, value) == value else ""

    # -- what the import does with a file's oddities ------------------------------------------

    def amount_currency(self, spec: TableSpec, opts: ReadOptions) -> str | None:
        """The one currency the amount column's signs or codes name (₽, руб., €, EUR), if any."""
        src = self.source_names.get("amount")
        if src is None or "currency" not in spec.names or self._source_types()[src] != "VARCHAR":
            return None
        return self._money_format("amount", f"nullif(trim({_q(src)}), '')", opts)[1]

    def split_credit_notes(self, spec: TableSpec, opts: ReadOptions) -> int:
        """Move the rows with a negative amount (credit notes) out of ``raw`` into
        ``_credit_raw``: they are not orders or invoices, but returns of earlier orders."""
        types = self._source_types()
        # the formats of dates and amounts are found on the whole file, credit notes included
        for col in spec.columns:
            if col.name in self.source_names and col.type in (
                    ColumnType.MONEY, ColumnType.DATE, ColumnType.TIMESTAMP):
                self._typed_expr(spec, col.name, types[self.source_names[col.name]], opts)
        amount = self._typed_expr(spec, "amount", types[self.source_names["amount"]], opts)
        self.con.execute(f"CREATE OR REPLACE TABLE _credit_raw AS SELECT * FROM raw "
                         f"WHERE ({amount}) < 0")
        self.con.execute("DELETE FROM raw WHERE _row IN (SELECT _row FROM _credit_raw)")
        return self._count("_credit_raw")

    def credit_note_returns(self, spec: TableSpec, opts: ReadOptions, *, orders: pa.Table,
                            returns: pa.Table, aliases: pa.Table) -> dict[str, int]:
        """Find the order each credit note returns; unresolved ones become problems.

        The rule, per credit note: the order its base-document column names (``Основание``)
        if the file has one and the row fills it (for an invoice, else its own ``order_id``);
        else its customer's latest order on or
        before its date with at least its amount left (the order's amount less what was
        already returned). A credit note larger than what is left of its order is a problem,
        never a return that overdraws it. ``orders`` and ``returns`` are the store's; the
        file's own orders count too. Returns how many credit notes each rule resolved.
        """
        types = self._source_types("_credit_raw")

        def typed(name: str) -> str:
            if name not in self.source_names:
                return "NULL"
            return self._typed_expr(spec, name, types[self.source_names[name]], opts)

        at = "ordered_at" if spec.kind is Kind.ORDERS else "due_at"
        base = (f"nullif(trim(CAST({_q(self.base_column)} AS VARCHAR)), '')"
                if self.base_column else "NULL")
        if spec.kind is Kind.INVOICES and "order_id" in self.source_names:
            # a credit invoice naming its order says what it returns
            base = f"coalesce({base}, {typed('order_id')})"
        self.con.execute(
            f"CREATE OR REPLACE TABLE _credit AS SELECT _row, _line, "
            f"{typed(spec.id_column)} AS doc_id, {typed('customer_id')} AS customer_id, "
            f"{typed(at)} AS doc_at, -({typed('amount')}) AS amount, {base} AS base "
            f"FROM _credit_raw")
        self.register("_cn_aliases", aliases)
        self.con.execute("UPDATE _credit SET customer_id = a.customer_id FROM _cn_aliases a "
                         "WHERE _credit.customer_id = a.alias_id")
        self.register("_cn_orders", orders)
        self.register("_cn_returns", returns)
        own = ("UNION ALL SELECT order_id, customer_id, CAST(ordered_at AS TIMESTAMP), "
               "CAST(amount AS DOUBLE) FROM typed" if spec.kind is Kind.ORDERS else "")
        self.con.execute(
            f"CREATE OR REPLACE TABLE _cn_left AS SELECT o.order_id, o.customer_id, "
            f"o.ordered_at, o.amount - coalesce(r.returned, 0) AS left_amount FROM ("
            f"SELECT order_id, customer_id, CAST(ordered_at AS TIMESTAMP) AS ordered_at, "
            f"CAST(amount AS DOUBLE) AS amount FROM _cn_orders {own}) o LEFT JOIN ("
            f"SELECT order_id, sum(CAST(amount AS DOUBLE)) AS returned FROM _cn_returns "
            f"GROUP BY ALL) r USING (order_id)")
        self.con.execute(
            "CREATE OR REPLACE TABLE _credit_out AS "
            "SELECT c._row, c.doc_id, l.order_id, c.doc_at, c.amount, 'base' AS rule, "
            "l.left_amount FROM _credit c JOIN _cn_left l ON l.order_id = c.base "
            "UNION ALL "
            "SELECT c._row, c.doc_id, l.order_id, c.doc_at, c.amount, 'latest', l.left_amount "
            "FROM _credit c JOIN _cn_left l ON l.customer_id = c.customer_id "
            "AND l.ordered_at <= c.doc_at AND l.left_amount + 0.005 >= c.amount "
            "WHERE c.base IS NULL QUALIFY row_number() OVER (PARTITION BY c._row "
            "ORDER BY l.ordered_at DESC, l.order_id DESC) = 1")
        amount = _lit(self.source_names["amount"])
        date = _lit(self.source_names.get(at, at))
        base_label = _lit(self.base_column or "")
        bad_date = _("credit note without a readable date")
        unknown = _("credit note for {base}, which is not an order in the store or this file")
        over = _("credit note larger than what is left of order {order} ({left})")
        nothing = _("credit note (negative amount): no earlier order of this customer has "
                    "that much left to return")
        self.add_problems(
            f"SELECT _row, _line, {date}, NULL, {_lit(bad_date)} FROM _credit WHERE doc_at IS NULL")
        unknown_fmt = _lit(unknown.replace("{base}", "{}"))
        over_fmt = _lit(over.replace("{order}", "{}").replace("{left}", "{}"))
        self.add_problems(
            f"SELECT c._row, c._line, {base_label}, c.base, format({unknown_fmt}, c.base) "
            f"FROM _credit c WHERE c.base IS NOT NULL AND "
            f"c.base NOT IN (SELECT order_id FROM _cn_left)")
        self.add_problems(
            f"SELECT c._row, c._line, {base_label}, c.base, format({over_fmt}, o.order_id, "
            f"round(o.left_amount, 2)) FROM _credit c JOIN _credit_out o USING (_row) "
            f"WHERE o.rule = 'base' AND o.left_amount + 0.005 < c.amount")
        self.add_problems(
            f"SELECT c._row, c._line, {amount}, CAST(r.{_q(self.source_names['amount'])} AS "
            f"VARCHAR), {_lit(nothing)} FROM _credit c JOIN _credit_raw r USING (_row) "
            f"WHERE c.base IS NULL AND c.doc_at IS NOT NULL "
            f"AND c._row NOT IN (SELECT _row FROM _credit_out)")
        rules = dict(self.con.execute(
            "SELECT rule, count(*) FROM _credit_out GROUP BY ALL").fetchall())
        return {str(k): int(v) for k, v in rules.items()}

    def credit_returns(self) -> pa.Table:
        """The returns the credit notes make (after :meth:`credit_note_returns`), without
        those set aside. A credit note without its own number gets a stable derived one."""
        derived = ("'R-' || substr(md5(concat_ws('|', order_id, CAST(doc_at AS VARCHAR), "
                   "CAST(amount AS VARCHAR))), 1, 20)")
        aside = "AND _row NOT IN (SELECT _row FROM _aside)" if self._has_table("_aside") else ""
        # the reason is data, kept the same in every language so a re-import matches it
        return self.query(
            f"SELECT coalesce(doc_id, {derived}) AS return_id, order_id, doc_at AS returned_at, "
            f"amount, 'credit note' AS reason FROM _credit_out WHERE (rule = 'latest' OR "
            f"left_amount + 0.005 >= amount) {aside} ORDER BY _row")

    def hint_credit_notes(self) -> None:
        """The problem of a negative amount on an order or invoice says it looks like a credit
        note, and how to import it as one."""
        label = self.source_names.get("amount", "amount")
        label = label if label == "amount" else f"{label} (amount)"
        msg = _("negative amount: this looks like a credit note (a return); import it as a "
                "return of its order with --credit-notes returns")
        self.con.execute(
            f"UPDATE problems SET message = {_lit(msg)} WHERE col = {_lit(label)} AND _row IN "
            f"(SELECT _row FROM typed WHERE amount < 0)")

    def keep_raw(self) -> None:
        """Keep the file's rows as read, to write the rejected ones out (``--quarantine``)."""
        self.con.execute("CREATE OR REPLACE TABLE _raw_kept AS SELECT * FROM raw")

    def set_aside(self) -> int:
        """Take every row with a problem out of the import, with its reasons; return how many
        rows this set aside. Problems of the whole file (no row) stay and still reject it."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS _aside (_row BIGINT, _line BIGINT, cols VARCHAR, "
            "reasons VARCHAR)")
        before = self._count("_aside")
        self.con.execute(
            "INSERT INTO _aside SELECT _row, any_value(_line), string_agg(col, '; ' ORDER BY col),"
            " string_agg(message, '; ' ORDER BY col) FROM problems WHERE _row IS NOT NULL "
            "AND _row NOT IN (SELECT _row FROM _aside) GROUP BY _row")
        self.con.execute("DELETE FROM typed WHERE _row IN (SELECT _row FROM _aside)")
        self.con.execute("DELETE FROM problems WHERE _row IS NOT NULL")
        return self._count("_aside") - before

    def write_set_aside(self, path: Path) -> int:
        """Write the rows set aside, with their original columns and row, line, column and
        reason, as CSV (the file's delimiter; UTF-8 with a byte-order mark for Excel)."""
        if not self._has_table("_aside"):
            return 0
        own = [r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = '_raw_kept' "
            "AND column_name NOT IN ('_row', '_line', '_width') ORDER BY column_index"
        ).fetchall()]
        cols = ", ".join(f"CAST(r.{_q(c)} AS VARCHAR) AS {_q(c)}" for c in own)
        names = [_("row"), _("line"), _("column"), _("reason")]
        extra = ", ".join(f"{e} AS {_q(n)}" for e, n in zip(
            ("a._row", "a._line", "a.cols", "a.reasons"), names, strict=True))
        delim = self.detected.get("delimiter", ",")
        table = self.query(
            f"SELECT {cols}, {extra} FROM _raw_kept r JOIN _aside a USING (_row) ORDER BY a._row")
        with path.open("wb") as f:
            f.write(codecs.BOM_UTF8)
            pacsv.write_csv(table, f, pacsv.WriteOptions(delimiter=delim))
        return int(table.num_rows)

    def _has_table(self, name: str) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall())

    def add_problems(self, sql: str) -> None:
        """Add problems found by a query yielding (_row, _line, col, value, message)."""
        self.con.execute(f"INSERT INTO problems {sql}")

    def problem_list(self, limit: int) -> tuple[list[Problem], int]:
        total = self.con.execute("SELECT count(*) FROM problems").fetchall()[0][0]
        rows = self.con.execute(
            "SELECT _row, _line, col, value, message FROM problems "
            "ORDER BY _row, col LIMIT ?",
            [limit],
        ).fetchall()
        return [Problem(r[0], r[2], r[3], r[4], r[1]) for r in rows], int(total)

    # -- identity and content ----------------------------------------------------------------

    def add_identity(self, spec: TableSpec, id_given: bool) -> None:
        """Add ``row_hash`` (content fingerprint) and, when the file has no ids, derive them.

        A derived id hashes the row's content and its occurrence among identical rows, so the
        same file, or a newer export repeating the same rows, yields the same ids.
        """
        content = [n for n in spec.names if n != spec.id_column]
        canon = ", ".join(
            f"coalesce(CAST({_q(n)} AS VARCHAR), {_lit(_NULL)})" for n in content
        )
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT *, "
            f"md5(concat_ws({_lit(_SEP)}, {canon})) AS row_hash FROM typed"
        )
        prefix = spec.kind.value[0].upper()
        derived = (
            f"{_lit(prefix)} || '-' || substr(md5(row_hash || {_lit(_SEP)} || CAST("
            f"row_number() OVER (PARTITION BY row_hash ORDER BY _row) AS VARCHAR)), 1, 20)"
        )
        idc = _q(spec.id_column)
        if id_given:
            # a file with an id column may still leave some ids empty: those rows get a
            # derived id, as rows of a file without the column do
            if not self._has_empty_ids(idc):
                return
            derived = (f"CASE WHEN {idc} IS NULL OR trim(CAST({idc} AS VARCHAR)) = '' "
                       f"THEN {derived} ELSE {idc} END")
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT * REPLACE ({derived} AS {idc}) FROM typed"
        )

    def dedupe_in_file(self, spec: TableSpec, *, ids_derived: bool = False) -> int:
        """Keep the first of identical rows; report an id reused with other content.

        Derived ids are unique by construction, and most exports repeat no id: then there is
        nothing to sort, and the cost is one aggregate.
        """
        idc = _q(spec.id_column)
        if ids_derived or not self._has_repeated_ids(idc):
            return 0
        label = self.source_names.get(spec.id_column, spec.id_column)
        self.add_problems(
            f"SELECT t._row, t._line, {_lit(label)}, t.{idc}, "
            f"format({_lit(_('id appears again with different content (first at row {}))'))}, "
            f"f.first_row) FROM typed t JOIN (SELECT {idc}, min(_row) AS first_row, "
            f"arg_min(row_hash, _row) AS first_hash FROM typed GROUP BY {idc}) f USING ({idc}) "
            f"WHERE t.row_hash <> f.first_hash"
        )
        before = self._count("typed")
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT * FROM typed "
            f"QUALIFY row_number() OVER (PARTITION BY {idc} ORDER BY _row) = 1"
        )
        return before - self._count("typed")

    def identify_for_reading(self, spec: TableSpec, id_given: bool) -> None:
        """:meth:`add_identity` and :meth:`dedupe_in_file`, for a file that is read and not
        imported: nothing keeps the content fingerprint then, which is needed only to derive
        missing ids and to tell apart the rows of a repeated id; a file whose ids are all
        given and distinct (an export, as a rule) is not fingerprinted at all."""
        idc = _q(spec.id_column)
        if id_given and not self._has_empty_ids(idc) and not self._has_repeated_ids(idc):
            return
        self.add_identity(spec, id_given)
        self.dedupe_in_file(spec, ids_derived=not id_given)

    def _has_empty_ids(self, idc: str) -> bool:
        return self._exists("typed", f"{idc} IS NULL OR trim(CAST({idc} AS VARCHAR)) = ''")

    def _has_repeated_ids(self, idc: str) -> bool:
        return self._exists(f"(SELECT {idc} FROM typed GROUP BY {idc} HAVING count(*) > 1)",
                            "true")

    def _exists(self, table: str, condition: str) -> bool:
        rows = self.con.execute(f"SELECT 1 FROM {table} WHERE {condition} LIMIT 1").fetchall()
        return bool(rows)

    def _count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def normalise_contacts(self) -> None:
        """Customers: add the normalised e-mail and phone that find one person twice."""
        self.con.execute(
            f"CREATE OR REPLACE TABLE typed AS SELECT *, {_email_sql('email')} AS email_norm, "
            f"{_phone_sql('phone', self.default_phone_country)} AS phone_norm FROM typed"
        )

    def drop_where(self, condition: str) -> int:
        before = self._count("typed")
        self.con.execute(f"DELETE FROM typed WHERE {condition}")
        return before - self._count("typed")

    def query(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def count(self, table: str) -> int:
        return self._count(table)

    def batches(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        reader = self.con.sql(sql).to_arrow_reader(batch_rows)
        yield from reader

    # -- resolving against the store ---------------------------------------------------------

    def apply_blacklist(self, kind: Kind, entries: Blacklist) -> int:
        """Drop rows of known junk leads: by e-mail or phone (customers) and by customer id."""
        self.register("_bl_ids", pa.table({"v": pa.array(sorted(entries.ids), pa.string())}))
        conds = []
        if kind is Kind.CUSTOMERS:
            self.register("_bl_em", pa.table({"v": pa.array(sorted(entries.emails), pa.string())}))
            self.register("_bl_ph", pa.table({"v": pa.array(sorted(entries.phones), pa.string())}))
            conds += [
                "email_norm IN (SELECT v FROM _bl_em)",
                "phone_norm IN (SELECT v FROM _bl_ph)",
            ]
        for col in ("customer_id", "referrer_id", "referee_id"):
            if col in SPECS[kind].names:
                conds.append(f"{col} IN (SELECT v FROM _bl_ids)")
        return self.drop_where(" OR ".join(conds)) if conds else 0

    def resolve_aliases(self, column: str, aliases: pa.Table) -> None:
        """Point references to merged duplicate cards at the card they were merged into."""
        if aliases.num_rows == 0:
            return
        self.register("_aliases", aliases)
        self.con.execute(
            f"UPDATE typed SET {_q(column)} = a.customer_id FROM _aliases a "
            f"WHERE typed.{_q(column)} = a.alias_id"
        )

    def against_store(self, spec: TableSpec, existing: pa.Table) -> tuple[int, pa.Array]:
        """Compare with what the store holds.

        Rows already present with the same content are dropped (a re-import adds nothing);
        an id present with other content is a problem. Customers created from orders (stubs)
        are completed by a customer file, not in conflict with it: their ids are returned.
        """
        idc = _q(spec.id_column)
        self.register("_existing", existing)
        label = self.source_names.get(spec.id_column, spec.id_column)
        stub = "AND NOT e.stub" if "stub" in existing.column_names else ""
        msg = _("id is already in the store with different content")
        self.add_problems(
            f"SELECT t._row, t._line, {_lit(label)}, t.{idc}, {_lit(msg)} FROM typed t "
            f"JOIN _existing e ON e.id = t.{idc} WHERE e.row_hash <> t.row_hash {stub} "
            f"AND e.row_hash <> {_lit(ERASED)}"
        )
        stubs = pa.array([], pa.string())
        if stub:
            stubs = self.query(
                f"SELECT t.{idc} AS id FROM typed t JOIN _existing e ON e.id = t.{idc} "
                f"WHERE e.stub AND e.row_hash <> t.row_hash"
            ).column("id").combine_chunks()
        present = self.drop_where(
            f"{idc} IN (SELECT e.id FROM _existing e JOIN typed t ON e.id = t.{idc} "
            # an erased row stays erased: its old file brings nothing back (domain.privacy)
            f"WHERE e.row_hash = t.row_hash OR e.row_hash = {_lit(ERASED)})"
        )
        return present, stubs

    def check_references(self, column: str, known: pa.Table, message: str) -> None:
        """A problem for every row whose ``column`` names nothing in ``known.id``."""
        self.register("_known", known)
        label = self.source_names.get(column, column)
        self.add_problems(
            f"SELECT _row, _line, {_lit(label)}, {_q(column)}, {_lit(message)} FROM typed "
            f"WHERE {_q(column)} IS NOT NULL AND {_q(column)} NOT IN (SELECT id FROM _known)"
        )

    def missing_references(self, column: str, known: pa.Table) -> pa.Array:
        self.register("_known", known)
        return (
            self.query(
                f"SELECT DISTINCT {_q(column)} AS id FROM typed WHERE {_q(column)} NOT IN "
                f"(SELECT id FROM _known) ORDER BY 1"
            )
            .column("id")
            .combine_chunks()
        )

    def check_self_referrals(self) -> None:
        label = self.source_names.get("referee_id", "referee_id")
        msg = _("a customer cannot refer themselves")
        self.add_problems(
            f"SELECT _row, _line, {_lit(label)}, referee_id, {_lit(msg)} FROM typed "
            f"WHERE referrer_id = referee_id"
        )

    def added_orders(self) -> pa.Table:
        """``id, amount`` of the orders about to be written (a file of orders)."""
        return self.query("SELECT order_id AS id, CAST(amount AS DOUBLE) AS amount FROM typed")

    def returned_orders(self) -> pa.Array:
        """The distinct orders the file's returns name."""
        return self.query("SELECT DISTINCT order_id AS id FROM typed WHERE order_id IS NOT NULL"
                          ).column("id").combine_chunks()

    def check_returns_within_orders(self, returnable: pa.Table) -> None:
        """A problem for every return that takes its order past its amount, counting the
        returns the store holds and the file's before it (``rules.returns_beyond`` in SQL:
        every row counts towards the ones after it, in file order)."""
        self.register("_returnable", returnable)
        label = self.source_names.get("amount", "amount")
        money = "DECIMAL(18,4)"

        def text(v: str) -> str:  # rules.money_text: at least two places, at most four
            return (f"regexp_replace(CAST(CAST({v} AS {money}) AS VARCHAR), "
                    r"'(\.[0-9][0-9][0-9]*?)0*$', '\1')")

        message = _lit(_(RETURN_TOO_LARGE))
        self.add_problems(
            f"""
            WITH r AS (
                SELECT t._row, t._line, t.order_id, CAST(t.amount AS {money}) AS amount,
                       CAST(h.amount AS {money}) AS order_amount,
                       CAST(coalesce(h.returned, 0) AS {money}) + coalesce(sum(
                           CAST(t.amount AS {money})) OVER (PARTITION BY t.order_id
                           ORDER BY t._row ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                           0) AS used
                FROM typed t JOIN _returnable h ON h.id = t.order_id
                WHERE t.amount IS NOT NULL
            )
            SELECT _row, _line, {_lit(label)}, {text("amount")},
                   replace(replace(replace({message}, '{{order}}', order_id),
                           '{{amount}}', {text('order_amount')}),
                           '{{left}}', {text('greatest(order_amount - used, 0)')})
            FROM r WHERE used + amount > order_amount
            """
        )

    def contact_matches(self, store_contacts: pa.Table) -> pa.Table:
        """Cards (in this file or the store) sharing a normalised e-mail or phone with another.

        Returns ``customer_id, key_type, key, in_store, stub, created_at, _row``: the input of
        the merge rule, which is small however large the file is.
        """
        self.register("_contacts", store_contacts)
        return self.query(
            """
            WITH cards AS (
                SELECT customer_id, email_norm, phone_norm, false AS in_store, false AS stub,
                       created_at, _row FROM typed
                UNION ALL
                SELECT customer_id, email_norm, phone_norm, true, stub, NULL::TIMESTAMP, NULL
                FROM _contacts WHERE customer_id NOT IN (SELECT customer_id FROM typed)
            ),
            keys AS (
                SELECT customer_id, 'email' AS key_type, email_norm AS key, in_store, stub,
                       created_at, _row FROM cards WHERE email_norm IS NOT NULL
                UNION ALL
                SELECT customer_id, 'phone', phone_norm, in_store, stub, created_at, _row
                FROM cards WHERE phone_norm IS NOT NULL
            )
            SELECT * FROM keys WHERE (key_type, key) IN (
                SELECT key_type, key FROM keys GROUP BY ALL
                HAVING count(DISTINCT customer_id) > 1)
            ORDER BY key_type, key, customer_id
            """
        )

    def drop_ids(self, spec: TableSpec, ids: pa.Array) -> int:
        if len(ids) == 0:
            return 0
        self.register("_drop", pa.table({"id": ids}))
        return self.drop_where(f"{_q(spec.id_column)} IN (SELECT id FROM _drop)")

    def rows_for_store(
        self, spec: TableSpec, import_id: int, batch_rows: int, *, text_times: bool = False
    ) -> Iterator[pa.RecordBatch]:
        """The rows to add, with the store's extra columns, in file order.

        ``text_times``: timestamps and dates as the text SQLAlchemy keeps in SQLite, formatted
        here in parallel rather than row by row on the way out.
        """
        cols = [_q(n) for n in spec.names]
        if spec.kind is Kind.CUSTOMERS:
            cols += ["email_norm", "phone_norm", "false AS stub"]
        cols += ["row_hash", f"{int(import_id)} AS import_id"]
        # typed columns that were absent from the file are NULL of no type: give them theirs
        casts = {n: _DUCK_TYPES[spec.column(n).type] for n in spec.names}

        def out(c: str) -> str:
            name = c.strip('"')
            if name not in casts:
                return c
            typed = f"CAST({c} AS {casts[name]})"
            if text_times and casts[name] == "TIMESTAMP":
                return f"strftime({typed}, '%Y-%m-%d %H:%M:%S.%f') AS {c}"
            if text_times and casts[name] == "DATE":
                return f"strftime({typed}, '%Y-%m-%d') AS {c}"
            return f"{typed} AS {c}"

        select = ", ".join(out(c) for c in cols)
        yield from self.batches(f"SELECT {select} FROM typed ORDER BY _row", batch_rows)


_DUCK_TYPES = {
    ColumnType.ID: "VARCHAR",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.LIST: "VARCHAR",
    ColumnType.TIMESTAMP: "TIMESTAMP",
    ColumnType.DATE: "DATE",
    ColumnType.MONEY: "DECIMAL(18,4)",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.BOOLEAN: "BOOLEAN",
}


def typed_table(staging: Staging, spec: TableSpec) -> pa.Table:
    """The validated rows of the staged file, with the contract's columns and types."""
    casts = ", ".join(f"CAST({_q(n)} AS {_DUCK_TYPES[spec.column(n).type]}) AS {_q(n)}"
                      for n in spec.names)
    return staging.query(f"SELECT {casts} FROM typed ORDER BY _row")
