"""The loyalty scenarios' store here is the in-memory fake (``adapters/memory.py``): no
database. Everything else they stand on is in ``tests/support/loyalty.py``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from regulars.adapters.memory import MemoryLoyaltyStore

from ...support.loyalty import clock, make_service, service  # noqa: F401 (fixtures)


@pytest.fixture
def store() -> MemoryLoyaltyStore:
    return MemoryLoyaltyStore()


@pytest.fixture
def snapshot() -> Callable[[MemoryLoyaltyStore], Any]:
    """Every row the store holds."""
    return lambda store: copy.deepcopy(store.state)
