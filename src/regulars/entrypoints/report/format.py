"""How the report writes numbers and dates: one place, so every section (and the backtest)
shows a share, an amount or a day the same way. A missing value is a dash."""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["day", "num", "pct", "pct0", "signed"]


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``0.256`` -> ``25.6%``."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def pct0(value: float) -> str:
    """A share as a whole percentage, for axes and thresholds: ``0.2`` -> ``20%``."""
    return f"{value * 100:.0f}%"


def num(value: float | None, digits: int = 0) -> str:
    """A count or an amount with thousands separators."""
    return "—" if value is None else f"{value:,.{digits}f}"


def signed(value: float | None) -> str:
    """A score that may be negative (NPS), always with its sign."""
    return "—" if value is None else f"{value:+.1f}"


def day(value: date | datetime) -> str:
    """The day of a date or a moment, ISO 8601."""
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()
