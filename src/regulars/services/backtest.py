"""Backtest: rewind to a date, build the map and the ranking exactly as :func:`analyze` would
then, and compare them with what customers did in the horizon after it.

Only the orders up to the end of the horizon are read for the outcomes, and the map is the one
:func:`regulars.services.analysis.analyze` builds as of the date (which reads nothing after
it); the definitions are in :mod:`regulars.analytics.backtest` and ``docs/backtest.md``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from regulars.analytics import backtest as bt
from regulars.analytics.params import MapParams
from regulars.domain.errors import AnalysisError, InputError
from regulars.domain.tables import Kind
from regulars.i18n import _, fmt_date, fmt_days
from regulars.services import analysis
from regulars.services import predictions as models

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "until": self.until.isoformat(),
            "horizon_days": self.horizon_days,
            "last_order": self.last_order.isoformat(),
            "ranking": self.ranking,
            "not_evaluated": self.not_evaluated,
            **self.comparison.to_dict(),
        }


MAP_COLUMNS = ("customer_id", "orders", "rung", "status", "revenue", "rfm_segment",
               "money_at_stake", "p_alive")


def backtest(tables: Mapping[Kind, Any], *, params: MapParams, as_of: date, until: date,
             progress: analysis.Progress | None = None) -> Backtest:
    """The map and ranking as of the end of ``as_of`` against what customers did from the
    day after it to ``until`` (inclusive). ``tables``: Ibis tables on one engine, as for
    :func:`analysis.analyze`.

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
    rows = result.customers.unfinished
    rows = rows.select([c for c in MAP_COLUMNS if c in rows.column_names])
    say(_("what customers did up to {d}…").format(d=fmt_date(until)))
    # the outcomes read the orders up to the end of the horizon, nothing later
    upto = orders.filter(orders.ordered_at <= analysis.end_of_day(until))
    horizon = (until - as_of).days
    outcome = bt.outcomes(models.orders_arrow(upto), as_of=as_of, horizon_days=horizon)
    why = _("no fitted model of who is still a customer (p_alive): {why}").format(
        why=result.not_evaluated.get("predictions") or _("not computed"))
    comparison = bt.compare(rows, outcome, p_alive_missing=why)
    ranking = {} if result.calibration is None else result.calibration.describe()
    return Backtest(as_of, until, horizon, last, comparison, ranking,
                    dict(result.not_evaluated))
