"""The programme edited on the web (``tests/support/loyalty_programmes.py``) on the
in-memory store, no database."""

from ...support.loyalty_programmes import *  # noqa: F403 (the scenarios, collected here)
