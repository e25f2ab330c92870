"""Files uploaded on the web import page, waiting to be confirmed (table ``web_imports``,
migration 0023): a part of :class:`~regulars.adapters.db.api_store.SqlApiStore`, on its pooled
engines (the port ``services.web_imports.PendingImports``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.tables import web_imports


class WebImportRows(PooledRows):
    def add_web_import(self, record: Mapping[str, Any]) -> None:
        self._write(web_imports.insert().values(**record))

    def web_import(self, token: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(web_imports).where(web_imports.c.token == token))
        return rows[0] if rows else None

    def update_web_import(self, token: str, values: Mapping[str, Any], *,
                          state: str | None = None) -> bool:
        """Change the upload ``token`` (only while it is in ``state``, when given: one
        statement, so of two requests one wins); whether it changed."""
        stmt = web_imports.update().where(web_imports.c.token == token)
        if state is not None:
            stmt = stmt.where(web_imports.c.state == state)
        return self._write(stmt.values(**values)) == 1

    def expired_web_imports(self, now: datetime) -> list[dict[str, Any]]:
        return self._read(sa.select(web_imports).where(web_imports.c.expires_at < now))

    def delete_web_import(self, token: str) -> None:
        self._write(web_imports.delete().where(web_imports.c.token == token))
