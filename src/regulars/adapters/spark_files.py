"""Input files Spark reads itself (``s3a://``, ``abfss://``, ``hdfs://``, ``file://``, …): read
by the executors, checked there, never passed through the driver.

A file on such a path is in the machine form of the input contract (docs/input-format.md):
the contract's column names (any case), Parquet with its own types or CSV with a header,
ISO dates and times, a dot as the decimal separator. What the import's reader does beyond that
(header synonyms, date formats, currency signs, merging customer cards by contact) needs the
file on the driver; such a file is read from a local path instead.

The checks are the import's rules of one value and of one table: every required column
present, every value of its column's type, required values given, amounts not negative,
choices among the allowed ones, no id twice. A distributed read has no row numbers: a problem
names the file (the part Spark read it from), the column, the value and the row's id (or its
first columns) instead.
"""

from __future__ import annotations

import re
from typing import Any

from regulars.domain.errors import AnalysisError, Problem, RejectedFileError
from regulars.domain.tables import SPECS, ColumnType, Kind, TableSpec
from regulars.i18n import _, fmt_number, ngettext

SPARK_TYPES = {
    ColumnType.ID: "string",
    ColumnType.TEXT: "string",
    ColumnType.LIST: "string",
    ColumnType.TIMESTAMP: "timestamp",
    ColumnType.DATE: "date",
    ColumnType.MONEY: "decimal(18,4)",
    ColumnType.INTEGER: "bigint",
    ColumnType.BOOLEAN: "boolean",
}
"""The contract's types on Spark (those the import's DuckDB staging gives)."""

_CSV = re.compile(r"\.(csv|tsv|txt)(\.(gz|bz2|zst|zstd|deflate))?/?$", re.IGNORECASE)


def file_format(uri: str) -> str:
    """``csv`` for a path ending in ``.csv``, ``.tsv`` or ``.txt`` (compressed or not), else
    ``parquet`` (a ``.parquet`` file or a directory of parts)."""
    return "csv" if _CSV.search(uri) else "parquet"


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _lit(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def read_checked(session: Any, kind: Kind, uri: str, *, max_problems: int) -> Any:
    """The table of ``kind`` at ``uri`` as a Spark DataFrame with the contract's columns and
    types, checked on the executors, and persisted (the caller unpersists it when done).

    Raises :class:`RejectedFileError` naming the file, column, value and row id of the first
    ``max_problems`` problems (and how many there are), or :class:`AnalysisError` when Spark
    cannot read the path at all."""
    spec = SPECS[kind]
    fmt = file_format(uri)
    try:
        reader = session.read
        if fmt == "csv":
            # every value as text: the types are the contract's, checked below
            raw = reader.option("header", "true").option("sep", _sniff_sep(session, uri)
                                                         ).csv(uri)
        else:
            raw = reader.parquet(uri)
        columns = list(raw.columns)
    except Exception as e:  # AnalysisException (no such path, not Parquet), a file system's
        raise AnalysisError(_("Spark cannot read {path}: {err}").format(
            path=uri, err=_first_line(e))) from e
    by_lower = {c.strip().lower(): c for c in columns}
    for col in spec.columns:
        if col.required and col.name not in by_lower and not (
                col.name == spec.id_column and spec.derived_id):
            raise RejectedFileError(uri, [Problem(0, col.name, None, _("missing"))], 1, _(
                "{path}: required column '{col}' is missing (the file has: {cols})").format(
                    path=uri, col=col.name, cols=", ".join(columns)))
    raw.createOrReplaceTempView("_regulars_raw")
    typed, checks = _typed_select(spec, by_lower, fmt)
    staged = session.sql(
        f"SELECT *, input_file_name() AS _file FROM (SELECT {typed} FROM _regulars_raw)")
    problems, total = _problems(session, spec, staged, checks, by_lower, max_problems)
    session.catalog.dropTempView("_regulars_raw")
    if total:
        raise RejectedFileError(uri, problems, total, _message(uri, problems, total))
    # kept (in memory, then on the executors' disks) once the first query has read it: the
    # analysis reads the table many times and would otherwise read and parse the files again
    return staged.select(*[_q(c.name) for c in spec.columns]).persist()


def _sniff_sep(session: Any, uri: str) -> str:
    """The separator the header line uses most of: tab, ``;`` (a spreadsheet's export in a
    comma-decimal locale) or ``,``."""
    head = session.read.text(uri).limit(1).collect()
    line = head[0][0] if head else ""
    return max((",", ";", "\t"), key=line.count)


def _typed_select(spec: TableSpec, by_lower: dict[str, str], fmt: str
                  ) -> tuple[str, list[tuple[str, str, str]]]:
    """The SELECT list giving each contract column its type (``try_cast``: null where the value
    is not of it) and its source text (``_src_<name>``), and the checks: (column, condition of
    a bad row, what is wrong)."""
    cols: list[str] = []
    checks: list[tuple[str, str, str]] = []
    for col in spec.columns:
        target = SPARK_TYPES[col.type]
        src = by_lower.get(col.name)
        if src is None:
            if col.name == spec.id_column and spec.derived_id:
                # an id from the row's content, stable across reads of the same file
                parts = ", ".join(f"coalesce(cast({_q(c)} AS string), '')"
                                  for c in by_lower.values())
                cols.append(f"sha2(concat_ws('\\u001f', {parts}), 256) AS {_q(col.name)}")
            else:
                cols.append(f"CAST(NULL AS {target}) AS {_q(col.name)}")
            cols.append(f"CAST(NULL AS string) AS {_q('_src_' + col.name)}")
            continue
        text = f"trim(CAST({_q(src)} AS string))"
        given = f"nullif({text}, '')"
        if col.type is ColumnType.BOOLEAN:
            value = (f"CASE WHEN lower({given}) IN ('1','true','t','yes','y') THEN true "
                     f"WHEN lower({given}) IN ('0','false','f','no','n') THEN false END")
        elif col.type in (ColumnType.ID, ColumnType.TEXT, ColumnType.LIST):
            value = given
        elif fmt == "parquet" and col.type is not ColumnType.MONEY:
            value = f"try_cast({_q(src)} AS {target})"
        else:
            value = f"try_cast({given} AS {target})"
        cols.append(f"{value} AS {_q(col.name)}")
        cols.append(f"{given} AS {_q('_src_' + col.name)}")
        name, source = _q(col.name), _q("_src_" + col.name)
        checks.append((col.name, f"{source} IS NOT NULL AND {name} IS NULL",
                       _("not a {type}").format(type=col.type.value)))
        if col.required:
            checks.append((col.name, f"{source} IS NULL", _("a value is required")))
        if col.non_negative:
            checks.append((col.name, f"{name} < 0", _("must not be negative")))
        if col.choices:
            allowed = ", ".join(_lit(c) for c in col.choices)
            checks.append((col.name, f"{name} IS NOT NULL AND lower({name}) NOT IN ({allowed})",
                           _("must be one of: {choices}").format(
                               choices=", ".join(col.choices))))
    return ", ".join(cols), checks


def _problems(session: Any, spec: TableSpec, staged: Any, checks: list[tuple[str, str, str]],
              by_lower: dict[str, str], limit: int) -> tuple[list[Problem], int]:
    """The first ``limit`` problems of the checks (in file and id order) and how many there
    are, duplicate ids included: one pass over the table for all the checks."""
    staged.createOrReplaceTempView("_regulars_staged")
    id_col = _q(spec.id_column)
    # the row's id: its id column's value, else its first column's
    key = (f"_src_{spec.id_column}" if spec.id_column in by_lower
           else "_src_" + next(c.name for c in spec.columns if c.name in by_lower))
    # every check of a row in one array, the failed ones exploded: one scan for all checks
    items = ", ".join(
        f"named_struct('col', {_lit(name)}, 'value', CAST({_q('_src_' + name)} AS string), "
        f"'what', {_lit(what)}, 'bad', coalesce({cond}, false))"
        for name, cond, what in checks)
    # the array only for the rows with a problem: a good row is one filter
    any_bad = " OR ".join(f"coalesce({cond}, false)" for _name, cond, _what in checks)
    per_row = (f"SELECT _file, row_key, p.col AS col, p.value AS value, p.what AS what FROM ("
               f"SELECT _file, CAST({_q(key)} AS string) AS row_key, "
               f"filter(array({items}), x -> x.bad) AS ps FROM _regulars_staged "
               f"WHERE {any_bad or 'false'}) LATERAL VIEW explode(ps) e AS p")
    dup = (f"SELECT min(_file) AS _file, {id_col} AS row_key, {_lit(spec.id_column)} AS col, "
           f"{id_col} AS value, {_lit(_('the id is given more than once'))} AS what "
           f"FROM _regulars_staged WHERE {id_col} IS NOT NULL GROUP BY {id_col} "
           f"HAVING count(*) > 1")
    found = session.sql(f"SELECT * FROM ({per_row} UNION ALL {dup})" if items else dup)
    found = found.cache()
    try:
        total = found.count()
        rows = found.orderBy("_file", "row_key", "col").limit(limit).collect() if total else []
    finally:
        found.unpersist()
        session.catalog.dropTempView("_regulars_staged")
    return [Problem(0, r["col"], r["value"], _where(r["_file"], key, r["row_key"], r["what"]))
            for r in rows], total


def _where(file: str, key: str, row_key: str | None, what: str) -> str:
    return _("{what} (file {file}, the row whose {key} is {value})").format(
        what=what, file=file or "?", key=key.removeprefix("_src_"),
        value="null" if row_key is None else repr(row_key))


def _message(uri: str, problems: list[Problem], total: int) -> str:
    head = ngettext("{path}: rejected, {n} problem found; nothing was read",
                    "{path}: rejected, {n} problems found; nothing was read", total).format(
                        path=uri, n=fmt_number(total))
    lines = [head]
    for p in problems:
        value = "" if p.value is None else f" {p.value!r}"
        lines.append("  " + _("column {column}:").format(column=p.column) + f"{value} {p.message}")
    if total > len(problems):
        lines.append(_("  … and {n} more").format(n=fmt_number(total - len(problems))))
    return "\n".join(lines)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
