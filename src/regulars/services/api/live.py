"""The served customer map: a persisted snapshot, rebuilt in full and kept live after ingests.

A full rebuild (``regulars serve`` on an empty snapshot, ``POST /v1/map/rebuild``) runs the
whole analysis and replaces the snapshot (``map_customers``, ``map_state``).

The live path: every ingest records the customers it touched in the store, in its own
transaction (``map_touched``); :class:`LiveMap`'s background worker (one thread, in the server
or in the ``regulars worker`` process) reads them in batches and calls
:func:`refresh_customers`. A rebuild
keeps the map's frozen baseline (the base's medians, base gap, RFM edges, golden and small
thresholds, and the fitted prediction models) in ``map_state``; a refresh reads only the
touched customers' rows and recomputes them against it, so its cost follows the customers
touched, not the size of the base. Without a baseline (no rebuild yet) it falls back to
computing the whole base's map. Changes of rung, status and new signals become webhook
events.

What is computed (the as-of rules, the whole map, the step against the baseline) is
:class:`regulars.services.live_map.MapComputer`; this module is the worker, the snapshot's
rows and the events.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from regulars.services.api.ports import ApiStore, TouchQueue
from regulars.services.api.workers import PeriodicWorker

log = logging.getLogger("regulars.api.live")
_EXPECTED = re.compile(r"expected_orders_(\d+)d")

# (the customers to recompute, or None for everyone; as_of or None for the configured
# default) -> (map rows including at least those customers, its as-of, how it was chosen:
# one of AS_OF_SOURCES)
ComputeMap = Callable[[set[str] | None, datetime | None], tuple[pa.Table, datetime, str]]
# as_of -> (every customer's map, its as-of, how it was chosen, portfolio, not evaluated,
# baseline to freeze)
FullCompute = Callable[[datetime | None], tuple[pa.Table, datetime, str, dict[str, Any],
                                                dict[str, str], dict[str, Any] | None]]
AS_OF_SOURCES = ("last order", "clock", "given")
"""How a map's as-of moment was chosen: the end of the day of the last order in the store
(as ``regulars analyze`` chooses it), the clock (``api.map_as_of = "now"``), or given by the
caller (``POST /v1/map/rebuild {"as_of": ...}``)."""
EventSink = Callable[[list[dict[str, Any]]], object]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def map_rows(customers: pa.Table, as_of: datetime, as_of_source: str | None = None
             ) -> list[dict[str, Any]]:
    """Rows of ``map_customers`` from the customer map (lists and evidence as JSON text).

    The map's name and contact columns are not copied: the API reads them from the
    customers table, so an erased or corrected card shows at once."""
    now = _now()
    horizon = _horizon(customers.schema.names)
    rows = []
    for r in customers.to_pylist():
        rows.append({
            "customer_id": r["customer_id"],
            "orders": int(r["orders"] or 0),
            "first_order_at": r["first_order_at"],
            "last_order_at": r["last_order_at"],
            "revenue": _float(r["revenue"]),
            "avg_order_value": _float(r["avg_order_value"]),
            "typical_gap_days": _float(r["typical_gap_days"]),
            "days_since_last_order": _float(r["days_since_last_order"]),
            "rung": r["rung"],
            "status": r["status"],
            "signals": json.dumps(list(r["signals"] or [])),
            "traits": json.dumps(list(r["traits"] or [])),
            "rfm_r": r["rfm_r"],
            "rfm_f": r["rfm_f"],
            "rfm_m": r["rfm_m"],
            "rfm_segment": r["rfm_segment"],
            "evidence": r["evidence"] or "[]",
            "evidence_text": json.dumps(list(r.get("evidence_text") or [])),
            "as_of": as_of,
            "as_of_source": as_of_source,
            "updated_at": now,
            "p_alive": _float(r.get("p_alive")),
            "expected_orders": (None if horizon is None
                                else _float(r.get(f"expected_orders_{horizon}d"))),
            "expected_orders_days": horizon,
            "next_order_expected_at": r.get("next_order_expected_at"),
            "clv": _float(r.get("clv")),
            "value_at_risk": _float(r.get("value_at_risk")),
            "money_at_stake": _number(r.get("money_at_stake")),
        })
    return rows


def _horizon(columns: Sequence[str]) -> int | None:
    """The horizon in days of the map's ``expected_orders_<N>d`` column (None without one)."""
    for name in columns:
        found = _EXPECTED.fullmatch(name)
        if found:
            return int(found.group(1))
    return None


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _number(v: Any) -> float | None:
    """A float, or None for none and for NaN (PostgreSQL would sort a NaN above every
    number)."""
    f = _float(v)
    return None if f is None or math.isnan(f) else f


def changes(before: Mapping[str, Mapping[str, Any]], after: Iterable[Mapping[str, Any]],
            ) -> list[dict[str, Any]]:
    """Webhook events (``rung_changed``, ``status_changed``, ``signal_raised``) of a refresh."""
    events: list[dict[str, Any]] = []
    at = _now().isoformat()
    for new in after:
        cid = new["customer_id"]
        old = before.get(cid)
        old_rung = old["rung"] if old else None
        old_status = old["status"] if old else None
        if new["rung"] != old_rung:
            events.append(_event("rung_changed", cid, at, {"from": old_rung, "to": new["rung"]}))
        if new["status"] != old_status:
            events.append(_event("status_changed", cid, at,
                                 {"from": old_status, "to": new["status"]}))
        raised = set(json.loads(new["signals"])) - set(json.loads(old["signals"]) if old else [])
        if raised:
            evidence = {e.get("code"): e for e in json.loads(new["evidence"])
                        if e.get("about") == "signal"}
            for code in sorted(raised):
                events.append(_event("signal_raised", cid, at,
                                     {"signal": code, "evidence": evidence.get(code)}))
    return events


def _event(kind: str, customer_id: str, at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "type": kind, "created_at": at,
            "customer_id": customer_id, "data": data}


def rebuild(store: ApiStore, compute: FullCompute,
            as_of: datetime | None = None) -> dict[str, Any]:
    """Recompute the whole map and portfolio and replace the snapshot (with the baseline the
    live map recomputes against); returns its state."""
    # the customers waiting for the live map, as they are before the map is read: the
    # rebuild covers them, unless one is touched again meanwhile
    waiting = store.touched()
    customers, moment, source, portfolio, not_evaluated, baseline = compute(as_of)
    rows = map_rows(customers, moment, source)
    state = {"as_of": moment, "as_of_source": source, "built_at": _now(),
             "customers": len(rows),
             "portfolio": json.dumps(portfolio, default=str),
             "not_evaluated": json.dumps(not_evaluated),
             "baseline": None if baseline is None else json.dumps(baseline)}
    store.replace_map(rows, state)
    store.settle_touched(waiting)
    return state


def refresh_customers(store: ApiStore, compute: ComputeMap, ids: set[str],
                      as_of: datetime | None = None) -> list[dict[str, Any]]:
    """Recompute the rows of ``ids``, write them, and return the events of what changed."""
    customers, moment, source = compute(ids, as_of)
    mask = pc.is_in(customers.column("customer_id"),
                            value_set=pa.array(sorted(ids), pa.string()))
    rows = map_rows(customers.filter(mask), moment, source)
    before = store.upsert_map_rows(rows)
    return changes(before, rows)


@dataclass
class LiveStats:
    refreshes: int = 0
    customers: int = 0
    last_seconds: float = 0.0
    last_lag_seconds: float = 0.0
    errors: int = 0
    lags: list[float] = field(default_factory=list)


class LiveMap:
    """The background worker that keeps touched customers' rows current (one thread, in the
    server or in ``regulars worker``).

    Which customers wait is kept in the store (:class:`~regulars.services.api.ports.TouchQueue`,
    the table ``map_touched``), written by each ingest in its own transaction: so the worker
    may run in another process than the requests, a restart loses nothing, and
    :meth:`pending` is the same figure in every process. A run reads the longest-waiting
    customers (at most ``max_batch``), recomputes them, publishes the events and then forgets
    only the touches that did not change meanwhile: a customer touched again during the
    refresh stays for the next run.
    """

    def __init__(self, store: ApiStore, compute: ComputeMap, *,
                 on_events: EventSink | None = None, min_interval: float = 0.25,
                 max_batch: int = 2000, poll: float = 0.05,
                 queue: TouchQueue | None = None) -> None:
        self.store = store
        self.queue: TouchQueue = queue if queue is not None else store
        # at most this many customers a refresh: a backlog is refreshed in parts, so each
        # refresh stays short and its rows and events are out sooner
        self.max_batch = max_batch
        # a refresh costs one map computation however many customers it covers: under a
        # stream of orders, waiting a little between refreshes leaves the CPU to requests
        self.min_interval = min_interval
        # how often an idle worker looks at the store: an ingest in another process cannot
        # wake it, so this bounds the lag it adds
        self.poll = poll
        self.compute = compute
        self.on_events = on_events
        self.stats = LiveStats()
        self._lock = threading.Lock()  # one refresh at a time (the thread, or flush())
        self._worker: _LiveWorker | None = None

    def touch(self, ids: set[str]) -> None:
        """An ingest in this process wrote touches of ``ids`` (in its transaction): refresh
        now rather than at the next poll."""
        if ids:
            self._wake()

    def _wake(self) -> None:
        worker = self._worker
        if worker is not None:
            worker.wake()

    def pending(self) -> int:
        """How many touched customers wait for a refresh (the one running included)."""
        return self.queue.touched_count()

    def start(self) -> None:
        """Refresh in a thread of this process: when touched, and every ``poll`` seconds."""
        if self._worker is None:
            self._worker = _LiveWorker(self._step, interval=self.poll)
            self._worker.start()

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def flush(self, timeout: float = 60.0) -> bool:
        """Wait until every touched customer is refreshed (tests, benchmarks): here without a
        worker thread, else by watching the store (the worker may be another process's)."""
        if self._worker is None:
            while self.run_once():
                pass
            return self.pending() == 0
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            self._wake()
            time.sleep(0.02)
        return True

    def run_once(self) -> int:
        """One refresh of the longest-waiting customers; how many it covered."""
        with self._lock:
            batch = self.queue.touched(self.max_batch)
            if not batch:
                return 0
            started = time.monotonic()
            try:
                events = refresh_customers(self.store, self.compute,
                                           {t.customer_id for t in batch})
                if events and self.on_events:
                    self.on_events(events)
            except Exception:  # keep serving; the touches stay, the next run retries
                log.exception("live map refresh failed")
                self.stats.errors += 1
                return 0
            # only now: a worker stopped before this line refreshes them again (no change,
            # no event), one stopped after has published them
            self.queue.settle_touched(batch)
            done = time.monotonic()
            self.stats.refreshes += 1
            self.stats.customers += len(batch)
            self.stats.last_seconds = done - started
            self.stats.last_lag_seconds = max(
                0.0, (_now() - min(t.touched_at for t in batch)).total_seconds())
            self.stats.lags = [*self.stats.lags[-999:], self.stats.last_lag_seconds]
            if len(batch) >= self.max_batch:  # a backlog: the next part without a poll
                self._wake()
            return len(batch)

    def _step(self) -> None:
        started = time.monotonic()
        self.run_once()
        rest = self.min_interval - (time.monotonic() - started)
        worker = self._worker
        if rest > 0 and worker is not None:
            worker.pause(rest)


class _LiveWorker(PeriodicWorker):
    name = "regulars-live-map"
    what = "the live map refresh"


def events_for(subscriptions: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]],
               ) -> list[dict[str, Any]]:
    """Outbox rows: one per event and subscription that asked for its type."""
    now = _now()
    rows = []
    for sub in subscriptions:
        wanted = subscribed_events(sub)
        for e in events:
            if e["type"] in wanted:
                rows.append({"subscription_id": sub["id"], "event": e["type"],
                             "payload": json.dumps(e, default=str), "created_at": now,
                             "state": "pending", "attempts": 0, "next_attempt_at": now,
                             "delivered_at": None})
    return rows


def subscribed_events(subscription: Mapping[str, Any]) -> set[str]:
    """The event types a webhook subscription asked for (stored comma-separated)."""
    return set(str(subscription["events"]).split(","))
