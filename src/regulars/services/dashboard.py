"""The owner's dashboard (issue 19): the served map's portfolio read back as the report's
:class:`~regulars.analytics.portfolio.Portfolio`, the customers at risk with the money they
carry, and the loyalty programme's figures over a period.

Nothing is recomputed per request: the portfolio is the one the last full rebuild stored
(read back once per map version), the customers at risk are one indexed-free but small
aggregate over the served map (kept for :attr:`Dashboard.ttl` seconds within a map
version, since the live map moves single rows between rebuilds), and the programme's
figures are kept as long per period.

    board = Dashboard(rows, loyalty_store, programme)
    view = board.map_view()            # None before the first rebuild
    risky = board.at_risk()            # the top ten, and the totals
    figures = board.programme_figures(365)
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from regulars.analytics.portfolio import Portfolio
from regulars.analytics.signals import SIGNALS
from regulars.domain.loyalty.programme import Programme
from regulars.services.loyalty.figures import FigureStore, ProgrammeFigures, programme_figures

log = logging.getLogger("regulars.dashboard")

#: The periods the dashboard offers for the programme's figures, in days; the last is the
#: default (the last twelve months).
PERIOD_DAYS = (30, 90, 365)
DEFAULT_DAYS = PERIOD_DAYS[-1]

#: The warning signal that does not make a customer at risk (as in ``regulars analyze``'s
#: list): it says what we offer, not that the customer is leaving. Every other one does.
QUIET_SIGNALS = tuple(s for s in SIGNALS if s == "review_relationship")


@dataclass(frozen=True)
class AtRiskCustomer:
    customer_id: str
    name: str | None
    manager: str | None
    rung: str
    status: str | None
    value_at_risk: float | None  # the model's, when the map was built with predictions
    revenue: float | None
    days_since_last_order: float | None


@dataclass(frozen=True)
class AtRisk:
    """Customers still worth keeping who show they may leave: lapsing, or active (or won
    back) with a warning signal; lost customers are for win-back. ``top`` are the first
    ones by value at risk (by revenue without predictions)."""

    customers: int
    value_at_risk: float | None  # None: the map has no predictions
    revenue: float
    top: tuple[AtRiskCustomer, ...]


class DashboardRows(Protocol):
    """The dashboard's reads of the served map (``adapters/db/dashboard_rows.py``)."""

    def map_state(self) -> dict[str, Any] | None: ...
    def at_risk(self, quiet: Sequence[str], limit: int) -> AtRisk:
        """Lapsing customers, and active or won-back ones with a signal other than
        ``quiet``; the first ``limit`` of them."""
    def names(self, ids: Sequence[str]) -> dict[str, str]: ...


@dataclass(frozen=True)
class MapView:
    """The served map as the dashboard shows it."""

    as_of: datetime
    as_of_source: str | None
    built_at: datetime
    customers: int
    portfolio: Portfolio
    names: dict[str, str]  # the customers the figures name (the largest one)


class Pending:
    """A figure still being counted in the background (the page says so and asks again)."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING = Pending()


class Dashboard:
    """The dashboard's figures, each kept until the map changes (or ``ttl`` seconds).

    A figure that takes long on a large store (the programme's, over a year of orders) is
    counted in a background thread: a request waits for it at most ``wait`` seconds, then
    gets :data:`PENDING`; once counted it is kept, and after ``ttl`` the kept value is
    served while a fresh one is counted, so that no request waits twice.
    """

    def __init__(self, rows: DashboardRows, loyalty: FigureStore | None = None,
                 programme: Programme | None = None, *, ttl: float = 60.0,
                 wait: float = 0.25, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] | None = None) -> None:
        self.rows = rows
        self.loyalty = loyalty
        self.programme = programme
        self.ttl = ttl
        self.wait = wait
        self.clock = clock
        self.now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._kept: dict[tuple[Any, ...], tuple[float, Any]] = {}
        self._running: dict[tuple[Any, ...], Future[Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dashboard")

    def close(self) -> None:
        """Stop the background counting: nothing queued starts, and what is running finishes
        before the store it reads is closed."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _kept_or(self, key: tuple[Any, ...], make: Callable[[], Any], *,
                 forever: bool = False) -> Any:
        """The value kept under ``key``, else made here (``forever``: kept for good), else
        counted in the background and waited for at most :attr:`wait` seconds."""
        if forever:
            with self._lock:
                found = self._kept.get(key)
            return found[1] if found is not None else self._made(key, make)
        return self._answer(self._ask(key, make), self.clock() + self.wait)

    def _ask(self, key: tuple[Any, ...], make: Callable[[], Any]
             ) -> tuple[Any, Future[Any] | None]:
        """What is kept under ``key`` (a stale value too, or :data:`PENDING`), and the
        counting to wait for when nothing is kept (started if need be)."""
        with self._lock:
            found = self._kept.get(key)
        if found is not None and self.clock() - found[0] < self.ttl:
            return found[1], None
        future = self._start(key, make)
        if found is not None:  # stale: served while a fresh one is counted
            return found[1], None
        return PENDING, future

    def _answer(self, asked: tuple[Any, Future[Any] | None], deadline: float) -> Any:
        value, future = asked
        if future is None:
            return value
        try:
            return future.result(timeout=max(0.0, deadline - self.clock()))
        except FutureTimeout:
            return PENDING

    def _start(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            future = self._running.get(key)
            if future is None:
                future = self._pool.submit(self._made, key, make)
                self._running[key] = future
        return future

    def _made(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        try:
            value = make()
        except Exception:
            log.exception("the dashboard could not count %s", key[0])
            raise
        finally:
            with self._lock:
                self._running.pop(key, None)
        with self._lock:
            if len(self._kept) > 64:  # old map versions and periods
                self._kept.clear()
            self._kept[key] = (self.clock(), value)
        return value

    def _state(self) -> dict[str, Any] | None:
        return self.rows.map_state()

    @staticmethod
    def _version(state: dict[str, Any]) -> tuple[Any, ...]:
        return (state["built_at"], state["as_of"])

    def map_view(self, state: dict[str, Any] | None = None) -> MapView | None:
        """The served map's portfolio; None before the first rebuild."""
        state = state if state is not None else self._state()
        if state is None:
            return None

        def make() -> MapView:
            portfolio = Portfolio.from_dict(json.loads(state["portfolio"]))
            largest = portfolio.concentration.largest_customer_id
            return MapView(state["as_of"], state.get("as_of_source"), state["built_at"],
                           int(state["customers"]), portfolio,
                           self.rows.names([largest]) if largest else {})

        view: MapView = self._kept_or(("map", *self._version(state)), make, forever=True)
        return view

    def _risk(self, limit: int, state: dict[str, Any]
              ) -> tuple[tuple[Any, ...], Callable[[], AtRisk]]:
        return (("risk", limit, *self._version(state)),
                lambda: self.rows.at_risk(QUIET_SIGNALS, limit))

    def at_risk(self, limit: int = 10, state: dict[str, Any] | None = None
                ) -> AtRisk | Pending | None:
        """The customers at risk (None before the first rebuild)."""
        state = state if state is not None else self._state()
        if state is None:
            return None
        found: AtRisk | Pending = self._kept_or(*self._risk(limit, state))
        return found

    def period(self, days: int, state: dict[str, Any] | None = None
               ) -> tuple[datetime, datetime]:
        """The ``days`` days up to the served map's moment (now, before a map)."""
        end = state["as_of"] if state is not None else self.now().replace(tzinfo=None)
        return end - timedelta(days=days), end

    def _programme(self, days: int, state: dict[str, Any] | None
                   ) -> tuple[tuple[Any, ...], Callable[[], ProgrammeFigures]] | None:
        if self.loyalty is None or self.programme is None:
            return None
        loyalty, programme = self.loyalty, self.programme
        start, end = self.period(days, state)
        version = self._version(state) if state is not None else ()
        return (("loyalty", days, *version),
                lambda: programme_figures(loyalty, programme, start, end, now=self.now()))

    def programme_figures(self, days: int = DEFAULT_DAYS, state: dict[str, Any] | None = None
                          ) -> ProgrammeFigures | Pending | None:
        """The programme's figures over the last ``days`` days (None without a programme)."""
        asked = self._programme(days, state)
        figures: ProgrammeFigures | Pending | None = (
            None if asked is None else self._kept_or(*asked))
        return figures

    def board(self, days: int = DEFAULT_DAYS, limit: int = 10) -> Board:
        """Everything the page shows, the slow parts counted side by side and waited for
        :attr:`wait` seconds in all."""
        state = self._state()
        deadline = self.clock() + self.wait
        view = self.map_view(state)
        risk = self._ask(*self._risk(limit, state)) if state is not None else (None, None)
        asked = self._programme(days, state)
        programme = self._ask(*asked) if asked is not None else (None, None)
        return Board(view, self._answer(risk, deadline), self._answer(programme, deadline),
                     self.period(days, state), days)


@dataclass(frozen=True)
class Board:
    """What the dashboard page shows (:meth:`Dashboard.board`)."""

    view: MapView | None  # None before the first rebuild
    at_risk: AtRisk | Pending | None
    programme: ProgrammeFigures | Pending | None  # None without a programme
    period: tuple[datetime, datetime]
    days: int
