"""What is reported back about a file: the rows set aside with their reasons, and the
quarantine file of them (``--quarantine``)."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv

from regulars.adapters.staging.base import StagingBase
from regulars.adapters.staging.text import _q
from regulars.domain.tables import TableSpec


class Reports(StagingBase):
    """Rows set aside, and written out."""

    def keep_raw(self) -> None:
        """Keep the file's rows as read, to write the rejected ones out (``--quarantine``)."""
        self.con.execute("CREATE OR REPLACE TABLE _raw_kept AS SELECT * FROM raw")

    def sample(self, spec: TableSpec, limit: int) -> list[dict[str, Any]]:
        """The first ``limit`` rows as read and typed (``_row`` and the columns the file
        has), before any is set aside: a preview of the import."""
        names = [c.name for c in spec.columns if c.name in self.source_names]
        cols = ", ".join(["_row", *(_q(n) for n in names)])
        rows: list[dict[str, Any]] = self.query(
            f"SELECT {cols} FROM typed ORDER BY _row LIMIT {int(limit)}").to_pylist()
        return rows

    def set_aside(self) -> int:
        """Take every row with a problem out of the import, with its reasons; return how many
        rows this set aside. Problems of the whole file (no row) stay and still reject it."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS _aside (_row BIGINT, _line BIGINT, cols VARCHAR, "
            "reasons VARCHAR)")
        before = self._count("_aside")
        self.con.execute(
            "INSERT INTO _aside SELECT _row, any_value(_line), string_agg(col, '; ' ORDER BY col),"
            " string_agg(message, '; ' ORDER BY col) FROM problems WHERE _row IS NOT NULL "
            "AND _row NOT IN (SELECT _row FROM _aside) GROUP BY _row")
        self.con.execute("DELETE FROM typed WHERE _row IN (SELECT _row FROM _aside)")
        self.con.execute("DELETE FROM problems WHERE _row IS NOT NULL")
        return self._count("_aside") - before

    def write_set_aside(self, path: Path) -> int:
        """Write the rows set aside, with their original columns and row, line, column and
        reason, as CSV (the file's delimiter; UTF-8 with a byte-order mark for Excel)."""
        if not self._has_table("_aside"):
            return 0
        own = [r[0] for r in self.con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = '_raw_kept' "
            "AND column_name NOT IN ('_row', '_line', '_width') ORDER BY column_index"
        ).fetchall()]
        cols = ", ".join(f"CAST(r.{_q(c)} AS VARCHAR) AS {_q(c)}" for c in own)
        # column names stay the same in every language (a program may read the file back)
        names = ["row", "line", "column", "reason"]
        extra = ", ".join(f"{e} AS {_q(n)}" for e, n in zip(
            ("a._row", "a._line", "a.cols", "a.reasons"), names, strict=True))
        delim = self.detected.get("delimiter", ",")
        table = self.query(
            f"SELECT {cols}, {extra} FROM _raw_kept r JOIN _aside a USING (_row) ORDER BY a._row")
        with path.open("wb") as f:
            f.write(codecs.BOM_UTF8)
            pacsv.write_csv(table, f, pacsv.WriteOptions(delimiter=delim))
        return int(table.num_rows)
