"""Helpers of the API tests (the server, keys and ``call`` fixtures are in tests/conftest.py)."""

from __future__ import annotations

from typing import Any


def order(i: int, customer: str = "C1", **extra: Any) -> dict[str, Any]:
    return {"order_id": f"O{i}", "customer_id": customer,
            "ordered_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00",
            "amount": f"{10 + i}.50", **extra}
