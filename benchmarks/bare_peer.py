"""The bare-stack peer of ``bench_api.py``: FastAPI and one plain INSERT per POST.

``uvicorn bare_peer:app`` with ``BARE_PEER_URL`` (an SQLAlchemy PostgreSQL URL) serves
``POST /v1/orders``: the same order body as ours, checked by a pydantic model, written with
one ``INSERT`` on a pooled connection (16 kept, as the API's pool) and committed; answers 201.
No authentication, no idempotency, no accrual, no audit: the floor our stack stands on.
"""

from __future__ import annotations

import os
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import BaseModel

engine = sa.create_engine(os.environ["BARE_PEER_URL"], pool_size=16, max_overflow=16)
with engine.begin() as conn:
    conn.exec_driver_sql(
        "CREATE TABLE IF NOT EXISTS bare_orders (order_id text PRIMARY KEY, "
        "customer_id text NOT NULL, ordered_at timestamp NOT NULL, amount numeric(18, 4))")
INSERT = sa.text("INSERT INTO bare_orders (order_id, customer_id, ordered_at, amount) "
                 "VALUES (:order_id, :customer_id, :ordered_at, :amount)")

app = FastAPI()


class Order(BaseModel):
    order_id: str
    customer_id: str
    ordered_at: datetime
    amount: Decimal


@app.get("/v1/health")
def health() -> dict[str, Any]:
    return {"status": "ok"}


@app.post("/v1/orders", status_code=201)
def post_order(order: Order) -> dict[str, Any]:
    with engine.begin() as conn:
        conn.execute(INSERT, order.model_dump())
    return {"received": 1, "added": 1}
