"""Field types shared by the request models: what the OpenAPI document promises is exactly
what the validators accept (schemathesis checks both ways).

pydantic, left to itself, documents a decimal as ``number | string`` with any string, and
accepts a number of seconds for a date-time: a client reading the document could send
``"amount": ""`` and be refused, or ``"at": 0`` and be taken for 1970.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict, WithJsonSchema

from regulars.domain.tables import NO_WORDS, YES_WORDS
from regulars.i18n import _


def _not_a_number(value: Any) -> Any:
    """Dates and moments are ISO 8601 text: a bare number (epoch seconds?) is refused."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise ValueError(_("write the date as ISO 8601 text, e.g. 2026-03-31 or "
                           "2026-03-31T14:05:00Z"))
    return value


Instant = Annotated[datetime, BeforeValidator(_not_a_number)]
"""A moment in a request: ISO 8601 text only."""
Day = Annotated[date, BeforeValidator(_not_a_number)]
"""A calendar day in a request: ISO 8601 text only."""

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day_text(value: Any) -> Any:
    """A day in a query string: YYYY-MM-DD (pydantic would read ``0`` as 1970-01-01)."""
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value.strip()):
        raise ValueError(_("write the day as YYYY-MM-DD, e.g. 2026-03-31"))
    return _not_a_number(value)


QueryDay = Annotated[date, BeforeValidator(_iso_day_text)]
"""A calendar day in a query string: YYYY-MM-DD only."""


Count = Annotated[int, Strict()]
"""A whole number in a request: a JSON integer (``false`` or ``"3"`` are refused, as the
document says)."""
def _yes_no(value: Any) -> Any:
    if isinstance(value, str):
        word = value.strip().lower()
        if word in YES_WORDS:
            return True
        if word in NO_WORDS:
            return False
        raise ValueError(_("write yes or no: true/false, or one of {words}").format(
            words=", ".join(YES_WORDS + NO_WORDS)))
    return value


Flag = Annotated[bool, BeforeValidator(_yes_no), Strict(), WithJsonSchema({"anyOf": [
    {"type": "boolean"},
    {"type": "string", "enum": [w for word in YES_WORDS + NO_WORDS
                                for w in dict.fromkeys((word, word.upper(), word.title()))]}]})]
"""A yes/no of an input row: JSON ``true``/``false``, or the words an import reads (``"да"``,
``"jah"``, ``"1"``…, as text); never a number."""


def _whole(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(_("a number is expected, not true or false"))
    return value


def whole_number(*, ge: int, le: int, description: str | None = None) -> Any:
    """A whole number of an input row: a JSON integer, or its digits as text (exports and
    tills often send every value as text), within ``[ge, le]``; never true/false."""
    schema: dict[str, Any] = {"anyOf": [
        {"type": "integer", "minimum": ge, "maximum": le},
        {"type": "string", "pattern": r"^[+-]?\d{1,16}$" if ge < 0 else r"^\+?\d{1,16}$"}]}
    return Annotated[int, BeforeValidator(_whole),
                     Field(ge=ge, le=le, description=description), WithJsonSchema(schema)]


def _rounded(value: Any) -> Any:
    """A JSON number is a binary fraction: 0.1 + 0.2 arrives as 0.30000000000000004. It is
    read to the store's four places; decimal text is taken exactly (and must fit)."""
    if isinstance(value, float) and math.isfinite(value) and abs(value) < 1e15:
        return Decimal(repr(value)).quantize(Decimal("0.0001"))
    return value  # too large or not a number: the range check names it


def amount_schema(*, ge: Decimal | int, le: Decimal | int, places: int = 4,
                  digits: int = 18) -> WithJsonSchema:
    """The documented form of an amount within ``[ge, le]``: a JSON number, or decimal text
    (``"12.50"``) with no more digits than the store holds and a sign only if it may be
    negative."""
    whole = min(digits - places, len(str(int(max(abs(Decimal(ge)), abs(Decimal(le)))))))
    sign = "[+-]?" if ge < 0 else r"\+?"
    pattern = rf"^{sign}\d{{1,{whole}}}(\.\d{{1,{places}}})?$"
    return WithJsonSchema({"anyOf": [
        {"type": "number", "minimum": float(ge), "maximum": float(le)},
        {"type": "string", "pattern": pattern}]})


def amount_field(*, ge: Decimal | int, le: Decimal | int, places: int = 4, digits: int = 18,
                 description: str | None = None) -> Any:
    """The validation of an amount within ``[ge, le]`` (pair it with :func:`amount_schema`)."""
    return Field(ge=ge, le=le, max_digits=digits, decimal_places=places,
                 description=description)


AMOUNT_NUMBER = BeforeValidator(_rounded)
"""Pair with :func:`amount_field`: JSON numbers read to four places."""


def money(*, ge: Decimal | int, le: Decimal | int, description: str | None = None) -> Any:
    """An amount type built at run time (the ingest models are generated from the contract)."""
    return Annotated[Decimal, AMOUNT_NUMBER, amount_field(ge=ge, le=le, description=description),
                     amount_schema(ge=ge, le=le)]
