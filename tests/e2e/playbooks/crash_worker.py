"""A playbooks worker process for the crash test: one pass of the schedule through bootstrap,
with actions that POST each send step to a receiver on loopback.

    python crash_worker.py DATABASE_URL RECEIVER_URL CUSTOMERS LEASE_SECONDS

Every run enters the same customers (the same entry keys: entering is idempotent) into one
playbook of two sends, then runs what is due. Each POST carries ``Idempotency-Key: <job id>``.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from regulars import bootstrap
from regulars.domain.playbooks import model as m
from regulars.services.playbooks.ports import Entry, Facts, StepContext, StepOutcome
from regulars.services.playbooks.runner import one_pass

AT = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)

PLAYBOOK = m.Playbook(
    name="crash", title="Crash", set="retention",
    trigger=m.Trigger(kind="event", event="order_placed"),
    steps=(m.Send("first", channel="messenger", template="a"),
           m.Send("second", channel="messenger", template="b")),
    control_share=0.0, goal=None)


class Feed:
    def __init__(self, customers: Sequence[str]) -> None:
        self.customers = customers

    def entries(self, now: datetime, playbooks: Mapping[str, m.Playbook], *,
                dry_run: bool = False, advance: bool = True) -> list[Entry]:
        return [Entry("crash", c, "event:1", AT) for c in self.customers]

    def commit(self, now: datetime | None = None) -> None:
        pass


class Facts_:
    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        return {c: {"customer_id": c, "time_zone": "Europe/Tallinn"} for c in customer_ids}


class PostActions:
    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, ctx: StepContext) -> StepOutcome:
        body = json.dumps({"customer": ctx.job.customer_id, "step": ctx.step.id}).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "Idempotency-Key": ctx.job.job_id})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
        return StepOutcome("called")


def main() -> None:
    url, receiver, n, lease = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    settings = bootstrap.load_settings(
        database_url=url, playbook_runner={"lease_seconds": lease, "batch": 20})
    customers = [f"c{i:04d}" for i in range(n)]
    runner, feed = bootstrap.open_playbook_runner(
        settings, playbooks={"crash": PLAYBOOK}, feed=Feed(customers), facts=Facts_(),
        actions=PostActions(receiver))
    try:
        r = one_pass(runner, feed, at=datetime.now(UTC))
    finally:
        runner.store.close()  # type: ignore[attr-defined]
    print(json.dumps({"entered": r.entered.entered, "ran": r.ran.ran,
                      "outcomes": dict(r.ran.outcomes)}))


if __name__ == "__main__":
    main()
