"""Passwords hashed with Argon2id (argon2-cffi, RFC 9106's low-memory profile by default):
the port ``services.users.PasswordHasher``.

Argon2id is what OWASP's password storage cheat sheet puts first; argon2-cffi is the binding
the algorithm's authors point to, maintained, and its hashes carry their own parameters, so
a later profile rehashes old ones at the next sign-in (``needs_rehash``).
"""

from __future__ import annotations

from argon2 import PasswordHasher as _Argon2
from argon2 import profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Hasher:
    """``cheap``: argon2's smallest parameters, for tests only (a hash in microseconds, not
    the ~50 ms of the real profile)."""

    def __init__(self, *, cheap: bool = False) -> None:
        self._hasher = _Argon2.from_parameters(
            profiles.CHEAPEST if cheap else profiles.RFC_9106_LOW_MEMORY)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True
