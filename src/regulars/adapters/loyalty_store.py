"""The loyalty programme's tables and their SQL repository (SQLite and PostgreSQL).

The tables live on the store's one ``metadata`` (``adapters/orm.py`` imports this module), are
created by migration ``0002_loyalty`` and are written only inside a
:meth:`SqlLoyaltyStore.transaction`:

* SQLite: the transaction starts with ``BEGIN IMMEDIATE``, so it holds the database's write
  lock from its first statement and concurrent writers queue (``busy_timeout``) instead of
  reading a balance that another writer is about to change;
* PostgreSQL: ``READ COMMITTED`` plus ``SELECT … FOR UPDATE`` on the members a transaction
  touches (always in member-id order, so two transactions cannot deadlock on them).

Every external reference is a primary key or a UNIQUE constraint — orders accrued, operation
keys, ledger entry refs, coupon codes and their sources — so a retry can never be counted
twice, whatever the service layer above does. Instants are stored as naive UTC.

``loyalty_expiry_notices`` (migration ``0005_expiry_notices``) records the ``points_expiring``
notices sent, one per member and expiry instant.
``loyalty_tier_events`` (migration ``0007_tier_events``) is the cursor of the ``tier_changed``
webhooks: the id of the last ``loyalty_tier_history`` row the server published.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from regulars.adapters import failures, migrate
from regulars.adapters.orm import (  # the tables live with every other table
    INPUT_TABLES,
    loyalty_accruals,
    loyalty_allocations,
    loyalty_card_entries,
    loyalty_club_payments,
    loyalty_coupons,
    loyalty_draws,
    loyalty_expiry_notices,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
    loyalty_operations,
    loyalty_programmes,
    loyalty_punches,
    loyalty_referrals,
    loyalty_reward_stock,
    loyalty_runs,
    loyalty_tier_events,
    loyalty_tier_history,
)
from regulars.domain.errors import StoreError
from regulars.domain.loyalty.ledger import (
    Account,
    Allocation,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
)
from regulars.domain.tables import Kind
from regulars.i18n import _
from regulars.services.loyalty.ports import (
    Accrual,
    Coupon,
    DuplicateKey,
    ExpiringPoints,
    Operation,
    ReferralRecord,
    RunChunk,
)

# --- conversions ------------------------------------------------------------------------------


def _db(at: datetime | None) -> datetime | None:
    """An aware instant as naive UTC (how the store keeps them)."""
    if at is None:
        return None
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def _utc(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _dec(value: Any) -> Decimal:
    # SQLite hands back floats from NUMERIC columns; money has four decimals at most
    return Decimal(value).quantize(Decimal("0.0001")) if not isinstance(value, Decimal) \
        else value


_MEMBER_COLS = [c.name for c in loyalty_members.columns]


def _member(row: Any) -> Member:
    m = row._mapping
    return Member(
        member_id=m["member_id"], enrolled_at=_utc(m["enrolled_at"]),  # type: ignore[arg-type]
        consent=bool(m["consent"]), consent_at=_utc(m["consent_at"]),
        email_norm=m["email_norm"], phone_norm=m["phone_norm"],
        payment_fingerprint=m["payment_fingerprint"], birthday=m["birthday"],
        referral_code=m["referral_code"], referred_by=m["referred_by"], tier=m["tier"],
        tier_period_end=_utc(m["tier_period_end"]), balance=int(m["balance"]),
        pending=int(m["pending"]), debt=int(m["debt"]), deficit=int(m["deficit"]),
        earned_total=int(m["earned_total"]), club_until=_utc(m["club_until"]),
        stored_value=_dec(m["stored_value"]),
    )


def _member_row(m: Member) -> dict[str, Any]:
    return {
        "member_id": m.member_id, "enrolled_at": _db(m.enrolled_at), "consent": m.consent,
        "consent_at": _db(m.consent_at), "email_norm": m.email_norm, "phone_norm": m.phone_norm,
        "payment_fingerprint": m.payment_fingerprint, "birthday": m.birthday,
        "referral_code": m.referral_code, "referred_by": m.referred_by, "tier": m.tier,
        "tier_period_end": _db(m.tier_period_end), "balance": m.balance, "pending": m.pending,
        "debt": m.debt, "deficit": m.deficit, "earned_total": m.earned_total,
        "club_until": _db(m.club_until), "stored_value": m.stored_value,
    }


def _lot(row: Any) -> Lot:
    m = row._mapping
    return Lot(
        lot_ref=m["lot_ref"], member_id=m["member_id"], source=m["source"],
        earned_at=_utc(m["earned_at"]), points=int(m["points"]),  # type: ignore[arg-type]
        remaining=int(m["remaining"]), state=LotState(m["state"]),
        available_at=_utc(m["available_at"]), expires_at=_utc(m["expires_at"]),
        order_id=m["order_id"],
    )


def _lot_row(lot: Lot) -> dict[str, Any]:
    return {
        "lot_ref": lot.lot_ref, "member_id": lot.member_id, "source": lot.source,
        "earned_at": _db(lot.earned_at), "points": lot.points, "remaining": lot.remaining,
        "state": lot.state.value, "available_at": _db(lot.available_at),
        "expires_at": _db(lot.expires_at), "order_id": lot.order_id,
    }


def _entry(row: Any) -> Entry:
    m = row._mapping
    return Entry(
        ref=m["ref"], member_id=m["member_id"], at=_utc(m["at"]),  # type: ignore[arg-type]
        kind=EntryKind(m["kind"]), points=int(m["points"]), pending=int(m["pending"]),
        deficit=int(m["deficit"]), lot_ref=m["lot_ref"], order_id=m["order_id"],
        reason=m["reason"], actor=m["actor"], programme_version=m["programme_version"],
    )


def _entry_row(e: Entry) -> dict[str, Any]:
    return {
        "ref": e.ref, "member_id": e.member_id, "at": _db(e.at), "kind": e.kind.value,
        "points": e.points, "pending": e.pending, "deficit": e.deficit, "lot_ref": e.lot_ref,
        "order_id": e.order_id, "reason": e.reason, "actor": e.actor,
        "programme_version": e.programme_version,
    }


def _accrual(row: Any) -> Accrual:
    m = row._mapping
    return Accrual(
        order_id=m["order_id"], member_id=m["member_id"],
        ordered_at=_utc(m["ordered_at"]),  # type: ignore[arg-type]
        amount=_dec(m["amount"]), returned_amount=_dec(m["returned_amount"]),
        points=int(m["points"]), reversed=int(m["reversed"]), lot_ref=m["lot_ref"],
        programme_version=int(m["programme_version"]),
        payment_fingerprint=m["payment_fingerprint"],
    )


def _accrual_row(a: Accrual) -> dict[str, Any]:
    return {
        "order_id": a.order_id, "member_id": a.member_id, "ordered_at": _db(a.ordered_at),
        "amount": a.amount, "returned_amount": a.returned_amount, "points": a.points,
        "reversed": a.reversed, "lot_ref": a.lot_ref, "programme_version": a.programme_version,
        "payment_fingerprint": a.payment_fingerprint,
    }


def _coupon(row: Any) -> Coupon:
    m = row._mapping
    return Coupon(
        code=m["code"], member_id=m["member_id"], reward=m["reward"], kind=m["kind"],
        value=_dec(m["value"]), percent=_dec(m["percent"]),
        issued_at=_utc(m["issued_at"]),  # type: ignore[arg-type]
        valid_until=_utc(m["valid_until"]),  # type: ignore[arg-type]
        used_at=_utc(m["used_at"]), used_order_id=m["used_order_id"],
        source_ref=m["source_ref"], cancelled_at=_utc(m["cancelled_at"]),
    )


def _coupon_row(c: Coupon) -> dict[str, Any]:
    return {
        "code": c.code, "member_id": c.member_id, "reward": c.reward, "kind": c.kind,
        "value": c.value, "percent": c.percent, "issued_at": _db(c.issued_at),
        "valid_until": _db(c.valid_until), "used_at": _db(c.used_at),
        "used_order_id": c.used_order_id, "source_ref": c.source_ref,
        "cancelled_at": _db(c.cancelled_at),
    }


def _in(column: Any, values: Sequence[Any], dialect: str) -> Any:
    """``column IN values``; on PostgreSQL ``= ANY(array)``: one parameter instead of
    thousands, which the driver would otherwise parse into the statement every time."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(values),
                                              type_=postgresql.ARRAY(sa.String())))
    return column.in_(values)


def _chunks(items: Sequence[Any], n: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


# --- the repository -----------------------------------------------------------------------------


def create_loyalty_engine(url: str) -> sa.Engine:
    """An engine for short write transactions: pooled connections, and on SQLite a WAL
    database whose transactions start with ``BEGIN IMMEDIATE`` (reads with ``BEGIN``)."""
    try:
        # a server runs up to 40 requests at once (the thread pool of its sync endpoints):
        # beyond the pool's size each extra connection would be opened and closed per use
        sizes = {} if url.startswith("sqlite") else {"pool_size": 16, "max_overflow": 16}
        engine = sa.create_engine(url, pool_pre_ping=False, **sizes)
    except (sa.exc.ArgumentError, ModuleNotFoundError) as e:
        raise StoreError(_("cannot use the store at {url}: {err}").format(
            url=sa.engine.make_url(url).render_as_string(hide_password=True), err=e)) from e
    if engine.dialect.name == "sqlite":
        database = failures.sqlite_file(engine.url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            # we issue BEGIN ourselves: pysqlite's implicit BEGIN would be DEFERRED, and two
            # deferred readers that both decide to write deadlock instead of queueing
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={failures.sqlite_busy_ms(url, 60_000)}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            immediate = not conn.get_execution_options().get("loyalty_read", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class SqlLoyaltyStore:
    """The loyalty tables of the store at ``url``."""

    def __init__(self, url: str, engine: sa.Engine | None = None) -> None:
        self.url = url
        self.engine = engine or create_loyalty_engine(url)
        self.dialect = self.engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise StoreError(
                _("unsupported database '{d}': use SQLite or PostgreSQL").format(d=self.dialect))

    def ensure_schema(self) -> None:
        """Create or upgrade the schema (all of the store's tables) to this version."""
        try:
            with failures.translated(self.url):
                if migrate.current_revision(self.engine) != migrate.head_revision():
                    migrate.upgrade(self.engine)
        except sa.exc.OperationalError as e:
            raise StoreError(_("cannot open the store at {url}: {err}").format(
                url=self.engine.url.render_as_string(hide_password=True),
                err=str(e.orig).strip())) from e

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlLoyaltyTx]:
        """A write transaction: committed by ``tx.commit()``, else rolled back."""
        try:
            with failures.translated(self.url):
                conn = self.engine.connect()
        except sa.exc.OperationalError as e:
            raise StoreError(str(e.orig).strip()) from e
        try:
            conn.begin()
            tx = SqlLoyaltyTx(conn, self.dialect)
            yield tx
            if not tx.committed:
                conn.rollback()
        except sa.exc.IntegrityError as e:
            conn.rollback()
            raise DuplicateKey(str(e.orig).strip()) from e
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()

    def tier_changes_pending(self) -> bool:
        """Whether the tier history holds rows after the ``tier_changed`` cursor (or there is
        no cursor yet): a read without locks, so an idle server's poll takes no lock."""
        t, h = loyalty_tier_events, loyalty_tier_history
        with self.engine.connect() as conn:
            cursor = conn.execute(sa.select(t.c.last_history_id).where(t.c.id == 1)).scalar()
            if cursor is None:
                return True
            newest = conn.execute(sa.select(sa.func.max(h.c.id))).scalar()
            conn.rollback()
        return newest is not None and int(newest) > int(cursor)

    @contextmanager
    def reading(self) -> Iterator[SqlLoyaltyTx]:
        """A read-only transaction (one consistent snapshot on both databases)."""
        conn = self.engine.connect().execution_options(loyalty_read=True)
        try:
            conn.begin()
            yield SqlLoyaltyTx(conn, self.dialect)
            conn.rollback()
        finally:
            conn.close()


class SqlLoyaltyTx:
    """The reads and writes of one transaction."""

    def __init__(self, conn: sa.Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.committed = False

    def commit(self) -> None:
        self.conn.commit()
        self.committed = True

    def _chunks(self, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
        # SQLite allows a few thousand parameters; PostgreSQL takes the whole list as one
        return _chunks(items, 500 if self.dialect == "sqlite" else 100_000)

    def _rows(self, stmt: Any, params: Any = None) -> list[Any]:
        return list(self.conn.execute(stmt, params) if params is not None
                    else self.conn.execute(stmt))

    # -- programme versions ------------------------------------------------------------------

    def programme_versions(self) -> list[tuple[int, datetime, str, dict[str, Any]]]:
        t = loyalty_programmes
        rows = self._rows(sa.select(t.c.version, t.c.effective_from, t.c.fingerprint,
                                    t.c.definition).order_by(t.c.version))
        return [(int(r[0]), _utc(r[1]), r[2], json.loads(r[3])) for r in rows]  # type: ignore[misc]

    def add_programme_version(self, version: int, effective_from: datetime, fingerprint: str,
                              definition: dict[str, Any], at: datetime) -> None:
        self.conn.execute(loyalty_programmes.insert(), {
            "version": version, "fingerprint": fingerprint, "effective_from": _db(effective_from),
            "recorded_at": _db(at), "definition": json.dumps(definition, sort_keys=True)})

    # -- operations (idempotency) ------------------------------------------------------------

    def operations(self, keys: Iterable[str]) -> dict[str, Operation]:
        found: dict[str, Operation] = {}
        t = loyalty_operations
        for chunk in self._chunks(list(keys)):
            for r in self._rows(sa.select(t).where(_in(t.c.key, chunk, self.dialect))):
                m = r._mapping
                found[m["key"]] = Operation(m["key"], m["kind"], m["member_id"],
                                            m["fingerprint"], json.loads(m["result"]))
        return found

    def add_operations(self, ops: Sequence[Operation], at: datetime) -> None:
        if ops:
            self.conn.execute(loyalty_operations.insert(), [
                {"key": o.key, "kind": o.kind, "member_id": o.member_id,
                 "fingerprint": o.fingerprint, "result": json.dumps(o.result), "at": _db(at)}
                for o in ops])

    # -- members -----------------------------------------------------------------------------

    def members(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Member]:
        """The members with these ids; with ``lock``, row-locked until the transaction ends
        (PostgreSQL; on SQLite the whole database already is)."""
        t = loyalty_members
        out: dict[str, Member] = {}
        for chunk in self._chunks(sorted(set(ids))):
            stmt = sa.select(t).where(_in(t.c.member_id, chunk, self.dialect)).order_by(
                t.c.member_id)
            if lock and self.dialect == "postgresql":
                stmt = stmt.with_for_update()
            out.update({r.member_id: _member(r) for r in self._rows(stmt)})
        return out

    def member_by_code(self, code: str) -> Member | None:
        t = loyalty_members
        rows = self._rows(sa.select(t).where(t.c.referral_code == code))
        return _member(rows[0]) if rows else None

    def member_ids(self, *, consent_only: bool = False) -> list[str]:
        t = loyalty_members
        stmt = sa.select(t.c.member_id).order_by(t.c.member_id)
        if consent_only:
            stmt = stmt.where(t.c.consent)
        return [r[0] for r in self._rows(stmt)]

    def all_members(self) -> list[Member]:
        return [_member(r) for r in self._rows(
            sa.select(loyalty_members).order_by(loyalty_members.c.member_id))]

    def add_member(self, member: Member) -> None:
        self.conn.execute(loyalty_members.insert(), _member_row(member))

    def update_members(self, members: Sequence[Member]) -> None:
        if not members:
            return
        t = loyalty_members
        cols = [c for c in _MEMBER_COLS if c != "member_id"]
        stmt = t.update().where(t.c.member_id == sa.bindparam("b_id")).values(
            {c: sa.bindparam(f"b_{c}") for c in cols})
        rows = []
        for m in members:
            row = _member_row(m)
            rows.append({"b_id": m.member_id, **{f"b_{c}": row[c] for c in cols}})
        self.conn.execute(stmt, rows)

    # -- lots, entries, accounts -------------------------------------------------------------

    def open_lots(self, member_ids: Iterable[str]) -> dict[str, list[Lot]]:
        """Lots with points left, or still pending, per member."""
        t = loyalty_lots
        out: dict[str, list[Lot]] = {}
        for chunk in self._chunks(sorted(set(member_ids))):
            stmt = sa.select(t).where(_in(t.c.member_id, chunk, self.dialect),
                                      sa.or_(t.c.remaining > 0, t.c.state == "pending"))
            for r in self._rows(stmt):
                out.setdefault(r.member_id, []).append(_lot(r))
        return out

    def lots(self, refs: Iterable[str]) -> dict[str, Lot]:
        t = loyalty_lots
        out: dict[str, Lot] = {}
        for chunk in self._chunks(list(refs)):
            out.update({r.lot_ref: _lot(r) for r in self._rows(
                sa.select(t).where(_in(t.c.lot_ref, chunk, self.dialect)))})
        return out

    def member_lots(self, member_id: str) -> list[Lot]:
        t = loyalty_lots
        return [_lot(r) for r in self._rows(
            sa.select(t).where(t.c.member_id == member_id).order_by(t.c.earned_at, t.c.lot_ref))]

    def save_accounts(self, accounts: Sequence[Account]) -> None:
        """Write what the accounts changed: new lots and entries, changed lots, members."""
        new = [_lot_row(a.lots[ref]) for a in accounts for ref in a.new_lots]
        new_refs = {ref for a in accounts for ref in a.new_lots}
        dirty = [a.lots[ref] for a in accounts for ref in sorted(a.dirty_lots)
                 if ref not in new_refs]
        entries = [_entry_row(e) for a in accounts for e in a.entries]
        allocs = [{"entry_ref": x.entry_ref, "lot_ref": x.lot_ref, "points": x.points}
                  for a in accounts for x in a.allocations]
        if new:
            self.conn.execute(loyalty_lots.insert(), new)
        if dirty:
            t = loyalty_lots
            self.conn.execute(
                t.update().where(t.c.lot_ref == sa.bindparam("b_ref")).values(
                    remaining=sa.bindparam("b_remaining"), state=sa.bindparam("b_state")),
                [{"b_ref": lot.lot_ref, "b_remaining": lot.remaining, "b_state": lot.state.value}
                 for lot in dirty])
        if entries:
            self.conn.execute(loyalty_ledger.insert(), entries)
        if allocs:
            self.conn.execute(loyalty_allocations.insert(), allocs)
        self.update_members([a.member for a in accounts])
        for a in accounts:
            a.entries.clear()
            a.allocations.clear()
            a.new_lots.clear()
            a.dirty_lots.clear()

    def entries(self, member_id: str, *, limit: int | None = None) -> list[Entry]:
        t = loyalty_ledger
        stmt = sa.select(t).where(t.c.member_id == member_id).order_by(t.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_entry(r) for r in self._rows(stmt)][::-1]

    def allocations(self, entry_ref: str) -> list[Allocation]:
        t = loyalty_allocations
        return [Allocation(entry_ref, r.lot_ref, int(r.points)) for r in self._rows(
            sa.select(t.c.lot_ref, t.c.points).where(t.c.entry_ref == entry_ref)
            .order_by(t.c.lot_ref))]

    def entry_refs(self, refs: Iterable[str]) -> set[str]:
        t = loyalty_ledger
        out: set[str] = set()
        for chunk in self._chunks(list(refs)):
            out.update(r[0] for r in self._rows(
                sa.select(t.c.ref).where(_in(t.c.ref, chunk, self.dialect))))
        return out

    def earned_since(self, member_ids: Iterable[str] | None, since: datetime) -> dict[str, int]:
        """Points credited for orders since ``since`` (for caps, and budgets when
        ``member_ids`` is ``None``)."""
        t = loyalty_ledger
        stmt = sa.select(t.c.member_id, sa.func.sum(t.c.points + t.c.pending)).where(
            t.c.kind == EntryKind.EARN.value, t.c.at >= _db(since)).group_by(t.c.member_id)
        if member_ids is not None:
            stmt = stmt.where(_in(t.c.member_id, sorted(set(member_ids)), self.dialect))
        return {r[0]: int(r[1] or 0) for r in self._rows(stmt)}

    def due_releases(self, at: datetime) -> list[tuple[str, str]]:
        """(member, lot) of pending lots whose time has come."""
        t = loyalty_lots
        stmt = sa.select(t.c.member_id, t.c.lot_ref).where(
            t.c.state == "pending", t.c.available_at <= _db(at)).order_by(t.c.member_id)
        return [(r[0], r[1]) for r in self._rows(stmt)]

    def due_expiries(self, at: datetime) -> list[str]:
        """Members with a lot that has points left past its expiry."""
        t = loyalty_lots
        stmt = sa.select(t.c.member_id).where(
            t.c.remaining > 0, t.c.expires_at <= _db(at)).distinct().order_by(t.c.member_id)
        return [r[0] for r in self._rows(stmt)]

    def expiring_points(self, at: datetime, until: datetime) -> list[ExpiringPoints]:
        """Per member and expiry instant: the available points expiring after ``at`` up to
        ``until`` that no notice was recorded for, with the member's spendable balance at
        ``at``; by member, then expiry.

        One grouped query over the range of the ``expires_at`` index, whatever the number of
        members; the balances are summed for the members found only."""
        lots, notices, members = loyalty_lots, loyalty_expiry_notices, loyalty_members
        now, end = _db(at), _db(until)
        noticed = sa.exists().where(notices.c.member_id == lots.c.member_id,
                                    notices.c.expires_at == lots.c.expires_at)
        due = (sa.select(lots.c.member_id, lots.c.expires_at,
                         sa.func.sum(lots.c.remaining).label("points"))
               .where(lots.c.state == LotState.AVAILABLE.value, lots.c.remaining > 0,
                      lots.c.expires_at > now, lots.c.expires_at <= end, ~noticed)
               .group_by(lots.c.member_id, lots.c.expires_at)).cte("due")
        s = loyalty_lots.alias("s")
        spendable = (sa.select(s.c.member_id, sa.func.sum(s.c.remaining).label("points"))
                     .where(s.c.state == LotState.AVAILABLE.value, s.c.remaining > 0,
                            sa.or_(s.c.expires_at.is_(None), s.c.expires_at > now),
                            s.c.member_id.in_(sa.select(due.c.member_id)))
                     .group_by(s.c.member_id)).subquery("spendable")
        stmt = (sa.select(due.c.member_id, due.c.expires_at, due.c.points,
                          spendable.c.points - members.c.debt, members.c.consent)
                .join(members, members.c.member_id == due.c.member_id)
                .join(spendable, spendable.c.member_id == due.c.member_id)
                .order_by(due.c.member_id, due.c.expires_at))
        return [ExpiringPoints(r[0], _utc(r[1]), int(r[2]), int(r[3]),  # type: ignore[arg-type]
                               bool(r[4])) for r in self._rows(stmt)]

    def expiry_notices(self, member_ids: Iterable[str],
                       after: datetime) -> set[tuple[str, datetime]]:
        """(member, expiry instant) of the notices recorded for these members about points
        expiring after ``after``."""
        t = loyalty_expiry_notices
        out: set[tuple[str, datetime]] = set()
        for chunk in self._chunks(sorted(set(member_ids))):
            out.update((r[0], _utc(r[1])) for r in self._rows(  # type: ignore[misc]
                sa.select(t.c.member_id, t.c.expires_at).where(
                    _in(t.c.member_id, chunk, self.dialect), t.c.expires_at > _db(after))))
        return out

    def add_expiry_notices(self, notices: Sequence[ExpiringPoints], at: datetime) -> None:
        """Record notices; a (member, expiry) recorded already raises :class:`DuplicateKey`
        (when the transaction ends)."""
        if notices:
            self.conn.execute(loyalty_expiry_notices.insert(), [
                {"member_id": n.member_id, "expires_at": _db(n.expires_at), "points": n.points,
                 "balance": n.balance, "notice_id": n.notice_id, "notified_at": _db(at)}
                for n in notices])

    def delete_expiry_notices(self, notices: Sequence[ExpiringPoints]) -> None:
        """Forget notices recorded by the same run (their events could not be queued)."""
        t = loyalty_expiry_notices
        if notices:
            self.conn.execute(t.delete().where(t.c.member_id == sa.bindparam("b_m"),
                                               t.c.expires_at == sa.bindparam("b_x"),
                                               t.c.notice_id == sa.bindparam("b_id")),
                              [{"b_m": n.member_id, "b_x": _db(n.expires_at),
                                "b_id": n.notice_id} for n in notices])

    def ledger_sums(self) -> dict[str, tuple[int, int, int]]:
        """Per member: Σ points, Σ pending, Σ deficit over the whole ledger."""
        t = loyalty_ledger
        rows = self._rows(sa.select(t.c.member_id, sa.func.sum(t.c.points),
                                    sa.func.sum(t.c.pending), sa.func.sum(t.c.deficit))
                          .group_by(t.c.member_id))
        return {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows}

    def lot_sums(self) -> dict[str, tuple[int, int, int]]:
        """Per member: Σ remaining of available lots, of pending lots, and negative lots."""
        t = loyalty_lots
        avail = sa.func.sum(sa.case((t.c.state == "available", t.c.remaining), else_=0))
        pend = sa.func.sum(sa.case((t.c.state == "pending", t.c.remaining), else_=0))
        neg = sa.func.sum(sa.case((t.c.remaining < 0, 1), else_=0))
        rows = self._rows(sa.select(t.c.member_id, avail, pend, neg).group_by(t.c.member_id))
        return {r[0]: (int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows}

    # -- accruals ----------------------------------------------------------------------------

    def accruals(self, order_ids: Iterable[str]) -> dict[str, Accrual]:
        t = loyalty_accruals
        out: dict[str, Accrual] = {}
        for chunk in self._chunks(list(order_ids)):
            out.update({r.order_id: _accrual(r) for r in self._rows(
                sa.select(t).where(_in(t.c.order_id, chunk, self.dialect)))})
        return out

    def add_accruals(self, accruals: Sequence[Accrual]) -> None:
        if accruals:
            self.conn.execute(loyalty_accruals.insert(), [_accrual_row(a) for a in accruals])

    def update_accrual(self, a: Accrual) -> None:
        t = loyalty_accruals
        self.conn.execute(t.update().where(t.c.order_id == a.order_id).values(
            returned_amount=a.returned_amount, reversed=a.reversed))

    def accrual_history(self, member_ids: Iterable[str], since: datetime) -> list[Accrual]:
        t = loyalty_accruals
        out: list[Accrual] = []
        for chunk in self._chunks(sorted(set(member_ids))):
            out += [_accrual(r) for r in self._rows(sa.select(t).where(
                _in(t.c.member_id, chunk, self.dialect), t.c.ordered_at >= _db(since)))]
        return out

    def has_accruals(self, member_id: str) -> bool:
        t = loyalty_accruals
        return bool(self._rows(sa.select(t.c.order_id).where(t.c.member_id == member_id)
                               .limit(1)))

    def spend_since(self, since: datetime) -> dict[str, Decimal]:
        """Net spend (amount − returned) per member of the orders since ``since``."""
        t = loyalty_accruals
        rows = self._rows(sa.select(t.c.member_id,
                                    sa.func.sum(t.c.amount - t.c.returned_amount))
                          .where(t.c.ordered_at >= _db(since)).group_by(t.c.member_id))
        return {r[0]: _dec(r[1] or 0) for r in rows}

    # -- tiers -------------------------------------------------------------------------------

    def add_tier_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(loyalty_tier_history.insert(),
                              [{**r, "at": _db(r["at"])} for r in rows])

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        t = loyalty_tier_history
        rows = self._rows(sa.select(t).where(t.c.member_id == member_id).order_by(t.c.id))
        return [{**r._mapping, "at": _utc(r.at), "qualifying": _dec(r.qualifying)}
                for r in rows]

    # -- the periodic runs --------------------------------------------------------------------

    def add_run_chunk(self, chunk: RunChunk, at: datetime) -> None:
        self.conn.execute(loyalty_runs.insert(), {
            "run_id": chunk.run_id, "step": chunk.step, "chunk": chunk.chunk,
            "as_of": _db(chunk.as_of), "committed_at": _db(at), "actor": chunk.actor,
            "members": chunk.members, "items": chunk.items, "points": chunk.points,
            "detail": json.dumps(list(chunk.detail))})

    def run_chunks(self, run_id: str) -> list[RunChunk]:
        t = loyalty_runs
        rows = self._rows(sa.select(t).where(t.c.run_id == run_id).order_by(t.c.id))
        return [RunChunk(r.run_id, r.step, int(r.chunk), _utc(r.as_of), r.actor,  # type: ignore[arg-type]
                         int(r.members), int(r.items), int(r.points),
                         tuple(json.loads(r.detail))) for r in rows]

    def last_run_at(self, step: str) -> datetime | None:
        """The latest moment a committed chunk of ``step`` ran at."""
        t = loyalty_runs
        return _utc(self.conn.execute(
            sa.select(sa.func.max(t.c.as_of)).where(t.c.step == step)).scalar())

    def customer_names(self, ids: Iterable[str]) -> dict[str, str]:
        """The names the store's ``customers`` table gives these ids (those it has)."""
        t = INPUT_TABLES[Kind.CUSTOMERS]
        out: dict[str, str] = {}
        for chunk in self._chunks(sorted(set(ids))):
            out.update({r[0]: r[1] for r in self._rows(
                sa.select(t.c.customer_id, t.c.name).where(
                    _in(t.c.customer_id, chunk, self.dialect), t.c.name.is_not(None)))})
        return out

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
                                            updated_at=_db(at))
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
        return [{**r._mapping, "at": _utc(r.at), "qualifying": _dec(r.qualifying)}
                for r in rows]

    def queue_webhook_events(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert webhook outbox rows in this transaction (with the cursor's move)."""
        from regulars.adapters.orm import webhook_outbox

        if rows:
            self.conn.execute(webhook_outbox.insert(), [dict(r) for r in rows])

    def advance_tier_event_cursor(self, last_id: int, at: datetime) -> None:
        t = loyalty_tier_events
        self.conn.execute(t.update().where(t.c.id == 1).values(last_history_id=last_id,
                                                                updated_at=_db(at)))

    # -- referrals ---------------------------------------------------------------------------

    def referral(self, referee_id: str) -> ReferralRecord | None:
        t = loyalty_referrals
        rows = self._rows(sa.select(t).where(t.c.referee_id == referee_id))
        if not rows:
            return None
        m = rows[0]._mapping
        return ReferralRecord(m["referee_id"], m["referrer_id"], m["code"],
                              _utc(m["at"]), m["status"], m["reason"],  # type: ignore[arg-type]
                              m["order_id"], _utc(m["settled_at"]))

    def count_referrals(self, referrer_id: str) -> int:
        t = loyalty_referrals
        return int(self.conn.execute(sa.select(sa.func.count()).where(
            t.c.referrer_id == referrer_id, t.c.status != "refused")).scalar_one())

    def add_referral(self, r: ReferralRecord) -> None:
        self.conn.execute(loyalty_referrals.insert(), {
            "referee_id": r.referee_id, "referrer_id": r.referrer_id, "code": r.code,
            "at": _db(r.at), "status": r.status, "reason": r.reason, "order_id": r.order_id,
            "settled_at": _db(r.settled_at)})

    def settle_referral(self, referee_id: str, status: str, reason: str | None,
                        order_id: str | None, at: datetime) -> None:
        t = loyalty_referrals
        self.conn.execute(t.update().where(t.c.referee_id == referee_id).values(
            status=status, reason=reason, order_id=order_id, settled_at=_db(at)))

    # -- coupons -----------------------------------------------------------------------------

    def add_coupons(self, coupons: Sequence[Coupon]) -> None:
        if coupons:
            self.conn.execute(loyalty_coupons.insert(), [_coupon_row(c) for c in coupons])

    def coupon(self, code: str, *, lock: bool = False) -> Coupon | None:
        """The coupon with this code; with ``lock``, row-locked until the transaction ends
        (PostgreSQL: a use racing another waits here and then reads the winner's row, instead
        of reading it unused and finding its conditional UPDATE match nothing; SQLite's
        write transaction already holds the database)."""
        stmt = sa.select(loyalty_coupons).where(loyalty_coupons.c.code == code)
        if lock and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        rows = self._rows(stmt)
        return _coupon(rows[0]) if rows else None

    def coupons_of(self, member_id: str) -> list[Coupon]:
        t = loyalty_coupons
        return [_coupon(r) for r in self._rows(
            sa.select(t).where(t.c.member_id == member_id).order_by(t.c.issued_at, t.c.code))]

    def coupon_sources(self, refs: Iterable[str]) -> set[str]:
        t = loyalty_coupons
        out: set[str] = set()
        for chunk in self._chunks(list(refs)):
            out.update(r[0] for r in self._rows(
                sa.select(t.c.source_ref).where(_in(t.c.source_ref, chunk, self.dialect))))
        return out

    def coupon_from(self, source_ref: str) -> Coupon | None:
        t = loyalty_coupons
        rows = self._rows(sa.select(t).where(t.c.source_ref == source_ref))
        return _coupon(rows[0]) if rows else None

    def cancel_coupon(self, code: str, at: datetime) -> bool:
        """Cancel an unused coupon, atomically against its use: ``False`` when it was used
        (or cancelled) first."""
        t = loyalty_coupons
        res = self.conn.execute(t.update().where(
            t.c.code == code, t.c.used_at.is_(None), t.c.cancelled_at.is_(None)
        ).values(cancelled_at=_db(at)))
        return bool(res.rowcount == 1)

    def take_reward(self, reward: str, stock: int) -> bool:
        """Count one more of ``reward`` redeemed, atomically, unless ``stock`` have been:
        ``False`` then. The row's lock serialises concurrent redemptions of the reward."""
        t = loyalty_reward_stock
        insert = postgresql.insert(t) if self.dialect == "postgresql" else sqlite.insert(t)
        self.conn.execute(insert.values(reward=reward, issued=0)
                          .on_conflict_do_nothing(index_elements=["reward"]))
        res = self.conn.execute(t.update().where(t.c.reward == reward, t.c.issued < stock)
                                .values(issued=t.c.issued + 1))
        return bool(res.rowcount == 1)

    def give_back_reward(self, reward: str) -> None:
        t = loyalty_reward_stock
        self.conn.execute(t.update().where(t.c.reward == reward, t.c.issued > 0)
                          .values(issued=t.c.issued - 1))

    def rewards_issued(self) -> dict[str, int]:
        t = loyalty_reward_stock
        return {r.reward: int(r.issued) for r in self._rows(sa.select(t))}

    def use_coupon(self, code: str, order_id: str, at: datetime) -> bool:
        """Mark a coupon used, atomically: ``False`` when it was used, or is not valid at
        ``at``."""
        t = loyalty_coupons
        res = self.conn.execute(t.update().where(
            t.c.code == code, t.c.used_at.is_(None), t.c.cancelled_at.is_(None),
            t.c.issued_at <= _db(at),
            t.c.valid_until > _db(at)).values(used_at=_db(at), used_order_id=order_id))
        return bool(res.rowcount == 1)

    # -- punch cards -------------------------------------------------------------------------

    def punches(self, member_ids: Iterable[str]) -> dict[tuple[str, str], tuple[int, int]]:
        t = loyalty_punches
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for chunk in self._chunks(sorted(set(member_ids))):
            for r in self._rows(sa.select(t).where(_in(t.c.member_id, chunk, self.dialect))):
                out[(r.member_id, r.card)] = (int(r.punches), int(r.rewards_issued))
        return out

    def save_punches(self, changed: dict[tuple[str, str], tuple[int, int]],
                     existing: set[tuple[str, str]]) -> None:
        t = loyalty_punches
        ins = [{"member_id": m, "card": c, "punches": p, "rewards_issued": r}
               for (m, c), (p, r) in changed.items() if (m, c) not in existing]
        upd = [{"b_m": m, "b_c": c, "b_p": p, "b_r": r}
               for (m, c), (p, r) in changed.items() if (m, c) in existing]
        if ins:
            self.conn.execute(t.insert(), ins)
        if upd:
            self.conn.execute(t.update().where(
                t.c.member_id == sa.bindparam("b_m"), t.c.card == sa.bindparam("b_c")).values(
                punches=sa.bindparam("b_p"), rewards_issued=sa.bindparam("b_r")), upd)

    # -- club, stored value, draws -----------------------------------------------------------

    def add_club_payment(self, payment_ref: str, member_id: str, at: datetime, fee: Decimal,
                         starts: datetime, ends: datetime) -> None:
        self.conn.execute(loyalty_club_payments.insert(), {
            "payment_ref": payment_ref, "member_id": member_id, "paid_at": _db(at), "fee": fee,
            "starts_at": _db(starts), "ends_at": _db(ends)})

    def add_card_entry(self, ref: str, member_id: str, at: datetime, kind: str, amount: Decimal,
                       payment_method: str | None, original_ref: str | None) -> None:
        self.conn.execute(loyalty_card_entries.insert(), {
            "ref": ref, "member_id": member_id, "at": _db(at), "kind": kind, "amount": amount,
            "payment_method": payment_method, "original_ref": original_ref})

    def card_entry(self, ref: str) -> dict[str, Any] | None:
        t = loyalty_card_entries
        rows = self._rows(sa.select(t).where(t.c.ref == ref))
        if not rows:
            return None
        return {**rows[0]._mapping, "amount": _dec(rows[0].amount)}

    def card_refunded(self, original_ref: str) -> Decimal:
        t = loyalty_card_entries
        v = self.conn.execute(sa.select(sa.func.sum(t.c.amount)).where(
            t.c.original_ref == original_ref, t.c.kind == "refund")).scalar_one()
        return _dec(v or 0)

    def card_sums(self) -> dict[str, Decimal]:
        t = loyalty_card_entries
        rows = self._rows(sa.select(t.c.member_id, sa.func.sum(t.c.amount))
                          .group_by(t.c.member_id))
        return {r[0]: _dec(r[1] or 0) for r in rows}

    def add_draw(self, key: str, offer: str, at: datetime, seed: int, eligible: int,
                 digest: str, winners: Sequence[str]) -> None:
        self.conn.execute(loyalty_draws.insert(), {
            "draw_key": key, "offer": offer, "at": _db(at), "seed": seed, "eligible": eligible,
            "eligible_digest": digest, "winners": json.dumps(list(winners))})
