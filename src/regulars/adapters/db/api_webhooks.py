"""The HTTP API's webhook tables: subscriptions, the outbox and the deliveries' log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from regulars.adapters.db.api_rows import PooledRows
from regulars.adapters.db.tables import (
    webhook_deliveries,
    webhook_outbox,
    webhook_subscriptions,
)


class WebhookRows(PooledRows):
    """Subscriptions and the outbox of the events to send to them."""

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
