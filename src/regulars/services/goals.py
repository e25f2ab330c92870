"""The business's goals and their tracking against the portfolio (issue 21).

    goals = Goals(store, measure, today=...)
    goal = goals.set("share_of_regulars", 35, due_on=date(2026, 12, 31))
    goals.track()                  # records the readings still missing, up to today
    for tracked in goals.list():   # each goal with its readings and its progress
        ...

A reading is the metric's value at a date, computed from the order history as of the end of
that day with the portfolio's own functions (:func:`~regulars.analytics.portfolio.base_metrics`,
:func:`~regulars.analytics.portfolio.revenue_split`, :func:`~regulars.analytics.portfolio.
ladder_flow`; the loyalty programme's :func:`~regulars.services.loyalty.figures.
programme_figures`), so that a goal reads what the dashboard shows. Readings are stored
(``goal_readings``): a date already read is not read again, except the latest (today's), which
the data may still change. All goals' readings of one date come from one customer map of that
date (:class:`PortfolioMeasure`).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import ibis
import pyarrow as pa

from regulars.analytics.params import MapParams
from regulars.analytics.portfolio import (
    FLOW_STATES,
    REGULAR_RUNGS,
    base_metrics,
    ladder_flow,
    revenue_split,
)
from regulars.analytics.portfolio.results import LadderFlow
from regulars.domain.goals import (
    PERCENT_METRICS,
    Goal,
    Progress,
    progress,
    reading_dates,
    validate,
)
from regulars.domain.loyalty.programme import Programme
from regulars.domain.tables import Kind
from regulars.services import analysis
from regulars.services.audit import AuditTrail, Caller, Outcome
from regulars.services.loyalty.figures import FigureStore, programme_figures

log = logging.getLogger("regulars.goals")

Key = tuple[str, str | None]
"""A metric and its segment (None: the whole base)."""

ROTATION_DAYS = 365
LOYALTY_DAYS = 365


class GoalStore(Protocol):
    """The goals' rows (``adapters/db/goal_rows.py``)."""

    def add_goal(self, record: Mapping[str, Any]) -> None: ...
    def goal_rows(self, *, retired: bool = False) -> list[dict[str, Any]]: ...
    def goal_row(self, goal_id: str) -> dict[str, Any] | None: ...
    def retire_goal(self, goal_id: str, at: datetime) -> bool: ...
    def reading_rows(self, goal_ids: Sequence[str]) -> list[dict[str, Any]]: ...
    def put_readings(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


Measure = Callable[[Mapping[date, Set[Key]]], dict[date, dict[Key, float | None]]]
"""The metrics wanted at each date, measured: ``{day: {(metric, segment): value}}``."""


@dataclass(frozen=True)
class Reading:
    as_of: date
    value: float | None


@dataclass(frozen=True)
class TrackedGoal:
    """A goal, its readings (oldest first) and its progress at the latest one."""

    goal: Goal
    created_at: datetime
    created_by: str | None
    retired_at: datetime | None
    readings: tuple[Reading, ...]

    @property
    def latest(self) -> Reading | None:
        return self.readings[-1] if self.readings else None

    @property
    def progress(self) -> Progress | None:
        latest = self.latest
        return None if latest is None else progress(self.goal, latest.value, latest.as_of)


class GoalNotFoundError(LookupError):
    pass


def _goal(row: Mapping[str, Any]) -> Goal:
    return Goal(row["goal_id"], row["metric"], row["segment"], float(row["target"]),
                None if row["baseline"] is None else float(row["baseline"]),
                row["starts_on"], row["due_on"], row["note"], row["retired_at"] is not None)


@dataclass(frozen=True)
class TrackRun:
    """A recording of readings in the background: when it started, whether it read every date
    anew, and once ended when, how many readings it wrote, or that it failed (logged)."""

    started_at: datetime
    again: bool = False
    finished_at: datetime | None = None
    readings_written: int | None = None
    failed: bool = False

    @property
    def running(self) -> bool:
        return self.finished_at is None


class Goals:
    """Setting, listing, retiring and tracking the goals in ``store``.

    ``measure`` reads the metrics (None: no data to read, e.g. a store without orders yet; the
    goals are kept and read later); ``today`` is the last day the data describes (the served
    map's day), the latest reading's date."""

    def __init__(self, store: GoalStore, measure: Measure | None, *,
                 today: Callable[[], date], now: Callable[[], datetime] | None = None,
                 audit: AuditTrail | None = None) -> None:
        self.store = store
        self.audit = audit
        self.measure = measure
        self.today = today
        self.now = now or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self._lock = threading.Lock()
        self._tracking: threading.Thread | None = None
        self._run: TrackRun | None = None

    # --- reading -------------------------------------------------------------------------

    def _tracked(self, rows: list[dict[str, Any]]) -> list[TrackedGoal]:
        readings: dict[str, list[Reading]] = {}
        for r in self.store.reading_rows([row["goal_id"] for row in rows]):
            readings.setdefault(r["goal_id"], []).append(
                Reading(r["as_of"], None if r["value"] is None else float(r["value"])))
        return [TrackedGoal(_goal(row), row["created_at"], row["created_by"], row["retired_at"],
                            tuple(readings.get(row["goal_id"], ())))
                for row in rows]

    def list(self, *, retired: bool = False) -> list[TrackedGoal]:
        """The goals still pursued (with ``retired``: every goal), oldest first."""
        return self._tracked(self.store.goal_rows(retired=retired))

    def get(self, goal_id: str) -> TrackedGoal:
        row = self.store.goal_row(goal_id)
        if row is None:
            raise GoalNotFoundError(goal_id)
        return self._tracked([row])[0]

    def any_set(self) -> bool:
        """Whether the business pursues a goal (the maturity questionnaire asks)."""
        return bool(self.store.goal_rows())

    # --- writing -------------------------------------------------------------------------

    def set(self, metric: str, target: float, *, due_on: date, segment: str | None = None,
            starts_on: date | None = None, baseline: float | None = None,
            note: str | None = None, by: str | None = None,
            goal_id: str | None = None, caller: Caller | None = None) -> TrackedGoal:
        """Set a goal (:class:`~regulars.domain.goals.GoalError` when it cannot be); the
        baseline, unless given, is the metric's value at the start (or today, for a goal
        that starts later), and the start's reading is recorded with it. ``caller``: who, for
        the audit log (and ``created_by`` unless ``by`` is given)."""
        today = self.today()
        starts_on = starts_on or today
        validate(metric, segment, target, starts_on, due_on)
        key = (metric, segment)
        first = min(starts_on, today)
        if baseline is None and self.measure is not None:
            baseline = self.measure({first: {key}}).get(first, {}).get(key)
        goal_id = goal_id or secrets.token_hex(6)
        self.store.add_goal({
            "goal_id": goal_id, "metric": metric, "segment": segment, "target": float(target),
            "baseline": baseline, "starts_on": starts_on, "due_on": due_on,
            "note": note or None, "created_at": self.now(),
            "created_by": by or (caller.ledger_actor[:64] if caller is not None else None),
            "retired_at": None})
        if starts_on <= today and baseline is not None:
            self.store.put_readings([{"goal_id": goal_id, "as_of": starts_on,
                                      "value": baseline, "recorded_at": self.now()}])
        self._audit(caller, "goals.set", goal_id, Outcome.CREATED, {
            "metric": metric, "segment": segment, "target": float(target),
            "baseline": baseline, "starts_on": starts_on.isoformat(),
            "due_on": due_on.isoformat()})
        return self.get(goal_id)

    def _audit(self, caller: Caller | None, use_case: str, goal_id: str, outcome: Outcome,
               detail: Mapping[str, Any]) -> None:
        if self.audit is not None and caller is not None:
            self.audit.record(caller, use_case, subject=goal_id, outcome=outcome, detail=detail)

    def retire(self, goal_id: str, *, caller: Caller | None = None) -> TrackedGoal:
        """Stop pursuing a goal (kept, with its readings); :class:`GoalNotFoundError` when there is
        no such goal. Retiring a retired goal changes nothing."""
        if self.store.goal_row(goal_id) is None:
            raise GoalNotFoundError(goal_id)
        changed = self.store.retire_goal(goal_id, self.now())
        self._audit(caller, "goals.retire", goal_id,
                    Outcome.DONE if changed else Outcome.UNCHANGED, {})
        return self.get(goal_id)

    def stale(self, tracked: Sequence[TrackedGoal] | None = None) -> bool:
        """Whether a goal pursued lacks the reading of its last date to read (today, or its
        due date once past)."""
        if self.measure is None:
            return False
        today = self.today()
        for t in self.list() if tracked is None else tracked:
            if t.retired_at is not None or t.goal.starts_on > today:
                continue
            latest = t.latest
            if latest is None or latest.as_of < min(today, t.goal.due_on):
                return True
        return False

    def tracking(self) -> bool:
        """Whether readings are being recorded in the background now."""
        with self._lock:
            return self._alive()

    def _alive(self) -> bool:
        """Whether the background recording runs (``_lock`` held)."""
        return self._tracking is not None and self._tracking.is_alive()

    def last_run(self) -> TrackRun | None:
        """The latest recording this process started in the background (running or ended)."""
        with self._lock:
            return self._run

    def start_tracking(self, *, again: bool = False) -> tuple[TrackRun, bool]:
        """Record the readings still missing (with ``again``: every date anew) in the
        background, one recording at a time: a customer map per month's end takes seconds to
        minutes on a large store, longer than an HTTP request should wait. Returns the run
        and whether it was started now (False: one was running, and is returned instead)."""
        with self._lock:
            if self._alive():
                assert self._run is not None
                return self._run, False
            run = TrackRun(started_at=self.now(), again=again)
            self._run = run

            def work() -> None:
                written: int | None = None
                try:
                    written = self.track(again=again)
                except Exception:
                    log.exception("the goals' readings could not be recorded")
                with self._lock:
                    self._run = TrackRun(run.started_at, again, finished_at=self.now(),
                                         readings_written=written, failed=written is None)

            self._tracking = threading.Thread(target=work, name="goals-track", daemon=True)
            self._tracking.start()
            return run, True

    def wait(self, timeout: float | None = None) -> TrackRun | None:
        """Wait for the background recording, if any, to end; the latest run."""
        with self._lock:
            thread = self._tracking
        if thread is not None:
            thread.join(timeout)
        return self.last_run()

    def refresh(self, tracked: Sequence[TrackedGoal] | None = None
                ) -> threading.Thread | None:
        """Record the missing readings in the background when a goal lacks today's (one
        recording at a time): the dashboard calls it, so that goals are tracked without
        anyone running ``regulars goals track``. Returns the thread started or running."""
        with self._lock:
            if self._alive():
                return self._tracking
        if not self.stale(tracked):
            return None
        self.start_tracking()
        with self._lock:
            return self._tracking

    def track(self, goal_ids: Sequence[str] | None = None, *, again: bool = False) -> int:
        """Record the readings still missing of the goals pursued (or of ``goal_ids``): the
        start, every month's end and today (up to the due date); with ``again`` every date
        is read anew. All the goals' metrics of a date come from one reading of the data.
        Returns how many readings were written."""
        if self.measure is None:
            return 0
        tracked = (self.list() if goal_ids is None else [self.get(g) for g in goal_ids])
        today = self.today()
        wanted: dict[date, set[Key]] = {}
        plan: list[tuple[Goal, date]] = []
        known: set[tuple[str, date]] = set()  # readings with a value, not to be unset
        for t in tracked:
            g = t.goal
            have = {r.as_of for r in t.readings}
            known |= {(g.goal_id, r.as_of) for r in t.readings if r.value is not None}
            days = reading_dates(g.starts_on, min(today, g.due_on))
            for day in days:
                # today's reading is read again: today's data may not be complete
                if again or day not in have or day == today:
                    wanted.setdefault(day, set()).add((g.metric, g.segment))
                    plan.append((g, day))
        if not plan:
            return 0
        values = self.measure(wanted)
        now = self.now()
        rows = [{"goal_id": g.goal_id, "as_of": day,
                 "value": values.get(day, {}).get((g.metric, g.segment)), "recorded_at": now}
                for g, day in plan]
        # a value read before (or a baseline given) is not replaced by "no value"
        rows = [r for r in rows
                if r["value"] is not None or (r["goal_id"], r["as_of"]) not in known]
        self.store.put_readings(rows)
        return len(rows)


# --------------------------------------------------------------------------------------------
# the measuring, from the portfolio's own functions


def rotation(flow: LadderFlow) -> int:
    """Regulars gained minus regulars lost in a ladder flow: customers on a regular rung (and
    not lost) at its end who were not at its start, less the reverse."""
    matrix = flow.matrix
    regular = set(REGULAR_RUNGS)
    gained = sum(matrix.count(a, b) for a in FLOW_STATES for b in FLOW_STATES
                 if a not in regular and b in regular)
    lost = sum(matrix.count(a, b) for a in FLOW_STATES for b in FLOW_STATES
               if a in regular and b not in regular)
    return gained - lost


def _in_units(metric: str, value: float | None) -> float | None:
    if value is None:
        return None
    return value * 100 if metric in PERCENT_METRICS else float(value)


class PortfolioMeasure:
    """The metrics from the store's tables: at each date, one customer map (the rungs and
    statuses, :func:`~regulars.services.analysis.flow_map`) that every goal of the date
    reads; the ladder flow's earlier map is the one a year before.

    ``tables`` reads the store's input tables (once per measuring); ``open_engine`` opens the
    DuckDB engine the maps are computed on; ``figures`` and ``programme`` give the loyalty
    programme's figures (None: no programme kept in this store, its metric is unknown);
    ``has_orders``, a cheap look whether the store has an order at all."""

    def __init__(self, tables: Callable[[], Mapping[Kind, pa.Table]],
                 open_engine: Callable[[int | None], Any], params: MapParams, *,
                 figures: FigureStore | None = None, programme: Programme | None = None,
                 has_orders: Callable[[], bool] | None = None) -> None:
        self.tables = tables
        self.has_orders = has_orders
        self.open_engine = open_engine
        self.params = params
        self.figures = figures
        self.programme = programme

    def __call__(self, wanted: Mapping[date, Set[Key]]) -> dict[date, dict[Key, float | None]]:
        if not wanted:
            return {}
        # a store without orders: nothing to read (and every table need not be read to see it)
        if self.has_orders is not None and not self.has_orders():
            return {day: dict.fromkeys(keys) for day, keys in wanted.items()}
        tables = self.tables()
        if tables[Kind.ORDERS].num_rows == 0:
            return {day: dict.fromkeys(keys) for day, keys in wanted.items()}
        duck = self.open_engine(None)
        maps: dict[date, Any] = {}
        try:
            # the empty columns are dropped once for every date (one query each, not one per
            # date): a column filled only from some day on is kept for the dates before it too
            ibis_tables = analysis.without_empty(
                {k: duck.table(f"input_{k.value}", t) for k, t in tables.items()})

            def map_of(day: date) -> Any:
                if day not in maps:
                    found = analysis.flow_map(ibis_tables, analysis.end_of_day(day),
                                              params=self.params, emptied=True)
                    maps[day] = None if found is None else found.cache()
                return maps[day]

            out: dict[date, dict[Key, float | None]] = {}
            for day in sorted(wanted):
                out[day] = self._measure_day(day, wanted[day], map_of)
                # a map older than a year before the next dates is not read again
                for old in [d for d in maps if d < day - timedelta(days=ROTATION_DAYS)]:
                    if maps[old] is not None:
                        maps[old].release()
                    del maps[old]
            return out
        finally:
            for m in maps.values():
                if m is not None:
                    m.release()
            duck.close()

    def _measure_day(self, day: date, keys: Set[Key], map_of: Callable[[date], Any]
                     ) -> dict[Key, float | None]:
        at = analysis.end_of_day(day)
        values: dict[Key, float | None] = {}
        m = map_of(day)
        whole = None
        for metric, segment in sorted(keys, key=lambda k: (k[0], k[1] or "")):
            value: float | None = None
            if metric == "loyalty_efficiency":
                value = self._loyalty(at)
            elif m is None:
                value = None
            elif metric == "rotation":
                before = map_of(day - timedelta(days=ROTATION_DAYS))
                if before is None:  # no order a year before: every regular is a gain
                    before = m.filter(ibis.literal(False))
                value = float(rotation(ladder_flow(before, m)))
            elif metric == "revenue_share_of_regulars":
                value = revenue_split(m, params=self.params).regulars_revenue_share
            else:
                if segment is not None:
                    metrics = base_metrics(m.filter(m.rung == segment), as_of=at)
                else:
                    whole = whole or base_metrics(m, as_of=at)
                    metrics = whole
                value = {
                    "share_of_regulars": metrics.regulars_share,
                    "order_frequency": metrics.purchase_frequency,
                    "average_order": metrics.average_order_value,
                    "regulars_tenure": metrics.regulars_average_tenure_days,
                }[metric]
            values[(metric, segment)] = _in_units(metric, value)
        return values

    def _loyalty(self, at: datetime) -> float | None:
        """Members' share of the revenue / their share of the buyers, over the year to ``at``."""
        if self.figures is None or self.programme is None:
            return None
        figures = programme_figures(self.figures, self.programme,
                                    at - timedelta(days=LOYALTY_DAYS), at, now=at)
        members = figures.member_buyers
        if not members.buyer_share or members.revenue_share is None:
            return None
        return members.revenue_share / members.buyer_share


def as_dict(tracked: TrackedGoal) -> dict[str, Any]:
    """A goal as plain JSON-serialisable values (the CLI's ``--format json`` and the API)."""
    g = tracked.goal
    p = tracked.progress
    return {
        "goal_id": g.goal_id, "metric": g.metric, "segment": g.segment, "target": g.target,
        "baseline": g.baseline, "starts_on": g.starts_on.isoformat(),
        "due_on": g.due_on.isoformat(), "note": g.note,
        "created_at": tracked.created_at.isoformat(), "created_by": tracked.created_by,
        "retired_at": tracked.retired_at.isoformat() if tracked.retired_at else None,
        "progress": None if p is None else {
            "as_of": p.as_of.isoformat(), "value": p.value, "covered": p.covered,
            "expected": p.expected, "state": p.state},
        "readings": [{"as_of": r.as_of.isoformat(), "value": r.value}
                     for r in tracked.readings],
    }
