"""How values are written, in Python and as the SQL that staging runs over whole files: the
SQL quoting of names and literals, money and day formats, the normalised e-mail and phone that
find one person twice, and each limit of ``domain/rules.py`` as a SQL condition."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from regulars.domain.rules import Check, Limit
from regulars.domain.tables import NO_WORDS, YES_WORDS, ColumnType, TableSpec

_TRUE = YES_WORDS
_FALSE = NO_WORDS
_NEVER_BLANK = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "DATE",
                "TIMESTAMP", "TIME", "BOOLEAN")
"""DuckDB types whose values, written as text, are never blank."""
_NULL = "\x00"  # stands for a missing value inside hashed content
_SEP = "\x1f"


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

# the contract's column types as DuckDB types
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


def fingerprint_sql(spec: TableSpec) -> str:
    """``row_hash``: the MD5 of a row's typed content (every column but its id), so that the
    same row always has the same fingerprint, whichever statement computes it."""
    canon = ", ".join(
        f"coalesce(CAST({_q(n)} AS VARCHAR), {_lit(_NULL)})"
        for n in spec.names if n != spec.id_column
    )
    return f"md5(concat_ws({_lit(_SEP)}, {canon}))"
