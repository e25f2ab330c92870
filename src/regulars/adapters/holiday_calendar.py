"""Public holidays from the `holidays` library (the port
:class:`regulars.services.playbooks.feed.HolidayCalendar`): a maintained calendar, so that
moved and new holidays (Russia's substituted days off, Estonia's) need no release of ours."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date

import holidays


class LibraryHolidays:
    """Holidays by country and year, in English (the names playbooks match), cached: a pass
    over 100k customers asks for a handful of (country, year) pairs many times."""

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one calendar per process, kept for it
    def days(self, country: str, year: int) -> Mapping[date, Sequence[str]]:
        try:
            cal = holidays.country_holidays(country.upper(), years=year, language="en_US")
        except NotImplementedError:  # a country the library does not know: no holidays
            return {}
        return {day: tuple(cal.get_list(day)) for day in sorted(cal)}
