"""Codes people type (referral and coupon codes, loyalty card numbers) and seeded prize
draws.

Codes use an alphabet without look-alikes (no 0/O, 1/I/L) and end in a check character, so
that a mistyped code is refused as invalid instead of matching somebody else's.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _check_char(body: str) -> str:
    total = sum((i + 1) * ALPHABET.index(c) for i, c in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_code(length: int = 10, prefix: str = "", rng: random.Random | None = None) -> str:
    """A fresh random code of ``length`` characters (the last one a check character)."""
    choice = rng.choice if rng is not None else secrets.choice
    body = "".join(choice(ALPHABET) for _ in range(length - 1))
    return f"{prefix}{body}{_check_char(body)}"


def normalise_code(text: str) -> str:
    """A code as typed, upper-cased, without spaces or dashes."""
    return "".join(c for c in text.upper() if c.isalnum())


#: A loyalty card's number as kept: 4 to 32 letters and digits (what a card's barcode or a
#: cashier's keyboard gives, without spaces or dashes).
CARD_MIN, CARD_MAX = 4, 32


def normalise_card(text: str) -> str | None:
    """A loyalty card's number as typed or scanned, upper-cased, without spaces, dashes or
    dots; None when it cannot be one (fewer than 4 or more than 32 letters and digits, or
    anything else in it)."""
    kept = "".join(c for c in text.strip().upper() if c not in " -.")
    if not CARD_MIN <= len(kept) <= CARD_MAX or not all(
            c.isascii() and c.isalnum() for c in kept):
        return None
    return kept


def is_well_formed(code: str, prefix: str = "") -> bool:
    """Whether ``code`` could be a code we issued (right alphabet and check character)."""
    if not code.startswith(prefix):
        return False
    body, check = code[len(prefix):-1], code[-1:]
    return bool(body) and all(c in ALPHABET for c in body + check) and _check_char(body) == check


@dataclass(frozen=True)
class Draw:
    """A prize draw: who could win, the seed, and who won — enough to replay it."""

    seed: int
    eligible: int
    eligible_digest: str
    winners: tuple[str, ...]


def draw(eligible: Sequence[str], winners: int, seed: int) -> Draw:
    """Pick ``winners`` of ``eligible`` at random with ``seed``; the same inputs always give
    the same winners, whatever order ``eligible`` came in."""
    pool = sorted(set(eligible))
    digest = hashlib.sha256("\n".join(pool).encode()).hexdigest()
    picked = random.Random(seed).sample(pool, min(winners, len(pool)))
    return Draw(seed, len(pool), digest, tuple(picked))
