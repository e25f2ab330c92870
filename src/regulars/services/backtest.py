"""Backtest: rewind to a date, build the map and the ranking exactly as :func:`analyze` would
then, and compare them with what customers did in the horizon after it.

Only the orders up to the end of the horizon are read for the outcomes, and the map is the one
:func:`regulars.services.analysis.analyze` builds as of the date (which reads nothing after
it); the definitions are in :mod:`regulars.analytics.backtest` and ``docs/backtest.md``.

**What the worklists would have reached** (issue 18): the managers' lists
(:func:`regulars.services.worklist.build`) from the map as of the date and the customers,
interactions and feedback tables cut at its end (no tasks), worked through the horizon within
their daily capacity. Rebuilding a list for every day of the horizon would cost one build a
day; the lists are built **once a week** instead (on the horizon's first day and every 7 days
after), each with room for its capacity × the week's working days (the days of that week in
the horizon that are not quiet days of the contact policy). Every customer a week's lists
name counts as contacted on the week's first day: the contact is added to the interactions
the next weeks' lists read (an outgoing contact on the row's first channel, named after its
manager, as a done task is written), so the recontact rule and the policy's caps hold them
back as they would have. The map stays the one as of the date: the lists know nothing of the
horizon.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import pyarrow as pa

from regulars.analytics import backtest as bt
from regulars.analytics.params import MapParams
from regulars.domain import contact_policy as cp
from regulars.domain import tasks as task_rules
from regulars.domain import worklist as wl
from regulars.domain.errors import AnalysisError, InputError
from regulars.domain.tables import Kind
from regulars.i18n import _, fmt_date, fmt_days
from regulars.services import analysis
from regulars.services import predictions as models
from regulars.services import worklist as worklists

DEFAULT_HORIZON = "180d"
_HORIZON = re.compile(r"^\s*(\d+)\s*([dwm])\s*$", re.IGNORECASE)


def horizon_end(as_of: date, horizon: str | int | None = None,
                until: date | None = None) -> date:
    """The last day of the horizon after ``as_of``: ``until`` when given, else ``as_of`` plus
    ``horizon``: days as an int, or text ``180d`` (days), ``26w`` (weeks) or ``6m`` (calendar
    months: the same day of the month, or the month's last day when it has fewer)."""
    if until is not None:
        if horizon is not None:
            raise InputError(_("give a horizon or an end date (until), not both"))
        if until <= as_of:
            raise InputError(_("the horizon ends ({until}) on or before the as-of date "
                               "({as_of})").format(until=fmt_date(until),
                                                   as_of=fmt_date(as_of)))
        return until
    spec = DEFAULT_HORIZON if horizon is None else horizon
    if isinstance(spec, int):
        count, unit = spec, "d"
    else:
        m = _HORIZON.match(spec)
        if m is None:
            raise InputError(_("horizon '{h}': expected days, weeks or months such as 180d, "
                               "26w or 6m").format(h=spec))
        count, unit = int(m.group(1)), m.group(2).lower()
    if count <= 0:
        raise InputError(_("the horizon must be at least one day"))
    if unit == "d":
        return as_of + timedelta(days=count)
    if unit == "w":
        return as_of + timedelta(weeks=count)
    month = as_of.month - 1 + count
    year, month = as_of.year + month // 12, month % 12 + 1
    return date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class WorklistRun:
    """How the worklists of the horizon were worked (the module docstring)."""

    weeks: int
    """Lists built: one a week."""
    working_days: int
    """Days of the horizon that are not quiet days."""
    managers: int
    """Managers with a list."""
    daily_capacity: int
    """All managers' capacity of a day together."""
    rows: int
    """Rows listed in all the weeks together (a customer listed again counts again)."""
    customers: int
    """Distinct customers listed."""

    def to_dict(self) -> dict[str, Any]:
        return {"weeks": self.weeks, "working_days": self.working_days,
                "managers": self.managers, "daily_capacity": self.daily_capacity,
                "rows": self.rows, "customers_listed": self.customers}


@dataclass(frozen=True)
class Backtest:
    """The result of :func:`backtest`."""

    as_of: date
    until: date
    """The last day of the horizon."""
    horizon_days: int
    last_order: date
    """The day of the last order in the data (the horizon may not run past it)."""
    comparison: bt.Comparison
    ranking: dict[str, Any] = field(default_factory=dict)
    """What the ranking's money at stake was learned from (``Calibration.describe()``:
    ``basis`` is ``history`` or ``rules``)."""
    not_evaluated: dict[str, str] = field(default_factory=dict)
    """What the map as of the date could not compute, and why."""
    worklist: WorklistRun | None = None
    """How the worklists were worked (their reach: ``comparison.reach``)."""

    def to_dict(self) -> dict[str, Any]:
        reach = self.comparison.reach
        return {
            "as_of": self.as_of.isoformat(),
            "until": self.until.isoformat(),
            "horizon_days": self.horizon_days,
            "last_order": self.last_order.isoformat(),
            "ranking": self.ranking,
            "not_evaluated": self.not_evaluated,
            **self.comparison.to_dict(),
            "worklist": None if self.worklist is None or reach is None else {
                **self.worklist.to_dict(), **reach.to_dict()},
        }


MAP_COLUMNS = ("customer_id", "orders", "rung", "status", "revenue", "rfm_segment",
               "money_at_stake", "p_alive")


def backtest(tables: Mapping[Kind, Any], *, params: MapParams, as_of: date, until: date,
             progress: analysis.Progress | None = None,
             rules: wl.WorklistRules | None = None,
             policy: cp.ContactPolicy | None = None) -> Backtest:
    """The map and ranking as of the end of ``as_of`` against what customers did from the
    day after it to ``until`` (inclusive). ``tables``: Ibis tables on one engine, as for
    :func:`analysis.analyze`. ``rules`` and ``policy``: the worklist's and the contact
    policy's (default: their defaults), for what the worklists would have reached.

    Raises :class:`AnalysisError` when the data does not reach ``until``.
    """
    if Kind.ORDERS not in tables:
        raise AnalysisError(_("orders are needed for an analysis"))
    orders = tables[Kind.ORDERS]
    last = analysis.default_as_of(orders).date()
    if until > last:
        raise AnalysisError(
            _("the horizon runs to {until}, past the last order in the data ({last}): "
              "end it on {last} at the latest (--until {iso}, or a horizon of at most "
              "{days})").format(until=fmt_date(until), last=fmt_date(last),
                                iso=last.isoformat(), days=fmt_days((last - as_of).days)))
    say = progress or analysis.silent
    result = analysis.analyze(tables, params=params, as_of=analysis.end_of_day(as_of),
                              progress=say, words=False)
    full = result.customers.unfinished
    rows = full.select([c for c in MAP_COLUMNS if c in full.column_names])
    say(_("the managers' worklists, week by week to {d}…").format(d=fmt_date(until)))
    cut: dict[Kind, pa.Table] = {k: analysis._cut(k, t, analysis.end_of_day(as_of)).to_pyarrow()
                                 for k, t in tables.items()
                                 if k in (Kind.CUSTOMERS, Kind.INTERACTIONS, Kind.FEEDBACK)}
    run, reached = work_lists(full, cut, rules=rules or wl.WorklistRules(),
                              policy=policy or cp.ContactPolicy(), as_of=as_of, until=until)
    del full, cut
    say(_("what customers did up to {d}…").format(d=fmt_date(until)))
    # the outcomes read the orders up to the end of the horizon, nothing later
    upto = orders.filter(orders.ordered_at <= analysis.end_of_day(until))
    horizon = (until - as_of).days
    outcome = bt.outcomes(models.orders_arrow(upto), as_of=as_of, horizon_days=horizon)
    why = _("no fitted model of who is still a customer (p_alive): {why}").format(
        why=result.not_evaluated.get("predictions") or _("not computed"))
    comparison = bt.compare(rows, outcome, p_alive_missing=why, reached=reached)
    ranking = {} if result.calibration is None else result.calibration.describe()
    return Backtest(as_of, until, horizon, last, comparison, ranking,
                    dict(result.not_evaluated), run)


CONTACT_COLUMNS = ("customer_id", "at", "channel", "direction", "kind", "manager")
"""The interactions' columns the worklist reads."""


def work_lists(map_rows: pa.Table, tables: Mapping[Kind, pa.Table], *,
               rules: wl.WorklistRules, policy: cp.ContactPolicy, as_of: date,
               until: date) -> tuple[WorklistRun, list[str]]:
    """Every manager's worklist from the map as of ``as_of``, built once a week from the day
    after it to ``until``, each with room for its capacity × the week's working days, every
    listed customer contacted on the week's first day (the module docstring). ``tables``:
    the customers, interactions and feedback (Arrow) cut at ``as_of``. Returns how the lists
    were worked and the distinct customers they listed, in the order first listed."""
    profiles = tables.get(Kind.CUSTOMERS)
    feedback = tables.get(Kind.FEEDBACK)
    real = tables.get(Kind.INTERACTIONS)
    real = None if real is None else real.select(
        [c for c in CONTACT_COLUMNS if c in real.column_names])
    made: dict[str, list[Any]] = {c: [] for c in CONTACT_COLUMNS}
    listed: dict[str, None] = {}
    weeks = working = rows = capacity = managers = 0
    start = as_of + timedelta(days=1)
    while start <= until:
        days = [start + timedelta(days=k) for k in range(7) if start + timedelta(days=k) <= until]
        open_days = sum(1 for d in days if cp.WEEKDAYS[d.weekday()] not in policy.quiet_days)
        start += timedelta(days=7)
        if not open_days:
            continue
        lists = worklists.build(
            map_rows, rules=_scaled(rules, open_days), policy=policy, on=days[0],
            profiles=profiles, interactions=_with_contacts(real, made), feedback=feedback)
        weeks, working = weeks + 1, working + open_days
        managers = len(lists.lists)
        capacity = sum(rules.capacity(m.manager) for m in lists.lists)
        noon = datetime.combine(days[0], time(12, 0))
        for one in lists.lists:
            for item in one.items:
                rows += 1
                listed.setdefault(item.customer_id)
                channel = item.channels[0] if item.channels else (
                    wl.ACTION_CHANNELS[item.action][0])
                for c, v in zip(CONTACT_COLUMNS, (
                        item.customer_id, noon, channel, "out",
                        task_rules.interaction_kind(item.action), one.manager or "worklist"),
                                strict=True):
                    made[c].append(v)
    return WorklistRun(weeks, working, managers, capacity, rows, len(listed)), list(listed)


def _scaled(rules: wl.WorklistRules, days: int) -> wl.WorklistRules:
    """The rules with every daily capacity times ``days``: a week's room."""
    own = {name: replace(m, daily_capacity=None if m.daily_capacity is None
                         else m.daily_capacity * days) for name, m in rules.managers.items()}
    return replace(rules, daily_capacity=rules.daily_capacity * days, managers=own)


def _with_contacts(real: pa.Table | None, made: Mapping[str, list[Any]]) -> pa.Table | None:
    """The interactions cut at the as-of date and the contacts the lists made since."""
    if not made["customer_id"]:
        return real
    types = {"customer_id": pa.string(), "at": pa.timestamp("us"), "channel": pa.string(),
             "direction": pa.string(), "kind": pa.string(), "manager": pa.string()}
    if real is None:
        return pa.table({c: pa.array(made[c], types[c]) for c in CONTACT_COLUMNS})
    for c in CONTACT_COLUMNS:  # a column the file did not have: empty in its rows
        if c not in real.column_names:
            real = real.append_column(c, pa.nulls(real.num_rows, types[c]))
    types.update({f.name: f.type for f in real.schema})
    ours = pa.table({c: pa.array(made[c], types[c]) for c in real.column_names})
    return pa.concat_tables([real, ours])
