"""The HTTP API's reads of customers (the map's list, a customer's card, everything kept
about one person) and their erasure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.erasure import erase
from regulars.adapters.db.tables import (
    INPUT_TABLES,
    api_audit,
    customer_merges,
    loyalty_accruals,
    loyalty_card_entries,
    loyalty_club_payments,
    loyalty_coupons,
    loyalty_expiry_notices,
    loyalty_ledger,
    loyalty_lots,
    loyalty_members,
    loyalty_punches,
    loyalty_referrals,
    loyalty_tier_history,
    map_customers,
    tasks,
)
from regulars.domain.tables import Kind
from regulars.services.api.ports import CustomerFilter

CUSTOMERS = INPUT_TABLES[Kind.CUSTOMERS]
ORDERS = INPUT_TABLES[Kind.ORDERS]
RETURNS = INPUT_TABLES[Kind.RETURNS]

# loyalty tables keyed by member, exported with the customer (referrals: either side)
LOYALTY_BY_MEMBER = (loyalty_members, loyalty_ledger, loyalty_lots,
                     loyalty_accruals, loyalty_tier_history,
                     loyalty_coupons, loyalty_punches,
                     loyalty_club_payments, loyalty_card_entries,
                     loyalty_expiry_notices)



class CustomerRows(PooledRows):
    """Customers as the API shows them."""

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

    def customer_profile(self, customer_id: str) -> dict[str, Any] | None:
        """The card's input row and its map row (None before a map), without its orders."""
        profile = self._read(sa.select(*_public(CUSTOMERS)).where(
            CUSTOMERS.c.customer_id == customer_id))
        if not profile:
            return None
        row = self._read(sa.select(map_customers).where(
            map_customers.c.customer_id == customer_id))
        return {"profile": profile[0], "map": row[0] if row else None}

    def latest_orders(self, customer_id: str, limit: int
                      ) -> tuple[list[dict[str, Any]], int]:
        """The customer's ``limit`` latest orders, latest first, each with its ``returns``,
        and how many orders they have in all: three indexed reads, however many orders."""
        orders = self._read(sa.select(*_public(ORDERS)).where(
            ORDERS.c.customer_id == customer_id).order_by(
            ORDERS.c.ordered_at.desc(), ORDERS.c.order_id.desc()).limit(limit))
        total = self._read(sa.select(sa.func.count().label("n")).select_from(ORDERS).where(
            ORDERS.c.customer_id == customer_id))[0]["n"]
        by_order: dict[str, list[dict[str, Any]]] = {}
        ids = [o["order_id"] for o in orders]
        for i in range(0, len(ids), 500):  # within every engine's parameter limit
            for r in self._read(sa.select(*_public(RETURNS)).where(
                    RETURNS.c.order_id.in_(ids[i:i + 500])).order_by(RETURNS.c.returned_at)):
                by_order.setdefault(r["order_id"], []).append(r)
        return [{**o, "returns": by_order.get(o["order_id"], [])} for o in orders], int(total)

    def contact_history(self, customer_id: str, limit: int) -> list[dict[str, Any]]:
        """The customer's interactions, latest first (at most ``limit``), each with the note
        and state of the task it records (a done task's contact is ``task-<task_id>``)."""
        i = INPUT_TABLES[Kind.INTERACTIONS]
        task_ref = sa.literal("task-") + tasks.c.task_id
        stmt = (sa.select(*_public(i), tasks.c.note, tasks.c.task_id)
                .select_from(i.outerjoin(tasks, sa.and_(
                    tasks.c.customer_id == customer_id,  # its index: the customer's tasks
                    task_ref == i.c.interaction_id)))
                .where(i.c.customer_id == customer_id)
                .order_by(i.c.at.desc(), i.c.interaction_id.desc()).limit(limit))
        return self._read(stmt)

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
        out[tasks.name] = self._read(sa.select(tasks).where(tasks.c.customer_id == customer_id))
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
            counts = erase(conn, customer_id)
            conn.execute(api_audit.insert().values(
                at=at, key_id=key_id, action=action, subject=customer_id, status=status,
                detail=json.dumps(counts), channel=channel, use_case="customers.erase",
                outcome="done"))
        return counts



def _public(t: sa.Table) -> list[sa.Column[Any]]:
    """A table's columns without the store's bookkeeping."""
    hidden = {"row_hash", "import_id", "email_norm", "phone_norm"}
    return [c for c in t.columns if c.name not in hidden]

