"""What the parts of the HTTP API's store share: the store's URL, its pooled engines (a writer
and a reader, see :mod:`regulars.adapters.db.engine`), and one-statement reads and writes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from regulars.adapters import failures


class PooledRows:
    """Reads on the reader engine, writes in one transaction on the writer engine."""

    url: str
    writer: sa.Engine
    reader: sa.Engine

    def _read(self, stmt: sa.Executable) -> list[dict[str, Any]]:
        with failures.translated(self.url), self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _write(self, *stmts: sa.Executable) -> int:
        n = 0
        with failures.translated(self.url), self.writer.begin() as conn:
            for stmt in stmts:
                n += conn.execute(stmt).rowcount or 0
        return n
