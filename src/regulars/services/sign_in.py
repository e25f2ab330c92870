"""Sign-in rate limiting: after too many failed sign-ins for a login, or from an address,
within a window, further attempts are refused for a while.

The limits are ``[web] sign_in_attempts_per_login`` (5) and ``sign_in_attempts_per_address``
(20) failures within ``sign_in_window_minutes`` (15). A failure is kept in the store (the port
is :class:`~regulars.services.users.UserStore`'s ``*_attempts`` methods, table
``sign_in_attempts``) as one row per scope, so the limit holds across ``--workers N``
processes and restarts. The subject of a row is a digest of the normalised login or of the
address: no typed text is kept (a password typed into the login field, say).

A refused attempt is not checked and not counted (so a wait is a wait, not a trap that a
stranger can keep shut), and it is refused the same way whether the login exists or not:
unknown logins are counted like known ones. A successful sign-in clears its login's count,
not its address's (else one account of one's own would reset the count of an address that
guesses others).

A window is rolling: with ``limit`` failures of a subject counted, the next attempt is allowed
once the oldest of them that keeps the count at ``limit`` is ``window`` old.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from regulars.services.users import normalise_login

LOGIN = "login"
ADDRESS = "address"


class AttemptStore(Protocol):
    """Where failed sign-ins are counted (``UserStore``'s ``*_attempts`` methods)."""

    def attempts_since(self, scope: str, subject: str, since: datetime) -> list[datetime]: ...
    def add_attempts(self, rows: Sequence[tuple[str, str, datetime]]) -> None: ...
    def clear_attempts(self, scope: str, subject: str) -> None: ...
    def prune_attempts(self, before: datetime) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def subject(scope: str, value: str) -> str:
    """What a row keeps of a login or an address: a digest (64 hex digits)."""
    text = normalise_login(value) if scope == LOGIN else value.strip().lower()
    return hashlib.sha256(f"{scope}:{text}".encode()).hexdigest()


class SignInLimits:
    """Counts failed sign-ins and says when the next one may be tried (see the module).

    ``clock``: now as naive UTC (tests give their own)."""

    def __init__(self, store: AttemptStore, *, per_login: int = 5, per_address: int = 20,
                 window: timedelta = timedelta(minutes=15),
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.per_login = per_login
        self.per_address = per_address
        self.window = window
        self.clock = clock or _now

    def _subjects(self, login: str, address: str | None) -> list[tuple[str, str, int]]:
        out = [(LOGIN, subject(LOGIN, login), self.per_login)]
        if address:
            out.append((ADDRESS, subject(ADDRESS, address), self.per_address))
        return out

    def wait(self, login: str, address: str | None) -> int:
        """Seconds before an attempt for ``login`` from ``address`` may be made (0: now)."""
        now = self.clock()
        longest = 0.0
        for scope, key, limit in self._subjects(login, address):
            times = self.store.attempts_since(scope, key, now - self.window)
            if len(times) >= limit:
                # allowed again once fewer than ``limit`` are left in the window: when the
                # one that keeps the count at ``limit`` is ``window`` old
                frees = times[len(times) - limit] + self.window
                longest = max(longest, (frees - now).total_seconds())
        return max(1, math.ceil(longest)) if longest > 0 else 0

    def failed(self, login: str, address: str | None) -> None:
        """Count a failed sign-in (a wrong password, an unknown login, a disabled user)."""
        now = self.clock()
        self.store.add_attempts([(scope, key, now)
                                 for scope, key, _limit in self._subjects(login, address)])
        self.store.prune_attempts(now - self.window)

    def succeeded(self, login: str) -> None:
        """A sign-in that went through: the login's count starts again."""
        self.store.clear_attempts(LOGIN, subject(LOGIN, login))
