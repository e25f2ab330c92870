"""The periodic run's safety (``tests/support/loyalty_safe_runs.py``) on the in-memory store."""

from ...support.loyalty_safe_runs import *  # noqa: F403 (the scenarios, collected here)
