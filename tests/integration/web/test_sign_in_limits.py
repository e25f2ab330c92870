"""Sign-in rate limiting on a real server and store (SQLite and PostgreSQL): five failures
for a login and the next attempt is refused, with Retry-After, the same for a login that
does not exist; the count is in the store, so a second server process sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from ...support.web import PASSWORD, csrf_token

T0 = datetime(2026, 3, 2, 9, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def server(services, api_settings, users, people) -> Iterator[tuple[str, Clock, Any]]:
    """A server whose sign-in limits read the test's clock; and its web app."""
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving
    from regulars.entrypoints.web.app import WebMount

    app = create_app(api_settings, services=services, rebuild_on_start=False, users=users)
    web = next(r for r in app.router.routes if isinstance(r, WebMount)).app
    clock = Clock()
    web.state.sign_in_limits.clock = clock
    with serving(app) as url:
        yield url, clock, web


def attempt(url: str, login: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=60) as client:
        token = csrf_token(client.get("/sign-in").text)
        return client.post("/sign-in", data={"login": login, "password": password,
                                             "csrf_token": token})


def test_five_failures_and_the_right_password_is_refused_until_the_window_moves(server):
    url, clock, _web = server
    for minute in range(5):
        clock.now = T0 + timedelta(minutes=minute)
        assert attempt(url, "manager", "wrong password!").status_code == 401
    clock.now = T0 + timedelta(minutes=5)
    r = attempt(url, "manager", PASSWORD)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == str(10 * 60)  # the failure of 09:00 leaves at 09:15
    assert "Too many failed sign-ins. Try again in 10 minutes." in r.text
    # another login from the same address is not held (20 per address)
    assert attempt(url, "owner", PASSWORD).status_code == 303
    clock.now = T0 + timedelta(minutes=15)
    assert attempt(url, "manager", PASSWORD).status_code == 303


def test_an_unknown_login_gets_the_same_answer_as_a_known_one(server):
    url, _clock, _web = server
    for login in ("manager", "no-such-user"):
        for _n in range(5):
            attempt(url, login, "wrong password!")
    known, unknown = (attempt(url, login, "wrong password!")
                      for login in ("manager", "no-such-user"))
    assert known.status_code == unknown.status_code == 429
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]
    body = [re.sub(r'value="[^"]*"', "", r.text.split('<main')[1].split('</main>')[0])
            for r in (known, unknown)]
    assert body[0] == body[1]


def test_a_success_clears_the_count_of_its_login(server):
    url, _clock, _web = server
    for _n in range(4):
        attempt(url, "manager", "wrong password!")
    assert attempt(url, "manager", PASSWORD).status_code == 303
    for _n in range(4):
        assert attempt(url, "manager", "wrong password!").status_code == 401
    assert attempt(url, "manager", PASSWORD).status_code == 303


def test_the_count_is_kept_in_the_store_for_every_process(server, users, api_settings):
    from regulars.services.sign_in import SignInLimits

    url, clock, _web = server
    for _n in range(5):
        attempt(url, "manager", "wrong password!")
    # another process: its own limiter on the same store
    other = SignInLimits(users.store, window=timedelta(minutes=15), clock=clock)
    assert other.wait("manager", "127.0.0.1") == 15 * 60
