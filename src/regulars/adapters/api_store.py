"""The HTTP API's tables and its store: keys, audit log, idempotency, the customer-map snapshot
and webhooks, on the same ``metadata`` as :mod:`regulars.adapters.orm` (migration 0003).

Single requests are small: they go through SQLAlchemy Core on a pooled engine, not through
the importer's staging (which costs a DuckDB database and a Parquet file per call). On SQLite a
write transaction starts with ``BEGIN IMMEDIATE`` so writers queue for the lock instead of one
failing when it upgrades a read lock; on PostgreSQL the unique keys of the rows themselves
decide which of two concurrent writers wins (the other gets :class:`DuplicateError`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from regulars.adapters import failures
from regulars.adapters.orm import (  # the tables live with every other table
    INPUT_TABLES,
    api_audit,
    api_idempotency,
    api_keys,
    customer_merges,
    loyalty_accruals,
    loyalty_card_entries,
    loyalty_club_payments,
    loyalty_coupons,
    loyalty_expiry_notices,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
    loyalty_operations,
    loyalty_punches,
    loyalty_referrals,
    loyalty_tier_history,
    map_customers,
    map_state,
    metadata,
    webhook_deliveries,
    webhook_outbox,
    webhook_subscriptions,
)
from regulars.domain import privacy
from regulars.domain.tables import SPECS, ColumnType, Kind
from regulars.services.api.ports import CustomerFilter, DuplicateError, StoredResponse

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]
RETURNS = INPUT_TABLES[Kind.RETURNS]

# personal data of a card (DOMAIN §2) and of what hangs off it; erasure clears these
_PERSONAL = ("name", "email", "phone", "birthday", "attributes", "email_norm", "phone_norm")


def _engines(url: str) -> tuple[sa.Engine, sa.Engine]:
    """A writer engine and a reader engine on ``url``, both pooled."""
    if not url.startswith("sqlite"):
        # as many kept connections as requests usually run at once: a connection opened
        # beyond the pool is closed again after its one use
        # a server that does not answer is said so after 10 s, not after the OS's minutes
        timeout = {} if "connect_timeout" in sa.engine.make_url(url).query else {
            "connect_args": {"connect_timeout": 10}}
        engine = sa.create_engine(url, pool_size=16, max_overflow=16, **timeout)
        return engine, engine

    busy = failures.sqlite_busy_ms(url)

    def sqlite(begin: str | None) -> sa.Engine:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False,
                                                     "timeout": busy / 1000},
                                  poolclass=sa.pool.QueuePool, pool_size=8, max_overflow=16)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we say BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql(begin or "BEGIN")

        return engine

    return sqlite("BEGIN IMMEDIATE"), sqlite(None)


def _is_unique_violation(e: sa.exc.IntegrityError) -> bool:
    text = str(e.orig).lower()
    return "unique" in text or "duplicate key" in text or "primary key" in text


def _decimal(value: Any) -> Decimal:
    """Money read as a float (SQLite keeps no decimals): the four places the store keeps."""
    return Decimal(0) if value is None else Decimal(repr(float(value))).quantize(
        Decimal("0.0001"))


class SqlApiTx:
    """One write transaction (see :class:`regulars.services.api.ports.ApiTx`)."""

    def __init__(self, conn: sa.Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.committed = False

    def get_response(self, key_id: str, idempotency_key: str) -> StoredResponse | None:
        t = api_idempotency
        row = self.conn.execute(
            sa.select(t.c.request_hash, t.c.status, t.c.body).where(
                t.c.key_id == key_id, t.c.idempotency_key == idempotency_key)
        ).first()
        if row is None:
            return None
        return StoredResponse(row.request_hash, int(row.status), row.body)

    def keep_response(self, key_id: str, idempotency_key: str, request_hash: str, status: int,
                      body: str) -> None:
        self.insert("api_idempotency", [{
            "key_id": key_id, "idempotency_key": idempotency_key, "request_hash": request_hash,
            "status": status, "body": body, "created_at": _now()}])

    def audit(self, *, key_id: str, action: str, subject: str, status: int | None,
              detail: Mapping[str, Any], channel: str = "http", use_case: str = "",
              outcome: str = "") -> None:
        self.conn.execute(api_audit.insert().values(
            at=_now(), key_id=key_id, action=action, subject=subject[:1000], status=status,
            detail=json.dumps(detail, default=str), channel=channel,
            use_case=use_case or None, outcome=outcome or None))

    def existing(self, kind: Kind, ids: Sequence[str]) -> dict[str, tuple[str, bool]]:
        if not ids:
            return {}
        t = INPUT_TABLES[kind]
        idc = t.primary_key.columns.values()[0]
        stub = t.c.stub if kind is Kind.CUSTOMERS else sa.false()
        rows = self.conn.execute(
            sa.select(idc, t.c.row_hash, stub).where(idc.in_(list(ids)))).all()
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def aliases(self, ids: Sequence[str]) -> dict[str, str]:
        if not ids:
            return {}
        t = customer_merges
        rows = self.conn.execute(
            sa.select(t.c.alias_id, t.c.customer_id).where(t.c.alias_id.in_(list(ids)))).all()
        return {r[0]: r[1] for r in rows}

    def contacts(self, emails: Sequence[str], phones: Sequence[str]) -> list[dict[str, Any]]:
        if not emails and not phones:
            return []
        c = CUSTOMERS.c
        cond = sa.or_(c.email_norm.in_(list(emails)), c.phone_norm.in_(list(phones)))
        rows = self.conn.execute(
            sa.select(c.customer_id, c.email_norm, c.phone_norm, c.stub).where(cond)).all()
        return [dict(r._mapping) for r in rows]

    def order_customers(self, order_ids: Sequence[str]) -> dict[str, str]:
        if not order_ids:
            return {}
        rows = self.conn.execute(
            sa.select(ORDERS.c.order_id, ORDERS.c.customer_id)
            .where(ORDERS.c.order_id.in_(list(order_ids)))).all()
        return {r[0]: r[1] for r in rows}

    def returnable(self, order_ids: Sequence[str]) -> dict[str, tuple[Decimal, Decimal]]:
        if not order_ids:
            return {}
        ids = sorted(order_ids)
        # locked in one order (the importer's too), so that two writers never deadlock
        locked = sa.select(ORDERS.c.order_id, sa.cast(ORDERS.c.amount, sa.Float)).where(
            ORDERS.c.order_id.in_(ids)).order_by(ORDERS.c.order_id)
        if self.dialect != "sqlite":
            locked = locked.with_for_update()
        amounts = {r[0]: _decimal(r[1]) for r in self.conn.execute(locked).all()}
        r = INPUT_TABLES[Kind.RETURNS]
        sums = self.conn.execute(
            sa.select(r.c.order_id, sa.cast(sa.func.sum(r.c.amount), sa.Float))
            .where(r.c.order_id.in_(ids)).group_by(r.c.order_id)).all()
        returned = {row[0]: _decimal(row[1]) for row in sums}
        return {o: (a, returned.get(o, Decimal(0))) for o, a in amounts.items()}

    def insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        try:
            self.conn.execute(metadata.tables[table].insert(), [dict(r) for r in rows])
        except sa.exc.IntegrityError as e:
            if _is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def update_customer(self, customer_id: str, values: Mapping[str, Any]) -> None:
        self.conn.execute(CUSTOMERS.update().where(CUSTOMERS.c.customer_id == customer_id)
                          .values(**values))

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True


class SqlApiStore:
    """The API's view of the store at ``url`` (the port ``services.api.ports.ApiStore``)."""

    def __init__(self, url: str) -> None:
        from regulars.adapters.store import SqlStore  # store.py imports orm, which imports us

        self.url = url
        self.store = SqlStore(url)  # creates a SQLite file's folder, checks the dialect
        self.dialect = self.store.dialect
        self.writer, self.reader = _engines(url)

    def close(self) -> None:
        self.writer.dispose()
        self.reader.dispose()

    def ensure_schema(self) -> None:
        self.store.ensure_schema()

    def probe(self) -> None:
        """Raise :class:`~regulars.domain.errors.StoreUnavailableError` when the store cannot
        be reached or written now; cheap enough for every health check (no row is written)."""
        failures.probe(self.url, self.writer)

    @contextmanager
    def begin(self) -> Iterator[SqlApiTx]:
        try:
            with failures.translated(self.url), self.writer.connect() as conn:
                conn.begin()
                tx = SqlApiTx(conn, self.dialect)
                try:
                    yield tx
                finally:
                    if not tx.committed:
                        conn.rollback()
        except sa.exc.IntegrityError as e:
            # a unique key hit at commit time (deferred) is a lost race too
            if _is_unique_violation(e):
                raise DuplicateError(str(e.orig)) from e
            raise

    def read_table(self, kind: Kind) -> pa.Table:
        """A whole input table as Arrow, typed as :meth:`SqlStore.read_table` types it.

        On SQLite it is read through this process's own SQLite (pysqlite), not ADBC's: two
        copies of SQLite in one process must not have one database open at once, as each
        drops the other's POSIX locks on close ("disk I/O error", sqlite.org/howtocorrupt).
        """
        if self.dialect != "sqlite":
            return self.store.read_table(kind)
        spec = SPECS[kind]
        cols = ", ".join(spec.names)
        with self.reader.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT {cols} FROM {kind.value}").fetchall()
        return _arrow(kind, [tuple(r) for r in rows])

    def read_rows(self, kind: Kind, customer_ids: Sequence[str]) -> pa.Table:
        """The rows of an input table that concern these customers (returns through their
        orders, referrals they made), typed as :meth:`read_table` types them: what the live
        map recomputes a few customers from."""
        t = INPUT_TABLES[kind]
        cols = [t.c[name] for name in SPECS[kind].names]
        ids = list(customer_ids)
        if kind is Kind.RETURNS:
            stmt = sa.select(*cols).join(ORDERS, ORDERS.c.order_id == t.c.order_id).where(
                ORDERS.c.customer_id.in_(ids))
        elif kind is Kind.REFERRALS:
            stmt = sa.select(*cols).where(t.c.referrer_id.in_(ids))
        else:
            stmt = sa.select(*cols).where(t.c.customer_id.in_(ids))
        with self.reader.connect() as conn:
            rows = [tuple(r) for r in conn.execute(stmt)]
        return _arrow(kind, rows)

    def _read(self, stmt: sa.Executable) -> list[dict[str, Any]]:
        with failures.translated(self.url), self.reader.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def _write(self, *stmts: sa.Executable) -> int:
        n = 0
        with failures.translated(self.url), self.writer.begin() as conn:
            for stmt in stmts:
                n += conn.execute(stmt).rowcount or 0
        return n

    # -- keys --------------------------------------------------------------------------------

    def add_key(self, record: Mapping[str, Any]) -> None:
        self._write(api_keys.insert().values(**record))

    def get_key(self, key_id: str) -> dict[str, Any] | None:
        rows = self._read(sa.select(api_keys).where(api_keys.c.key_id == key_id))
        return rows[0] if rows else None

    def list_keys(self) -> list[dict[str, Any]]:
        return self._read(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id))

    def update_key(self, key_id: str, values: Mapping[str, Any]) -> None:
        self._write(api_keys.update().where(api_keys.c.key_id == key_id).values(**values))

    # -- the customer map snapshot -----------------------------------------------------------

    def replace_map(self, rows: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> None:
        with self.writer.begin() as conn:
            conn.execute(map_customers.delete())
            for i in range(0, len(rows), 5000):
                conn.execute(map_customers.insert(), [dict(r) for r in rows[i:i + 5000]])
            conn.execute(map_state.delete())
            conn.execute(map_state.insert().values(id=1, **state))

    def upsert_map_rows(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        if not rows:
            return {}
        ids = [r["customer_id"] for r in rows]
        with self.writer.begin() as conn:
            before = {r["customer_id"]: dict(r) for r in conn.execute(
                sa.select(map_customers).where(map_customers.c.customer_id.in_(ids))).mappings()}
            conn.execute(map_customers.delete().where(map_customers.c.customer_id.in_(ids)))
            conn.execute(map_customers.insert(), [dict(r) for r in rows])
        return before

    def map_state(self) -> dict[str, Any] | None:
        rows = self._read(sa.select(map_state).where(map_state.c.id == 1))
        return rows[0] if rows else None

    def list_customers(self, f: CustomerFilter) -> list[dict[str, Any]]:
        m, c, lm = map_customers, CUSTOMERS, loyalty_members
        stmt = (sa.select(m, c.c.name, c.c.email, c.c.phone, c.c.manager, lm.c.tier)
                .select_from(m.outerjoin(c, c.c.customer_id == m.c.customer_id)
                             .outerjoin(lm, lm.c.member_id == m.c.customer_id)))
        conds: list[sa.ColumnElement[bool]] = []
        if f.rung:
            conds.append(m.c.rung == f.rung)
        if f.status:
            conds.append(m.c.status == f.status)
        if f.rfm_segment:
            conds.append(m.c.rfm_segment == f.rfm_segment)
        if f.signal:
            conds.append(m.c.signals.contains(json.dumps(f.signal), autoescape=True))
        if f.trait:
            conds.append(m.c.traits.contains(json.dumps(f.trait), autoescape=True))
        if f.manager:
            conds.append(c.c.manager == f.manager)
        if f.tier:
            conds.append(lm.c.tier == f.tier)
        if f.text:
            needle = f.text.lower()
            conds.append(sa.or_(
                sa.func.lower(m.c.customer_id).contains(needle, autoescape=True),
                sa.func.lower(c.c.name).contains(needle, autoescape=True),
                sa.func.lower(c.c.email).contains(needle, autoescape=True)))
        if f.after is not None:
            conds.append(m.c.customer_id > f.after)
        stmt = stmt.where(*conds).order_by(m.c.customer_id).limit(f.limit)
        return self._read(stmt)

    def resolve_alias(self, customer_id: str) -> str:
        t = customer_merges
        rows = self._read(sa.select(t.c.customer_id).where(t.c.alias_id == customer_id))
        return str(rows[0]["customer_id"]) if rows else customer_id

    def customer_card(self, customer_id: str) -> dict[str, Any] | None:
        profile = self._read(sa.select(*_public(CUSTOMERS)).where(
            CUSTOMERS.c.customer_id == customer_id))
        if not profile:
            return None
        row = self._read(sa.select(map_customers).where(
            map_customers.c.customer_id == customer_id))
        orders = self._read(sa.select(*_public(ORDERS)).where(
            ORDERS.c.customer_id == customer_id).order_by(ORDERS.c.ordered_at, ORDERS.c.order_id))
        returns = self._read(sa.select(*_public(RETURNS)).join(
            ORDERS, ORDERS.c.order_id == RETURNS.c.order_id).where(
            ORDERS.c.customer_id == customer_id).order_by(RETURNS.c.returned_at))
        return {"profile": profile[0], "map": row[0] if row else None, "orders": orders,
                "returns": returns}

    def customer_rows(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for kind, t in INPUT_TABLES.items():
            if kind is Kind.RETURNS:
                stmt = sa.select(*_public(t)).join(ORDERS, ORDERS.c.order_id == t.c.order_id)\
                    .where(ORDERS.c.customer_id == customer_id)
            elif kind is Kind.REFERRALS:
                stmt = sa.select(*_public(t)).where(sa.or_(
                    t.c.referrer_id == customer_id, t.c.referee_id == customer_id))
            else:
                stmt = sa.select(*_public(t)).where(t.c.customer_id == customer_id)
            out[kind.value] = self._read(stmt)
        merges = customer_merges
        out["customer_merges"] = self._read(sa.select(merges).where(
            merges.c.customer_id == customer_id))
        out["customer_map"] = self._read(sa.select(map_customers).where(
            map_customers.c.customer_id == customer_id))
        # the loyalty programme's records of this member
        for t in LOYALTY_BY_MEMBER:
            out[t.name] = self._read(sa.select(t).where(t.c.member_id == customer_id))
        refs = loyalty_referrals
        out[refs.name] = self._read(sa.select(refs).where(sa.or_(
            refs.c.referrer_id == customer_id, refs.c.referee_id == customer_id)))
        return out

    def erase_customer(self, customer_id: str, *, key_id: str, at: datetime,
                       action: str = "POST /v1/customers/{id}/erase",
                       channel: str = "http", status: int | None = 200) -> dict[str, int]:
        """Erase the person of ``customer_id`` (and of the cards merged into it) in one
        transaction; what goes and what stays is docs/http-api.md#privacy."""
        with self.writer.begin() as conn:
            counts = _erase(conn, customer_id)
            conn.execute(api_audit.insert().values(
                at=at, key_id=key_id, action=action, subject=customer_id, status=status,
                detail=json.dumps(counts), channel=channel, use_case="customers.erase",
                outcome="done"))
        return counts

    def audit_entries(self, limit: int = 100) -> list[dict[str, Any]]:
        return self._read(sa.select(api_audit).order_by(api_audit.c.id.desc()).limit(limit))

    # -- webhooks ----------------------------------------------------------------------------

    def add_subscription(self, record: Mapping[str, Any]) -> None:
        self._write(webhook_subscriptions.insert().values(**record))

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return self._read(sa.select(webhook_subscriptions).order_by(
            webhook_subscriptions.c.created_at, webhook_subscriptions.c.id))

    def delete_subscription(self, sub_id: str) -> bool:
        t = webhook_subscriptions
        return self._write(t.delete().where(t.c.id == sub_id)) > 0

    def enqueue_events(self, events: Sequence[Mapping[str, Any]]) -> int:
        if not events:
            return 0
        with self.writer.begin() as conn:
            conn.execute(webhook_outbox.insert(), [dict(e) for e in events])
        return len(events)

    def due_deliveries(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        o, s = webhook_outbox, webhook_subscriptions
        return self._read(
            sa.select(o, s.c.url, s.c.secret).join(s, s.c.id == o.c.subscription_id)
            .where(o.c.state == "pending", o.c.next_attempt_at <= now)
            .order_by(o.c.next_attempt_at, o.c.id).limit(limit))

    def record_delivery(self, outbox_id: int, *, attempt: int, at: datetime,
                        status_code: int | None, error: str | None, duration_ms: float,
                        state: str, next_attempt_at: datetime | None) -> None:
        o = webhook_outbox
        self._write(
            webhook_deliveries.insert().values(
                outbox_id=outbox_id, attempt=attempt, at=at, status_code=status_code,
                error=error, duration_ms=duration_ms),
            o.update().where(o.c.id == outbox_id).values(
                attempts=attempt, state=state, next_attempt_at=next_attempt_at,
                delivered_at=at if state == "delivered" else None))

    def deliveries(self, outbox_id: int | None = None) -> list[dict[str, Any]]:
        d = webhook_deliveries
        stmt = sa.select(d).order_by(d.c.id)
        if outbox_id is not None:
            stmt = stmt.where(d.c.outbox_id == outbox_id)
        return self._read(stmt)

    def outbox(self) -> list[dict[str, Any]]:
        return self._read(sa.select(webhook_outbox).order_by(webhook_outbox.c.id))


# loyalty tables keyed by member, exported with the customer (referrals: either side)
LOYALTY_BY_MEMBER = (loyalty_members, loyalty_ledger, loyalty_lots,
                     loyalty_accruals, loyalty_tier_history,
                     loyalty_coupons, loyalty_punches,
                     loyalty_club_payments, loyalty_card_entries,
                     loyalty_expiry_notices)


# text written about customers by people and programs, where a person can be named: each is
# rubbed of the erased person's name, e-mail and phone, whoever's row it is. Not other cards'
# names (a namesake keeps theirs) nor the staff's names (`manager`, `actor`).
FREE_TEXT: tuple[tuple[sa.Table, str], ...] = (
    (INPUT_TABLES[Kind.CUSTOMERS], "attributes"),
    (INPUT_TABLES[Kind.FEEDBACK], "text"),
    (INPUT_TABLES[Kind.INTERACTIONS], "outcome"),
    (INPUT_TABLES[Kind.RETURNS], "reason"),
    (customer_merges, "matched_value"),
    (api_audit, "detail"),
    (api_idempotency, "body"),
    (webhook_outbox, "payload"),
    (webhook_deliveries, "error"),
    (loyalty_ledger, "reason"),
    (loyalty_operations, "result"),
    (loyalty_referrals, "reason"),
)


def _erase(conn: sa.Connection, customer_id: str) -> dict[str, int]:
    fb, talks = INPUT_TABLES[Kind.FEEDBACK], INPUT_TABLES[Kind.INTERACTIONS]
    members, ops = loyalty_members, loyalty_operations
    merges = customer_merges
    ids = [customer_id] + [r[0] for r in conn.execute(sa.select(merges.c.alias_id).where(
        merges.c.customer_id == customer_id))]
    # who they are, as every table wrote them, before any of it goes
    cards = conn.execute(sa.select(CUSTOMERS.c.name, CUSTOMERS.c.email, CUSTOMERS.c.phone,
                                   CUSTOMERS.c.email_norm, CUSTOMERS.c.phone_norm).where(
        CUSTOMERS.c.customer_id.in_(ids))).all()
    member = conn.execute(sa.select(members.c.email_norm, members.c.phone_norm).where(
        members.c.member_id.in_(ids))).all()
    matched = conn.execute(sa.select(merges.c.reason, merges.c.matched_value).where(
        sa.or_(merges.c.customer_id.in_(ids), merges.c.alias_id.in_(ids)))).all()
    person = privacy.Person.of(
        names=[c.name for c in cards],
        emails=[c.email for c in cards] + [c.email_norm for c in cards]
        + [m.email_norm for m in member]
        + [v for r, v in matched if r == "email" and v != privacy.ERASED_TEXT],
        phones=[c.phone for c in cards] + [c.phone_norm for c in cards]
        + [m.phone_norm for m in member]
        + [v for r, v in matched if r == "phone" and v != privacy.ERASED_TEXT])
    orders = sa.select(ORDERS.c.order_id).where(ORDERS.c.customer_id.in_(ids))

    def run(stmt: sa.Executable) -> int:
        return conn.execute(stmt).rowcount or 0

    counts = {
        # the card: its content fingerprint goes too, an MD5 of the fields a guess would match
        "customers": run(CUSTOMERS.update().where(CUSTOMERS.c.customer_id.in_(ids)).values(
            **dict.fromkeys(_PERSONAL), row_hash=privacy.ERASED, stub=False)),
        # their own free text, whole: it is about them, whoever wrote it
        "feedback_texts": run(fb.update().where(fb.c.customer_id.in_(ids)).values(
            text=None, row_hash=privacy.ERASED)),
        "interaction_texts": run(talks.update().where(talks.c.customer_id.in_(ids)).values(
            outcome=None, row_hash=privacy.ERASED)),
        "return_reasons": run(RETURNS.update().where(RETURNS.c.order_id.in_(orders)).values(
            reason=None, row_hash=privacy.ERASED)),
        "merge_keys": run(merges.update().where(sa.or_(
            merges.c.customer_id.in_(ids), merges.c.alias_id.in_(ids))).values(
            matched_value=privacy.ERASED_TEXT)),
        "loyalty_members": run(members.update().where(members.c.member_id.in_(ids)).values(
            email_norm=None, phone_norm=None, payment_fingerprint=None, birthday=None)),
        "payment_fingerprints": run(loyalty_accruals.update().where(
            loyalty_accruals.c.member_id.in_(ids),
            loyalty_accruals.c.payment_fingerprint.is_not(None)).values(
            payment_fingerprint=None)),
        # an enrolment's fingerprint is a SHA-256 of the e-mail and phone sent: guessable
        "request_fingerprints": run(ops.update().where(ops.c.member_id.in_(ids)).values(
            fingerprint=privacy.ERASED)),
    }
    counts["texts_rubbed"] = _rub(conn, person.pattern())
    return counts


def _rub(conn: sa.Connection, pattern: re.Pattern[str] | None) -> int:
    """Replace every occurrence of the person in the free text of every row (Python reads
    the columns once: phones are written in too many ways for SQL's LIKE)."""
    if pattern is None:
        return 0
    n = 0
    for table, name in FREE_TEXT:
        col = table.c[name]
        keys = list(table.primary_key.columns)
        changed: list[tuple[Any, str | None]] = []
        # streamed: an audit log of millions of rows is read, not held, and only the few rows
        # that mention the person are kept to be written afterwards
        result = conn.execute(sa.select(*keys, col).where(col.is_not(None)),
                              execution_options={"stream_results": True, "yield_per": 2000})
        for part in result.partitions():
            for row in part:
                rubbed = privacy.scrub(row[-1], pattern)
                if rubbed != row[-1]:
                    changed.append((tuple(row[:-1]), rubbed))
        for key, rubbed in changed:
            conn.execute(table.update().where(
                *[k == v for k, v in zip(keys, key, strict=True)]).values({name: rubbed}))
        n += len(changed)
    return n


def _arrow(kind: Kind, rows: Sequence[tuple[Any, ...]]) -> pa.Table:
    """Rows of an input table (in contract column order) as Arrow, typed as the store's ADBC
    reads type them (SQLite hands back times as text, PostgreSQL as datetimes)."""
    spec = SPECS[kind]
    arrays = []
    for i, col in enumerate(spec.columns):
        values = [r[i] for r in rows]
        t = col.type
        text = any(isinstance(v, str) for v in values)
        if t is ColumnType.TIMESTAMP:
            arr = (pc.cast(pa.array(values, pa.string()), pa.timestamp("us")) if text
                   else pa.array(values, pa.timestamp("us")))
        elif t is ColumnType.DATE:
            arr = (pc.cast(pa.array(values, pa.string()), pa.date32()) if text
                   else pa.array(values, pa.date32()))
        elif t is ColumnType.BOOLEAN:
            arr = pa.array([None if v is None else bool(v) for v in values], pa.bool_())
        elif t is ColumnType.MONEY:
            arr = pa.array([None if v is None else float(v) for v in values], pa.float64())
        elif t is ColumnType.INTEGER:
            arr = pa.array(values, pa.int64())
        else:
            arr = pa.array(values, pa.string())
        arrays.append(arr)
    return pa.table(arrays, names=list(spec.names))


def _public(t: sa.Table) -> list[sa.Column[Any]]:
    """A table's columns without the store's bookkeeping."""
    hidden = {"row_hash", "import_id", "email_norm", "phone_norm"}
    return [c for c in t.columns if c.name not in hidden]


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC).replace(tzinfo=None)
