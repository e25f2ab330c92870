"""The calendar rules of date and cadence triggers (DOMAIN §9), pure: which day a yearly date
falls on in a given year, which base dates a trigger day stands for, how holidays are named,
and the calendar periods of a cadence.

A date trigger with ``offset_days`` fires on the base date plus the offset (negative: before):
on the trigger day ``d`` it stands for the base date ``d - offset_days``. A yearly date of
29 February is kept on 28 February in a year without one (a customer born on 29 February
hears from the business every year, not every fourth).

Holidays come from the `holidays` library (through an adapter: the domain imports nothing
else); here only how a playbook names them: ``new_year`` is 1 January everywhere (the
library calls the Russian one "New Year Holidays" and spans it over a week), any other name is
matched against the library's English names without case, apostrophes or underscores
(``victory_day`` → "Victory Day"), through :data:`HOLIDAY_ALIASES` for a few short names.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import date, timedelta

MAX_DAYS = 400
"""A pass looks back at most this many days: a feed switched off for years does not replay
them all (a birthday greeting two years late is no greeting)."""

NEW_YEAR = "new_year"

HOLIDAY_ALIASES: dict[str, str] = {
    "christmas": "christmas day",
    "midsummer": "midsummer day",
    "womens day": "international womens day",
    "defender day": "defender of the fatherland day",
    "independence": "independence day",
    "victory": "victory day",
}
"""Short names a playbook may use for a holiday → the library's English name (normalised)."""

_DAY = re.compile(r"^(?:(\d{4})-)?(\d{1,2})-(\d{1,2})$")


def on_year(year: int, month: int, day: int) -> date:
    """The yearly date ``month``-``day`` in ``year``; 29 February → 28 February when ``year``
    has none."""
    if month == 2 and day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def parse_day(text: str) -> tuple[int | None, int, int] | None:
    """``YYYY-MM-DD`` or ``MM-DD`` → (year or None, month, day); None when it is not a day
    (a customer attribute that is not a date is not an error: it is simply not one)."""
    m = _DAY.match(text.strip())
    if m is None:
        return None
    year = int(m.group(1)) if m.group(1) else None
    month, day = int(m.group(2)), int(m.group(3))
    try:
        date(year or 2000, month, day)  # 2000 is leap: 02-29 is a day
    except ValueError:
        return None
    return year, month, day


def month_day(month: int, day: int) -> int:
    """A yearly date as one comparable number (``MMDD``), what date matching compares."""
    return month * 100 + day


def codes_on(base: date) -> tuple[int, ...]:
    """The yearly dates (:func:`month_day`) whose occurrence in ``base``'s year is ``base``:
    itself, and on 28 February of a year without a 29th, the 29th too."""
    code = month_day(base.month, base.day)
    if base.month == 2 and base.day == 28 and not calendar.isleap(base.year):
        return (code, month_day(2, 29))
    return (code,)


def base_day(trigger_day: date, offset_days: int) -> date:
    """The base date a trigger ``offset_days`` after it fires for on ``trigger_day``."""
    return trigger_day - timedelta(days=offset_days)


def days_after(after: date | None, upto: date, *, cap: int = MAX_DAYS) -> list[date]:
    """The days in (``after``, ``upto``], oldest first, at most ``cap`` (the latest); with no
    ``after`` (a first pass) only ``upto``."""
    if after is None or after >= upto:
        return [] if after is not None else [upto]
    first = max(after + timedelta(days=1), upto - timedelta(days=cap - 1))
    return [first + timedelta(days=i) for i in range((upto - first).days + 1)]


# --- holidays -------------------------------------------------------------------------------

def holiday_key(name: str) -> str:
    """A holiday's name as compared: lower case, no apostrophes, words single-spaced
    (``"New Year's Day"`` and ``new_years_day`` both → ``"new years day"``)."""
    text = name.lower().replace("'", "").replace("’", "")
    text = re.sub(r"[\s_\-]+", " ", text).strip()
    return HOLIDAY_ALIASES.get(text, text)


def holiday_on(name: str, year: int, calendar_days: Mapping[date, Iterable[str]]) -> date | None:
    """The day of the holiday ``name`` in ``year``, from one country's calendar of that year
    (day → the library's names of it); its first day when the library lists it on several
    (a holiday spanning days starts once); None when the country has no such holiday."""
    key = holiday_key(name)
    if key == holiday_key(NEW_YEAR):
        return date(year, 1, 1)
    for day in sorted(calendar_days):
        if day.year == year and any(holiday_key(n) == key for n in calendar_days[day]):
            return day
    return None


# --- cadences -------------------------------------------------------------------------------

WEEK, MONTH, QUARTER, YEAR = "week", "month", "quarter", "year"


def period_start(every: str, day: date) -> date:
    """The first day of the calendar period (ISO week from Monday, month, quarter, year) that
    holds ``day``."""
    if every == WEEK:
        return day - timedelta(days=day.weekday())
    if every == MONTH:
        return day.replace(day=1)
    if every == QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if every == YEAR:
        return date(day.year, 1, 1)
    raise ValueError(every)


def next_period(every: str, start: date) -> date:
    if every == WEEK:
        return start + timedelta(days=7)
    months = {MONTH: 1, QUARTER: 3, YEAR: 12}[every]
    m = start.month - 1 + months
    return date(start.year + m // 12, m % 12 + 1, 1)


def period_label(every: str, start: date) -> str:
    """``2027W05``, ``2027-03``, ``2027Q1``, ``2027``: the period's name in entry keys."""
    if every == WEEK:
        iso = start.isocalendar()
        return f"{iso.year}W{iso.week:02d}"
    if every == MONTH:
        return f"{start.year}-{start.month:02d}"
    if every == QUARTER:
        return f"{start.year}Q{(start.month - 1) // 3 + 1}"
    return f"{start.year}"


def cadence_days(every: str, offset_days: int, after: date | None,
                 upto: date) -> list[tuple[str, date]]:
    """(period label, trigger day) of each period whose day ``offset_days`` into it (0: its
    first day) is in (``after``, ``upto``] — with no ``after``, only ``upto`` itself counts."""
    days = days_after(after, upto)
    if not days:
        return []
    first, last = days[0], days[-1]
    out: list[tuple[str, date]] = []
    start = period_start(every, first - timedelta(days=offset_days))
    while start + timedelta(days=offset_days) <= last:
        fire = start + timedelta(days=offset_days)
        if first <= fire <= last:
            out.append((period_label(every, start), fire))
        start = next_period(every, start)
    return out
