"""One rule for what a person typed that is a phone number (the customer list, the till)."""

import pytest

from regulars.domain.phones import typed_phone_digits


@pytest.mark.parametrize(("typed", "min_digits", "digits"), [
    ("+372 5551 0001", 5, "37255510001"),
    ("(372) 5551-0001", 5, "37255510001"),
    ("12.34/56", 3, "123456"),
    (" 555 ", 3, "555"),
    ("555", 5, None),  # too few digits for the till
    ("55", 3, None),
    ("M001", 3, None),  # a letter: an id or a name
    ("CARD0001", 5, None),
    ("+", 1, None),
    ("", 1, None),
    (None, 1, None),
    ("1" * 32, 5, "1" * 32),
    ("1" * 33, 5, None),  # longer than any phone typed
    ("+372\u00a05551", 5, "3725551"),  # a no-break space pasted from a card
])
def test_what_is_taken_for_a_phone(typed, min_digits, digits):
    assert typed_phone_digits(typed, min_digits) == digits
