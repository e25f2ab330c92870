"""The points ledger's tables in one loyalty transaction: members, lots, ledger entries and
their allocations, accruals of orders, and the notices of points about to expire."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.loyalty_base import LoyaltyTxBase
from regulars.adapters.db.loyalty_rows import (
    MEMBER_COLS,
    accrual_from_row,
    accrual_to_row,
    aware_utc,
    entry_from_row,
    entry_to_row,
    in_values,
    lot_from_row,
    lot_to_row,
    member_from_row,
    member_to_row,
    money,
    naive_utc,
)
from regulars.adapters.db.tables import (
    loyalty_accruals,
    loyalty_allocations,
    loyalty_expiry_notices,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
)
from regulars.domain.loyalty.ledger import (
    Account,
    Allocation,
    Entry,
    EntryKind,
    Lot,
    LotState,
    Member,
)
from regulars.services.loyalty.ports import Accrual, ExpiringPoints

_PG_MEMBERS = (f"SELECT {', '.join(MEMBER_COLS)} FROM loyalty_members "
               "WHERE member_id = ANY(%s) ORDER BY member_id")


def dict_row(cursor: Any) -> Any:
    """psycopg's ``dict_row``, imported when first used (the [postgres] extra)."""
    from psycopg.rows import dict_row as factory

    return factory(cursor)


class LedgerRows(LoyaltyTxBase):
    """Members and their points."""

    def members(self, ids: Iterable[str], *, lock: bool = False) -> dict[str, Member]:
        """The members with these ids; with ``lock``, row-locked until the transaction ends
        (PostgreSQL; on SQLite the whole database already is)."""
        t = loyalty_members
        out: dict[str, Member] = {}
        if self.dialect == "postgresql" and not lock:
            # the read every ingested order pays (most are of non-members): straight to
            # psycopg, as api_tx's statements, without SQLAlchemy's per-statement cost
            raw: Any = self.conn.connection.driver_connection
            with raw.cursor(row_factory=dict_row) as cur:
                cur.execute(_PG_MEMBERS, (sorted(set(ids)),))
                return {r["member_id"]: member_from_row(r) for r in cur}
        for chunk in self._chunks(sorted(set(ids))):
            stmt = sa.select(t).where(in_values(t.c.member_id, chunk, self.dialect)).order_by(
                t.c.member_id)
            if lock and self.dialect == "postgresql":
                stmt = stmt.with_for_update()
            out.update({r.member_id: member_from_row(r) for r in self._rows(stmt)})
        return out

    def member_by_code(self, code: str) -> Member | None:
        t = loyalty_members
        rows = self._rows(sa.select(t).where(t.c.referral_code == code))
        return member_from_row(rows[0]) if rows else None

    def members_by_phone(self, phone_norm: str, *, limit: int = 10) -> list[Member]:
        """Members whose normalised phone is ``phone_norm`` (its index), ``limit`` at most."""
        t = loyalty_members
        return [member_from_row(r) for r in self._rows(
            sa.select(t).where(t.c.phone_norm == phone_norm).order_by(t.c.member_id)
            .limit(limit))]

    def member_by_card(self, card_number: str) -> Member | None:
        """The member holding the loyalty card ``card_number`` (its UNIQUE index)."""
        t = loyalty_members
        rows = self._rows(sa.select(t).where(t.c.card_number == card_number))
        return member_from_row(rows[0]) if rows else None

    def member_ids(self, *, consent_only: bool = False) -> list[str]:
        t = loyalty_members
        stmt = sa.select(t.c.member_id).order_by(t.c.member_id)
        if consent_only:
            stmt = stmt.where(t.c.consent)
        return [r[0] for r in self._rows(stmt)]

    def all_members(self) -> list[Member]:
        return [member_from_row(r) for r in self._rows(
            sa.select(loyalty_members).order_by(loyalty_members.c.member_id))]

    def add_member(self, member: Member) -> None:
        self.conn.execute(loyalty_members.insert(), member_to_row(member))

    def update_members(self, members: Sequence[Member]) -> None:
        if not members:
            return
        t = loyalty_members
        cols = [c for c in MEMBER_COLS if c != "member_id"]
        stmt = t.update().where(t.c.member_id == sa.bindparam("b_id")).values(
            {c: sa.bindparam(f"b_{c}") for c in cols})
        rows = []
        for m in members:
            row = member_to_row(m)
            rows.append({"b_id": m.member_id, **{f"b_{c}": row[c] for c in cols}})
        self.conn.execute(stmt, rows)

    # -- lots, entries, accounts -------------------------------------------------------------

    def open_lots(self, member_ids: Iterable[str]) -> dict[str, list[Lot]]:
        """Lots with points left, or still pending, per member."""
        t = loyalty_lots
        out: dict[str, list[Lot]] = {}
        for chunk in self._chunks(sorted(set(member_ids))):
            stmt = sa.select(t).where(in_values(t.c.member_id, chunk, self.dialect),
                                      sa.or_(t.c.remaining > 0, t.c.state == "pending"))
            for r in self._rows(stmt):
                out.setdefault(r.member_id, []).append(lot_from_row(r))
        return out

    def lots(self, refs: Iterable[str]) -> dict[str, Lot]:
        t = loyalty_lots
        out: dict[str, Lot] = {}
        for chunk in self._chunks(list(refs)):
            out.update({r.lot_ref: lot_from_row(r) for r in self._rows(
                sa.select(t).where(in_values(t.c.lot_ref, chunk, self.dialect)))})
        return out

    def member_lots(self, member_id: str) -> list[Lot]:
        t = loyalty_lots
        return [lot_from_row(r) for r in self._rows(
            sa.select(t).where(t.c.member_id == member_id).order_by(t.c.earned_at, t.c.lot_ref))]

    def save_accounts(self, accounts: Sequence[Account]) -> None:
        """Write what the accounts changed: new lots and entries, changed lots, members."""
        new = [lot_to_row(a.lots[ref]) for a in accounts for ref in a.new_lots]
        new_refs = {ref for a in accounts for ref in a.new_lots}
        dirty = [a.lots[ref] for a in accounts for ref in sorted(a.dirty_lots)
                 if ref not in new_refs]
        entries = [entry_to_row(e) for a in accounts for e in a.entries]
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
            a.saved()

    def entries(self, member_id: str, *, limit: int | None = None) -> list[Entry]:
        t = loyalty_ledger
        stmt = sa.select(t).where(t.c.member_id == member_id).order_by(t.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        return [entry_from_row(r) for r in self._rows(stmt)][::-1]

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
                sa.select(t.c.ref).where(in_values(t.c.ref, chunk, self.dialect))))
        return out

    def earned_since(self, member_ids: Iterable[str] | None, since: datetime) -> dict[str, int]:
        """Points credited for orders since ``since`` (for caps, and budgets when
        ``member_ids`` is ``None``)."""
        t = loyalty_ledger
        stmt = sa.select(t.c.member_id, sa.func.sum(t.c.points + t.c.pending)).where(
            t.c.kind == EntryKind.EARN.value, t.c.at >= naive_utc(since)).group_by(t.c.member_id)
        if member_ids is not None:
            stmt = stmt.where(in_values(t.c.member_id, sorted(set(member_ids)), self.dialect))
        return {r[0]: int(r[1] or 0) for r in self._rows(stmt)}

    def due_releases(self, at: datetime) -> list[tuple[str, str]]:
        """(member, lot) of pending lots whose time has come."""
        t = loyalty_lots
        stmt = sa.select(t.c.member_id, t.c.lot_ref).where(
            t.c.state == "pending", t.c.available_at <= naive_utc(at)).order_by(t.c.member_id)
        return [(r[0], r[1]) for r in self._rows(stmt)]

    def due_expiries(self, at: datetime) -> list[str]:
        """Members with a lot that has points left past its expiry."""
        t = loyalty_lots
        stmt = sa.select(t.c.member_id).where(
            t.c.remaining > 0, t.c.expires_at <= naive_utc(at)).distinct().order_by(t.c.member_id)
        return [r[0] for r in self._rows(stmt)]

    def expiring_points(self, at: datetime, until: datetime) -> list[ExpiringPoints]:
        """Per member and expiry instant: the available points expiring after ``at`` up to
        ``until`` that no notice was recorded for, with the member's spendable balance at
        ``at``; by member, then expiry.

        One grouped query over the range of the ``expires_at`` index, whatever the number of
        members; the balances are summed for the members found only."""
        lots, notices, members = loyalty_lots, loyalty_expiry_notices, loyalty_members
        now, end = naive_utc(at), naive_utc(until)
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
        return [ExpiringPoints(r[0], aware_utc(r[1]), int(r[2]), int(r[3]),  # type: ignore[arg-type]
                               bool(r[4])) for r in self._rows(stmt)]

    def expiry_notices(self, member_ids: Iterable[str],
                       after: datetime) -> set[tuple[str, datetime]]:
        """(member, expiry instant) of the notices recorded for these members about points
        expiring after ``after``."""
        t = loyalty_expiry_notices
        out: set[tuple[str, datetime]] = set()
        for chunk in self._chunks(sorted(set(member_ids))):
            out.update((r[0], aware_utc(r[1])) for r in self._rows(  # type: ignore[misc]
                sa.select(t.c.member_id, t.c.expires_at).where(
                    in_values(t.c.member_id, chunk, self.dialect),
                    t.c.expires_at > naive_utc(after))))
        return out

    def add_expiry_notices(self, notices: Sequence[ExpiringPoints], at: datetime) -> None:
        """Record notices; a (member, expiry) recorded already raises :class:`DuplicateKey`
        (when the transaction ends)."""
        if notices:
            self.conn.execute(loyalty_expiry_notices.insert(), [
                {"member_id": n.member_id, "expires_at": naive_utc(n.expires_at),
                 "points": n.points, "balance": n.balance, "notice_id": n.notice_id,
                 "notified_at": naive_utc(at)}
                for n in notices])

    def delete_expiry_notices(self, notices: Sequence[ExpiringPoints]) -> None:
        """Forget notices recorded by the same run (their events could not be queued)."""
        t = loyalty_expiry_notices
        if notices:
            self.conn.execute(t.delete().where(t.c.member_id == sa.bindparam("b_m"),
                                               t.c.expires_at == sa.bindparam("b_x"),
                                               t.c.notice_id == sa.bindparam("b_id")),
                              [{"b_m": n.member_id, "b_x": naive_utc(n.expires_at),
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
            out.update({r.order_id: accrual_from_row(r) for r in self._rows(
                sa.select(t).where(in_values(t.c.order_id, chunk, self.dialect)))})
        return out

    def add_accruals(self, accruals: Sequence[Accrual]) -> None:
        if accruals:
            self.conn.execute(loyalty_accruals.insert(), [accrual_to_row(a) for a in accruals])

    def update_accrual(self, a: Accrual) -> None:
        t = loyalty_accruals
        self.conn.execute(t.update().where(t.c.order_id == a.order_id).values(
            returned_amount=a.returned_amount, reversed=a.reversed))

    def accrual_history(self, member_ids: Iterable[str], since: datetime) -> list[Accrual]:
        t = loyalty_accruals
        out: list[Accrual] = []
        for chunk in self._chunks(sorted(set(member_ids))):
            out += [accrual_from_row(r) for r in self._rows(sa.select(t).where(
                in_values(t.c.member_id, chunk, self.dialect), t.c.ordered_at >= naive_utc(since)))]
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
                          .where(t.c.ordered_at >= naive_utc(since)).group_by(t.c.member_id))
        return {r[0]: money(r[1] or 0) for r in rows}
