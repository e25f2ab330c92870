"""The report's use case over rows in memory: days in the business's zone, the filter's
refusals, arms it does not know, and how steps are counted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import pytest

from regulars.analytics.effect import Difference
from regulars.services.playbooks.effect import (
    ArmRow,
    EffectReportError,
    EffectReports,
    JobRow,
    MessageRow,
    ReportFilter,
    Window,
    report,
    verdict,
)


class Rows:
    def __init__(self, arms: list[ArmRow] | None = None, jobs: list[JobRow] | None = None,
                 messages: list[MessageRow] | None = None) -> None:
        self._arms, self._jobs, self._messages = arms or [], jobs or [], messages or []
        self.seen: list[ReportFilter] = []

    def arms(self, where: ReportFilter, windows: Mapping[str, Window],
             default: Window) -> list[ArmRow]:
        self.seen.append(where)
        return self._arms

    def jobs(self, where: ReportFilter) -> list[JobRow]:
        return self._jobs

    def messages(self, where: ReportFilter) -> list[MessageRow]:
        return self._messages


def test_days_begin_in_the_business_zone_across_dst() -> None:
    # Tallinn is UTC+2 on 1 March and UTC+3 from 29 March 2026: 1 March begins at 28 February
    # 22:00 UTC, and the day after 31 March begins at 31 March 21:00 UTC
    rows = Rows()
    EffectReports(rows, zone="Europe/Tallinn", clock=lambda: datetime(2026, 6, 1)).report(
        since=date(2026, 3, 1), until=date(2026, 3, 31))
    (where,) = rows.seen
    assert (where.since, where.until, where.as_of) == (
        datetime(2026, 2, 28, 22), datetime(2026, 3, 31, 21), datetime(2026, 6, 1))


def test_refusals_name_the_field() -> None:
    reports = EffectReports(Rows())
    with pytest.raises(EffectReportError) as crossed:
        reports.report(since=date(2026, 3, 2), until=date(2026, 3, 1))
    assert crossed.value.field == "until"
    with pytest.raises(EffectReportError) as low:
        reports.report(confidence=0.3)
    assert low.value.field == "confidence"


def test_an_unknown_arm_counts_on_neither_side() -> None:
    rows = Rows(arms=[ArmRow("p", "1", "treated", 10, 10, 5, 100.0, 2000.0),
                      ArmRow("p", "1", "holdout", 7, 7, 7, 70.0, 700.0),
                      ArmRow("p", "1", "control", 10, 10, 2, 20.0, 400.0)])
    (p,) = report(rows, ReportFilter(as_of=datetime(2026, 6, 1))).playbooks
    assert (p.treated.entrants, p.control.entrants) == (10, 10)
    assert p.goal_rate is not None and p.goal_rate.estimate == pytest.approx(0.3)


def test_steps_in_order_and_control_messages_are_not_skips() -> None:
    rows = Rows(
        jobs=[JobRow("p", "b", 2, "done", "created", 4), JobRow("p", "a", 1, "done", "sent", 3),
              JobRow("p", "a", 1, "claimed", None, 1), JobRow("p", "a", 1, "done", "control", 2)],
        messages=[MessageRow("p", "a", "sent", None, 3),
                  MessageRow("p", "a", "skipped", "control", 2),
                  MessageRow("p", "a", "skipped", None, 1),
                  MessageRow("p", "a", "dry_run", None, 5)])
    (p,) = report(rows, ReportFilter(as_of=datetime(2026, 6, 1))).playbooks
    a, b = p.steps
    assert (a.step_id, a.runs, a.pending, a.control, a.sent, a.dry_run) == ("a", 3, 1, 2, 3, 5)
    assert dict(a.skipped) == {"unknown": 1}
    assert (b.step_id, b.runs, dict(b.outcomes)) == ("b", 4, {"created": 4})
    # a playbook known only from its steps still has a line, with no comparison
    assert p.goal_rate is not None and p.goal_rate.reason == "empty_arm"


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.01, 0.2, "better"), (-0.2, -0.01, "worse"), (-0.1, 0.1, "unclear"),
    (0.0, 0.1, "unclear"), (None, None, "no_interval")])
def test_verdicts(low: float | None, high: float | None, expected: str) -> None:
    assert verdict(Difference(0.05, low, high, 0.95)) == expected


def test_windows_from_the_playbooks_goals() -> None:
    from regulars.domain.playbooks.model import Goal
    from regulars.services.playbooks.effect import windows_of

    assert windows_of({"a": Goal(), "b": Goal("review_posted", 14), "c": None,
                       "d": Goal("first_order", 60)}) == {
        "a": Window(30, True), "b": Window(14, False), "d": Window(60, True)}


def test_the_windows_are_read_at_each_report() -> None:
    seen: list[Mapping[str, Window]] = []

    class Watching(Rows):
        def arms(self, where: ReportFilter, windows: Mapping[str, Window],
                 default: Window) -> list[ArmRow]:
            seen.append(dict(windows))
            return []

    current = {"p": Window(7)}
    reports = EffectReports(Watching(), windows=lambda: current)
    reports.report(as_of=datetime(2026, 6, 1))
    current = {"p": Window(14)}
    reports.report(as_of=datetime(2026, 6, 1))
    assert seen == [{"p": Window(7)}, {"p": Window(14)}]
