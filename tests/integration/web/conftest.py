"""The web pages on a real server (uvicorn in a thread, tests/conftest.py's ``services`` on
SQLite and PostgreSQL), people of every role, and browsers as httpx clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from ...support.web import add_people, sign_in


@pytest.fixture
def users(services, api_settings):
    from regulars import bootstrap

    return bootstrap.open_users(api_settings, services=services,
                                hasher=bootstrap.password_hasher(cheap=True))


@pytest.fixture
def people(users):
    return add_people(users)


@pytest.fixture
def web(services, api_settings, users) -> Iterator[str]:
    """The base URL of a server with the API and the pages."""
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    app = create_app(api_settings, services=services, rebuild_on_start=False, users=users)
    with serving(app) as url:
        yield url


Browser = Callable[..., httpx.Client]


@pytest.fixture
def browser(web, people, tls) -> Iterator[Browser]:
    """``browser(role=None, **httpx kwargs)``: a client of its own (its own cookies), signed
    in as ``role`` when one is given."""
    opened: list[httpx.Client] = []

    def make(role: str | None = None, **kw) -> httpx.Client:
        client = httpx.Client(base_url=web, timeout=60, **{"verify": tls, **kw})
        opened.append(client)
        if role is not None:
            r = sign_in(client, role)
            assert r.status_code == 303, r.text[:500]
        return client

    yield make
    for client in opened:
        client.close()
