"""The store: SQLite by default, PostgreSQL when the URL says so.

SQLAlchemy owns the schema (Alembic migrations) and single-entity access; whole tables move as
Arrow through ADBC drivers (C bulk inserts on SQLite, binary COPY on PostgreSQL), because
pushing millions of rows through the ORM, or even through Python tuples, is many times slower.
A bulk write is one database transaction: either all of an import lands, or none of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.db import migrate
from regulars.adapters.db.engine import Purpose, create_engine, redacted
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    customer_merges,
    import_profiles,
    imports,
    metadata,
)
from regulars.domain.errors import StoreError
from regulars.domain.tables import SPECS, ColumnType, Kind
from regulars.i18n import _

# SQLite's page cache for an import's write, in KiB (its default is 2 MB): the B-trees a bulk
# write grows stay in memory instead of being read back, within the import's memory budget.
SQLITE_WRITE_CACHE_KB = 256 * 1024

# SQLAlchemy's own text format for DateTime on SQLite, so ORM reads of bulk rows work.
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S"  # Arrow prints microseconds with %S


class SqlStore:
    """The business's store at ``url`` (a SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # creates a new SQLite file's folder
        self.engine = create_engine(url, Purpose.BRIEF)
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                _("unsupported database '{d}': use SQLite or PostgreSQL").format(d=self.dialect)
            )

    def __repr__(self) -> str:
        return f"SqlStore({self.display_url!r})"

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return redacted(self.url)

    # -- schema ------------------------------------------------------------------------------

    def ensure_schema(self) -> None:
        """Create or upgrade the schema to this version (idempotent)."""
        migrate.ensure_schema(self.engine, self.url)

    # -- Arrow access through ADBC -----------------------------------------------------------

    def _adbc(self, *, autocommit: bool = False) -> Any:
        url = sa.engine.make_url(self.url)
        if self.dialect == "sqlite":
            import adbc_driver_sqlite.dbapi as sqlite_dbapi

            if not url.database or url.database == ":memory:":
                raise StoreError(_("an in-memory SQLite store cannot be shared; use a file"))
            file = failures.sqlite_file(url)
            if file is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
            target = url.database
            if str(url.query.get("uri", "")).lower() in ("true", "1"):
                # a file: URI keeps its own parameters (mode=ro, …), as sqlite3 gets them
                extra = "&".join(f"{k}={v}" for k, v in url.query.items()
                                 if k not in ("uri", "timeout", "check_same_thread"))
                target = f"{target}?{extra}" if extra else target
            conn = sqlite_dbapi.connect(target, autocommit=autocommit)
            cur = conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={failures.sqlite_busy_ms(url)}")
            cur.close()
            return conn
        try:
            import adbc_driver_postgresql.dbapi as pg_dbapi
        except ModuleNotFoundError as e:  # pragma: no cover - the [postgres] extra
            raise StoreError(_("PostgreSQL needs: pip install 'regulars[postgres]'")) from e
        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return pg_dbapi.connect(uri)

    def read_arrow(self, sql: str) -> pa.Table:
        with failures.translated(self.url):
            conn = self._adbc()
            try:
                cur = conn.cursor()
                cur.execute(sql)
                table: pa.Table = cur.fetch_arrow_table()
                cur.close()
                return table
            finally:
                conn.close()

    def _typed(self, sql: str, schema: pa.Schema) -> pa.Table:
        # SQLite cannot type the columns of an empty result; the contract can
        return self.read_arrow(sql).cast(schema)

    def existing_keys(self, kind: Kind) -> pa.Table:
        """``id, row_hash`` (and ``stub`` for customers) of every row of ``kind``."""
        spec = SPECS[kind]
        fields = [("id", pa.string()), ("row_hash", pa.string())]
        if kind is Kind.CUSTOMERS:
            fields.append(("stub", pa.bool_()))
        cols = ", ".join([f"{spec.id_column} AS id"] + [f[0] for f in fields[1:]])
        return self._typed(f"SELECT {cols} FROM {kind.value}", pa.schema(fields))

    def ids(self, kind: Kind) -> pa.Table:
        return self._typed(
            f"SELECT {SPECS[kind].id_column} AS id FROM {kind.value}",
            pa.schema([("id", pa.string())]),
        )

    def customer_contacts(self) -> pa.Table:
        return self._typed(
            "SELECT customer_id, email_norm, phone_norm, stub FROM customers "
            "WHERE email_norm IS NOT NULL OR phone_norm IS NOT NULL",
            pa.schema(
                [("customer_id", pa.string()), ("email_norm", pa.string()),
                 ("phone_norm", pa.string()), ("stub", pa.bool_())]
            ),
        )

    def aliases(self) -> pa.Table:
        return self._typed(
            "SELECT alias_id, customer_id FROM customer_merges",
            pa.schema([("alias_id", pa.string()), ("customer_id", pa.string())]),
        )

    def returnable(self, order_ids: pa.Array) -> pa.Table:
        """``id, amount, returned`` of the orders ``order_ids`` names (see the port)."""
        if len(order_ids) == 0:
            return _RETURNABLE.empty_table()
        conn = self._adbc(autocommit=self.dialect == "sqlite")
        try:
            cur = conn.cursor()
            cur.adbc_ingest("regulars_wanted_orders", pa.table({"id": order_ids}),
                            mode="create", temporary=True)
            cur.execute(
                "SELECT o.order_id AS id, CAST(o.amount AS DOUBLE PRECISION) AS amount, "
                "CAST((SELECT sum(r.amount) FROM returns r WHERE r.order_id = o.order_id) "
                "AS DOUBLE PRECISION) AS returned FROM orders o "
                "WHERE o.order_id IN (SELECT id FROM regulars_wanted_orders)")
            table: pa.Table = cur.fetch_arrow_table()
            cur.close()
        finally:
            conn.close()
        return table.cast(_RETURNABLE)

    def read_table(self, kind: Kind) -> pa.Table:
        """A whole input table with the contract's columns and Arrow types."""
        spec = SPECS[kind]
        table = self.read_arrow(f"SELECT {', '.join(spec.names)} FROM {kind.value}")
        if self.dialect != "sqlite":
            return table
        # SQLite hands back text and doubles; give analytics the contract's types
        for col in spec.columns:
            i = table.schema.get_field_index(col.name)
            arr = table.column(i)
            if col.type is ColumnType.TIMESTAMP:
                arr = pc.cast(arr.cast(pa.string()), pa.timestamp("us"))
            elif col.type is ColumnType.DATE:
                arr = pc.cast(arr.cast(pa.string()), pa.date32())
            elif col.type is ColumnType.BOOLEAN:
                arr = pc.cast(arr, pa.bool_())
            elif col.type is ColumnType.MONEY:
                arr = pc.cast(arr, pa.float64())
            elif col.type is ColumnType.INTEGER:
                arr = pc.cast(arr, pa.int64())
            elif col.type in (ColumnType.ID, ColumnType.TEXT, ColumnType.LIST):
                arr = pc.cast(arr, pa.string())
            table = table.set_column(i, col.name, arr)
        return table

    def counts(self) -> dict[str, int]:
        """Rows per table, for summaries."""
        with failures.translated(self.url), self.engine.connect() as conn:
            tables = {k.value: t for k, t in INPUT_TABLES.items()}
            tables["customer_merges"] = customer_merges
            return {
                name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
                for name, t in tables.items()
            }

    # -- import profiles ---------------------------------------------------------------------

    def save_profile(self, name: str, kind: str | None, options: dict[str, Any]) -> None:
        """Keep (or replace) the profile ``name``."""
        self.ensure_schema()
        row = {"name": name, "kind": kind, "options": json.dumps(options, ensure_ascii=False,
                                                                   sort_keys=True),
               "updated_at": datetime.now(UTC).replace(tzinfo=None)}
        with self.engine.begin() as conn:
            conn.execute(sa.delete(import_profiles).where(import_profiles.c.name == name))
            conn.execute(sa.insert(import_profiles).values(**row))

    def profile(self, name: str) -> dict[str, Any] | None:
        """The profile ``name``: ``name, kind, options, updated_at``; None if there is none."""
        self.ensure_schema()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(import_profiles).where(import_profiles.c.name == name)).first()
        return None if row is None else {**row._asdict(), "options": json.loads(row.options)}

    def profiles(self) -> list[dict[str, Any]]:
        self.ensure_schema()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(import_profiles).order_by(import_profiles.c.name))
            return [{**r._asdict(), "options": json.loads(r.options)} for r in rows]

    def delete_profile(self, name: str) -> bool:
        self.ensure_schema()
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.delete(import_profiles).where(import_profiles.c.name == name))
            return bool(result.rowcount)

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[StoreWrite]:
        """One transaction for one import: committed by ``commit()``, else rolled back."""
        # SQLite: the transaction is ours (BEGIN IMMEDIATE), so two importers queue for the
        # write lock instead of one failing halfway
        with failures.translated(self.url):
            conn = self._adbc(autocommit=self.dialect == "sqlite")
            write = StoreWrite(conn, self.dialect)
            try:
                write.begin()
                yield write
            except BaseException:
                if not write.committed:
                    # the failure that stopped the write is the one to tell, not the rollback's
                    with suppress(Exception):
                        write.rollback()
                raise
            else:
                if not write.committed:
                    write.rollback()
            finally:
                conn.close()


_RETURNABLE = pa.schema([("id", pa.string()), ("amount", pa.float64()),
                        ("returned", pa.float64())])


class AppendsBatches:
    """``append`` in terms of ``append_table``, for every implementation of the write port."""

    def append_table(self, name: str, table: pa.Table) -> None:
        raise NotImplementedError

    def append(self, kind: Kind, batches: Iterable[pa.RecordBatch]) -> int:
        n = 0
        for batch in batches:
            self.append_table(kind.value, pa.Table.from_batches([batch]))
            n += batch.num_rows
        return n


class StoreWrite(AppendsBatches):
    """Writes inside one open transaction."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.cur = conn.cursor()
        self.committed = False
        self.text_times = dialect == "sqlite"
        self.bulk_load = True

    def _ph(self, i: int) -> str:
        return "?" if self.dialect == "sqlite" else f"${i}"

    def begin(self) -> None:
        if self.dialect == "sqlite":
            self.cur.execute("PRAGMA synchronous=NORMAL")
            # SQLite's default page cache (2 MB) makes a bulk write re-read the pages of the
            # B-trees it grows; a larger one took 10 M orders' write from 42 s to 34 s
            self.cur.execute(f"PRAGMA cache_size=-{SQLITE_WRITE_CACHE_KB}")
            self.cur.execute("BEGIN IMMEDIATE")
        else:
            self.cur.execute("LOCK TABLE imports IN EXCLUSIVE MODE")

    def rollback(self) -> None:
        if self.dialect == "sqlite":
            self.cur.execute("ROLLBACK")
        else:
            self.conn.rollback()

    def next_import_id(self) -> int:
        self.cur.execute("SELECT coalesce(max(id), 0) + 1 FROM imports")
        row = self.cur.fetchone()
        return int(row[0])

    def add_import(self, record: dict[str, Any]) -> None:
        cols = [c.name for c in imports.columns]
        table = pa.Table.from_pylist([{c: record[c] for c in cols}])
        self.append_table("imports", table)

    def delete_stubs(self, ids: pa.Array) -> None:
        if len(ids) == 0:
            return
        self.cur.executemany(
            f"DELETE FROM customers WHERE customer_id = {self._ph(1)} AND stub",
            pa.table({"id": ids}),
        )

    def append(self, kind: Kind, batches: Iterable[pa.RecordBatch]) -> int:
        """Append ``batches``; into an empty table, its indexes are built after the rows."""
        with self._indexes_after_load(kind.value):
            return super().append(kind, batches)

    @contextmanager
    def _indexes_after_load(self, name: str) -> Iterator[None]:
        """Into an empty table, drop its secondary indexes (and on PostgreSQL its primary key)
        for the load and build them again after it: building an index over rows already there
        is one sort, keeping it up to date row by row a random write per row (10 M orders:
        −7 s on SQLite, −13 to −23 s on PostgreSQL). All of it inside the import's transaction,
        so a failure puts the indexes back with everything else."""
        if not self.bulk_load or not self._is_empty(name):
            yield
            return
        if self.dialect == "sqlite":
            self.cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL ORDER BY name", (name,))
            indexes = [(str(r[0]), str(r[1])) for r in self.cur.fetchall()]
            for index, _sql in indexes:
                self.cur.execute(f'DROP INDEX "{index}"')
            yield
            for _index, sql in indexes:
                self.cur.execute(sql)
            return
        # PostgreSQL: nobody may add rows between the check and the rebuild
        self.cur.execute(f'LOCK TABLE "{name}" IN ACCESS EXCLUSIVE MODE')
        if not self._is_empty(name):
            yield
            return
        self.cur.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.conrelid = CAST($1 AS regclass) AND c.contype IN ('p', 'u') "
            # a key another table's foreign key points at stays
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' "
            "AND f.confrelid = c.conrelid) ORDER BY c.conname", (name,))
        keys = [(str(r[0]), str(r[1])) for r in self.cur.fetchall()]
        for key, _definition in keys:
            self.cur.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{key}"')
        self.cur.execute(
            "SELECT CAST(i.indexrelid AS regclass)::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = CAST($1 AS regclass) AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
            (name,))
        indexes = [(str(r[0]), str(r[1])) for r in self.cur.fetchall()]
        for index, _definition in indexes:
            self.cur.execute(f"DROP INDEX {index}")
        yield
        for key, definition in keys:
            self.cur.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{key}" {definition}')
        for _index, definition in indexes:
            self.cur.execute(definition)

    def _is_empty(self, name: str) -> bool:
        self.cur.execute(f'SELECT 1 FROM "{name}" LIMIT 1')
        return self.cur.fetchone() is None

    def append_table(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.dialect == "sqlite":
            table = _sqlite_friendly(table)
        else:
            # binary COPY wants each column exactly as the table declares it (int4 is not int8)
            table = table.cast(arrow_schema(name, table.column_names))
        self.cur.adbc_ingest(name, table, mode="append")

    def over_returned(self, import_id: int) -> pa.Table:
        """See the port: the orders are locked (PostgreSQL; SQLite's write lock is the
        whole database, taken at BEGIN IMMEDIATE), then the sums read."""
        mine = f"SELECT order_id FROM returns WHERE import_id = {int(import_id)}"
        if self.dialect != "sqlite":
            # in one order, as the API locks them, so that two writers never deadlock
            self.cur.execute(f"SELECT order_id FROM orders WHERE order_id IN ({mine}) "
                             f"ORDER BY order_id FOR UPDATE")
            self.cur.fetchall()
        self.cur.execute(
            f"SELECT o.order_id AS id, CAST(o.amount AS DOUBLE PRECISION) AS amount, "
            f"CAST(s.others AS DOUBLE PRECISION) AS returned FROM orders o JOIN ("
            f"SELECT order_id, sum(amount) AS total, coalesce(sum(CASE WHEN import_id IS NULL "
            f"OR import_id <> {int(import_id)} THEN amount END), 0) AS others FROM returns "
            f"WHERE order_id IN ({mine}) GROUP BY order_id) s ON s.order_id = o.order_id "
            f"WHERE round(s.total - o.amount, 4) > 0")
        table: pa.Table = self.cur.fetch_arrow_table()
        return table.cast(_RETURNABLE)

    def commit(self) -> None:
        if self.dialect == "sqlite":
            self.cur.execute("COMMIT")
        else:
            self.conn.commit()
        self.committed = True


def _arrow_type(column: sa.Column[Any]) -> pa.DataType:
    t = column.type
    if isinstance(t, sa.Boolean):
        return pa.bool_()
    if isinstance(t, sa.BigInteger):
        return pa.int64()
    if isinstance(t, sa.Integer):
        return pa.int32()
    if isinstance(t, sa.Numeric):
        return pa.decimal128(t.precision or 18, t.scale or 4)
    if isinstance(t, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(t, sa.Date):
        return pa.date32()
    return pa.string()


def arrow_schema(table_name: str, columns: list[str]) -> pa.Schema:
    """The Arrow schema of ``columns`` of a store table, from its SQLAlchemy definition."""
    table = metadata.tables[table_name]
    return pa.schema([(c, _arrow_type(table.c[c])) for c in columns])


def _sqlite_friendly(table: pa.Table) -> pa.Table:
    """SQLite stores what SQLAlchemy would: timestamps as text, decimals as numbers."""
    for i, f in enumerate(table.schema):
        arr = table.column(i)
        if pa.types.is_timestamp(f.type):
            arr = pc.strftime(arr, format=SQLITE_DATETIME)
        elif pa.types.is_date(f.type):
            arr = pc.strftime(arr, format="%Y-%m-%d")
        elif pa.types.is_decimal(f.type):
            arr = pc.cast(arr, pa.float64())
        else:
            continue
        table = table.set_column(i, f.name, arr)
    return table
