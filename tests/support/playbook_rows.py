"""Rows written straight into a migrated store, for the feed's and the facts' tests."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.tables import (
    INPUT_TABLES,
    customer_tags,
    loyalty_members,
    map_customers,
    playbook_events,
)
from regulars.domain.tables import Kind


def customer(conn: sa.Connection, cid: str, **values: Any) -> None:
    conn.execute(INPUT_TABLES[Kind.CUSTOMERS].insert().values(
        customer_id=cid, row_hash="x", stub=False, **values))


def order(conn: sa.Connection, oid: str, cid: str, at: datetime, amount: str = "10") -> None:
    conn.execute(INPUT_TABLES[Kind.ORDERS].insert().values(
        order_id=oid, customer_id=cid, ordered_at=at, amount=amount, row_hash="x"))


def feedback(conn: sa.Connection, fid: str, cid: str, at: datetime, **values: Any) -> None:
    conn.execute(INPUT_TABLES[Kind.FEEDBACK].insert().values(
        feedback_id=fid, customer_id=cid, at=at, row_hash="x", **values))


def map_row(conn: sa.Connection, cid: str, *, rung: str = "new", status: str | None = None,
            signals: tuple[str, ...] = (), as_of: datetime = datetime(2027, 3, 1),
            **values: Any) -> None:
    conn.execute(map_customers.delete().where(map_customers.c.customer_id == cid))
    conn.execute(map_customers.insert().values(
        customer_id=cid, orders=values.pop("orders", 1), rung=rung, status=status,
        signals=json.dumps(list(signals)), traits=json.dumps(values.pop("traits", [])),
        evidence="[]", evidence_text="[]", as_of=as_of, updated_at=as_of, **values))


def member(conn: sa.Connection, cid: str, tier: str, balance: int = 0) -> None:
    conn.execute(loyalty_members.delete().where(loyalty_members.c.member_id == cid))
    conn.execute(loyalty_members.insert().values(
        member_id=cid, enrolled_at=datetime(2026, 1, 1), consent=True, tier=tier,
        balance=balance, pending=0, debt=0, deficit=0, earned_total=balance, stored_value=0))


def tag(conn: sa.Connection, cid: str, name: str) -> None:
    conn.execute(customer_tags.insert().values(customer_id=cid, tag=name,
                                               added_at=datetime(2027, 1, 1), source="test"))


def event(conn: sa.Connection, eid: str, cid: str, name: str, at: datetime) -> None:
    conn.execute(playbook_events.insert().values(
        event_id=eid, customer_id=cid, name=name, at=at, properties="{}",
        received_at=at))


def birthday(value: str) -> date:
    return date.fromisoformat(value)
