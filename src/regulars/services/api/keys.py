"""API keys: roles, what each role may do, and keys stored only as hashes.

A key reads ``rgl_<key id>_<secret>``: the key id (16 hex digits) finds the stored record, the
secret (32 random bytes, URL-safe base64) is kept only as ``sha256(key id ":" secret)`` and
compared in constant time. A key is shown once, when it is created or rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from regulars.domain.errors import RegularsError
from regulars.i18n import _
from regulars.services.api.ports import ApiStore

PREFIX = "rgl"


class Role(StrEnum):
    ADMIN = "admin"  # programme configuration, keys, webhooks, map rebuild, erasure
    MANAGER = "manager"  # read customers, export them, read and adjust points
    INTEGRATION = "integration"  # a shop or till: send customers, orders, returns, events;
    # read balances, quote, redeem, enrol members
    READONLY = "readonly"  # read customers, the portfolio and balances


class Permission(StrEnum):
    INGEST = "ingest"
    READ_CUSTOMERS = "read_customers"
    READ_PORTFOLIO = "read_portfolio"
    EXPORT = "export"
    ERASE = "erase"
    READ_POINTS = "read_points"  # balances, statements, tier progress, referral codes
    QUOTE_POINTS = "quote_points"
    REDEEM_POINTS = "redeem_points"
    ENROL_MEMBERS = "enrol_members"
    ADJUST_POINTS = "adjust_points"
    READ_WORKLIST = "read_worklist"  # the managers' lists of whom to contact today
    WORK_TASKS = "work_tasks"  # see, add and close tasks (a manager key: its own only)
    READ_PLAYBOOKS = "read_playbooks"  # the playbooks' definitions (issue 20)
    ADMIN = "admin"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MANAGER: frozenset({Permission.READ_CUSTOMERS, Permission.READ_PORTFOLIO,
                             Permission.EXPORT, Permission.READ_POINTS,
                             Permission.ADJUST_POINTS, Permission.READ_WORKLIST,
                             Permission.WORK_TASKS, Permission.READ_PLAYBOOKS}),
    Role.INTEGRATION: frozenset({Permission.INGEST, Permission.READ_POINTS,
                                 Permission.QUOTE_POINTS, Permission.REDEEM_POINTS,
                                 Permission.ENROL_MEMBERS}),
    Role.READONLY: frozenset({Permission.READ_CUSTOMERS, Permission.READ_PORTFOLIO,
                              Permission.READ_POINTS}),
}


def allowed(role: Role | str, permission: Permission) -> bool:
    return permission in GRANTS[Role(role)]


class UnknownKeyError(RegularsError):
    """A key id that does not exist, or cannot be changed as asked."""


@dataclass(frozen=True)
class ApiKey:
    """A verified key: who is calling."""

    key_id: str
    name: str
    role: Role
    manager: str | None = None
    """The manager a key of the role manager is bound to (its tasks only), or None."""


def secret_hash(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse(presented: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a presented key, or None when it is not shaped like one."""
    prefix, sep, rest = presented.strip().partition("_")
    key_id, sep2, secret = rest.partition("_")
    if prefix != PREFIX or not sep or not sep2 or len(key_id) != 16 or not secret:
        return None
    return key_id, secret


class KeyRing:
    """Creates, verifies, rotates and revokes keys.

    Verified records are cached for ``ttl`` seconds, so a busy till costs no look-up per
    request; a key revoked through this ring stops at once, one revoked by another process
    (the CLI) within ``ttl``.
    """

    def __init__(self, store: ApiStore, *, ttl: float = 2.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def create(self, role: Role | str, name: str = "", *,
               manager: str | None = None) -> tuple[str, dict[str, Any]]:
        """A new key: ``(the key, shown once; its stored record without the hash)``.

        ``manager``: bind a key of the role manager to that manager's name (it then sees and
        closes that manager's tasks only); refused for the other roles."""
        role = Role(role)
        manager = manager.strip() if manager is not None else None
        if manager is not None and (role is not Role.MANAGER or not manager):
            raise UnknownKeyError(_("manager: only a key of the role manager is bound to a "
                                    "manager, by a name that is not empty"))
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = {"key_id": key_id, "name": name, "role": role.value,
                  "secret_hash": secret_hash(key_id, secret), "created_at": _now(),
                  "revoked_at": None, "replaced_by": None, "manager": manager}
        self.store.add_key(record)
        return f"{PREFIX}_{key_id}_{secret}", public(record)

    def verify(self, presented: str) -> ApiKey | None:
        parsed = parse(presented)
        if parsed is None:
            return None
        key_id, secret = parsed
        record = self._record(key_id)
        expected = record["secret_hash"] if record else secret_hash("x", "x")
        ok = hmac.compare_digest(expected, secret_hash(key_id, secret))
        if not ok or record is None or record["revoked_at"] is not None:
            return None
        return ApiKey(key_id, record["name"], Role(record["role"]), record.get("manager"))

    def needs_lookup(self, presented: str) -> bool:
        """Whether :meth:`verify` would read the store (no fresh cached record): the HTTP
        layer verifies cached keys on its event loop and the others in a worker thread."""
        parsed = parse(presented)
        if parsed is None:
            return False
        with self._lock:
            hit = self._cache.get(parsed[0])
        return hit is None or time.monotonic() - hit[0] >= self.ttl

    def _record(self, key_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        record = self.store.get_key(key_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_id] = (now, record)
        return record

    def _forget(self, key_id: str) -> None:
        with self._lock:
            self._cache.pop(key_id, None)

    def list(self) -> list[dict[str, Any]]:
        return [public(r) for r in self.store.list_keys()]

    def _existing(self, key_id: str) -> dict[str, Any]:
        record = self.store.get_key(key_id)
        if record is None:
            raise UnknownKeyError(_("no API key {key_id}").format(key_id=key_id))
        return record

    def revoke(self, key_id: str) -> dict[str, Any]:
        record = self._existing(key_id)
        if record["revoked_at"] is None:
            record["revoked_at"] = _now()
            self.store.update_key(key_id, {"revoked_at": record["revoked_at"]})
        self._forget(key_id)
        return public(record)

    def rotate(self, key_id: str) -> tuple[str, dict[str, Any]]:
        """A new key with the same name and role; the old one is revoked."""
        record = self._existing(key_id)
        if record["revoked_at"] is not None:
            raise UnknownKeyError(_("API key {key_id} is revoked; create a new one").format(
                key_id=key_id))
        key, new = self.create(record["role"], record["name"], manager=record.get("manager"))
        self.store.update_key(key_id, {"revoked_at": _now(), "replaced_by": new["key_id"]})
        self._forget(key_id)
        return key, new


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A key's record without its hash."""
    return {k: v for k, v in record.items() if k != "secret_hash"}
