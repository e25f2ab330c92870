"""Three public bugs of other loyalty engines (``tests/support/loyalty_public_bugs.py``) on the
in-memory store; the races stay on the real databases."""

from ...support.loyalty_public_bugs import *  # noqa: F403 (the scenarios, collected here)
