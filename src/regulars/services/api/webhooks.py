"""Webhooks out: subscriptions, a transactional outbox, signed deliveries retried with backoff.

Every delivery is a ``POST`` of the event as JSON with these headers:

- ``Regulars-Event``: the event type; ``Regulars-Delivery``: the outbox id (the same on
  every retry of one event, so a receiver can drop duplicates);
- ``Regulars-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the
  subscription's secret>``. A receiver recomputes it (:func:`verify`) and rejects old
  timestamps, which defeats replays.

A 2xx answer delivers the event; anything else (or no answer within the timeout) is retried
after ``backoff × 2^(attempt-1)`` seconds, up to ``max_attempts``, then the event is marked
``failed``. Every attempt is logged in ``webhook_deliveries``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from regulars.domain.errors import InputError
from regulars.i18n import _
from regulars.services.api.live import events_for
from regulars.services.api.ports import ApiStore
from regulars.services.api.workers import PeriodicWorker

log = logging.getLogger("regulars.api.webhooks")

EVENTS = ("rung_changed", "status_changed", "signal_raised", "tier_changed", "points_expiring")
SIGNATURE_HEADER = "Regulars-Signature"

# (url, body, headers, timeout) -> (HTTP status or None, error text or None)
Send = Callable[[str, bytes, Mapping[str, str], float], tuple[int | None, str | None]]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, tolerance: float = 300.0,
           now: float | None = None) -> bool:
    """Whether ``header`` signs ``body`` under ``secret`` within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, t, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class Webhooks:
    """Subscriptions, the outbox and the delivery worker."""

    def __init__(self, store: ApiStore, send: Send, *, max_attempts: int = 8,
                 backoff: float = 2.0, timeout: float = 5.0) -> None:
        self.store = store
        self.send = send
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self._worker: PeriodicWorker | None = None

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(self, url: str, events: Sequence[str], *, key_id: str) -> dict[str, Any]:
        """A new subscription; its secret is in the result (and only there)."""
        unknown = [e for e in events if e not in EVENTS]
        if unknown or not events:
            raise InputError(_("unknown event(s) {bad}: use {known}").format(
                bad=", ".join(unknown) or "-", known=", ".join(EVENTS)))
        record = {"id": secrets.token_hex(8), "url": url, "events": ",".join(dict.fromkeys(events)),
                  "secret": "whsec_" + secrets.token_urlsafe(24), "created_at": _now(),
                  "key_id": key_id}
        self.store.add_subscription(record)
        return public(record) | {"secret": record["secret"]}

    def subscriptions(self) -> list[dict[str, Any]]:
        return [public(s) for s in self.store.list_subscriptions()]

    def unsubscribe(self, sub_id: str) -> bool:
        return self.store.delete_subscription(sub_id)

    # -- the outbox --------------------------------------------------------------------------

    def publish(self, events: Sequence[Mapping[str, Any]]) -> int:
        """Put events in the outbox for every subscription that wants them."""
        subs = self.store.list_subscriptions()
        if not subs or not events:
            return 0
        n = self.store.enqueue_events(events_for(subs, events))
        if n:
            self.wake()
        return n

    def deliver_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Attempt every delivery that is due; returns how many were attempted."""
        now = now or _now()
        due = self.store.due_deliveries(now, limit)
        for item in due:
            body = item["payload"].encode()
            ts = int(time.time())
            headers = {"Content-Type": "application/json", "Regulars-Event": item["event"],
                       "Regulars-Delivery": str(item["id"]),
                       SIGNATURE_HEADER: sign(item["secret"], ts, body)}
            started = time.perf_counter()
            status, error = self.send(item["url"], body, headers, self.timeout)
            took = (time.perf_counter() - started) * 1000
            attempt = int(item["attempts"]) + 1
            ok = status is not None and 200 <= status < 300
            if ok:
                state, next_at = "delivered", None
            elif attempt >= self.max_attempts:
                state, next_at = "failed", None
            else:
                state = "pending"
                next_at = _now() + timedelta(seconds=self.backoff * 2 ** (attempt - 1))
            if error is None and not ok:
                error = _("answered {status}").format(status=status)
            self.store.record_delivery(int(item["id"]), attempt=attempt, at=_now(),
                                       status_code=status, error=error, duration_ms=took,
                                       state=state, next_attempt_at=next_at)
        return len(due)

    # -- the worker --------------------------------------------------------------------------

    def wake(self) -> None:
        """Deliver now: events were put in the outbox."""
        if self._worker is not None:
            self._worker.wake()

    def start(self, poll: float = 1.0) -> None:
        """Deliver in a thread of the server: every ``poll`` seconds and when woken."""
        if self._worker is None:
            self._worker = _DeliveryWorker(self._deliver_all, poll)
            self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _deliver_all(self) -> None:
        worker = self._worker
        while self.deliver_due() and not (worker is None or worker.stopping):
            pass


class _DeliveryWorker(PeriodicWorker):
    name = "regulars-webhooks"
    what = "webhook delivery"


def public(sub: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": sub["id"], "url": sub["url"], "events": str(sub["events"]).split(","),
            "created_at": sub["created_at"]}
