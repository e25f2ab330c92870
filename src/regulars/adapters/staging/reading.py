"""Reading a file into the staging table ``raw`` (CSV, TSV, whitespace-aligned, Parquet,
JSON lines; any encoding made UTF-8 first), and matching its headers to the contract's columns."""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from regulars.adapters.staging.base import StagingBase
from regulars.adapters.staging.detect import (
    ReadOptions,
    detect_encoding,
    detect_format,
    sniff_delimiter,
)
from regulars.adapters.staging.text import _lit, _q
from regulars.domain.errors import FileFormatError, MissingColumnError
from regulars.domain.headers import BASE_DOCUMENT, HEADERS, header_key
from regulars.domain.tables import Kind, TableSpec
from regulars.i18n import _

_FILE = "_raw_file"
"""The table a delimited file is read into; ``raw`` is then a view numbering its rows."""


class Reading(StagingBase):
    """Reading and header matching."""

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
        # no row_number() OVER () here: that window makes DuckDB read the file on one thread
        # (twice the time at ten million rows). DuckDB keeps insertion order, so the table's
        # rowid + 1 is the row's number in the file; ``raw`` is a view that says so.
        self.con.execute(
            f"CREATE TABLE {_FILE} AS SELECT * FROM read_csv({src}, {', '.join(args)})")
        own = [r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
            [_FILE]).fetchall()]
        if any(c.lower() == "rowid" for c in own):
            # a column of the file's own named rowid hides DuckDB's: number the slow way
            self.con.execute(
                f"CREATE TABLE raw AS SELECT row_number() OVER () AS _row, "
                f"row_number() OVER () + {int(header)} AS _line, * FROM {_FILE}")
            self.con.execute(f"DROP TABLE {_FILE}")
            return
        self.con.execute(
            f"CREATE VIEW raw AS SELECT rowid + 1 AS _row, rowid + {1 + int(header)} AS _line, "
            f"* FROM {_FILE}")

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

