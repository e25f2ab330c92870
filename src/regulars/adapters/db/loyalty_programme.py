"""The programme's own records in one loyalty transaction: its versions, the operations
already done (idempotency), tier changes and their ``tier_changed`` events' cursor, and the
committed chunks of the periodic runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from regulars.adapters.db.loyalty_base import LoyaltyTxBase
from regulars.adapters.db.loyalty_rows import aware_utc, in_values, money, naive_utc
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    loyalty_operations,
    loyalty_programmes,
    loyalty_runs,
    loyalty_tier_events,
    loyalty_tier_history,
    webhook_outbox,
)
from regulars.domain.tables import Kind
from regulars.services.loyalty.ports import SOURCE_FILE, Operation, ProgrammeRecord, RunChunk


class ProgrammeRows(LoyaltyTxBase):
    """Programme versions, operations, tiers, runs."""

    def programme_versions(self) -> list[ProgrammeRecord]:
        t = loyalty_programmes
        rows = self._rows(sa.select(t).order_by(t.c.version))
        return [ProgrammeRecord(int(r.version), aware_utc(r.effective_from), r.fingerprint,  # type: ignore[arg-type]
                                json.loads(r.definition), aware_utc(r.recorded_at), r.source,
                                r.author, r.note) for r in rows]

    def programme_head(self) -> int | None:
        head = self.conn.execute(sa.select(sa.func.max(loyalty_programmes.c.version))).scalar()
        return None if head is None else int(head)

    def add_programme_version(self, version: int, effective_from: datetime, fingerprint: str,
                              definition: dict[str, Any], at: datetime, *,
                              source: str = SOURCE_FILE, author: str | None = None,
                              note: str | None = None) -> None:
        self.conn.execute(loyalty_programmes.insert(), {
            "version": version, "fingerprint": fingerprint,
            "effective_from": naive_utc(effective_from),
            "recorded_at": naive_utc(at), "definition": json.dumps(definition, sort_keys=True),
            "source": source, "author": author, "note": note})

    # -- operations (idempotency) ------------------------------------------------------------

    def operations(self, keys: Iterable[str]) -> dict[str, Operation]:
        found: dict[str, Operation] = {}
        t = loyalty_operations
        for chunk in self._chunks(list(keys)):
            for r in self._rows(sa.select(t).where(in_values(t.c.key, chunk, self.dialect))):
                m = r._mapping
                found[m["key"]] = Operation(m["key"], m["kind"], m["member_id"],
                                            m["fingerprint"], json.loads(m["result"]))
        return found

    def add_operations(self, ops: Sequence[Operation], at: datetime) -> None:
        if ops:
            self.conn.execute(loyalty_operations.insert(), [
                {"key": o.key, "kind": o.kind, "member_id": o.member_id,
                 "fingerprint": o.fingerprint, "result": json.dumps(o.result), "at": naive_utc(at)}
                for o in ops])

    # -- tiers -------------------------------------------------------------------------------

    def add_tier_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(loyalty_tier_history.insert(),
                              [{**r, "at": naive_utc(r["at"])} for r in rows])

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        t = loyalty_tier_history
        rows = self._rows(sa.select(t).where(t.c.member_id == member_id).order_by(t.c.id))
        return [{**r._mapping, "at": aware_utc(r.at), "qualifying": money(r.qualifying)}
                for r in rows]

    # -- the periodic runs --------------------------------------------------------------------

    def add_run_chunk(self, chunk: RunChunk, at: datetime) -> None:
        self.conn.execute(loyalty_runs.insert(), {
            "run_id": chunk.run_id, "step": chunk.step, "chunk": chunk.chunk,
            "as_of": naive_utc(chunk.as_of), "committed_at": naive_utc(at), "actor": chunk.actor,
            "members": chunk.members, "items": chunk.items, "points": chunk.points,
            "detail": json.dumps(list(chunk.detail))})

    def run_chunks(self, run_id: str) -> list[RunChunk]:
        t = loyalty_runs
        rows = self._rows(sa.select(t).where(t.c.run_id == run_id).order_by(t.c.id))
        return [RunChunk(r.run_id, r.step, int(r.chunk), aware_utc(r.as_of), r.actor,  # type: ignore[arg-type]
                         int(r.members), int(r.items), int(r.points),
                         tuple(json.loads(r.detail))) for r in rows]

    def last_run_at(self, step: str) -> datetime | None:
        """The latest moment a committed chunk of ``step`` ran at."""
        t = loyalty_runs
        return aware_utc(self.conn.execute(
            sa.select(sa.func.max(t.c.as_of)).where(t.c.step == step)).scalar())

    def customer_names(self, ids: Iterable[str]) -> dict[str, str]:
        """The names the store's ``customers`` table gives these ids (those it has)."""
        t = INPUT_TABLES[Kind.CUSTOMERS]
        out: dict[str, str] = {}
        for chunk in self._chunks(sorted(set(ids))):
            out.update({r[0]: r[1] for r in self._rows(
                sa.select(t.c.customer_id, t.c.name).where(
                    in_values(t.c.customer_id, chunk, self.dialect), t.c.name.is_not(None)))})
        return out

    def known_customers(self, ids: Iterable[str]) -> dict[str, str | None]:
        """Those of ``ids`` the ``customers`` table has, with their names (None: unnamed)."""
        t = INPUT_TABLES[Kind.CUSTOMERS]
        out: dict[str, str | None] = {}
        for chunk in self._chunks(sorted(set(ids))):
            out.update({r[0]: r[1] for r in self._rows(
                sa.select(t.c.customer_id, t.c.name).where(
                    in_values(t.c.customer_id, chunk, self.dialect)))})
        return out

    def customers_by_phone(self, phone_norm: str, *, limit: int = 10) -> dict[str, str | None]:
        """Customers whose normalised phone is ``phone_norm`` (its index), with their names."""
        t = INPUT_TABLES[Kind.CUSTOMERS]
        return {r[0]: r[1] for r in self._rows(
            sa.select(t.c.customer_id, t.c.name).where(t.c.phone_norm == phone_norm)
            .order_by(t.c.customer_id).limit(limit))}

    # -- the tier_changed events (the server publishes the tier history) ---------------------

    def tier_event_cursor(self, at: datetime) -> int:
        """The id of the last tier-history row published, locked until the transaction ends
        (PostgreSQL: ``FOR UPDATE``, so a concurrent publisher waits for this one; SQLite:
        the write transaction holds the database). Without a cursor yet (the first start),
        it starts at the newest row: the history from before is not replayed."""
        t, h = loyalty_tier_events, loyalty_tier_history
        find = sa.select(t.c.last_history_id).where(t.c.id == 1).with_for_update()
        row = self.conn.execute(find).first()
        if row is None:
            newest = self.conn.execute(sa.select(sa.func.max(h.c.id))).scalar()
            insert = (postgresql.insert(t) if self.dialect == "postgresql"
                      else sqlite.insert(t))
            # a concurrent first start inserted it first: then its row is the cursor
            self.conn.execute(insert.values(id=1, last_history_id=int(newest or 0),
                                            updated_at=naive_utc(at))
                              .on_conflict_do_nothing(index_elements=["id"]))
            row = self.conn.execute(find).one()
        return int(row[0])

    def tier_changes_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        """The tier-history rows after id ``after``, in id order, at most ``limit``.

        On PostgreSQL this first takes a SHARE lock on the history: it waits for the
        transactions writing to it to end and holds new ones off until this one ends. Ids
        are handed out before commit, so without it a row committed late under an id below
        one already read would be passed over for good. (SQLite's writers are serialised.)"""
        t = loyalty_tier_history
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql("LOCK TABLE loyalty_tier_history IN SHARE MODE")
        rows = self._rows(sa.select(t).where(t.c.id > after).order_by(t.c.id).limit(limit))
        return [{**r._mapping, "at": aware_utc(r.at), "qualifying": money(r.qualifying)}
                for r in rows]

    def queue_webhook_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert webhook outbox rows in this transaction (with the cursor's move)."""
        if rows:
            self.conn.execute(webhook_outbox.insert(), [dict(r) for r in rows])

    def advance_tier_event_cursor(self, last_id: int, at: datetime) -> None:
        t = loyalty_tier_events
        self.conn.execute(t.update().where(t.c.id == 1).values(last_history_id=last_id,
                                                                updated_at=naive_utc(at)))
