"""The use cases behind the HTTP API: keys, ingest, the served map, privacy, webhooks and
the loyalty programme (with its periodic ``points_expiring`` notices and the ``tier_changed``
events read from the tier history).

:class:`ApiServices` holds them wired together (``regulars.bootstrap.open_api`` builds it);
the web layer (``regulars.entrypoints.http``) only translates HTTP to these calls and back.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from regulars.services.api.ingest import Ingest
from regulars.services.api.keys import KeyRing
from regulars.services.api.live import ComputeMap, FullCompute, LiveMap, rebuild
from regulars.services.api.loyalty import ExpiryNoticeWorker, LoyaltyApi, TierEventWorker
from regulars.services.api.ports import ApiStore
from regulars.services.api.webhooks import Webhooks
from regulars.services.audit import AuditTrail

if TYPE_CHECKING:  # the tasks import this package's ingest: imported when typing only
    from regulars.services.events import Events
    from regulars.services.tasks import Tasks

log = logging.getLogger("regulars.api")


class RateLimiter:
    """A token bucket per API key: ``rate`` requests a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the request may go ahead, else the seconds to wait before retrying."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


@dataclass
class ApiServices:
    """Everything the HTTP layer calls, built once per server."""

    store: ApiStore
    keys: KeyRing
    ingest: Ingest
    live: LiveMap
    webhooks: Webhooks
    limiter: RateLimiter
    full_compute: FullCompute
    compute_map: ComputeMap
    max_batch: int = 1000
    max_body_bytes: int = 4_000_000
    live_enabled: bool = True
    loyalty: LoyaltyApi | None = None  # the loyalty programme (its service: .service)
    expiry_notices: ExpiryNoticeWorker | None = None  # the periodic points_expiring run
    tier_events: TierEventWorker | None = None  # publishes the tier history as tier_changed
    tasks: Tasks | None = None  # the managers' tasks (issue 18)
    events: Events | None = None  # playbooks' events, POST /v1/events with a name (issue 20)
    extras: dict[str, Any] = field(default_factory=dict)
    closers: list[Callable[[], object]] = field(default_factory=list)  # run by stop()

    @property
    def audit(self) -> AuditTrail:
        """The audit log (every channel writes it through :class:`AuditTrail`)."""
        return AuditTrail(self.store)

    def rebuild_map(self, as_of: datetime | None = None) -> dict[str, Any]:
        return rebuild(self.store, self.full_compute, as_of)

    def start(self, *, background: bool = True) -> None:
        """Start the background work in threads of this process: the live map, webhook
        delivery, tier events and expiry notices (``background=False``: none of them; a
        ``regulars worker`` process does that work)."""
        if not background:
            return
        if self.live_enabled:
            self.live.start()
        self.webhooks.start()
        if self.expiry_notices is not None:
            self.expiry_notices.start()
        if self.tier_events is not None:
            self.tier_events.start()

    def first_map(self) -> None:
        """Build the snapshot when there is none yet and the store has orders (the first
        background run; a failure is logged: the first ingest or a rebuild makes one)."""
        if self.store.map_state() is not None:
            return
        try:
            self.rebuild_map()
        except Exception as e:  # no orders yet, say
            log.info("no customer map built at start: %s", e)

    def stop(self) -> None:
        if self.expiry_notices is not None:
            self.expiry_notices.stop()
        if self.tier_events is not None:
            self.tier_events.stop()
        self.live.stop()
        self.webhooks.stop()
        # last added first: the pages' background work (the dashboard's counting, the
        # worklist's suggestions) ends before what it reads closes; the loyalty engine last,
        # since a thread still counting would reopen its pool and leave the connections open
        for close in reversed(self.closers):
            close()
        if self.loyalty is not None:
            self.loyalty.close()  # its pooled connections; it reopens them if used again
