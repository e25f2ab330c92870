"""What a person typed that is a phone number (the customer list's search, the till's lookup):
one rule, so the two pages agree on what they take for a phone."""

from __future__ import annotations

import re

_TYPED = re.compile(r"^\+?[0-9\s()./-]{1,32}$")


def typed_phone_digits(text: str | None, min_digits: int) -> str | None:
    """The digits of ``text`` when it looks like a phone number as people type one (digits,
    an optional leading ``+``, spaces, brackets, dots, dashes or slashes; at most 32
    characters) with at least ``min_digits`` digits; else None."""
    typed = (text or "").strip()
    if not _TYPED.match(typed):
        return None
    digits = re.sub(r"[^0-9]", "", typed)
    return digits if len(digits) >= min_digits else None
