"""Goals in words, for the CLI and the pages alike: the metric's and segment's names, a value
in its metric's unit in the reader's locale, a goal's one-line title and its state."""

from __future__ import annotations

from regulars.domain.goals import METRIC_NAMES, STATE_NAMES, UNITS, Goal
from regulars.entrypoints.labels import name, rung_names
from regulars.i18n import _, fmt_date, fmt_days, fmt_money, fmt_number, fmt_percent


def metric_name(metric: str) -> str:
    return _(METRIC_NAMES[metric]) if metric in METRIC_NAMES else metric


def segment_name(segment: str | None) -> str:
    """The rung in words; the whole base when none."""
    return _("all customers") if segment is None else name(rung_names(), segment)


def state_name(state: str) -> str:
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


def metric_label(goal: Goal) -> str:
    """``Average order · loyal``, or the metric's name alone for the whole base."""
    if goal.segment is None:
        return metric_name(goal.metric)
    return f"{metric_name(goal.metric)} · {segment_name(goal.segment)}"


def value_text(metric: str, value: float | None, currency: str | None = None) -> str:
    """A value in its metric's unit: ``35,0 %``, ``48,57 €``, ``62 дня``, ``1,35``, ``+12``."""
    unit = UNITS.get(metric)
    if value is None:
        return "—"
    if unit == "percent":
        return fmt_percent(value / 100)
    if unit == "money":
        return fmt_money(value, currency)
    if unit == "days":
        return fmt_days(value)
    if unit == "customers":
        text = fmt_number(round(value))
        return f"+{text}" if value > 0 else text
    return fmt_number(value, 2)


def goal_title(goal: Goal, currency: str | None = None) -> str:
    """``Share of regulars: 35,0 % by 31.12.2026``."""
    return _("{metric}: {target} by {due}").format(
        metric=metric_label(goal), target=value_text(goal.metric, goal.target, currency),
        due=fmt_date(goal.due_on))
