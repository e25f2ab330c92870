"""A real API server on loopback (uvicorn in a thread) over a throwaway store, and keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from regulars import bootstrap
from regulars.config import Settings
from regulars.entrypoints.http import create_app
from regulars.entrypoints.http.app import serving
from regulars.services.api import ApiServices

ROLES = ("admin", "manager", "integration", "readonly")


@pytest.fixture
def api_overrides() -> dict[str, Any]:
    """Override in a test module to change the [api] settings."""
    return {}


@pytest.fixture
def api_settings(database_url: str, api_overrides: dict[str, Any]) -> Settings:
    api = {"live_map": False, "map_as_of": "last_order", "rate_limit": 100_000,
           "rate_burst": 100_000, **api_overrides}
    return bootstrap.load_settings(database_url=database_url, api=api)


@pytest.fixture
def services(api_settings: Settings) -> Iterator[ApiServices]:
    api = bootstrap.open_api(api_settings)
    yield api
    api.stop()
    api.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def keys(services: ApiServices) -> dict[str, str]:
    return {role: services.keys.create(role, f"test {role}")[0] for role in ROLES}


@pytest.fixture
def client(services: ApiServices, api_settings: Settings) -> Iterator[httpx.Client]:
    app = create_app(api_settings, services=services, rebuild_on_start=False)
    with serving(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http


Call = Callable[..., httpx.Response]


@pytest.fixture
def call(client: httpx.Client, keys: dict[str, str]) -> Call:
    """``call(role, method, path, **httpx kwargs)``; role None sends no key."""

    def do(role: str | None, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if role is not None:
            headers["Authorization"] = f"Bearer {keys.get(role, role)}"
        return client.request(method, path, headers=headers, **kw)

    return do


def order(i: int, customer: str = "C1", **extra: Any) -> dict[str, Any]:
    return {"order_id": f"O{i}", "customer_id": customer,
            "ordered_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00",
            "amount": f"{10 + i}.50", **extra}
