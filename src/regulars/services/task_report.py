"""Does working the list work? Per manager: tasks done on time and late, open overdue, their
outcomes, and the revenue of the customers contacted in the ``window_days`` after the contact
against similar customers nobody contacted (issue 18, "see whether it works").

Similar means in the same situation at the time: the same rung, the same status and the same
money-at-stake band in the customer map as of the contact's cohort (the contacts of each
``cohort_days`` are compared with one map, as of the day the cohort starts). The bands are the
quartiles of the positive money at stake in that map, and one band for none
(:func:`stake_edges`, :func:`band`). A contacted customer's revenue is what they ordered in
the ``window_days`` after the moment of the contact; a similar customer's, in the
``window_days`` from the cohort's first day, with no outbound contact at all (a task or an
imported interaction) in that time. Contacts whose window has not ended by ``until`` are
counted as pending, not compared.

This is an observation, not a causal claim: who is called is chosen, not random, and the
similar customers differ in ways the map does not see. Proof of an effect needs a control
group drawn at random (the playbooks issue).
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pyarrow as pa

from regulars.domain import tasks as rules
from regulars.domain.tables import Kind
from regulars.domain.tasks import State
from regulars.i18n import N_, _

WINDOW_DAYS = 90
COHORT_DAYS = 7


@dataclass(frozen=True)
class Situation:
    """A customer in the map as of some day."""

    rung: str
    status: str | None
    money_at_stake: float | None


Snapshots = Callable[[date], Mapping[str, Situation]]
"""The customer map as of the end of the day before the given day."""


def stake_edges(values: Iterable[float | None]) -> tuple[float, ...]:
    """The quartile edges of the positive money at stake (inclusive quartiles; none for fewer
    than two positive values: one band for all of them)."""
    positive = sorted(v for v in values if v is not None and v > 0)
    if len(positive) < 2:
        return ()
    return tuple(statistics.quantiles(positive, n=4, method="inclusive"))


def band(value: float | None, edges: Sequence[float]) -> int:
    """0 for no money at stake; else 1 + how many edges lie at or below it (1..4)."""
    if value is None or value <= 0:
        return 0
    return 1 + bisect.bisect_right(list(edges), value)


@dataclass
class Effect:
    contacted: int = 0
    """Contacted customers compared (each once per manager, at their first contact)."""
    pending: int = 0
    """Contacts whose window has not ended yet."""
    without_comparison: int = 0
    """Contacted customers with no similar uncontacted customer (or not in the map yet)."""
    revenue: float = 0.0
    """Their revenue in the window, all together."""
    similar_revenue: float = 0.0
    """What the same number of similar customers had: the mean of each one's similar
    customers, summed."""
    similar_customers: int = 0
    """Distinct uncontacted customers compared against."""

    def to_dict(self) -> dict[str, Any]:
        n = self.contacted
        return {"contacted": n, "pending": self.pending,
                "without_comparison": self.without_comparison,
                "revenue_per_contacted": round(self.revenue / n, 2) if n else None,
                "revenue_per_similar": round(self.similar_revenue / n, 2) if n else None,
                "difference_per_customer": round((self.revenue - self.similar_revenue) / n, 2)
                if n else None,
                "similar_customers": self.similar_customers}


@dataclass
class ManagerReport:
    manager: str
    done_on_time: int = 0
    done_late: int = 0
    cancelled: int = 0
    open_overdue: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    effect: Effect = field(default_factory=Effect)

    def to_dict(self) -> dict[str, Any]:
        done = self.done_on_time + self.done_late
        return {"manager": self.manager, "done": done, "done_on_time": self.done_on_time,
                "done_late": self.done_late,
                "on_time_share": round(self.done_on_time / done, 4) if done else None,
                "cancelled": self.cancelled, "open_overdue": self.open_overdue,
                "outcomes": {o.value: self.outcomes.get(o.value, 0) for o in rules.Outcome},
                "effect": self.effect.to_dict()}


@dataclass(frozen=True)
class TaskReport:
    since: date
    until: date
    window_days: int
    cohort_days: int
    managers: list[ManagerReport]
    total: ManagerReport

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "window_days": self.window_days, "cohort_days": self.cohort_days,
                "observation": observation_note(),
                "managers": [m.to_dict() for m in self.managers],
                "total": self.total.to_dict()}


ALL_MANAGERS = N_("all managers")
"""The total's ``manager``: the English source text in every language (a value for machines),
translated where it is shown."""


def observation_note() -> str:
    return _("An observation, not a causal claim: whom the managers contacted was chosen, "
             "not drawn at random, so the difference need not be the contact's doing.")


class _Revenue:
    """Each customer's orders in time order, for sums over windows."""

    def __init__(self, orders: Iterable[tuple[str, datetime, float]]) -> None:
        by: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
        for cid, at, amount in orders:
            by[cid].append((at, float(amount or 0.0)))
        self.at: dict[str, list[datetime]] = {}
        self.cum: dict[str, list[float]] = {}
        for cid, rows in by.items():
            rows.sort(key=lambda r: r[0])
            self.at[cid] = [r[0] for r in rows]
            total, cum = 0.0, [0.0]
            for _at, amount in rows:
                total += amount
                cum.append(total)
            self.cum[cid] = cum

    def between(self, cid: str, after: datetime, upto: datetime, *,
                inclusive_start: bool = False) -> float:
        """Revenue of ``cid`` after ``after`` (or from it) up to ``upto`` inclusive."""
        at = self.at.get(cid)
        if not at:
            return 0.0
        lo = (bisect.bisect_left if inclusive_start else bisect.bisect_right)(at, after)
        hi = bisect.bisect_right(at, upto)
        return self.cum[cid][hi] - self.cum[cid][lo] if hi > lo else 0.0


def _contacted_between(contacts: Mapping[str, Sequence[datetime]], cid: str, start: datetime,
                       end: datetime) -> bool:
    moments = contacts.get(cid)
    if not moments:
        return False
    i = bisect.bisect_left(moments, start)
    return i < len(moments) and moments[i] < end


def _counts(tasks: Sequence[Mapping[str, Any]], by: dict[str, ManagerReport], *,
            since: date, until: date, today: date,
            local_day: Callable[[datetime], date]) -> dict[tuple[str, str], datetime]:
    """Count the tasks into ``by``; the first contact of each (manager, customer) closed as
    done in the period."""
    first: dict[tuple[str, str], datetime] = {}
    for t in tasks:
        m = by.setdefault(t["owner"], ManagerReport(t["owner"]))
        state = State(t["state"])
        if rules.overdue(state, t["due_on"], t.get("snoozed_until"), today):
            m.open_overdue += 1
        closed = t.get("closed_at")
        if closed is None or not since <= local_day(closed) <= until:
            continue
        if state is State.CANCELLED:
            m.cancelled += 1
        if state is not State.DONE:
            continue
        if rules.on_time(t["due_on"], local_day(closed)):
            m.done_on_time += 1
        else:
            m.done_late += 1
        m.outcomes[t.get("outcome") or ""] += 1
        key = (t["owner"], t["customer_id"])
        if key not in first or closed < first[key]:
            first[key] = closed
    return first


Stratum = tuple[str, str | None, int]


class _Similar:
    """The uncontacted customers of each cohort and stratum, and their revenue in the
    window from the cohort's first day (computed once each)."""

    def __init__(self, snapshots: Snapshots, revenue: _Revenue,
                 outbound: Mapping[str, Sequence[datetime]], window: timedelta) -> None:
        self.snapshots = snapshots
        self.revenue = revenue
        self.outbound = outbound
        self.window = window
        self.maps: dict[date, tuple[Mapping[str, Situation], tuple[float, ...]]] = {}
        self.peers: dict[tuple[date, Stratum], list[tuple[str, float]]] = {}

    def stratum(self, cohort: date, cid: str) -> Stratum | None:
        if cohort not in self.maps:
            snap = self.snapshots(cohort)
            self.maps[cohort] = (snap, stake_edges(s.money_at_stake for s in snap.values()))
        snap, edges = self.maps[cohort]
        mine = snap.get(cid)
        return None if mine is None else (mine.rung, mine.status,
                                          band(mine.money_at_stake, edges))

    def of(self, cohort: date, stratum: Stratum) -> list[tuple[str, float]]:
        if (cohort, stratum) not in self.peers:
            snap, edges = self.maps[cohort]
            start = datetime.combine(cohort, time.min)
            end = start + self.window
            last = end - timedelta(microseconds=1)
            self.peers[(cohort, stratum)] = [
                (other, self.revenue.between(other, start, last, inclusive_start=True))
                for other, s in snap.items()
                if (s.rung, s.status, band(s.money_at_stake, edges)) == stratum
                and not _contacted_between(self.outbound, other, start, end)]
        return self.peers[(cohort, stratum)]


def report(tasks: Sequence[Mapping[str, Any]], *,
           orders: Iterable[tuple[str, datetime, float]],
           outbound: Mapping[str, Sequence[datetime]],
           snapshots: Snapshots, since: date, until: date, today: date,
           local_day: Callable[[datetime], date], window_days: int = WINDOW_DAYS,
           cohort_days: int = COHORT_DAYS) -> TaskReport:
    """The report of the tasks closed from ``since`` to ``until`` (business days, inclusive).

    ``orders``: ``(customer_id, ordered_at, amount)``; ``outbound``: every customer's
    outbound contacts (the interactions table, tasks included), each list sorted;
    ``local_day``: a stored moment's business day; ``today``: for the open overdue tasks.
    """
    by: dict[str, ManagerReport] = {}
    first = _counts(tasks, by, since=since, until=until, today=today, local_day=local_day)
    revenue = _Revenue(orders)
    window = timedelta(days=window_days)
    similar = _Similar(snapshots, revenue, outbound, window)
    used: dict[str, set[str]] = defaultdict(set)
    for (manager, cid), at in sorted(first.items(), key=lambda kv: (kv[1], kv[0])):
        e = by[manager].effect
        day = local_day(at)
        if day + window > until:
            e.pending += 1
            continue
        cohort = since + timedelta(days=((day - since).days // cohort_days) * cohort_days)
        stratum = similar.stratum(cohort, cid)
        peers = [] if stratum is None else similar.of(cohort, stratum)
        if not peers:
            e.without_comparison += 1
            continue
        e.contacted += 1
        e.revenue += revenue.between(cid, at, at + window)
        e.similar_revenue += sum(r for _c, r in peers) / len(peers)
        used[manager].update(c for c, _r in peers)
    for manager, ids in used.items():
        by[manager].effect.similar_customers = len(ids)
    return TaskReport(since, until, window_days, cohort_days,
                      [by[k] for k in sorted(by)], _total(by.values(), used))


def _total(managers: Iterable[ManagerReport], used: Mapping[str, set[str]]) -> ManagerReport:
    total = ManagerReport(ALL_MANAGERS)
    for m in managers:
        total.done_on_time += m.done_on_time
        total.done_late += m.done_late
        total.cancelled += m.cancelled
        total.open_overdue += m.open_overdue
        total.outcomes.update(m.outcomes)
        for name in ("contacted", "pending", "without_comparison"):
            setattr(total.effect, name, getattr(total.effect, name) + getattr(m.effect, name))
        total.effect.revenue += m.effect.revenue
        total.effect.similar_revenue += m.effect.similar_revenue
    total.effect.similar_customers = len(set().union(*used.values())) if used else 0
    return total


# -- the report's inputs from the store ---------------------------------------------------------


class StoreInputs:
    """The orders, the outbound contacts and the customer map as of a day, read from the
    store's input tables once (``tables``) and mapped with ``customer_map(tables, as_of)``
    (the served map's computation: rung, status and money at stake of every customer)."""

    def __init__(self, tables: Mapping[Kind, pa.Table],
                 customer_map: Callable[[Mapping[Kind, pa.Table], datetime], pa.Table]) -> None:
        self.tables = tables
        self.customer_map = customer_map

    def orders(self) -> list[tuple[str, datetime, float]]:
        t = self.tables[Kind.ORDERS]
        return list(zip(t.column("customer_id").to_pylist(), t.column("ordered_at").to_pylist(),
                        [a or 0.0 for a in t.column("amount").to_pylist()], strict=True))

    def outbound(self) -> dict[str, list[datetime]]:
        t = self.tables.get(Kind.INTERACTIONS)
        out: dict[str, list[datetime]] = defaultdict(list)
        if t is None or t.num_rows == 0:
            return out
        for cid, at, direction in zip(t.column("customer_id").to_pylist(),
                                      t.column("at").to_pylist(),
                                      t.column("direction").to_pylist(), strict=True):
            if at is not None and str(direction or "").strip().lower() == "out":
                out[cid].append(at)
        for moments in out.values():
            moments.sort()
        return out

    def situations(self, day: date) -> dict[str, Situation]:
        """The map as of the end of the day before ``day`` (nothing of ``day`` itself)."""
        as_of = datetime.combine(day, time.min) - timedelta(microseconds=1)
        rows = self.customer_map(self.tables, as_of)
        if "rung" not in rows.column_names:  # no orders yet
            return {}
        stake = (rows.column("money_at_stake").to_pylist()
                 if "money_at_stake" in rows.column_names else [None] * rows.num_rows)
        return {cid: Situation(rung, status, s) for cid, rung, status, s in zip(
            rows.column("customer_id").to_pylist(), rows.column("rung").to_pylist(),
            rows.column("status").to_pylist(), stake, strict=True)}
