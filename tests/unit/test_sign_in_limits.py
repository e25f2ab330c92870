"""Sign-in rate limiting: rolling windows per login and per address, computed by hand."""

from __future__ import annotations

from datetime import datetime, timedelta

from regulars.adapters.memory import MemoryUserStore
from regulars.services.sign_in import ADDRESS, LOGIN, SignInLimits, subject

T0 = datetime(2026, 3, 2, 9, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, **delta: float) -> None:
        self.now = T0 + timedelta(**delta)


def limits(per_login: int = 5, per_address: int = 20, minutes: int = 15
           ) -> tuple[SignInLimits, Clock, MemoryUserStore]:
    clock, store = Clock(), MemoryUserStore()
    return SignInLimits(store, per_login=per_login, per_address=per_address,
                        window=timedelta(minutes=minutes), clock=clock), clock, store


def test_the_sixth_attempt_waits_until_the_first_failure_is_fifteen_minutes_old():
    lim, clock, _store = limits()
    # failures at 0, 1, 2, 3 and 4 minutes
    for minute in range(5):
        clock.at(minutes=minute)
        assert lim.wait("anna", "10.0.0.1") == 0
        lim.failed("anna", "10.0.0.1")
    clock.at(minutes=4, seconds=30)
    # the count (5) falls under 5 when the failure of 09:00 leaves: at 09:15:00
    assert lim.wait("anna", "10.0.0.1") == 10 * 60 + 30
    clock.at(minutes=14, seconds=59, microseconds=500_000)
    assert lim.wait("anna", "10.0.0.1") == 1  # rounded up, never 0 while refused
    clock.at(minutes=15)
    assert lim.wait("anna", "10.0.0.1") == 0


def test_a_new_failure_after_the_window_opens_closes_it_until_the_next_one_leaves():
    lim, clock, _store = limits(per_login=3)
    for minute in (0, 5, 10):
        clock.at(minutes=minute)
        lim.failed("anna", None)
    clock.at(minutes=15)  # 09:00 has left: 2 counted
    assert lim.wait("anna", None) == 0
    lim.failed("anna", None)  # 09:05, 09:10, 09:15
    clock.at(minutes=16)
    assert lim.wait("anna", None) == 4 * 60  # 09:05 leaves at 09:20


def test_logins_are_counted_apart_and_as_they_are_stored():
    lim, _clock, _store = limits(per_login=2)
    lim.failed("Anna", "10.0.0.1")
    lim.failed(" anna ", "10.0.0.2")
    assert lim.wait("ANNA", "10.0.0.3") == 15 * 60
    assert lim.wait("boris", "10.0.0.3") == 0


def test_an_unknown_login_is_counted_like_a_known_one():
    # the limiter never asks whether the login exists: the answer is the same for both
    lim, _clock, store = limits(per_login=1)
    lim.failed("nobody-here", None)
    assert lim.wait("nobody-here", None) == 15 * 60
    assert store.users == {}


def test_an_address_is_refused_after_its_own_limit_whatever_the_logins():
    lim, clock, _store = limits(per_login=5, per_address=3)
    for n, login in enumerate(("a", "b", "c")):
        clock.at(minutes=n)
        lim.failed(login, "192.0.2.7")
    clock.at(minutes=3)
    assert lim.wait("d", "192.0.2.7") == 12 * 60  # 09:00 leaves at 09:15
    assert lim.wait("d", "192.0.2.8") == 0


def test_a_success_clears_the_logins_count_but_not_the_addresss():
    lim, _clock, _store = limits(per_login=2, per_address=3)
    lim.failed("anna", "192.0.2.7")
    lim.failed("anna", "192.0.2.7")
    assert lim.wait("anna", None) == 15 * 60
    lim.succeeded("anna")
    assert lim.wait("anna", None) == 0
    lim.failed("boris", "192.0.2.7")
    assert lim.wait("carl", "192.0.2.7") == 15 * 60  # the address's three are all kept


def test_rows_keep_digests_not_what_was_typed_and_old_ones_are_pruned():
    lim, clock, store = limits()
    lim.failed("my secret password", "192.0.2.7")
    assert {(s, k) for s, k, _at in store.attempts} == {
        (LOGIN, subject(LOGIN, "my secret password")), (ADDRESS, subject(ADDRESS, "192.0.2.7"))}
    assert not any("secret" in k for _s, k, _at in store.attempts)
    clock.at(minutes=15)
    lim.failed("other", None)
    assert [k for _s, k, _at in store.attempts] == [subject(LOGIN, "other")]
