"""The rules of erasing a person (the right to erasure; docs/http-api.md#privacy).

Erasure clears the person's own free text and rubs out their name, e-mail and phone wherever
else they were written down (notes, audit details, kept responses, webhook payloads, …). What
an occurrence is is decided here: the e-mail in any case, the full name in any case, and the
phone in every way people write one — with or without the country code, ``+`` or ``00``,
spaces, dashes, dots, slashes and brackets between the digits.

``ERASED`` replaces what would identify them: the content fingerprint (``row_hash``) of their
rows, an MD5 of the fields that anyone who guesses an e-mail could recompute and compare, and
the loyalty programme's request fingerprints. A re-import meeting an erased row skips it: the
person stays erased.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

ERASED = "erased"  # the tombstone fingerprint of an erased row
ERASED_TEXT = "(erased)"  # what an occurrence of the person in other text becomes

_SEPARATORS = r"[\s\-.()/+]*"
MIN_PHONE_DIGITS = 6  # shorter digit runs are too common to be this person's phone
MIN_NAME_CHARS = 3


def _phone_digit_runs(phone: str) -> set[str]:
    """The digit strings a phone is written as: as given without leading zeros, and the
    international number with and without 1 to 3 digits of country code."""
    runs: set[str] = set()
    digits = re.sub(r"\D", "", phone)
    if not digits:
        return runs
    runs.add(digits.lstrip("0") or digits)
    runs.add(digits)
    if phone.strip().startswith(("+", "00")):
        bare = digits[2:] if phone.strip().startswith("00") else digits
        runs.add(bare)
        for cc in (1, 2, 3):
            runs.add(bare[cc:])
    return {r for r in runs if len(r) >= MIN_PHONE_DIGITS}


@dataclass(frozen=True)
class Person:
    """What identifies one person in text: their names, e-mails and phones as stored."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()

    @classmethod
    def of(cls, names: Iterable[str | None], emails: Iterable[str | None],
           phones: Iterable[str | None]) -> Person:
        def clean(values: Iterable[str | None]) -> tuple[str, ...]:
            return tuple(sorted({v.strip() for v in values if v and v.strip()}))

        return cls(clean(names), clean(emails), clean(phones))

    def __bool__(self) -> bool:
        return bool(self.names or self.emails or self.phones)

    def pattern(self) -> re.Pattern[str] | None:
        """One regular expression matching every occurrence of the person."""
        parts: list[str] = []
        literals = list(self.emails) + [n for n in self.names
                                               if len(n) >= MIN_NAME_CHARS]
        for text in literals:
            for form in {text, json.dumps(text)[1:-1]}:  # as written, and inside JSON
                parts.append(re.escape(form))
        for phone in self.phones:
            for run in sorted(_phone_digit_runs(phone), key=len, reverse=True):
                parts.append(r"(?<!\d)\(?(?:\+|00)?" + _SEPARATORS.join(run) + r"(?!\d)")
        if not parts:
            return None
        parts.sort(key=len, reverse=True)  # the longest form first: no half-erased number
        return re.compile("|".join(parts), re.IGNORECASE)


def scrub(text: str | None, pattern: re.Pattern[str] | None) -> str | None:
    """``text`` with every occurrence of the person replaced by ``(erased)``."""
    if text is None or pattern is None:
        return text
    return pattern.sub(ERASED_TEXT, text)
