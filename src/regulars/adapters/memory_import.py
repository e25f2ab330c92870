"""The in-memory fake of the file import's store port (:class:`FakeStore`), for fast tests of
the import service: no database, no files."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from regulars.adapters.db.store import AppendsBatches, arrow_schema
from regulars.adapters.db.tables import INPUT_TABLES, customer_merges, imports
from regulars.domain.tables import SPECS, Kind


def _empty(name: str) -> pa.Table:
    from regulars.adapters.db.tables import metadata

    cols = [c.name for c in metadata.tables[name].columns]
    return arrow_schema(name, cols).empty_table()


class FakeStore:
    """Holds every table as Arrow; a write lands only when committed."""

    def __init__(self) -> None:
        names = [t.name for t in INPUT_TABLES.values()] + [imports.name, customer_merges.name]
        self.tables: dict[str, pa.Table] = {n: _empty(n) for n in names}
        self.commits = 0

    def ensure_schema(self) -> None:
        pass

    def _select(self, name: str, columns: dict[str, str], where: Any = None) -> pa.Table:
        t = self.tables[name]
        if where is not None:
            t = t.filter(where(t))
        return pa.table({alias: t.column(col) for alias, col in columns.items()})

    def existing_keys(self, kind: Kind) -> pa.Table:
        cols = {"id": SPECS[kind].id_column, "row_hash": "row_hash"}
        if kind is Kind.CUSTOMERS:
            cols["stub"] = "stub"
        return self._select(kind.value, cols)

    def ids(self, kind: Kind) -> pa.Table:
        return self._select(kind.value, {"id": SPECS[kind].id_column})

    def customer_contacts(self) -> pa.Table:
        cols = {c: c for c in ("customer_id", "email_norm", "phone_norm", "stub")}
        return self._select(
            "customers",
            cols,
            lambda t: pc.or_kleene(pc.is_valid(t["email_norm"]), pc.is_valid(t["phone_norm"])),
        )

    def aliases(self) -> pa.Table:
        return self._select(
            "customer_merges", {"alias_id": "alias_id", "customer_id": "customer_id"}
        )

    def read_table(self, kind: Kind) -> pa.Table:
        return self.tables[kind.value].select(list(SPECS[kind].names))

    def returnable(self, order_ids: pa.Array) -> pa.Table:
        return _returnable(self.tables, set(order_ids.to_pylist()), None)

    def counts(self) -> dict[str, int]:
        return {k.value: self.tables[k.value].num_rows for k in Kind} | {
            "customer_merges": self.tables["customer_merges"].num_rows
        }

    @contextmanager
    def writing(self) -> Iterator[FakeWrite]:
        write = FakeWrite(self)
        yield write


class FakeWrite(AppendsBatches):
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.pending = dict(store.tables)
        self.text_times = False
        self.bulk_load = True  # nothing to rebuild: the fake keeps no indexes

    def next_import_id(self) -> int:
        return int(self.pending["imports"].num_rows) + 1

    def add_import(self, record: dict[str, Any]) -> None:
        self.append_table("imports", pa.Table.from_pylist([record]))

    def delete_stubs(self, ids: pa.Array) -> None:
        t = self.pending["customers"]
        drop = pc.and_(pc.is_in(t["customer_id"], ids), t["stub"])
        self.pending["customers"] = t.filter(pc.invert(drop))

    def append_table(self, name: str, table: pa.Table) -> None:
        current = self.pending[name]
        missing = [f for f in current.schema if f.name not in table.column_names]
        for f in missing:
            table = table.append_column(f.name, pa.nulls(table.num_rows, f.type))
        table = table.select(current.column_names).cast(current.schema)
        self.pending[name] = pa.concat_tables([current, table])

    def over_returned(self, import_id: int) -> pa.Table:
        returns = self.pending["returns"].to_pylist()
        mine = {r["order_id"] for r in returns if r["import_id"] == import_id}
        total: dict[str, float] = {}
        for r in returns:
            total[r["order_id"]] = total.get(r["order_id"], 0.0) + float(r["amount"])
        table = _returnable(self.pending, mine, import_id)
        over = [round(total[i] - a, 4) > 0 for i, a in zip(
            table["id"].to_pylist(), table["amount"].to_pylist(), strict=True)]
        return table.filter(pa.array(over, pa.bool_()))

    def commit(self) -> None:
        self.store.tables = self.pending
        self.store.commits += 1


def _returnable(tables: dict[str, pa.Table], order_ids: set[str],
                leave_out: int | None) -> pa.Table:
    """The store port's ``returnable`` (``leave_out``: without that import's returns)."""
    orders = [o for o in tables["orders"].select(["order_id", "amount"]).to_pylist()
              if o["order_id"] in order_ids]
    returned: dict[str, float] = {}
    for r in tables["returns"].to_pylist():
        if leave_out is None or r["import_id"] != leave_out:
            returned[r["order_id"]] = returned.get(r["order_id"], 0.0) + float(r["amount"])
    return pa.table({
        "id": pa.array([o["order_id"] for o in orders], pa.string()),
        "amount": pa.array([float(o["amount"]) for o in orders], pa.float64()),
        "returned": pa.array([returned.get(o["order_id"]) for o in orders], pa.float64())})
