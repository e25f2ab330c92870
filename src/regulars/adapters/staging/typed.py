"""Typing and checking a staged file: each column typed from its text (money, days, lists,
yes/no) and every limit of ``domain/rules.py`` checked, in one pass of SQL over the whole file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from regulars.adapters.staging.base import StagingBase
from regulars.adapters.staging.detect import ReadOptions
from regulars.adapters.staging.text import (
    _CURRENCY_CODES,
    _CURRENCY_NOISE,
    _CURRENCY_RE,
    _DATE_FAMILIES,
    _DUCK_TYPES,
    _FALSE,
    _NEVER_BLANK,
    _TRUE,
    _list_sql,
    _lit,
    _money_clean,
    _money_text,
    _q,
    _with_times,
    fingerprint_sql,
    limit_sql,
)
from regulars.domain import rules as domain_rules
from regulars.domain.errors import FileFormatError, Problem
from regulars.domain.rules import Check, Limit, limits
from regulars.domain.tables import ColumnType, TableSpec
from regulars.i18n import _


@dataclass
class Checked:
    """The outcome of reading and validating one file."""

    rows_read: int
    problems: list[Problem]
    total_problems: int
    ignored_columns: list[str]


@dataclass
class _CheckPlan:
    """The SQL of the one pass over ``raw`` that types and checks a file."""

    selects: list[str]
    raw_cols: list[str] = field(default_factory=list)
    joins: list[str] = field(default_factory=list)
    # (our column, SQL condition, message)
    conditions: list[tuple[str, str, str]] = field(default_factory=list)



class Typing(StagingBase):
    """Types the columns of ``raw`` into ``typed`` and records the ``problems``."""

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
        # One piece (a little over 60 lines, a fifth of them this docstring): the vote's SQL,
        # the two samples it reads and the decision on their counts belong together.
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
            if comma:
                return _("not a number (expected 1 234,56)")
            return _("not a number (for 12,50 pass --decimal-comma)")
        if typ is ColumnType.INTEGER:
            return _("not a whole number")
        if typ is ColumnType.BOOLEAN:
            return _("not a yes/no value")
        return _("invalid value")

    def check(self, spec: TableSpec, opts: ReadOptions, *, max_problems: int,
              fingerprint: bool = False) -> Checked:
        """Build the typed table ``typed`` and the table ``problems`` for one file.

        Each check reads a typed value beside its raw one (``_raw_<column>``): one query over
        ``raw`` computes both, stores only the typed values and whether any check failed on
        the row, so that a clean file is typed and checked in one pass, and the raw values are
        read again, per check, only when something is wrong.
        """
        plan = self._check_plan(spec, opts)
        checked = f"(SELECT {', '.join(plan.selects)} FROM raw {' '.join(plan.joins)})"
        drop = plan.raw_cols + (["_width"] if self._ws_width else [])
        keep = f"* EXCLUDE ({', '.join(drop)})" if drop else "*"
        # the one pass: typed values, and whether any check failed on the row
        bad = " OR ".join(f"coalesce({c}, false)" for _n, c, _m in plan.conditions)
        flag = f", ({bad}) AS _bad" if plan.conditions else ""
        # ``fingerprint``: the content's row_hash in the same statement (an import needs it;
        # a second rewrite of the whole table for it cost as much again as the MD5s)
        if fingerprint:
            flag += f", {fingerprint_sql(spec)} AS row_hash"
        self.con.execute(f"CREATE OR REPLACE TABLE typed AS SELECT {keep}{flag} FROM {checked}")
        self.con.execute(
            "CREATE OR REPLACE TABLE problems (_row BIGINT, _line BIGINT, col VARCHAR, "
            "value VARCHAR, message VARCHAR)"
        )
        # the per-check scans run only if something is wrong
        if plan.conditions and self._exists("typed", "_bad"):
            self._record_problems(checked, plan.conditions)
        if plan.conditions:
            self.con.execute("ALTER TABLE typed DROP COLUMN _bad")
        rows = self._count("raw")
        self.drop_raw()
        problems, total = self.problem_list(max_problems)
        return Checked(rows, problems, total, ignored_columns=[])

    def _check_plan(self, spec: TableSpec, opts: ReadOptions) -> _CheckPlan:
        """The one pass's SQL: per column its typed value and raw text, and every check on
        it (a value that does not read as its type; each limit of ``domain/rules.py``)."""
        types = self._source_types()
        by_column: dict[str, list[Limit]] = {}
        for limit in limits(spec, self.rules, self.today or domain_rules.today()):
            by_column.setdefault(limit.column, []).append(limit)
        plan = _CheckPlan(selects=["_row", "_line"])
        for col in spec.columns:
            name = col.name
            if name not in self.source_names:
                default = _lit(opts.currency) if name == "currency" and opts.currency else "NULL"
                plan.selects.append(f"{default} AS {_q(name)}")
                continue
            src = self.source_names[name]
            if col.type is ColumnType.LIST:
                expr, join = self._list_lookup(name, types[src])
                plan.joins.append(join)
            else:
                expr = self._typed_expr(spec, name, types[src], opts)
            if col.choices:
                expr = f"lower({expr})"
            if name == "currency" and opts.currency:
                expr = f"coalesce({expr}, {_lit(opts.currency)})"
            raw = _q("_raw_" + name)
            plan.raw_cols.append(raw)
            plan.selects += [f"{expr} AS {_q(name)}", f"{_q(src)} AS {raw}"]
            typed = _q(name)
            # a number, date or time read as such is present when it is not null (its text is
            # never blank): no need to write every value out as text to know it
            present = (f"{raw} IS NOT NULL" if types[src].startswith(_NEVER_BLANK)
                       else f"nullif(trim(CAST({raw} AS VARCHAR)), '') IS NOT NULL")
            if col.type not in (ColumnType.ID, ColumnType.TEXT, ColumnType.LIST):
                plan.conditions.append(
                    (name, f"{present} AND {typed} IS NULL", self._problem_message(col.type, opts))
                )
            for limit in by_column.get(name, ()):
                # a required value is judged on the raw text (blank is missing), the
                # others on the typed value
                cond = f"NOT ({present})" if limit.check is Check.REQUIRED else limit_sql(
                    limit, typed)
                plan.conditions.append((name, cond, limit.message(_)))
        if self._ws_width:
            # a whitespace line with more fields than the header names
            plan.conditions.append(
                ("", f"_width > {self._ws_width}",
                 _("more fields than columns ({n})").format(n=self._ws_width))
            )
            plan.selects.append("_width")
        return plan

    def _record_problems(self, checked: str, conditions: list[tuple[str, str, str]]) -> None:
        """One scan per check of the rows it fails, with their raw values."""
        for name, cond, msg in conditions:
            src = self.source_names.get(name, name)
            label = src if src == name else f"{src} ({name})"
            value = f"CAST({_q('_raw_' + name)} AS VARCHAR)" if name else "NULL"
            self.add_problems(
                f"SELECT _row, _line, {_lit(label)}, {value}, {_lit(msg)} FROM {checked} "
                f"WHERE {cond}"
            )





def typed_table(staging: StagingBase, spec: TableSpec) -> pa.Table:
    """The validated rows of the staged file, with the contract's columns and types."""
    casts = ", ".join(f"CAST({_q(n)} AS {_DUCK_TYPES[spec.column(n).type]}) AS {_q(n)}"
                      for n in spec.names)
    return staging.query(f"SELECT {casts} FROM typed ORDER BY _row")
