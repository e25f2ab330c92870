"""The people who sign in to the web pages: roles, passwords, sessions, languages.

Machines keep API keys (:mod:`regulars.services.api.keys`); people have users. A user has a
login, a role (:class:`Role`), a password kept only as a hash (Argon2id, through the
:class:`PasswordHasher` port: ``regulars.adapters.passwords``), a language of their own, and a
``session_epoch``: a session is signed for the epoch it began in, and changing the password or
disabling the user moves the epoch on, which ends every session of theirs at once (on other
devices too, within :attr:`Users.ttl` seconds in another process).

What a role may see is the web pages' business (``regulars.entrypoints.web.auth``); here is
who the user is.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from regulars.domain.errors import RegularsError
from regulars.i18n import LANGUAGES, N_, _

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PasswordHasher",
    "Role",
    "User",
    "UserError",
    "UserStore",
    "Users",
    "WrongPasswordError",
]

#: The shortest password accepted (NIST SP 800-63B asks at least 8 of a password a person
#: chooses; 10 leaves room for the shop's till tablets being shared).
MIN_PASSWORD_LENGTH = 10
#: The longest: Argon2 takes any length, but hashing megabytes is work an attacker chooses.
MAX_PASSWORD_LENGTH = 1024
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


class Role(StrEnum):
    """What a person does in the business (the web pages each role sees: docs/web.md)."""

    OWNER = "owner"  # the owner or admin: everything, users included
    MANAGER = "manager"  # their own customers (customers.manager) and tasks
    MARKETER = "marketer"  # the loyalty programme: tiers, rewards, offers
    CASHIER = "cashier"  # the till only


#: Each role's name as a person reads it (translated where it is shown).
ROLE_LABELS: dict[Role, str] = {
    Role.OWNER: N_("owner"),
    Role.MANAGER: N_("manager"),
    Role.MARKETER: N_("marketer"),
    Role.CASHIER: N_("cashier"),
}


class UserError(RegularsError):
    """A user that does not exist, or a change that cannot be made as asked."""


class WrongPasswordError(UserError):
    """The password given as the user's current one is not."""


@dataclass(frozen=True)
class User:
    """A signed-in person, as the pages see them (never the password's hash)."""

    user_id: str
    login: str
    name: str
    role: Role
    manager: str | None
    language: str | None
    session_epoch: int
    created_at: datetime
    disabled_at: datetime | None = None
    last_sign_in_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def display_name(self) -> str:
        return self.name or self.login


class PasswordHasher(Protocol):
    """Hashes and checks passwords (``regulars.adapters.passwords.Argon2Hasher``)."""

    def hash(self, password: str) -> str: ...
    def verify(self, hashed: str, password: str) -> bool:
        """Whether ``password`` is the one ``hashed`` was made from (False, never raises)."""
    def needs_rehash(self, hashed: str) -> bool:
        """Whether ``hashed`` was made with weaker parameters than the hasher's own."""


class UserStore(Protocol):
    """Where users and the server's own secrets are kept (``SqlUserStore``)."""

    def add_user(self, record: Mapping[str, Any]) -> None:
        """Raises :class:`~regulars.services.api.ports.DuplicateError` on a login taken."""
    def get_user(self, user_id: str) -> dict[str, Any] | None: ...
    def user_by_login(self, login: str) -> dict[str, Any] | None: ...
    def list_users(self) -> list[dict[str, Any]]: ...
    def update_user(self, user_id: str, values: Mapping[str, Any]) -> None: ...
    def secret(self, name: str, make: str) -> str:
        """The secret ``name``; ``make`` is stored first when there is none (the first
        writer wins: every process gets the same value)."""
    def attempts_since(self, scope: str, subject: str, since: datetime) -> list[datetime]:
        """When the failed sign-ins of ``scope`` (``login``, ``address``) and ``subject``
        after ``since`` happened, the oldest first (:mod:`regulars.services.sign_in`)."""
    def add_attempts(self, rows: Sequence[tuple[str, str, datetime]]) -> None:
        """Record failed sign-ins: ``(scope, subject, at)``."""
    def clear_attempts(self, scope: str, subject: str) -> None: ...
    def prune_attempts(self, before: datetime) -> None:
        """Forget the attempts made at ``before`` or earlier."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def normalise_login(login: str) -> str:
    """A login as it is stored and looked up: NFKC, trimmed, lower case."""
    return unicodedata.normalize("NFKC", login).strip().lower()


def check_password(password: str) -> None:
    """Refuse a password too short or too long to keep (:class:`UserError`)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(_("a password needs at least {n} characters").format(
            n=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(_("a password may have at most {n} characters").format(
            n=MAX_PASSWORD_LENGTH))


def _user(record: Mapping[str, Any]) -> User:
    return User(user_id=record["user_id"], login=record["login"], name=record["name"],
                role=Role(record["role"]), manager=record["manager"],
                language=record["language"], session_epoch=int(record["session_epoch"]),
                created_at=record["created_at"], disabled_at=record["disabled_at"],
                last_sign_in_at=record.get("last_sign_in_at"))


class Users:
    """Creates users, checks their passwords, and tells a live session from an ended one.

    A session's user is read from the store at most every ``ttl`` seconds per user (a page
    costs no look-up then); a change made through this object is seen at once, one made by
    another process (``regulars users disable``) within ``ttl``.
    """

    def __init__(self, store: UserStore, hasher: PasswordHasher, *, ttl: float = 2.0) -> None:
        self.store = store
        self.hasher = hasher
        self.ttl = ttl
        self._cache: dict[str, tuple[float, User | None]] = {}
        self._lock = threading.Lock()
        # checked against when the login is unknown, so that a wrong login takes as long
        # as a wrong password (no list of logins by timing)
        self._decoy: str | None = None

    # -- managing ------------------------------------------------------------------------------

    def create(self, login: str, role: Role | str, password: str, *, name: str = "",
               manager: str | None = None, language: str | None = None) -> User:
        from regulars.services.api.ports import DuplicateError

        login = normalise_login(login)
        if not _LOGIN.match(login):
            raise UserError(_("a login is 1 to 64 letters a-z, digits and . _ @ -, "
                              "starting with a letter or digit: {login!r}").format(login=login))
        role = Role(role)
        manager = (manager or "").strip() or None
        if role is Role.MANAGER and manager is None:
            raise UserError(_("a manager is bound to a manager's name as the customers "
                              "data writes it: give --manager"))
        if role is not Role.MANAGER and manager is not None:
            raise UserError(_("only a user with the role manager has a manager's name"))
        check_password(password)
        record = {"user_id": secrets.token_hex(8), "login": login, "name": name.strip(),
                  "role": role.value, "manager": manager,
                  "language": self._language(language), "password_hash":
                  self.hasher.hash(password), "session_epoch": 1, "created_at": _now(),
                  "disabled_at": None, "last_sign_in_at": None}
        try:
            self.store.add_user(record)
        except DuplicateError:
            raise UserError(_("the login {login} is taken").format(login=login)) from None
        return _user(record)

    def list(self) -> list[User]:
        return [_user(r) for r in self.store.list_users()]

    def get(self, login: str) -> User:
        record = self.store.user_by_login(normalise_login(login))
        if record is None:
            raise UserError(_("no user {login}").format(login=normalise_login(login)))
        return _user(record)

    def disable(self, login: str) -> User:
        """The user can no longer sign in; their sessions end."""
        user = self.get(login)
        if user.disabled_at is None:
            self._update(user, {"disabled_at": _now(),
                                "session_epoch": user.session_epoch + 1})
        return self.get(login)

    def enable(self, login: str) -> User:
        user = self.get(login)
        if user.disabled_at is not None:
            self._update(user, {"disabled_at": None})
        return self.get(login)

    def set_password(self, login: str, password: str) -> User:
        """A new password; every session of the user ends (sign in again)."""
        check_password(password)
        user = self.get(login)
        self._update(user, {"password_hash": self.hasher.hash(password),
                            "session_epoch": user.session_epoch + 1})
        return self.get(login)

    def change_password(self, user_id: str, current: str, new: str) -> User:
        """The user's own change of password: ``current`` must be theirs
        (:class:`WrongPasswordError`), ``new`` follows the rules of ``users password``
        (:class:`UserError`); every session of theirs ends (the caller starts a new one for
        the session that asked, with the returned user's epoch)."""
        record = self.store.get_user(user_id)
        if record is None or len(current) > MAX_PASSWORD_LENGTH or not self.hasher.verify(
                record["password_hash"], current):
            raise WrongPasswordError(_("the current password is not right"))
        check_password(new)
        user = _user(record)
        self._update(user, {"password_hash": self.hasher.hash(new),
                            "session_epoch": user.session_epoch + 1})
        return self.get(user.login)

    def set_language(self, user_id: str, language: str | None) -> None:
        """The user's own language (None: the browser's)."""
        record = self.store.get_user(user_id)
        if record is None:
            raise UserError(_("no user {login}").format(login=user_id))
        self._update(_user(record), {"language": self._language(language)})

    def _language(self, language: str | None) -> str | None:
        if language is None or language == "":
            return None
        if language not in LANGUAGES:
            raise UserError(_("unknown language {lang!r}: one of {langs}").format(
                lang=language, langs=", ".join(LANGUAGES)))
        return language

    def _update(self, user: User, values: Mapping[str, Any]) -> None:
        self.store.update_user(user.user_id, values)
        with self._lock:
            self._cache.pop(user.user_id, None)

    # -- signing in ----------------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> User | None:
        """The user whose login and password these are, if they may sign in; else None (the
        same None for an unknown login, a wrong password and a disabled user)."""
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        record = self.store.user_by_login(normalise_login(login))
        if record is None:
            if self._decoy is None:
                self._decoy = self.hasher.hash(secrets.token_urlsafe(16))
            self.hasher.verify(self._decoy, password)
            return None
        if not self.hasher.verify(record["password_hash"], password):
            return None
        user = _user(record)
        if not user.active:
            return None
        values: dict[str, Any] = {"last_sign_in_at": _now()}
        if self.hasher.needs_rehash(record["password_hash"]):
            values["password_hash"] = self.hasher.hash(password)  # stronger parameters now
        self.store.update_user(user.user_id, values)
        return user

    def session_user(self, user_id: str, epoch: int) -> User | None:
        """The user of a session signed for ``epoch``, while it is still theirs: None once
        the user is disabled, gone, or their password changed."""
        user = self._cached(user_id)
        if user is None or not user.active or user.session_epoch != epoch:
            return None
        return user

    def _cached(self, user_id: str) -> User | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        record = self.store.get_user(user_id)
        user = _user(record) if record is not None else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user_id] = (now, user)
        return user

    def session_secret(self) -> str:
        """The key that signs session cookies when ``[web] secret_key`` is not set: made
        once, kept in the store, the same for every process."""
        return self.store.secret("web.session_key", secrets.token_urlsafe(48))
