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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from regulars.analytics.portfolio import Portfolio
from regulars.analytics.signals import SIGNALS
from regulars.domain.loyalty.programme import Programme
from regulars.services.loyalty.figures import FigureStore, ProgrammeFigures, programme_figures

#: The periods the dashboard offers for the programme's figures, in days; the last is the
#: default (the last twelve months).
PERIOD_DAYS = (30, 90, 365)
DEFAULT_DAYS = PERIOD_DAYS[-1]

#: Every warning signal but the one about our own terms (as ``regulars analyze``'s list of
#: customers at risk): that one says what we offer, not that the customer is leaving.
RISK_SIGNALS = tuple(s for s in SIGNALS if s != "review_relationship")


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
    def at_risk(self, signals: Sequence[str], limit: int) -> AtRisk: ...
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


class Dashboard:
    """The dashboard's figures, each kept until the map changes (or ``ttl`` seconds)."""

    def __init__(self, rows: DashboardRows, loyalty: FigureStore | None = None,
                 programme: Programme | None = None, *, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] | None = None) -> None:
        self.rows = rows
        self.loyalty = loyalty
        self.programme = programme
        self.ttl = ttl
        self.clock = clock
        self.now = now or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._kept: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def _kept_or(self, key: tuple[Any, ...], make: Callable[[], Any], *,
                 forever: bool = False) -> Any:
        with self._lock:
            found = self._kept.get(key)
        if found is not None and (forever or self.clock() - found[0] < self.ttl):
            return found[1]
        value = make()
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

    def at_risk(self, limit: int = 10, state: dict[str, Any] | None = None) -> AtRisk | None:
        """The customers at risk (None before the first rebuild)."""
        state = state if state is not None else self._state()
        if state is None:
            return None
        found: AtRisk = self._kept_or(("risk", limit, *self._version(state)),
                                      lambda: self.rows.at_risk(RISK_SIGNALS, limit))
        return found

    def period(self, days: int, state: dict[str, Any] | None = None
               ) -> tuple[datetime, datetime]:
        """The ``days`` days up to the served map's moment (now, before a map)."""
        end = state["as_of"] if state is not None else self.now().replace(tzinfo=None)
        return end - timedelta(days=days), end

    def programme_figures(self, days: int = DEFAULT_DAYS,
                          state: dict[str, Any] | None = None) -> ProgrammeFigures | None:
        """The programme's figures over the last ``days`` days (None without a programme)."""
        if self.loyalty is None or self.programme is None:
            return None
        loyalty, programme = self.loyalty, self.programme
        start, end = self.period(days, state)
        version = self._version(state) if state is not None else ()
        figures: ProgrammeFigures = self._kept_or(
            ("loyalty", days, *version),
            lambda: programme_figures(loyalty, programme, start, end, now=self.now()))
        return figures
