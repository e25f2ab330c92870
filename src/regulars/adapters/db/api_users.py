"""The web pages' users, the server's own secrets and the failed sign-ins (tables ``users``,
``server_secrets``, migration 0017, and ``sign_in_attempts``, migration 0018): a part of
:class:`~regulars.adapters.db.api_store.SqlApiStore`, on its pooled engines (the port
``services.users.UserStore``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_tx import is_unique_violation
from regulars.adapters.db.tables import server_secrets, sign_in_attempts, users
from regulars.services.api.ports import DuplicateError


class UserRows(PooledRows):
    def add_user(self, record: Mapping[str, Any]) -> None:
        try:
            self._write(users.insert().values(**record))
        except sa.exc.IntegrityError as e:
            if is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(users).where(users.c.user_id == user_id))
        return rows[0] if rows else None

    def user_by_login(self, login: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(users).where(users.c.login == login))
        return rows[0] if rows else None

    def list_users(self) -> list[dict[str, Any]]:
        return self._read(sa.select(users).order_by(users.c.login))

    def update_user(self, user_id: str, values: Mapping[str, Any]) -> None:
        self._write(users.update().where(users.c.user_id == user_id).values(**values))

    def secret(self, name: str, make: str) -> str:
        stmt = sa.select(server_secrets.c.value).where(server_secrets.c.name == name)
        rows = self._read(stmt)
        if rows:
            return str(rows[0]["value"])
        try:
            self._write(server_secrets.insert().values(
                name=name, value=make, created_at=datetime.now(UTC).replace(tzinfo=None)))
        except sa.exc.IntegrityError as e:  # another process made it first: theirs wins
            if not is_unique_violation(e):
                raise
        return str(self._read(stmt)[0]["value"])

    # -- failed sign-ins -------------------------------------------------------------------------

    def attempts_since(self, scope: str, subject: str, since: datetime) -> list[datetime]:
        a = sign_in_attempts.c
        rows = self._read(sa.select(a.at).where(a.scope == scope, a.subject == subject,
                                                a.at > since).order_by(a.at))
        return [r["at"] for r in rows]

    def add_attempts(self, rows: Sequence[tuple[str, str, datetime]]) -> None:
        if rows:
            self._write(sign_in_attempts.insert().values(
                [{"scope": s, "subject": k, "at": at} for s, k, at in rows]))

    def clear_attempts(self, scope: str, subject: str) -> None:
        a = sign_in_attempts.c
        self._write(sign_in_attempts.delete().where(a.scope == scope, a.subject == subject))

    def prune_attempts(self, before: datetime) -> None:
        self._write(sign_in_attempts.delete().where(sign_in_attempts.c.at <= before))
