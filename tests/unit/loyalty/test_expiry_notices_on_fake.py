"""Notices of points about to expire (``tests/support/loyalty_expiry_notices.py``) on the
in-memory store."""

from ...support.loyalty_expiry_notices import *  # noqa: F403 (the scenarios, collected here)
