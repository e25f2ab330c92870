"""The served customer map's computation: which moment it describes (the as-of rules), the
whole store's map and analysis, and the live step that recomputes only the customers an
ingest touched against the baseline the last rebuild froze.

:class:`MapComputer` receives what it needs in its constructor (a reader of the store's
tables, a DuckDB engine factory, the map's parameters and the input rules); the HTTP API's
:class:`~regulars.services.api.live.LiveMap` worker calls :meth:`MapComputer.compute_map`
and a rebuild :meth:`MapComputer.full_compute`. The worker, the snapshot's rows and the
webhook events stay in :mod:`regulars.services.api.live`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from regulars.analytics.params import MapParams
from regulars.domain.errors import AnalysisError
from regulars.domain.rules import InputRules, today
from regulars.domain.tables import Kind
from regulars.i18n import _
from regulars.services import analysis
from regulars.services.screening import SetAside, screen

log = logging.getLogger(__name__)

class MapStore(Protocol):
    """What the map reads of the store: whole tables, one customer's rows, the snapshot."""

    def read_table(self, kind: Kind) -> pa.Table: ...
    def read_rows(self, kind: Kind, customer_ids: Sequence[str]) -> pa.Table: ...
    def map_state(self) -> dict[str, Any] | None: ...


class Engine(Protocol):
    """A DuckDB connection: Arrow tables in under a name, SQL and views on them."""

    def table(self, name: str, data: pa.Table) -> Any: ...
    def run_sql(self, sql: str) -> pa.Table: ...
    def define_view(self, name: str, sql: str) -> str: ...
    def close(self) -> None: ...


EngineFactory = Callable[[int | None], Engine]
"""Opens an engine with that many threads (None: the engine's default)."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def as_of_moment(map_as_of: str, as_of: datetime | None) -> datetime | None:
    """The moment the served map describes: given, now, or (None) the last order's day."""
    if as_of is not None:
        return as_of
    if map_as_of == "now":
        return _now()
    return None


def as_of_source(map_as_of: str, as_of: datetime | None) -> str:
    """How :func:`as_of_moment` chooses the moment (one of ``live.AS_OF_SOURCES``)."""
    if as_of is not None:
        return "given"
    return "clock" if map_as_of == "now" else "last order"


class LiveEngine:
    """The live worker's DuckDB connection, kept between refreshes with the refresh query
    compiled once (:class:`analysis.CompiledRefresh`); one refresh at a time."""

    def __init__(self, open_engine: EngineFactory) -> None:
        self.lock = threading.Lock()
        self._open_engine = open_engine
        self._open: tuple[Engine, analysis.CompiledRefresh] | None = None

    def session(self) -> tuple[Engine, analysis.CompiledRefresh]:
        """The connection and its compiled query (opened on first use; hold ``lock``)."""
        if self._open is None:
            duck = self._open_engine(1)  # the live map runs beside the requests it follows
            self._open = duck, analysis.CompiledRefresh(register=duck.table, run=duck.run_sql,
                                                        define_view=duck.define_view)
        return self._open

    def close(self) -> None:
        with self.lock:
            if self._open is not None:
                self._open[0].close()
                self._open = None


class MapComputer:
    """The customer map of a store, in full or for the customers an ingest touched.

    ``store`` is read for the full map (every table) and the live step (the touched
    customers' rows and the snapshot's state); ``open_engine`` opens the DuckDB engine each
    computation runs on; ``params`` are the map's thresholds (``[analysis]``), ``map_as_of``
    the served map's default moment (``[api] map_as_of``) and ``rules`` the input rules the
    store's rows are screened by (``[input]``).
    """

    def __init__(self, store: MapStore | None, *, open_engine: EngineFactory,
                 params: MapParams, map_as_of: str, rules: InputRules,
                 today: Callable[[], date] = today) -> None:
        self.store = store
        self.open_engine = open_engine
        self.params = params
        self.map_as_of = map_as_of
        self.rules = rules
        self.today = today
        self.live = LiveEngine(open_engine)
        self.set_aside: list[str] = []  # what the last full read left out, for the answer

    # --- the as-of rules ----------------------------------------------------------------

    def as_of(self, as_of: datetime | None) -> datetime | None:
        """The moment the served map describes: given, now, or (None) the last order's day."""
        return as_of_moment(self.map_as_of, as_of)

    def as_of_source(self, as_of: datetime | None) -> str:
        """How :meth:`as_of` chooses the moment (one of ``live.AS_OF_SOURCES``)."""
        return as_of_source(self.map_as_of, as_of)

    # --- reading ------------------------------------------------------------------------

    def _screen(self, tables: Mapping[Kind, pa.Table]) -> tuple[dict[Kind, pa.Table], SetAside]:
        kept, aside = screen(tables, self.rules, self.today())
        for line in aside.lines():
            log.warning("%s", line)
        return kept, aside

    def screened(self, tables: Mapping[Kind, pa.Table]) -> dict[Kind, pa.Table]:
        """``tables`` without the rows outside the input rules (which are logged)."""
        return self._screen(tables)[0]

    def tables(self) -> dict[Kind, pa.Table]:
        """Every input table of the store, screened; what was left out is logged and kept
        in :attr:`set_aside` for the rebuilt map's answer."""
        assert self.store is not None, "a MapComputer without a store reads no tables"
        kept, aside = self._screen({k: self.store.read_table(k) for k in Kind})
        self.set_aside[:] = aside.lines()
        return kept

    # --- the whole map ------------------------------------------------------------------

    def customer_map(self, tables: Mapping[Kind, pa.Table], as_of: datetime | None = None,
                     *, threads: int | None = None) -> tuple[pa.Table, datetime]:
        """The customer map of everyone in ``tables`` (no portfolio), as ``analyze``
        computes it."""
        at = self.as_of(as_of)
        if tables[Kind.ORDERS].num_rows == 0:
            return pa.table({"customer_id": pa.array([], pa.string())}), at or datetime.min
        duck = self.open_engine(threads)
        try:
            ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in tables.items()}
            return analysis.customer_rows(ibis_tables, params=self.params, as_of=at)
        finally:
            duck.close()

    def full_analysis(self, tables: Mapping[Kind, pa.Table], as_of: datetime | None = None,
                      *, with_baseline: bool = False) -> analysis.Analysis:
        """The analysis of ``tables`` (the store's); with ``with_baseline`` the map's baseline
        is frozen (computed) before the engine closes."""
        if tables[Kind.ORDERS].num_rows == 0:
            raise AnalysisError(_("the store holds no orders yet"))
        duck = self.open_engine(None)
        try:
            ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in tables.items()}
            result = analysis.analyze(ibis_tables, params=self.params, as_of=self.as_of(as_of),
                                      period=None, flow_from=None)
            # the clock's moment reaches the analysis as a given one: say how it was chosen
            result.as_of_source = self.as_of_source(as_of)
            if with_baseline:
                result.baseline()
            return result
        finally:
            duck.close()

    # --- the live step ------------------------------------------------------------------

    def refresh(self, tables: Mapping[Kind, pa.Table], frozen: Mapping[str, Any],
                as_of: datetime | None, snapshot_as_of: datetime,
                live: LiveEngine | None = None) -> tuple[pa.Table, datetime]:
        """The map rows of the customers in ``tables`` (the store's rows about them only),
        recomputed against the ``frozen`` baseline of the last full map (``{"base": ...,
        "models": ..., "stake": ...}``): the live map's step, whose cost follows the
        customers touched.

        With ``live`` the query compiled for the previous refresh is reused; the moment of a
        ``now`` map is then the current minute, so that refreshes within a minute share it."""
        at = self.as_of(as_of)
        if at is None:  # "last_order": the snapshot's day, or a later order's
            last = pc.max(tables[Kind.ORDERS].column("ordered_at")).as_py()
            at = max(snapshot_as_of, analysis.end_of_day(last.date())) if last else (
                snapshot_as_of)
        elif live is not None and as_of is None:
            at = at.replace(second=0, microsecond=0)
        if live is None:
            duck = self.open_engine(1)
            try:
                return self._refresh_on(duck, tables, frozen, at, None), at
            finally:
                duck.close()
        with live.lock:
            duck, compiled = live.session()
            return self._refresh_on(duck, tables, frozen, at, compiled), at

    def _refresh_on(self, duck: Engine, tables: Mapping[Kind, pa.Table],
                    frozen: Mapping[str, Any], at: datetime,
                    compiled: analysis.CompiledRefresh | None) -> pa.Table:
        ibis_tables = {k: duck.table(f"input_{k.value}", t) for k, t in tables.items()}
        frame = analysis.refresh_customers(ibis_tables, baseline=frozen["base"],
                                           params=self.params, as_of=at,
                                           saved_models=frozen.get("models"),
                                           compiled=compiled, stake=frozen.get("stake"))
        result: pa.Table = frame.to_arrow()
        return result

    # --- what the HTTP API's LiveMap and rebuild call -----------------------------------

    def compute_map(self, ids: set[str] | None, as_of: datetime | None
                    ) -> tuple[pa.Table, datetime, str]:
        """The map rows of ``ids`` (None: everyone), its moment and how it was chosen: the
        live step against the snapshot's baseline when there is one, else the whole map."""
        assert self.store is not None, "a MapComputer without a store reads no tables"
        # one DuckDB thread: the live map runs beside the requests it follows
        source = self.as_of_source(as_of)
        state = self.store.map_state()
        if ids and state is not None and state.get("baseline"):
            frozen = json.loads(state["baseline"])
            touched = sorted(ids)
            rows = self.screened({k: self.store.read_rows(k, touched) for k in Kind})
            table, moment = self.refresh(rows, frozen, as_of, state["as_of"], self.live)
            # a touched customer still as of the snapshot's moment: chosen as it was
            if moment == state["as_of"] and state.get("as_of_source"):
                source = state["as_of_source"]
            return table, moment, source
        return (*self.customer_map(self.tables(), as_of, threads=1), source)

    def full_compute(self, as_of: datetime | None) -> tuple[
            pa.Table, datetime, str, dict[str, Any], dict[str, str], dict[str, Any] | None]:
        """The whole map and portfolio for a rebuild, with the baseline to freeze."""
        result = self.full_analysis(self.tables(), as_of, with_baseline=True)
        not_evaluated = dict(result.not_evaluated)
        if self.set_aside:
            not_evaluated["set_aside"] = "; ".join(self.set_aside)
        models = None if result.predictions is None else result.predictions.describe()
        frozen = {"base": result.baseline(), "models": models,
                  "stake": None if result.calibration is None
                  else result.calibration.to_dict()}
        return (result.customers.to_arrow(), result.as_of, result.as_of_source,
                result.portfolio.to_dict(), not_evaluated, frozen)

    def close(self) -> None:
        """Close the live step's engine (the server's shutdown)."""
        self.live.close()
