"""The calendar rules of date and cadence triggers, with hand-computed days."""

from __future__ import annotations

from datetime import date

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.playbooks import dates as d


def _calendar(country: str, year: int) -> dict[date, list[str]]:
    cal = holidays.country_holidays(country, years=year, language="en_US")
    return {day: cal.get_list(day) for day in cal}


def test_estonian_victory_day_is_23_june() -> None:
    assert d.holiday_on("victory_day", 2027, _calendar("EE", 2027)) == date(2027, 6, 23)


def test_russian_defender_of_the_fatherland_day_is_23_february() -> None:
    cal = _calendar("RU", 2027)
    assert d.holiday_on("Defender of the Fatherland Day", 2027, cal) == date(2027, 2, 23)
    assert d.holiday_on("defender_day", 2027, cal) == date(2027, 2, 23)  # the alias


def test_new_year_is_1_january_even_where_the_library_spans_a_week() -> None:
    # the library names 1-8 January "New Year Holidays" in Russia: new_year is the 1st
    assert d.holiday_on("new_year", 2027, _calendar("RU", 2027)) == date(2027, 1, 1)
    assert d.holiday_on("new_year", 2027, {}) == date(2027, 1, 1)


def test_new_year_three_days_before_fires_on_29_december_of_the_year_before() -> None:
    trigger_day = date(2026, 12, 29)
    base = d.base_day(trigger_day, -3)
    assert base == date(2027, 1, 1)
    assert d.holiday_on("new_year", base.year, {}) == base
    # and on the 28th it stands for 31 December, which is no new year
    assert d.base_day(date(2026, 12, 28), -3) == date(2026, 12, 31)


def test_an_unknown_or_foreign_holiday_is_on_no_day() -> None:
    assert d.holiday_on("midsummer", 2027, _calendar("RU", 2027)) is None
    assert d.holiday_on("midsummer", 2027, _calendar("EE", 2027)) == date(2027, 6, 24)
    assert d.holiday_on("victory day (observed)", 2027, {}) is None


def test_holiday_names_compare_without_case_apostrophes_or_underscores() -> None:
    assert d.holiday_key("New Year's Day") == d.holiday_key("new_years_day") == "new years day"


def test_29_february_is_kept_on_28_february_in_a_common_year() -> None:
    assert d.on_year(2027, 2, 29) == date(2027, 2, 28)
    assert d.on_year(2028, 2, 29) == date(2028, 2, 29)
    assert d.codes_on(date(2027, 2, 28)) == (228, 229)
    assert d.codes_on(date(2028, 2, 28)) == (228,)
    assert d.codes_on(date(2028, 2, 29)) == (229,)


@pytest.mark.parametrize(("text", "parsed"), [
    ("2011-05-17", (2011, 5, 17)), ("05-07", (None, 5, 7)), ("02-29", (None, 2, 29)),
    ("2011-02-29", None), ("13-01", None), ("soon", None), ("", None),
])
def test_attribute_days_are_full_dates_or_month_and_day(text: str,
                                                        parsed: tuple[int | None, int, int] | None
                                                        ) -> None:
    assert d.parse_day(text) == parsed


def test_days_after_a_cursor_are_the_days_since_and_a_first_pass_only_today() -> None:
    assert d.days_after(date(2027, 3, 1), date(2027, 3, 3)) == [date(2027, 3, 2),
                                                                  date(2027, 3, 3)]
    assert d.days_after(None, date(2027, 3, 3)) == [date(2027, 3, 3)]
    assert d.days_after(date(2027, 3, 3), date(2027, 3, 3)) == []
    capped = d.days_after(date(2020, 1, 1), date(2027, 3, 3), cap=10)
    assert capped[0] == date(2027, 2, 22) and capped[-1] == date(2027, 3, 3)


def test_a_quarter_fires_on_its_first_day_and_offset_days_into_it() -> None:
    assert d.cadence_days("quarter", 0, date(2026, 12, 31), date(2027, 1, 1)) == [
        ("2027Q1", date(2027, 1, 1))]
    assert d.cadence_days("quarter", 14, date(2027, 1, 1), date(2027, 4, 30)) == [
        ("2027Q1", date(2027, 1, 15)), ("2027Q2", date(2027, 4, 15))]
    assert d.cadence_days("quarter", 0, date(2027, 1, 1), date(2027, 3, 31)) == []


def test_a_negative_offset_fires_before_the_period_starts() -> None:
    assert d.cadence_days("year", -3, date(2026, 12, 27), date(2026, 12, 31)) == [
        ("2027", date(2026, 12, 29))]


def test_weeks_are_iso_weeks_from_monday_and_months_are_named_by_number() -> None:
    # 4 January 2027 is a Monday, the first day of ISO week 1
    assert d.cadence_days("week", 0, date(2027, 1, 1), date(2027, 1, 10)) == [
        ("2027W01", date(2027, 1, 4))]
    assert d.cadence_days("month", 6, date(2027, 1, 31), date(2027, 3, 10)) == [
        ("2027-02", date(2027, 2, 7)), ("2027-03", date(2027, 3, 7))]


@given(st.sampled_from(["week", "month", "quarter", "year"]), st.integers(-40, 40),
       st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(1, 120), st.integers(1, 60))
def test_consecutive_passes_fire_each_period_once(every: str, offset: int, start: date,
                                                  span: int, step: int) -> None:
    # the same days walked in one pass or in many give the same occurrences, none twice
    from datetime import timedelta

    end = start + timedelta(days=span)
    whole = d.cadence_days(every, offset, start, end)
    pieces: list[tuple[str, date]] = []
    at = start
    while at < end:
        nxt = min(at + timedelta(days=step), end)
        pieces += d.cadence_days(every, offset, at, nxt)
        at = nxt
    assert pieces == whole
    assert len({label for label, _ in whole}) == len(whole)


@pytest.mark.parametrize(("attributes", "country"), [
    ("country=ee", "EE"), ("vip; Country = Eesti ;disc=D", "EE"), ("country=Россия", "RU"),
    ("disc=D", "LV"), (None, "LV"), ("country=", "LV"),
])
def test_a_customers_country_is_a_code_from_the_attributes_or_the_business(
        attributes: str | None, country: str) -> None:
    from regulars.services.playbooks.feed import country_of

    assert country_of(attributes, "lv") == country
