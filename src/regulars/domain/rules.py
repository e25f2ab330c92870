"""The limits every input row meets, whichever door it comes in by.

A row reaches the store by a file import (checked in SQL, over the whole file, in DuckDB
staging) or by the HTTP API (checked in Python, a few records at a time). Both doors ask
:func:`limits` for the same list of :class:`Limit` values and turn each into their own
condition, so a limit cannot exist on one door and not on the other (a hostile test found an
order dated 9999-12-31 and an amount of 10**12 accepted, which then failed every accrual and
every map; the same rules lived twice, in SQL and in pydantic).

Types and required columns stay with the column contract (:mod:`regulars.domain.tables`); this
module adds what a typed value must also satisfy:

- **dates**: not before ``earliest_date`` (1900-01-01); a fact that happened (an order, a
  return, a payment, an interaction, feedback, a referral, a card's creation) not more than
  ``future_days`` (1, for time zones ahead of the clock) after today; a birthday the same; a
  due date of an invoice at most ``due_days_ahead`` (3650) after today — payment terms run for
  months, not for centuries, and a due date of 9999 breaks the arithmetic of days late;
- **money**: within ``max_amount`` either side of zero (amounts, discounts and returns are
  also never negative). Where 10**12 broke: the analytics sum money exactly by casting every
  value to ``DECIMAL(18, 6)`` (``analytics._inputs.money_sum``) on DuckDB, PostgreSQL and
  Spark, which holds less than 10**12 — an amount of 10**12 failed ``regulars analyze``, the
  map rebuild and the live map for every customer (the store's ``NUMERIC(18, 4)`` holds up to
  10**14, and float64 in the analytics would have lost the cents only later). A business may
  raise the limit to :data:`AMOUNT_CEILING` (10**11). The default, 10**10, leaves room for
  sums: sums of customers' revenues are taken in ``DECIMAL(38, 6)``, a tier's qualifying spend
  (``NUMERIC(18, 4)``) holds ten thousand orders of the maximum, the points of an order (a
  64-bit integer) hold it times any sane rate, and float64 keeps a customer's revenue exact
  to the cent up to 9 * 10**13 (9,000 orders of the maximum);
- **counts** (quantity, new products): not negative, at most :data:`MAX_COUNT`; NPS 0-10 and
  CSAT 1-5 as the contract says;
- **choices** (an interaction's direction and kind);
- **text**: no NUL character (PostgreSQL text cannot hold one; it gave a 500), ids at most
  :data:`MAX_ID_LENGTH` characters and other text at most :data:`MAX_TEXT_LENGTH`.

Messages are English templates marked with :func:`N_`; whoever shows one translates it first
(``_(limit.template).format(**limit.params)``, or :meth:`Limit.message` with ``_``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import lru_cache

from regulars.domain.tables import ColumnType, TableSpec, When

EARLIEST_DATE = date(1900, 1, 1)
FUTURE_DAYS = 1
DUE_DAYS_AHEAD = 3650
MAX_AMOUNT = Decimal(10) ** 10
AMOUNT_CEILING = Decimal(10) ** 11
"""The largest ``max_amount`` a business may set: a margin (amount - cost, up to twice the
limit) stays under the 10**12 of ``DECIMAL(18, 6)``, and 11 digits and 4 decimals are the 15
significant digits float64 keeps exactly."""
MAX_COUNT = 10**9
MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 10_000

TEXT_TYPES = (ColumnType.ID, ColumnType.TEXT, ColumnType.LIST)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for marked, untranslated text
    """Mark ``message`` for translation without translating it (the domain knows no locale)."""
    return message


@dataclass(frozen=True)
class InputRules:
    """The configurable bounds (``[input]`` in ``regulars.toml``)."""

    earliest_date: date = EARLIEST_DATE
    future_days: int = FUTURE_DAYS
    due_days_ahead: int = DUE_DAYS_AHEAD
    max_amount: Decimal = MAX_AMOUNT

    def __post_init__(self) -> None:
        if not Decimal(0) < self.max_amount <= AMOUNT_CEILING:
            raise ValueError(f"max_amount must be above 0 and at most {AMOUNT_CEILING}")
        if self.future_days < 0 or self.due_days_ahead < 0:
            raise ValueError("future_days and due_days_ahead must not be negative")


class Check(StrEnum):
    REQUIRED = "required"  # a value, not blank (the column contract's required columns)
    AT_LEAST = "at_least"  # value >= bound (a date: its day >= bound)
    AT_MOST = "at_most"  # value <= bound (a date: its day <= bound)
    ONE_OF = "one_of"  # value in bound (a tuple of choices)
    NO_NUL = "no_nul"  # text without the NUL character
    MAX_LENGTH = "max_length"  # text of at most bound characters


Bound = Decimal | int | date | tuple[str, ...] | None


@dataclass(frozen=True)
class Limit:
    """One rule a typed value of ``column`` must satisfy; ``None`` satisfies every rule but
    ``REQUIRED``."""

    column: str
    check: Check
    bound: Bound
    template: str
    params: tuple[tuple[str, str], ...] = ()

    def broken_by(self, value: object) -> bool:
        """Whether ``value`` (typed as the store keeps it) breaks this limit."""
        if self.check is Check.REQUIRED:
            return value is None or (isinstance(value, str) and not value.strip())
        if value is None:
            return False
        b = self.bound
        if self.check is Check.NO_NUL:
            return "\x00" in str(value)
        if self.check is Check.MAX_LENGTH:
            return isinstance(b, int) and len(str(value)) > b
        if self.check is Check.ONE_OF:
            return isinstance(b, tuple) and value not in b
        if isinstance(b, date):
            day = value.date() if isinstance(value, datetime) else value
            if not isinstance(day, date):
                return False
            return day < b if self.check is Check.AT_LEAST else day > b
        if isinstance(b, int | Decimal) and isinstance(value, int | Decimal | float):
            return value < b if self.check is Check.AT_LEAST else value > b
        return False

    def message(self, translate: Callable[[str], str] = N_) -> str:
        return translate(self.template).format(**dict(self.params))


def _p(**params: object) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in params.items())


def today() -> date:
    """The day the date window counts from: today in UTC. Every door asks this one function
    (at the moment it checks), so a file and a request checked together count from one day."""
    return datetime.now(UTC).date()


# over 60 lines, one piece: the table of every column's limits, one entry after another
@lru_cache(maxsize=64)
def limits(spec: TableSpec, rules: InputRules, today: date) -> tuple[Limit, ...]:
    """Every limit of ``spec``'s columns, with the date window counted from ``today``.

    Kept per table, rules and day: the HTTP door asks for them once per record, twice (the
    request model and the ingest), and building them was ~40 µs each, a fifth of a batch's
    time per order; the answer is a tuple of frozen limits, the same for the same day."""
    out: list[Limit] = []
    table = spec.kind.value
    ahead = today + timedelta(days=rules.future_days)
    for col in spec.columns:
        name, typ = col.name, col.type
        if col.required:
            out.append(Limit(name, Check.REQUIRED, None, N_("missing value")))
        if typ in TEXT_TYPES:
            out.append(Limit(name, Check.NO_NUL, None,
                             N_("contains a NUL character, which text cannot hold")))
            longest = MAX_ID_LENGTH if typ is ColumnType.ID else MAX_TEXT_LENGTH
            out.append(Limit(name, Check.MAX_LENGTH, longest,
                             N_("longer than {n} characters"), _p(n=longest)))
        if col.choices:
            out.append(Limit(name, Check.ONE_OF, col.choices, N_("must be one of: {choices}"),
                             _p(choices=", ".join(col.choices))))
        if typ in (ColumnType.TIMESTAMP, ColumnType.DATE):
            out.append(Limit(
                name, Check.AT_LEAST, rules.earliest_date,
                N_("before {bound}: dates of {table} cannot be earlier (input.earliest_date)"),
                _p(bound=rules.earliest_date.isoformat(), table=table)))
            if col.when is When.DUE:
                last = today + timedelta(days=rules.due_days_ahead)
                out.append(Limit(
                    name, Check.AT_MOST, last,
                    N_("after {bound}: a due date cannot be more than {days} days ahead "
                       "(input.due_days_ahead)"),
                    _p(bound=last.isoformat(), days=rules.due_days_ahead)))
            elif col.when is When.BORN:
                out.append(Limit(name, Check.AT_MOST, ahead,
                                 N_("after {bound}: a birthday cannot be in the future"),
                                 _p(bound=ahead.isoformat())))
            else:
                out.append(Limit(name, Check.AT_MOST, ahead,
                                 N_("after {bound}: dates of {table} cannot be in the future"),
                                 _p(bound=ahead.isoformat(), table=table)))
        if typ is ColumnType.MONEY:
            top = rules.max_amount
            if col.non_negative:
                out.append(Limit(name, Check.AT_LEAST, Decimal(0), N_("negative amount")))
            else:
                out.append(Limit(name, Check.AT_LEAST, -top,
                                 N_("less than {bound}: amounts cannot be below it "
                                    "(input.max_amount)"), _p(bound=_plain(-top))))
            out.append(Limit(name, Check.AT_MOST, top,
                             N_("more than {bound}: amounts cannot exceed it "
                                "(input.max_amount)"), _p(bound=_plain(top))))
        if typ is ColumnType.INTEGER:
            if col.min_value is not None and col.max_value is not None:
                between = N_("must be between {lo} and {hi}")
                params = _p(lo=col.min_value, hi=col.max_value)
                out.append(Limit(name, Check.AT_LEAST, col.min_value, between, params))
                out.append(Limit(name, Check.AT_MOST, col.max_value, between, params))
            else:
                if col.non_negative:
                    out.append(Limit(name, Check.AT_LEAST, 0, N_("negative number")))
                out.append(Limit(name, Check.AT_MOST, MAX_COUNT,
                                 N_("more than {bound}: counts cannot exceed it"),
                                 _p(bound=MAX_COUNT)))
    return tuple(out)


def _plain(value: Decimal) -> str:
    """A bound as people write it: 10000000000, not 1E+10."""
    return format(value.normalize(), "f")


def broken(row: Mapping[str, object], rules: Iterable[Limit]) -> list[Limit]:
    """The limits ``row`` (a mapping of typed values) breaks, in the order given."""
    return [lim for lim in rules if lim.broken_by(row.get(lim.column))]


# -- returns never more than what is left of their order ---------------------------------------

RETURN_TOO_LARGE = N_("more than what is left of order {order}: its amount is {amount} and "
                      "{left} is left to return")


def returns_beyond(order_amount: Decimal, already_returned: Decimal,
                   amounts: Iterable[Decimal]) -> list[tuple[int, Decimal]]:
    """The returns (by position) that take an order past its amount, and what was left for
    each, given the returns already recorded and these new ones in the order they arrive.

    Every new return counts towards the ones after it, refused or not: a file or request is
    taken whole or not at all, so the verdict on each row is the same as if all went in.
    """
    out: list[tuple[int, Decimal]] = []
    used = already_returned
    for i, amount in enumerate(amounts):
        if used + amount > order_amount:
            out.append((i, max(order_amount - used, Decimal(0))))
        used += amount
    return out


def money_text(value: Decimal) -> str:
    """An amount as messages show it: at least two places, at most the four stored."""
    text = f"{value.quantize(Decimal('0.0001'), ROUND_HALF_UP):f}"  # as DuckDB's CAST
    head, _dot, tail = text.partition(".")
    return f"{head}.{tail.rstrip('0').ljust(2, '0')}"
