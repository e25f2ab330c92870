"""Where analytics runs: DuckDB in process (default), or PostgreSQL over the store's tables.

Analytics is written once as Ibis expressions; an engine only says where the input tables are.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.domain.errors import StoreError
from regulars.domain.tables import SPECS, Kind
from regulars.i18n import _


class DuckDBEngine:
    """An in-process DuckDB database holding the tables handed to it."""

    name = "duckdb"

    def __init__(self, threads: int | None = None) -> None:
        self.con: Any = ibis.duckdb.connect()
        if threads:
            self.con.raw_sql(f"SET threads = {int(threads)}")

    def table(self, name: str, data: pa.Table) -> Any:
        # a zero-copy view of the Arrow table; ibis' create_table would copy it through an
        # API DuckDB 2.0 deprecates
        self.con.con.register(name, data)
        return self.con.table(name)

    def run_sql(self, sql: str) -> pa.Table:
        """The rows of a query (SQL compiled from an Ibis expression on this engine)."""
        result: pa.Table = self.con.con.sql(sql).to_arrow_table()
        return result

    def define_view(self, name: str, sql: str) -> str:
        """Keep a query as a view and return the query of its rows: the DuckDB client scans
        the text of every query it is given in Python, which for a whole map's SQL costs more
        than running it on a few rows; a view is scanned once."""
        self.con.con.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {sql}')
        return f'SELECT * FROM "{name}"'

    def close(self) -> None:
        self.con.disconnect()


class PostgresEngine:
    """Computes in-database on the store's own tables (nothing is copied out first)."""

    name = "postgres"

    def __init__(self, url: str) -> None:
        u = sa.engine.make_url(url)
        if u.get_backend_name() != "postgresql":
            raise StoreError(_("the PostgreSQL engine needs a postgresql:// store URL"))
        try:
            self.con: Any = ibis.postgres.connect(
                host=u.host or "localhost", port=u.port or 5432, user=u.username,
                password=u.password, database=u.database,
            )
        except Exception as e:  # the driver's own error types vary
            failure = failures.store_failure(e, url)
            if failure is not None:
                raise failure from e
            raise StoreError(_("cannot reach PostgreSQL: {err}").format(err=e)) from e

    def table(self, name: str, data: pa.Table) -> Any:
        return self.con.create_table(name, data, temp=True, overwrite=True)

    def stored(self, kind: Kind) -> Any:
        """A store table, in place, with the contract's columns.

        Text is compared byte by byte (``COLLATE "C"``), as DuckDB, SQLite and Arrow do. The
        map breaks ties by ids (RFM's buckets, revenue ranks, the latest feedback of a day) and
        hands its rows out in ``customer_id`` order; under the database's own collation (often
        a linguistic one, where "a10" sorts before "B2") both would differ from DuckDB's."""
        t = self.con.table(kind.value)
        if any(dtype.is_string() for dtype in t.schema().types):
            t = self.con.sql(_bytewise_select(kind.value, t.schema()))
        # the same input contract as Arrow tables on DuckDB: every column nullable
        return t.select(*[t[n].cast(t[n].type().copy(nullable=True)).name(n)
                          for n in SPECS[kind].names])

    def close(self) -> None:
        self.con.disconnect()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _bytewise_select(table: str, schema: Any) -> str:
    """``SELECT`` every column of ``table``, its text columns ``COLLATE "C"``."""
    cols = [f'{_quoted(n)} COLLATE "C" AS {_quoted(n)}' if dtype.is_string() else _quoted(n)
            for n, dtype in schema.items()]
    return f"SELECT {', '.join(cols)} FROM {_quoted(table)}"

