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

import duckdb
import pyarrow as pa

from regulars.domain.errors import FileFormatError, MissingColumnError, Problem
from regulars.domain.rules import RETURN_TOO_LARGE, Check, InputRules, Limit, limits
from regulars.domain.tables import SPECS, ColumnType, Kind, TableSpec
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
_TRUE = ("1", "true", "t", "yes", "y", "да", "д", "jah", "j")
_FALSE = ("0", "false", "f", "no", "n", "нет", "н", "ei", "e")
_NEVER_BLANK = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE",
                "TIMESTAMP", "TIME", "BOOLEAN")
"""DuckDB types whose values, written as text, are never blank."""
_NULL = "\x00"  # stands for a missing value inside hashed content
_SEP = "\x1f"


@dataclass(frozen=True)
class ReadOptions:
    """How to read a foreign file. Every field has a sensible default for our own exports."""

    format: str | None = None
    """csv, tsv, ws (whitespace-separated text), parquet or jsonl; None: from the suffix."""
    delimiter: str | None = None
    header: bool | None = None
    """Whether the first line names the columns; None: yes for CSV/TSV, detected for text."""
    columns: tuple[str, ...] = ()
    """Names for the columns of a file without a header."""
    encoding: str = "utf-8"
    mapping: dict[str, str] = field(default_factory=dict)
    """Our column name -> the file's column name (``--map ordered_at=date``)."""
    date_format: str | None = None
    """strptime format of dates in text files (``%Y%m%d``); None: ISO 8601."""
    decimal_comma: bool = False
    currency: str | None = None
    """Currency of orders that do not say (``orders.currency``)."""


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


def normalise_phone(value: str | None, default_country: str) -> str | None:
    """Digits only, with the country code: '8 (912) 345-67-89' -> '79123456789'."""
    if value is None:
        return None
    digits = re.sub(r"\D", "", value)
    if value.strip().startswith("00"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("8"):  # Russian trunk prefix
        digits = "7" + digits[1:]
    elif not value.strip().startswith(("+", "00")) and len(digits) <= 8:
        digits = default_country + digits
    return digits if len(digits) >= 7 else None


# The same rules in SQL, so that whole files normalise in one pass.
def _email_sql(col: str) -> str:
    return f"CASE WHEN strpos(lower(trim({col})), '@') > 0 THEN lower(trim({col})) END"


def _phone_sql(col: str, default_country: str) -> str:
    d = f"regexp_replace({col}, '\\D', '', 'g')"
    t = f"trim({col})"
    body = (
        f"CASE WHEN starts_with({t}, '00') THEN substr({d}, 3) "
        f"WHEN length({d}) = 11 AND starts_with({d}, '8') THEN '7' || substr({d}, 2) "
        f"WHEN NOT starts_with({t}, '+') AND length({d}) <= 8 "
        f"THEN {_lit(default_country)} || {d} ELSE {d} END"
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

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    def _utf8(self, path: Path, encoding: str) -> Path:
        """DuckDB reads UTF-8; other encodings (cp1251 exports) are transcoded once."""
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
                _("{path}: not valid {enc} text ({err})").format(path=path, enc=encoding, err=e)
            ) from e
        return out

    def read(self, path: Path, opts: ReadOptions) -> list[str]:
        """Load ``path`` into the staging table ``raw``; return the file's column names."""
        if not path.exists():
            raise FileFormatError(_("{path}: no such file").format(path=path))
        self.path = path
        fmt = detect_format(path, opts.format)
        src = _lit(str(path))
        try:
            if fmt in ("csv", "tsv"):
                src = _lit(str(self._utf8(path, opts.encoding)))
                self._read_delimited(src, fmt, opts)
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
            raise FileFormatError(
                _("{path}: cannot be read as {fmt}: {err}").format(
                    path=path, fmt=fmt, err=str(e).splitlines()[0]
                )
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

    def _read_delimited(self, src: str, fmt: str, opts: ReadOptions) -> None:
        header = True if opts.header is None else opts.header
        args = ["all_varchar=true", f"header={str(header).lower()}"]
        delim = opts.delimiter or ("\t" if fmt == "tsv" else None)
        if delim:
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

    def _source_types(self) -> dict[str, str]:
        return {
            r[0]: r[1]
            for r in self.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'raw'"
            ).fetchall()
        }

    def resolve_columns(
        self, spec: TableSpec, file_columns: Sequence[str], opts: ReadOptions
    ) -> tuple[dict[str, str], list[str]]:
        """Match our columns to the file's: explicit mapping first, then by name (any case)."""
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
            elif col.name in by_lower:
                found[col.name] = by_lower[col.name]
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
        self.source_names = found
        return found, ignored

    def _typed_expr(self, spec: TableSpec, name: str, src_type: str, opts: ReadOptions) -> str:
        col = spec.column(name)
        s = _q(self.source_names[name])
        text = src_type == "VARCHAR"
        t = f"nullif(trim({s}), '')" if text else s
        typ = col.type
        if typ in (ColumnType.ID, ColumnType.TEXT):
            return t if text else f"CAST({s} AS VARCHAR)"
        if typ in (ColumnType.TIMESTAMP, ColumnType.DATE):
            target = "TIMESTAMP" if typ is ColumnType.TIMESTAMP else "DATE"
            if opts.date_format and (text or not src_type.startswith(("TIMESTAMP", "DATE"))):
                v = t if text else f"CAST({s} AS VARCHAR)"
                return f"CAST(try_strptime({v}, {_lit(opts.date_format)}) AS {target})"
            return f"TRY_CAST({t} AS {target})"
        if typ is ColumnType.MONEY:
            if not text:
                return f"TRY_CAST({s} AS DECIMAL(18,4))"
            v = f"regexp_replace({t}, '[\\s\\x{{00a0}}\\x{{202f}}]', '', 'g')"
            if opts.decimal_comma:
                v = f"replace({v}, ',', '.')"
            return f"TRY_CAST({v} AS DECIMAL(18,4))"
        if typ is ColumnType.INTEGER:
            return f"TRY_CAST({t} AS BIGINT)"
        if typ is ColumnType.BOOLEAN:
            v = f"lower({t})" if text else f"lower(CAST({s} AS VARCHAR))"
            trues = ", ".join(_lit(x) for x in _TRUE)
            falses = ", ".join(_lit(x) for x in _FALSE)
            return f"CASE WHEN {v} IN ({trues}) THEN true WHEN {v} IN ({falses}) THEN false END"
        return _list_sql(t if text else f"CAST({s} AS VARCHAR)")

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
        if typ in (ColumnType.TIMESTAMP, ColumnType.DATE):
            if opts.date_format:
                return _("unparseable date (expected format {fmt})").format(fmt=opts.date_format)
            return _("unparseable date (expected YYYY-MM-DD, or pass --date-format)")
        if typ is ColumnType.MONEY:
            hint = "" if opts.decimal_comma else _(" (for 12,50 pass --decimal-comma)")
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
            f"JOIN _existing e ON e.id = t.{idc} WHERE e.row_hash <> t.row_hash {stub}"
        )
        stubs = pa.array([], pa.string())
        if stub:
            stubs = self.query(
                f"SELECT t.{idc} AS id FROM typed t JOIN _existing e ON e.id = t.{idc} "
                f"WHERE e.stub AND e.row_hash <> t.row_hash"
            ).column("id").combine_chunks()
        present = self.drop_where(
            f"{idc} IN (SELECT e.id FROM _existing e JOIN typed t ON e.id = t.{idc} "
            f"WHERE e.row_hash = t.row_hash)"
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
