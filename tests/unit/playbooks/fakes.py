"""Small stand-ins for the other parts of the playbooks (the feed's facts and goals, the
actions), for the runner's tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from regulars.services.playbooks.ports import Facts, StepContext, StepOutcome


class DictFacts:
    def __init__(self, facts: Mapping[str, Facts]) -> None:
        self.facts = dict(facts)

    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        # a copy, as a store's read is: a later change is seen by the next read only
        return {c: dict(self.facts[c]) for c in customer_ids if c in self.facts}


class ListGoals:
    """customer → the moments of their goal events (one event name)."""

    def __init__(self, events: Mapping[str, list[datetime]], event: str = "order_placed"):
        self.events = events
        self.event = event
        self.asked: list[dict[str, tuple[datetime, datetime]]] = []

    def goal_met(self, windows: Mapping[str, tuple[datetime, datetime]],
                 event: str) -> dict[str, datetime]:
        self.asked.append(dict(windows))
        if event != self.event:
            return {}
        met = {}
        for customer, (since, until) in windows.items():
            hits = sorted(t for t in self.events.get(customer, []) if since <= t <= until)
            if hits:
                met[customer] = hits[0]
        return met


class RecordingActions:
    """Records each step it is asked to run; ``defer`` (step id → moment) answers a retry
    once, ``fail`` (step id → times) raises that many times first."""

    def __init__(self, *, defer: Mapping[str, datetime] | None = None,
                 fail: Mapping[str, int] | None = None) -> None:
        self.calls: list[StepContext] = []
        self.defer = dict(defer or {})
        self.fail = dict(fail or {})

    def run(self, ctx: StepContext) -> StepOutcome:
        self.calls.append(ctx)
        step = ctx.step.id
        if self.fail.get(step, 0) > 0:
            self.fail[step] -= 1
            raise RuntimeError("gateway down")
        if step in self.defer:
            return StepOutcome("deferred", reason="quiet_hours", retry_at=self.defer.pop(step))
        return StepOutcome("dry_run" if ctx.dry_run else "sent")

    def ran(self) -> list[tuple[str, str, datetime]]:
        return [(c.job.customer_id, c.step.id, c.job.due_at) for c in self.calls]
