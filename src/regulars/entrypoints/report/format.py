"""How the report writes numbers, money and dates: one place, so every section (and the
backtest) shows a share, an amount or a day the same way, in the page's language through
:mod:`regulars.i18n` (``2 571 769``, ``25,6 %``, ``1 234,50 €``, ``31.12.2025`` in ru). A
missing value is a dash.

Two small formats :mod:`regulars.i18n` does not have live here: :func:`signed` (a score with
its sign) and :func:`sig` (a model's estimate to a few significant digits); :func:`month`
writes a cohort's ``YYYY-MM`` as the language's short month and year.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import get_decimal_symbol, get_minus_sign_symbol

from regulars.i18n import DASH, current_language, fmt_date, fmt_money, fmt_number, fmt_percent

__all__ = ["day", "money", "month", "num", "pct", "pct0", "sig", "signed"]


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``0.256`` -> ``25.6%`` (en), ``25,6 %`` (ru)."""
    return fmt_percent(value, digits)


def pct0(value: float) -> str:
    """A share as a whole percentage, for axes and thresholds: ``0.2`` -> ``20%``."""
    return fmt_percent(value, 0)


def num(value: float | None, digits: int = 0) -> str:
    """A count or a figure with the language's separators: ``2,571,769``, ``2 571 769``."""
    return fmt_number(value, digits)


def money(value: float | None, currency: str | None, digits: int | None = None) -> str:
    """An amount in the business's currency (a plain number without one)."""
    return fmt_money(value, currency, digits)


def signed(value: float | None) -> str:
    """A score that may be negative (NPS), always with its sign: ``+30.0``, ``−12,5``."""
    if value is None or math.isnan(value):
        return DASH
    text = fmt_number(value, 1)
    return "+" + text if value > 0 else text


def sig(value: float | None, digits: int = 4) -> str:
    """A model's estimate to ``digits`` significant digits, with the language's decimal sign."""
    if value is None or math.isnan(value):
        return DASH
    lang = current_language()
    text = f"{value:.{digits}g}"
    mantissa, e, exponent = text.partition("e")
    mantissa = mantissa.replace("-", get_minus_sign_symbol(lang)).replace(
        ".", get_decimal_symbol(lang))
    return mantissa + (f"×10^{int(exponent)}" if e else "")


def day(value: date | datetime) -> str:
    """The day of a date or a moment: ``31.12.2025`` (ru, et), ``Dec 31, 2025`` (en)."""
    return fmt_date(value)


def month(value: str) -> str:
    """A month written ``YYYY-MM`` (a cohort) as the language's short month: ``Oct 2024``,
    ``окт. 2024``; anything else is shown as it is."""
    try:
        first = date.fromisoformat(value + "-01")
    except ValueError:
        return value
    return format_date(first, "LLL yyyy", locale=current_language())
