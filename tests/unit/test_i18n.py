"""The language per use and the formats a person reads (regulars.i18n), with hand-written
expectations in ru, et and en."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_decimal, format_percent

from regulars import i18n
from regulars.i18n import (
    current_language,
    fmt_date,
    fmt_days,
    fmt_days_ago,
    fmt_list,
    fmt_money,
    fmt_month,
    fmt_number,
    fmt_percent,
    language_from_accept,
    ngettext,
    use_language,
)

NB = "\xa0"


def test_the_suite_reads_english_by_default():
    assert current_language() == "en"
    assert fmt_number(2571769) == "2,571,769"


def test_use_language_nests_and_restores():
    with use_language("ru"):
        assert current_language() == "ru"
        with use_language("et-EE"):
            assert current_language() == "et"
        assert current_language() == "ru"
    assert current_language() == "en"


@pytest.mark.parametrize(("env", "lang"), [
    ({"REGULARS_LANG": "ru"}, "ru"),
    ({"REGULARS_LANG": "", "LANG": "et_EE.UTF-8"}, "et"),
    ({"REGULARS_LANG": "de", "LANG": "ru_RU.UTF-8"}, "en"),  # asked for, not spoken: English
    ({"REGULARS_LANG": "", "LANGUAGE": "de:et:ru"}, "et"),
    ({"REGULARS_LANG": "", "LANG": "C.UTF-8"}, "en"),
])
def test_the_environment_chooses_outside_a_block(monkeypatch, env, lang):
    for var in ("REGULARS_LANG", "LANGUAGE", "LC_ALL", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert current_language() == lang
    with use_language("en"):
        assert current_language() == "en"


@pytest.mark.parametrize(("header", "lang"), [
    ("et-EE,et;q=0.9,ru;q=0.8,en;q=0.5", "et"),
    ("de-DE,ru;q=0.3,et;q=0.7", "et"),
    ("ru;q=0,en;q=0.1", "en"),
    ("fr, de", None),
    ("en;q=0.5, ru", "ru"),
    ("", None),
    (None, None),
    ("ru;q=abc, et;q=0.2", "et"),
])
def test_accept_language_takes_the_best_quality_spoken(header, lang):
    assert language_from_accept(header) == lang


@pytest.mark.parametrize(("lang", "expected"), [
    ("ru", {"number": f"2{NB}571{NB}769", "money": f"1{NB}234,50{NB}€",
            "whole": f"1{NB}235{NB}₽", "percent": f"25,6{NB}%", "date": "31.12.2025",
            "month": "03.2025", "days": ["1 день", "2 дня", "5 дней", "21 день", "112 дней"],
            "ago": "52 дня назад", "today": "сегодня", "list": "a, b и c"}),
    ("et", {"number": f"2{NB}571{NB}769", "money": f"1{NB}234,50{NB}€",
            "whole": f"1{NB}235{NB}RUB", "percent": "25,6%", "date": "31.12.2025",
            "month": "03.2025", "days": ["1 päev", "2 päeva", "5 päeva", "21 päeva", "112 päeva"],
            "ago": "52 päeva tagasi", "today": "täna", "list": "a, b ja c"}),
    ("en", {"number": "2,571,769", "money": "€1,234.50", "whole": "RUB1,235",
            "percent": "25.6%", "date": "Dec 31, 2025", "month": "Mar 2025",
            "days": ["1 day", "2 days", "5 days", "21 days", "112 days"],
            "ago": "52 days ago", "today": "today", "list": "a, b, and c"}),
])
def test_formats_in_each_language(lang, expected):
    with use_language(lang):
        assert fmt_number(2571769) == expected["number"]
        assert fmt_money(1234.5, "EUR") == expected["money"]
        assert fmt_money(1234.6, "rub", 0) == expected["whole"]
        assert fmt_percent(0.256) == expected["percent"]
        assert fmt_date(date(2025, 12, 31)) == expected["date"]
        assert fmt_month(date(2025, 3, 1)) == expected["month"]
        assert [fmt_days(d) for d in (1, 2, 5, 21, 112)] == expected["days"]
        assert fmt_days_ago(52) == expected["ago"]
        assert fmt_days_ago(0) == expected["today"]
        assert fmt_list(["a", "b", "c"]) == expected["list"]
        assert fmt_number(None) == fmt_money(float("nan"), "EUR") == "—"


def test_russian_plural_has_three_forms():
    with use_language("ru"):
        assert [ngettext("{n} day", "{n} days", n).format(n=n) for n in (1, 3, 11, 22, 25)] == [
            "1 день", "3 дня", "11 дней", "22 дня", "25 дней"]


def test_the_fast_formats_write_what_babel_writes():
    """Numbers, amounts and shares go through Python's own grouping with the language's
    symbols (Babel took ~5 us a number): the same text as Babel's, rounding included."""
    rng = random.Random(5)
    values: list[float | int | Decimal] = [0, 1, 999, 1000, 2571769, 2.675, 2.665, 0.125,
                                           0.5, 1.5, 2.5, 99.995, 0.005, Decimal("12.345")]
    values += [rng.random() * 10 ** rng.randint(0, 9) for _ in range(600)]
    values += [round(rng.random() * 1000, rng.randint(0, 4)) for _ in range(600)]
    for lang in ("ru", "et", "en"):
        locale = i18n._locale(lang)
        with use_language(lang):
            for v in values:
                for d in (0, 1, 2):
                    assert fmt_number(v, d) == format_decimal(
                        v, format="#,##0" + ("." + "0" * d if d else ""), locale=locale), (v, d)
                for code in ("EUR", "RUB", "JPY"):
                    for digits in (None, 0):
                        assert fmt_money(v, code, digits) == i18n._babel_money(
                            v, code, digits, lang), (v, code, digits)
                share = float(v) / 1000
                for d in (0, 1):
                    pattern = i18n._digits_pattern(locale.percent_formats[None].pattern, d)
                    assert fmt_percent(share, d) == format_percent(
                        share, format=pattern, locale=locale), (share, d)
            assert fmt_number(-1234.5, 1) == format_decimal(-1234.5, format="#,##0.0",
                                                            locale=locale)


def test_two_threads_in_different_languages_do_not_mix():
    barrier = threading.Barrier(2)
    seen: dict[str, list[str]] = {}

    def work(lang: str) -> None:
        with use_language(lang):
            out = []
            for _ in range(200):
                barrier.wait(timeout=5) if not out else None
                out.append(fmt_days(5) + " " + fmt_number(1234))
            seen[lang] = out

    threads = [threading.Thread(target=work, args=(lang,)) for lang in ("ru", "et")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(seen["ru"]) == {f"5 дней 1{NB}234"}
    assert set(seen["et"]) == {f"5 päeva 1{NB}234"}


def test_two_asyncio_tasks_in_different_languages_do_not_mix():
    async def speak(lang: str) -> list[str]:
        with use_language(lang):
            out = []
            for _ in range(20):
                await asyncio.sleep(0)
                out.append(fmt_days_ago(2))
            return out

    async def both() -> tuple[list[str], list[str]]:
        ru, et = await asyncio.gather(speak("ru"), speak("et"))
        return ru, et

    ru, et = asyncio.run(both())
    assert set(ru) == {"2 дня назад"} and set(et) == {"2 päeva tagasi"}
    assert current_language() == "en"
