"""Proof of effect: the playbooks' report (issue 20, DOMAIN §9).

Each playbook sends a random share of its entrants (the control group, drawn by the runner
and kept in ``playbook_journeys.arm``) through the journey without doing anything to them.
The report compares, per playbook, the treated entrants with the control entrants:

- **goal rate**: the share of entrants who placed an order after entering and within the
  goal window (``goal_days``, 30 by default). It is recomputed from the orders for both arms
  rather than read from ``goal_at``: the runner sets ``goal_at`` when it sees the goal, and a
  control journey, which does nothing, need not be watched for it the same way, so a rate
  from ``goal_at`` could be biased against the control group. A playbook whose goal is another
  event (``goal_events``) is read from ``goal_at`` instead, within the same window;
- **revenue per entrant** in the window: the orders placed in it, less what was returned of
  them by the window's end; an entrant with no order counts as 0; and **orders per entrant**
  in the window likewise (DOMAIN §9: the uplift in orders and revenue);
- the difference treated − control of each, with its confidence interval
  (:mod:`regulars.analytics.effect`: Newcombe's hybrid score interval, Welch's t interval).

**Censoring.** An entrant whose window has not closed by the as-of moment may still order:
counting them as "no goal" would show a fresh playbook a false zero. Only journeys whose window
has closed are compared; the others are counted as ``open``.

Per step: the runs of its jobs (done, failed, pending, control), their outcomes, and its
messages sent, failed and skipped by reason.

The reads are SQL aggregates over the playbook tables and the orders (the port
:class:`EffectRows`), never a row per customer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from regulars.analytics import effect as stats
from regulars.domain.errors import InputError
from regulars.domain.playbooks.model import FIRST_ORDER, ORDER_PLACED, Goal
from regulars.i18n import _
from regulars.services.playbooks.ports import CLAIMED, CONTROL, FAILED, PENDING, TREATED

GOAL_DAYS = Goal().days
ARMS = (TREATED, CONTROL)
ORDER_EVENTS = (ORDER_PLACED, FIRST_ORDER)

# the verdicts of a difference's interval
BETTER = "better"        # the whole interval above 0
WORSE = "worse"          # the whole interval below 0
UNCLEAR = "unclear"      # the interval holds 0: not yet distinguishable from no effect
NO_INTERVAL = "no_interval"  # an arm empty or too small, or no variation


@dataclass(frozen=True)
class Window:
    """A playbook's goal window: ``days`` after entering; ``orders``: the goal is an order
    (recomputed from the orders), else the runner's ``goal_at``."""

    days: int = GOAL_DAYS
    orders: bool = True


@dataclass(frozen=True)
class ReportFilter:
    """``since``/``until`` bound the journeys' ``entered_at`` (until exclusive); ``as_of`` is
    the moment windows are judged closed at (and nothing entered after it counts)."""

    as_of: datetime
    playbook: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class ArmRow:
    """One (playbook, version, arm)'s journeys: ``closed`` of the ``entrants`` have a closed
    goal window; of those, ``goals`` met the goal, with ``revenue`` in all and
    ``revenue_squares`` (the sum of each entrant's revenue squared, for the variance), and
    ``orders`` in their windows (``orders_squares`` likewise)."""

    playbook: str
    version: str
    arm: str
    entrants: int
    closed: int
    goals: int
    revenue: float
    revenue_squares: float
    orders: int = 0
    orders_squares: int = 0


@dataclass(frozen=True)
class JobRow:
    playbook: str
    step_id: str
    seq: int
    status: str
    outcome: str | None
    count: int


@dataclass(frozen=True)
class MessageRow:
    playbook: str
    step_id: str
    state: str
    reason: str | None
    count: int


class EffectRows(Protocol):
    """What the report reads (SQL in ``adapters/db/playbook_report.py``)."""

    def arms(self, where: ReportFilter, windows: Mapping[str, Window],
             default: Window) -> list[ArmRow]:
        """Per (playbook, version, arm), journeys entered in the filter's range by its
        ``as_of``; each playbook's window is ``windows[name]``, else ``default``."""
        ...

    def jobs(self, where: ReportFilter) -> list[JobRow]:
        """Jobs of those journeys per (playbook, step, status, outcome); ``seq`` the least."""
        ...

    def messages(self, where: ReportFilter) -> list[MessageRow]:
        """Messages of those journeys per (playbook, step, state, reason)."""
        ...


@dataclass
class Arm:
    entrants: int = 0
    closed: int = 0
    goals: int = 0
    revenue: float = 0.0
    revenue_squares: float = 0.0
    orders: int = 0
    orders_squares: int = 0

    def add(self, row: ArmRow) -> None:
        self.entrants += row.entrants
        self.closed += row.closed
        self.goals += row.goals
        self.revenue += row.revenue
        self.revenue_squares += row.revenue_squares
        self.orders += row.orders
        self.orders_squares += row.orders_squares

    @property
    def open(self) -> int:
        """Entrants whose goal window has not closed yet (censored: not compared)."""
        return self.entrants - self.closed

    @property
    def goal_rate(self) -> float | None:
        return self.goals / self.closed if self.closed else None

    @property
    def revenue_per_entrant(self) -> float | None:
        return self.revenue / self.closed if self.closed else None

    @property
    def orders_per_entrant(self) -> float | None:
        return self.orders / self.closed if self.closed else None

    def sample(self) -> stats.Sample:
        """Revenue per entrant."""
        return stats.Sample.from_sums(self.closed, self.revenue, self.revenue_squares)

    def order_sample(self) -> stats.Sample:
        """Orders per entrant."""
        return stats.Sample.from_sums(self.closed, float(self.orders),
                                      float(self.orders_squares))

    def to_dict(self) -> dict[str, Any]:
        return {"entrants": self.entrants, "compared": self.closed, "open": self.open,
                "goals": self.goals, "goal_rate": _round(self.goal_rate, 6),
                "revenue": round(self.revenue, 2),
                "revenue_per_entrant": _round(self.revenue_per_entrant, 2),
                "orders": self.orders,
                "orders_per_entrant": _round(self.orders_per_entrant, 6)}


def _round(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def verdict(d: stats.Difference) -> str:
    if d.low is None or d.high is None:
        return NO_INTERVAL
    if d.low > 0:
        return BETTER
    if d.high < 0:
        return WORSE
    return UNCLEAR


def _difference(d: stats.Difference, places: int) -> dict[str, Any]:
    out = {"estimate": _round(d.estimate, places), "low": _round(d.low, places),
           "high": _round(d.high, places), "confidence": d.confidence,
           "verdict": verdict(d), "reason": d.reason}
    return out


@dataclass
class StepReport:
    step_id: str
    seq: int
    runs: int = 0
    """Jobs run for treated entrants (done or failed)."""
    control: int = 0
    """Jobs of control entrants: the step ran and did nothing."""
    pending: int = 0
    """Jobs not yet run (pending or claimed)."""
    failed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    send_failed: int = 0
    dry_run: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def add_jobs(self, j: JobRow) -> None:
        if j.outcome == CONTROL:
            self.control += j.count
        elif j.status in (PENDING, CLAIMED):
            self.pending += j.count
        else:
            self.runs += j.count
            if j.status == FAILED or j.outcome == "failed":
                self.failed += j.count
            if j.outcome:
                self.outcomes[j.outcome] += j.count

    def add_messages(self, m: MessageRow) -> None:
        if m.state == "sent":
            self.sent += m.count
        elif m.state == "failed":
            self.send_failed += m.count
        elif m.state == "dry_run":
            self.dry_run += m.count
        elif m.reason != CONTROL:  # a control entrant's step is counted from its job
            self.skipped[m.reason or "unknown"] += m.count

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step_id, "runs": self.runs, "control": self.control,
                "pending": self.pending, "failed": self.failed,
                "outcomes": dict(sorted(self.outcomes.items())),
                "sent": self.sent, "send_failed": self.send_failed, "dry_run": self.dry_run,
                "skipped": sum(self.skipped.values()),
                "skipped_by_reason": dict(sorted(self.skipped.items(),
                                                 key=lambda kv: (-kv[1], kv[0])))}


@dataclass
class PlaybookReport:
    playbook: str
    window: Window
    treated: Arm = field(default_factory=Arm)
    control: Arm = field(default_factory=Arm)
    versions: dict[str, dict[str, Arm]] = field(default_factory=dict)
    steps: list[StepReport] = field(default_factory=list)
    goal_rate: stats.Difference | None = None
    revenue: stats.Difference | None = None
    orders: stats.Difference | None = None

    def to_dict(self) -> dict[str, Any]:
        assert self.goal_rate is not None and self.revenue is not None
        assert self.orders is not None
        return {
            "playbook": self.playbook,
            "goal_days": self.window.days,
            "goal": "order" if self.window.orders else "goal_event",
            "treated": self.treated.to_dict(), "control": self.control.to_dict(),
            "goal_rate_uplift": {**_difference(self.goal_rate, 6),
                                 "relative": _round(self.goal_rate.relative, 6)},
            "revenue_uplift": _difference(self.revenue, 2),
            "orders_uplift": _difference(self.orders, 6),
            "versions": [{"version": v, **{a: arms[a].to_dict() for a in ARMS}}
                         for v, arms in sorted(self.versions.items())],
            "steps": [s.to_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class EffectReport:
    as_of: datetime
    since: datetime | None
    until: datetime | None
    confidence: float
    min_arm: int
    playbooks: list[PlaybookReport]

    @property
    def open(self) -> int:
        return sum(p.treated.open + p.control.open for p in self.playbooks)

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(),
                "since": None if self.since is None else self.since.isoformat(),
                "until": None if self.until is None else self.until.isoformat(),
                "confidence": self.confidence, "min_arm": self.min_arm,
                "open": self.open,
                "playbooks": [p.to_dict() for p in self.playbooks]}


def report(rows: EffectRows, where: ReportFilter, *,
           windows: Mapping[str, Window] | None = None, default: Window | None = None,
           confidence: float = stats.CONFIDENCE, min_arm: int = stats.MIN_ARM) -> EffectReport:
    """The report of the playbooks whose journeys the filter finds, by name."""
    windows = dict(windows or {})
    default = default or Window()
    by_name: dict[str, PlaybookReport] = {}

    def of(name: str) -> PlaybookReport:
        if name not in by_name:
            by_name[name] = PlaybookReport(name, windows.get(name, default))
        return by_name[name]

    for row in rows.arms(where, windows, default):
        if row.arm not in ARMS:
            continue  # an arm this report does not know: not counted on either side
        p = of(row.playbook)
        (p.treated if row.arm == TREATED else p.control).add(row)
        p.versions.setdefault(row.version, {a: Arm() for a in ARMS})[row.arm].add(row)
    steps = _steps(rows.jobs(where), rows.messages(where))
    for name in steps:
        of(name)
    for p in by_name.values():
        p.steps = sorted(steps.get(p.playbook, {}).values(), key=lambda s: (s.seq, s.step_id))
        t, c = p.treated, p.control
        p.goal_rate = stats.proportions(t.goals, t.closed, c.goals, c.closed,
                                        confidence=confidence, min_arm=min_arm)
        p.revenue = stats.welch(t.sample(), c.sample(), confidence=confidence,
                                min_arm=min_arm)
        p.orders = stats.welch(t.order_sample(), c.order_sample(), confidence=confidence,
                               min_arm=min_arm)
    return EffectReport(where.as_of, where.since, where.until, confidence, min_arm,
                        [by_name[n] for n in sorted(by_name)])


def _steps(jobs: Iterable[JobRow],
           messages: Iterable[MessageRow]) -> dict[str, dict[str, StepReport]]:
    """Each playbook's steps by id, from the counts of their jobs and messages."""
    steps: dict[str, dict[str, StepReport]] = defaultdict(dict)

    def step(name: str, step_id: str, seq: int) -> StepReport:
        s = steps[name].setdefault(step_id, StepReport(step_id, seq))
        s.seq = min(s.seq, seq)
        return s

    for j in jobs:
        step(j.playbook, j.step_id, j.seq).add_jobs(j)
    for m in messages:
        step(m.playbook, m.step_id, _LAST).add_messages(m)
    return steps


_LAST = 1 << 30
"""The order of a step known from its messages only (its jobs are all outside the filter)."""


def window_end(entered_at: datetime, window: Window) -> datetime:
    """When a journey's goal window closes (for tests and for saying so)."""
    return entered_at + timedelta(days=window.days)


def closed_before(as_of: datetime, window: Window) -> datetime:
    """Journeys entered at or before this moment have a closed window by ``as_of``."""
    return as_of - timedelta(days=window.days)


def windows_of(goals: Mapping[str, Goal | None]) -> dict[str, Window]:
    """The report's windows from the playbooks' goals (a playbook without a goal is compared
    on orders over the default window)."""
    return {name: Window(goal.days, goal.event in ORDER_EVENTS)
            for name, goal in goals.items() if goal is not None}


class EffectReportError(InputError):
    """A report asked for with a filter that cannot hold (``field`` names it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _utc(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in the business's time zone, as the store's naive UTC."""
    return (datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None))


class EffectReports:
    """The report over a store's rows. ``windows`` gives each playbook's goal window (from
    the loaded playbooks; those it does not name get the default); ``zone`` is the business's,
    in which ``since``/``until`` days begin; ``clock`` the naive-UTC now (the as-of default)."""

    def __init__(self, rows: EffectRows, *, zone: str = "UTC",
                 windows: Callable[[], Mapping[str, Window]] | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.rows = rows
        self.zone = ZoneInfo(zone)
        self.windows = windows or dict
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))

    def report(self, *, playbook: str | None = None, since: date | None = None,
               until: date | None = None, as_of: datetime | None = None,
               confidence: float = stats.CONFIDENCE) -> EffectReport:
        """``since``/``until``: the days the journeys entered on (both included), in the
        business's time zone; ``as_of`` (naive UTC, default now): the moment goal windows are
        judged closed at."""
        if not 0.5 <= confidence < 1.0:
            raise EffectReportError(_("the confidence must be at least 0.5 and below 1, "
                                      "e.g. 0.95"), "confidence")
        if since is not None and until is not None and until < since:
            raise EffectReportError(_("until ({until}) is before since ({since})").format(
                until=until.isoformat(), since=since.isoformat()), "until")
        where = ReportFilter(
            as_of=as_of or self.clock(), playbook=playbook,
            since=None if since is None else _utc(since, self.zone),
            until=None if until is None else _utc(until + timedelta(days=1), self.zone))
        return report(self.rows, where, windows=self.windows(), confidence=confidence)
