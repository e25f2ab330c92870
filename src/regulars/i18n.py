"""The one place user-facing text, numbers, money and dates go through.

Every sentence a person reads (CLI output, error reports, evidence, the report, API problem
details, later the web pages and e-mail) is wrapped in ``_()`` (or ``ngettext()`` where a count
decides the form) and every number, amount, share and day a person reads is written by one of the
``fmt_*`` functions here, in the reader's language, through Babel and the gettext catalogues in
``locale/<lang>/LC_MESSAGES/regulars.po`` (``scripts/i18n`` extracts, updates and compiles them).

**The language is chosen per use, not per process.** :func:`use_language` sets it for a block
(an HTTP request, a report being written) in a context variable, so two requests in different
languages served at the same time never mix; outside such a block the language comes from
``REGULARS_LANG`` (the CLI's ``--lang`` sets it), then the usual ``LANGUAGE``/``LC_ALL``/``LANG``,
and English when none names a language regulars speaks::

    with use_language("ru"):
        _("lost")                      # 'потерян'
        fmt_number(2571769)            # '2 571 769' (no-break spaces)
        fmt_money(1234.5, "EUR")       # '1 234,50 €'

Machine-readable output (``--out`` files, JSON, evidence codes) never goes through here.
"""

from __future__ import annotations

import gettext
import math
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as _babel_date
from babel.dates import get_date_format, get_day_names
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "_",
    "current_language",
    "fmt_date",
    "fmt_days",
    "fmt_days_ago",
    "fmt_list",
    "fmt_money",
    "fmt_month",
    "fmt_number",
    "fmt_percent",
    "fmt_weekday",
    "language_from_accept",
    "ngettext",
    "normalise_language",
    "use_language",
]

DOMAIN = "regulars"
LOCALE_DIR = Path(__file__).parent / "locale"
#: The languages regulars speaks: the source articles' two and English.
LANGUAGES: tuple[str, ...] = ("en", "ru", "et")
DEFAULT_LANGUAGE = "en"
#: What a reader sees where there is no value.
DASH = "—"

_language: ContextVar[str | None] = ContextVar("regulars_language", default=None)


def normalise_language(tag: str | None) -> str | None:
    """``'ru_RU.UTF-8'``, ``'et-EE'``, ``'RU'`` -> the language regulars speaks, or None."""
    if not tag:
        return None
    code = re.split(r"[-_.@:]", tag.strip().lower(), maxsplit=1)[0]
    return code if code in LANGUAGES else None


def _from_environment() -> str:
    for var in ("REGULARS_LANG", "LANGUAGE", "LC_ALL", "LANG"):
        value = os.environ.get(var)
        if not value:
            continue
        # LANGUAGE may list several, in order of preference: "et:ru:en"
        for part in value.split(":"):
            lang = normalise_language(part)
            if lang:
                return lang
        if var == "REGULARS_LANG":
            # asked for explicitly but not spoken: English rather than the next variable
            return DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def current_language() -> str:
    """The language of the text being written now: the block's, else the environment's."""
    return _language.get() or _from_environment()


@contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Write everything inside the block in ``lang`` (None or unknown: the language already in
    effect, the enclosing block's or the environment's)."""
    chosen = normalise_language(lang) or current_language()
    token = _language.set(chosen)
    try:
        yield chosen
    finally:
        _language.reset(token)


def language_from_accept(header: str | None) -> str | None:
    """The best language regulars speaks in an HTTP ``Accept-Language`` header, or None.

    ``'et-EE,et;q=0.9,ru;q=0.8,en;q=0.5'`` -> ``'et'``; a ``q=0`` excludes a language.
    """
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = normalise_language(tag)
        if lang and quality > 0:
            ranked.append((-quality, index, lang))
    return min(ranked)[2] if ranked else None


@cache
def _translation(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE:
        # the source text is English; the en catalogue only fixes wording, if it has any
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=["en"], fallback=True)
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    """``message`` in the current language (the English source where no translation exists)."""
    return _translation(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n``, by the language's plural rule (ru has three, et and en two).

    ``ngettext("{n} day", "{n} days", n).format(n=fmt_number(n))``
    """
    return _translation(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention Babel extracts by default
    """Mark ``message`` for translation without translating it yet (gettext's ``N_``)."""
    return message


# --- numbers, money, dates ------------------------------------------------------------------


@cache
def _locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANGUAGE)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_number(value: float | int | Decimal | None, digits: int = 0) -> str:
    """A count or a figure with the language's separators: ``2 571 769`` (ru, et), ``2,571,769``."""
    if _missing(value):
        return DASH
    assert value is not None
    lang = current_language()
    fast = _fast_digits(value, digits, lang)
    if fast is not None:
        return fast
    return str(_pattern("#,##0" + ("." + "0" * digits if digits > 0 else "")).apply(
        value, _locale(lang)))


def fmt_money(value: float | int | Decimal | None, currency: str | None,
              digits: int | None = None) -> str:
    """An amount in the business's currency: ``1 234,50 €`` (et), ``€1,234.50`` (en).

    ``digits`` None writes the currency's own decimals; 0 writes whole amounts (``1 235 €``).
    Without a currency (none configured, none in the data) it is a plain number.
    """
    if _missing(value):
        return DASH
    assert value is not None
    if not currency:
        return fmt_number(value, 2 if digits is None else digits)
    lang, code = current_language(), currency.upper()
    affixes = _money_affixes(lang, code, digits)
    if affixes is not None:
        fast = _fast_digits(value, affixes[2], lang)
        if fast is not None:
            return affixes[0] + fast + affixes[1]
    return _babel_money(value, code, digits, lang)


def _babel_money(value: float | int | Decimal, code: str, digits: int | None,
                 lang: str) -> str:
    locale = _locale(lang)
    if digits is None:
        return format_currency(value, code, locale=locale)
    pattern = locale.currency_formats["standard"].pattern
    return format_currency(value, code, format=_digits_pattern(pattern, digits),
                           locale=locale, currency_digits=False)


def _digits_pattern(pattern: str, digits: int) -> str:
    """The locale's currency pattern with ``digits`` decimals (0 for whole amounts)."""
    decimals = "." + "0" * digits if digits > 0 else ""
    return re.sub(r"#,##0(\.[0#]+)?", "#,##0" + decimals, pattern, count=1)


def fmt_percent(share: float | None, digits: int = 1) -> str:
    """A share as a percentage: ``0.256`` -> ``25,6 %`` (ru), ``25,6%`` (et), ``25.6%`` (en)."""
    if _missing(share):
        return DASH
    assert share is not None
    lang = current_language()
    prefix, suffix = _percent_affixes(lang, digits)
    if isinstance(share, float) and math.isfinite(share) and share >= 0:
        fast = _fast_digits(share, digits, lang, shift=2)
        if fast is not None:
            return prefix + fast + suffix
    locale = _locale(lang)
    pattern = _digits_pattern(locale.percent_formats[None].pattern, digits)
    return str(_pattern(pattern).apply(share, locale))


# --- the fast paths ---------------------------------------------------------------------------
# Evidence writes millions of sentences with a few numbers each: Babel's formatter parses its
# pattern on every call and then takes ~5 µs a number, as long as the rest of a sentence. The
# patterns are parsed once (``_pattern``), and a non-negative number (the usual case) is written
# by Python's own grouping, with the language's symbols put in and the affixes (``€``, ``%``)
# Babel writes around it for that language, taken once from Babel itself. Rounding is Babel's:
# half to even on the number's decimal text (``repr`` of a float). Negative and non-finite
# numbers, and anything unusual, go through Babel (tests compare the two on many values).


@cache
def _pattern(pattern: str) -> NumberPattern:
    return parse_pattern(pattern)


@cache
def _symbols(lang: str) -> dict[int, str]:
    """``str.translate`` table from Python's ``1,234.5`` to the language's separators."""
    locale = _locale(lang)
    return str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})


def _fast_digits(value: object, digits: int, lang: str, shift: int = 0) -> str | None:
    """``value`` (>= 0) times ``10**shift`` with grouping and ``digits`` decimals in the
    language's symbols, as Babel writes it; None where Babel must write it."""
    if type(value) is int:
        if value < 0:
            return None
        text = f"{value * 10**shift:,}" + ("." + "0" * digits if digits > 0 else "")
    elif type(value) is float:
        if not (value >= 0 and math.isfinite(value)):
            return None
        # Python rounds the float, Babel its decimal text (repr): the two differ by far less
        # than a millionth of the last place kept, so they round alike unless the number is
        # that close to a half, where Babel's way is taken
        scaled = value * 10 ** (digits + shift)
        if scaled < 1e12 and abs(scaled - int(scaled) - 0.5) > 1e-6:
            text = f"{value * 10**shift:,.{digits}f}"
        else:
            text = format(Decimal(repr(value)).scaleb(shift), f",.{digits}f")
    elif isinstance(value, Decimal):
        if not (value.is_finite() and value >= 0):
            return None
        text = format(value.scaleb(shift), f",.{digits}f")
    else:
        return None
    return text.translate(_symbols(lang))


@cache
def _money_affixes(lang: str, code: str, digits: int | None) -> tuple[str, str, int] | None:
    """What Babel writes before and after a positive amount in ``code`` (``"€"``, ``" €"``),
    and the decimals it writes; None where the probe does not show them plainly."""
    probe = _babel_money(1, code, digits, lang)
    for places in (digits,) if digits is not None else range(5):
        number = _fast_digits(1, places, lang)
        assert number is not None
        if probe.count(number) == 1 and not any(
                c.isdigit() for c in probe.replace(number, "")):
            head, _sep, tail = probe.partition(number)
            if _babel_money(1234567.5, code, digits, lang) == head + (
                    _fast_digits(1234567.5, places, lang) or "") + tail:
                return head, tail, places
    return None


@cache
def _percent_affixes(lang: str, digits: int) -> tuple[str, str]:
    locale = _locale(lang)
    pattern = _pattern(_digits_pattern(locale.percent_formats[None].pattern, digits))
    probe = pattern.apply(0.5, locale)
    number = _fast_digits(50, digits, lang) or ""
    head, _sep, tail = probe.partition(number)
    return head, tail


@cache
def _date_pattern(lang: str) -> str:
    if lang == "en":
        return get_date_format("medium", locale=_locale(lang)).pattern  # Dec 31, 2025
    # the short numeric date with the whole year: 31.12.2025 in ru and et
    short = get_date_format("short", locale=_locale(lang)).pattern
    return re.sub(r"y+", "yyyy", short)


def fmt_date(value: date | datetime | None) -> str:
    """A day: ``31.12.2025`` (ru, et), ``Dec 31, 2025`` (en)."""
    if value is None:
        return DASH
    day = value.date() if isinstance(value, datetime) else value
    lang = current_language()
    return _babel_date(day, format=_date_pattern(lang), locale=_locale(lang))


@cache
def _month_pattern(lang: str) -> str:
    return "MMM yyyy" if lang == "en" else "MM.yyyy"  # Mar 2025, 03.2025


def fmt_month(value: date | datetime | None) -> str:
    """A month: ``03.2025`` (ru, et), ``Mar 2025`` (en); numeric where the month's name would
    need a case the sentence decides (``до марта``)."""
    if value is None:
        return DASH
    day = value.date() if isinstance(value, datetime) else value
    lang = current_language()
    return _babel_date(day, format=_month_pattern(lang), locale=_locale(lang))


WEEKDAY_CODES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def fmt_weekday(day: int | str) -> str:
    """A day of the week by its number (0 is Monday) or its English code (``sunday``), in
    the language: ``воскресенье``, ``pühapäev``, ``Sunday``; an unknown code as it is."""
    index = WEEKDAY_CODES.index(day.lower()) if isinstance(day, str) and (
        day.lower() in WEEKDAY_CODES) else day
    if not isinstance(index, int):
        return str(day)
    return str(get_day_names("wide", locale=_locale(current_language()))[index % 7])


def fmt_days(days: float | int | None) -> str:
    """A number of days with its word: ``52 дня``, ``1 päev``, ``5 days``."""
    if _missing(days):
        return DASH
    assert days is not None
    n = round(float(days))
    return ngettext("{n} day", "{n} days", n).format(n=fmt_number(n))


def fmt_days_ago(days: float | int | None) -> str:
    """How long ago, in days: ``52 дня назад``, ``52 päeva tagasi``, ``today``."""
    if _missing(days):
        return DASH
    assert days is not None
    n = round(float(days))
    if n == 0:
        return _("today")
    return ngettext("{n} day ago", "{n} days ago", n).format(n=fmt_number(n))


def fmt_list(items: Sequence[str]) -> str:
    """Items joined the language's way: ``a, b and c`` / ``a, b и c`` / ``a, b ja c``."""
    from babel.lists import format_list

    if not items:
        return ""
    return format_list(list(items), locale=_locale(current_language()))
