"""The business's goals on its portfolio (issue 21, DOMAIN §7 and §10): what levels 3-4 of
article 001's maturity table ask a business to set and track.

A goal names a metric (one of :data:`METRICS`), optionally a segment, a target, the baseline
(the metric's value when the goal was set), a start and a due date. Its progress at a reading is
the value then against the baseline and the target: the share of the way covered, and whether it
is on track against the straight path from the baseline at the start to the target at the due
date.

Units (one convention for the CLI, the page and the API): a share is entered, stored and shown
as a **percentage, 0-100** (35 means 35 %); the other metrics in their own unit (orders per
buyer, money, days, an index, customers). Every metric is "higher is better" (see
:data:`DIRECTION`).

Segments: a segment is a **rung of the loyalty ladder** (DOMAIN §3) as of each reading; a goal
on a segment measures the metric over the customers on that rung then. Only the metrics that
are "per customer" take one (:data:`SEGMENT_METRICS`); a share of regulars within a rung would
be 0 or 100 by definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from regulars.domain.errors import InputError
from regulars.i18n import N_, _, fmt_date, fmt_list, fmt_number

# The metrics a goal can be set on; the store's `goals.metric` holds one of these keys.
METRICS: tuple[str, ...] = (
    "share_of_regulars",          # regulars / buyers
    "revenue_share_of_regulars",  # share of sales from regulars
    "order_frequency",            # orders per buyer
    "average_order",              # average order value
    "regulars_tenure",            # average tenure ("stage") of regulars, in days
    "loyalty_efficiency",         # the loyalty programme's efficiency
    "rotation",                   # ladder flow: regulars gained minus lost in the period
)
# (the exact definitions, as tracked: :data:`DEFINITIONS` and docs/goals.md)

DEFINITIONS: Mapping[str, str] = {
    "share_of_regulars": N_(
        "regulars (customers with at least 3 orders, [analysis] regular_min_orders) / buyers "
        "(customers with at least one order), as of the reading's date, in %: the "
        "dashboard's share of regulars"),
    "revenue_share_of_regulars": N_(
        "regulars' revenue / all buyers' revenue, every order up to the reading's date, in %: "
        "the dashboard's share of revenue from regulars"),
    "order_frequency": N_(
        "orders / buyers, every order up to the reading's date: the dashboard's purchase "
        "frequency (by segment: of the customers on that rung)"),
    "average_order": N_(
        "revenue / orders, every order up to the reading's date: the dashboard's average order "
        "value (by segment: of the customers on that rung)"),
    "regulars_tenure": N_(
        "the mean number of days from a regular's first order to the reading's date: the "
        "dashboard's average tenure of regulars (by segment: of the customers on that rung)"),
    "loyalty_efficiency": N_(
        "members' share of the revenue / members' share of the buyers, over the 365 days up to "
        "the reading's date (the dashboard's programme figures): 1 means members spend like "
        "everyone else, 1.5 that they bring one and a half times their share"),
    "rotation": N_(
        "regulars gained minus regulars lost over the 365 days up to the reading's date (the "
        "dashboard's ladder flow): customers on a regular rung and not lost now who were not a "
        "year earlier, less those who were and are not now"),
}
"""Each metric's definition in words (translated with ``_()`` where shown)."""

PERCENT_METRICS: frozenset[str] = frozenset({"share_of_regulars", "revenue_share_of_regulars"})
"""Shares, entered and shown as percentages (0-100)."""

UNITS: Mapping[str, str] = {
    "share_of_regulars": "percent",
    "revenue_share_of_regulars": "percent",
    "order_frequency": "orders",
    "average_order": "money",
    "regulars_tenure": "days",
    "loyalty_efficiency": "index",
    "rotation": "customers",
}

DIRECTION: Mapping[str, int] = dict.fromkeys(METRICS, 1)
"""+1: higher is better. Every metric is: more regulars, more of the sales from them, more
orders, larger orders, longer relationships, members who outspend their share, and more
regulars gained than lost."""

# the rungs a segment may name (DOMAIN §3; prospects have no orders to measure)
SEGMENTS: tuple[str, ...] = ("newcomer", "returning", "regular", "loyal", "advocate")
REGULAR_SEGMENTS: tuple[str, ...] = ("regular", "loyal", "advocate")
SEGMENT_METRICS: Mapping[str, tuple[str, ...]] = {
    "order_frequency": SEGMENTS,
    "average_order": SEGMENTS,
    "regulars_tenure": REGULAR_SEGMENTS,
}

# what a target may be, per metric: (lowest, highest), None = unbounded
RANGES: Mapping[str, tuple[float | None, float | None]] = {
    "share_of_regulars": (0.0, 100.0),
    "revenue_share_of_regulars": (0.0, 100.0),
    "order_frequency": (0.0, None),
    "average_order": (0.0, None),
    "regulars_tenure": (0.0, None),
    "loyalty_efficiency": (0.0, None),
    "rotation": (None, None),
}


METRIC_NAMES: Mapping[str, str] = {
    "share_of_regulars": N_("Share of regulars"),
    "revenue_share_of_regulars": N_("Share of sales from regulars"),
    "order_frequency": N_("Order frequency"),
    "average_order": N_("Average order"),
    "regulars_tenure": N_("Tenure of regulars"),
    "loyalty_efficiency": N_("Loyalty programme efficiency"),
    "rotation": N_("Rotation of regulars"),
}
"""Each metric's name in words (translated with ``_()`` where shown)."""

STATE_NAMES: Mapping[str, str] = {
    "achieved": N_("achieved"),
    "on_track": N_("on track"),
    "behind": N_("behind"),
    "missed": N_("missed"),
    "no_data": N_("no data yet"),
}


class GoalError(InputError):
    """A goal that cannot be set; ``field`` names the offending field (for a form or a
    request), ``code`` says what is wrong in a word."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def _number(value: float) -> str:
    return fmt_number(value, 0 if value == int(value) else 2)


@dataclass(frozen=True)
class Goal:
    goal_id: str
    metric: str
    segment: str | None
    target: float
    baseline: float | None
    starts_on: date
    due_on: date
    note: str | None = None
    retired: bool = False


def validate(metric: str, segment: str | None, target: float, starts_on: date,
             due_on: date) -> None:
    """Raise :class:`GoalError` on the first thing wrong with a goal's settings."""
    if metric not in METRICS:
        raise GoalError("metric", "unknown_metric",
                        _("unknown metric '{metric}'; one of {metrics}").format(
                            metric=metric, metrics=fmt_list(list(METRICS))))
    if segment is not None:
        allowed = SEGMENT_METRICS.get(metric)
        if allowed is None:
            raise GoalError("segment", "no_segment",
                            _("{metric} is measured on the whole base, not by segment; "
                              "segments are for {metrics}").format(
                                metric=metric, metrics=fmt_list(list(SEGMENT_METRICS))))
        if segment not in allowed:
            raise GoalError("segment", "unknown_segment",
                            _("segment '{segment}' of {metric} is not one of {segments}").format(
                                segment=segment, metric=metric,
                                segments=fmt_list(list(allowed))))
    if not math.isfinite(target):
        raise GoalError("target", "not_a_number", _("the target is not a number"))
    low, high = RANGES[metric]
    if (low is not None and target < low) or (high is not None and target > high):
        raise GoalError(
            "target", "out_of_range",
            _("the target of {metric} must be from {low} to {high} (a percentage)").format(
                metric=metric, low=_number(low or 0), high=_number(high))
            if high is not None else
            _("the target of {metric} must be {low} or more").format(
                metric=metric, low=_number(low or 0)))
    if due_on <= starts_on:
        raise GoalError("due_on", "due_before_start",
                        _("the due date {due} is not after the start {start}").format(
                            due=fmt_date(due_on), start=fmt_date(starts_on)))


@dataclass(frozen=True)
class Progress:
    """A goal's progress at ``as_of``.

    ``covered``: the share of the way from the baseline to the target covered (0 at the
    baseline, 1 at the target; below 0 when the value went back; None when the baseline or the
    value is unknown or the target is the baseline). ``expected``: where the straight path from
    the baseline at the start to the target at the due date is on ``as_of`` (held at the
    target after the due date). ``state``: ``achieved`` (at or past the target), ``on_track``
    (at or past the path), ``behind``, ``missed`` (due and not achieved) or ``no_data``.
    """

    as_of: date
    value: float | None
    covered: float | None
    expected: float | None
    state: str


STATES: tuple[str, ...] = ("achieved", "on_track", "behind", "missed", "no_data")


def expected_on(goal: Goal, day: date) -> float | None:
    """The straight path's value on ``day`` (the baseline before the start, the target after
    the due date); None without a baseline."""
    if goal.baseline is None:
        return None
    span = (goal.due_on - goal.starts_on).days
    elapsed = min(max((day - goal.starts_on).days, 0), span)
    return goal.baseline + (goal.target - goal.baseline) * elapsed / span


def progress(goal: Goal, value: float | None, as_of: date) -> Progress:
    """The goal's progress with the metric at ``value`` on ``as_of``."""
    expected = expected_on(goal, as_of)
    if value is None:
        return Progress(as_of, None, None, expected, "no_data")
    sign = DIRECTION[goal.metric]
    covered = None
    if goal.baseline is not None and goal.target != goal.baseline:
        # + 0.0: no "-0 %" where the value is the baseline and the target below it
        covered = (value - goal.baseline) / (goal.target - goal.baseline) + 0.0
    if sign * (value - goal.target) >= 0:
        state = "achieved"
    elif as_of >= goal.due_on:
        state = "missed"
    elif expected is not None and sign * (value - expected) >= -1e-12 * max(1.0, abs(expected)):
        state = "on_track"
    elif expected is None:
        state = "no_data"
    else:
        state = "behind"
    return Progress(as_of, value, covered, expected, state)


def reading_dates(starts_on: date, today: date) -> list[date]:
    """The dates a goal is read on: its start, every month's last day after it up to
    ``today``, and ``today`` (nothing before the start)."""
    if today < starts_on:
        return []
    days = [starts_on]
    year, month = starts_on.year, starts_on.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        end = date(year, month, 1).toordinal() - 1
        last = date.fromordinal(end)
        if last > today:
            break
        if last > days[-1]:
            days.append(last)
    if today > days[-1]:
        days.append(today)
    return days
