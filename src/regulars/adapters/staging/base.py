"""The staging database itself: a private DuckDB database holding one file on its way into the
store, and the few statements every step runs on it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Self

import duckdb
import pyarrow as pa

from regulars.domain.errors import Problem
from regulars.domain.rules import InputRules


class StagingBase:
    """A private DuckDB database holding one file on its way into the store."""

    def __init__(self, *, default_phone_country: str = "372",
                 rules: InputRules | None = None, today: date | None = None,
                 memory_limit_mb: int | None = None) -> None:
        self.rules = rules or InputRules()
        self.today = today  # None: the clock's day (UTC) when a file is checked
        self._tmp = tempfile.TemporaryDirectory(prefix="regulars-")
        if memory_limit_mb is None:
            self.con = duckdb.connect()
        else:
            # a temporary database file, and DuckDB held to the limit: what does not fit
            # goes to disk instead of growing the process with the file (an import of ten
            # million orders held 4 GB in an in-memory staging database)
            tmp = Path(self._tmp.name)
            self.con = duckdb.connect(str(tmp / "staging.duckdb"), config={
                "memory_limit": f"{int(memory_limit_mb)}MB",
                "temp_directory": str(tmp / "spill")})
        self.default_phone_country = default_phone_country
        self.path: Path | None = None
        self.source_names: dict[str, str] = {}  # our column -> file's column
        self._ws_width: int | None = None
        self.detected: dict[str, str] = {}
        """How the file was read: encoding, delimiter, format (for a saved profile)."""
        self.notes: list[str] = []
        """What was found out about the file, to be said to the user."""
        self.base_column: str | None = None
        """The file's column naming the document a credit note corrects, if any."""
        self._money: dict[str, tuple[bool, str | None]] = {}  # column -> (decimal comma, cur.)
        self._money_text: dict[str, tuple[bool, tuple[str, ...]]] = {}
        """Money column -> whether its sample was plain numbers, the signs it wrote."""
        self._dates: dict[str, list[str] | None] = {}  # column -> strptime formats; None: ISO
        self._typing: str | None = None  # the column _typed_expr typed last

    def close(self) -> None:
        self.con.close()
        self._tmp.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _source_types(self, table: str = "raw") -> dict[str, str]:
        return {
            r[0]: r[1]
            for r in self.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?",
                [table]).fetchall()
        }

    def _agree(self, key: str, value: str) -> None:
        """Record how the file writes something, if all its columns write it so ("" if not)."""
        self.detected[key] = value if self.detected.get(key, value) == value else ""
    def _raw_is_view(self) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM duckdb_views() WHERE view_name = 'raw' AND NOT internal").fetchall())

    def materialise_raw(self) -> None:
        """Make ``raw`` a table of its own (a step that deletes from it needs one)."""
        if not self._raw_is_view():
            return
        self.con.execute("CREATE TABLE _raw_table AS SELECT * FROM raw")
        self.drop_raw()
        self.con.execute("ALTER TABLE _raw_table RENAME TO raw")

    def drop_raw(self) -> None:
        """Drop ``raw``, and the file's table under it when it is a view."""
        if self._raw_is_view():
            self.con.execute("DROP VIEW raw")
            self.con.execute("DROP TABLE IF EXISTS _raw_file")
        else:
            self.con.execute("DROP TABLE IF EXISTS raw")

    def _has_column(self, table: str, column: str) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
            [table, column]).fetchall())

    def _has_table(self, name: str) -> bool:
        return bool(self.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall())

    def add_problems(self, sql: str) -> None:
        """Add problems found by a query yielding (_row, _line, col, value, message)."""
        self.con.execute(f"INSERT INTO problems {sql}")

    def problem_list(self, limit: int) -> tuple[list[Problem], int]:
        total = self.con.execute("SELECT count(*) FROM problems").fetchall()[0][0]
        rows = self.con.execute(
            "SELECT _row, _line, col, value, message FROM problems "
            "ORDER BY _row, col LIMIT ?",
            [limit],
        ).fetchall()
        return [Problem(r[0], r[2], r[3], r[4], r[1]) for r in rows], int(total)


    def _exists(self, table: str, condition: str) -> bool:
        rows = self.con.execute(f"SELECT 1 FROM {table} WHERE {condition} LIMIT 1").fetchall()
        return bool(rows)

    def _count(self, table: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)
    def drop_where(self, condition: str) -> int:
        before = self._count("typed")
        self.con.execute(f"DELETE FROM typed WHERE {condition}")
        return before - self._count("typed")

    def query(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def count(self, table: str) -> int:
        return self._count(table)

    def batches(self, sql: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        reader = self.con.sql(sql).to_arrow_reader(batch_rows)
        yield from reader

