"""The loyalty service's scenarios (``tests/support/loyalty_service.py``) on the in-memory
store (``adapters/memory.py``), no database."""

from ...support.loyalty_service import *  # noqa: F403 (the scenarios, collected here)
