"""The web pages' users and the server's own secrets (tables ``users`` and
``server_secrets``, migration 0017): a part of :class:`~regulars.adapters.db.api_store.SqlApiStore`,
on its pooled engines (the port ``services.users.UserStore``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.api_tx import is_unique_violation
from regulars.adapters.db.tables import server_secrets, users
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
