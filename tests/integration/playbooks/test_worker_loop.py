"""The background worker's playbooks loop (``regulars serve``, ``regulars worker``): a pass
every interval, each entry entered once and each step run once however many passes see it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from regulars import bootstrap
from regulars.domain.playbooks import model as m
from regulars.services.playbooks.ports import Entry, StepContext, StepOutcome

PB = m.Playbook(name="welcome", title="Welcome", set="communication_plan",
                trigger=m.Trigger(kind="event", event="first_order"),
                steps=(m.Send("hello", channel="email", template="hello"),),
                control_share=0.0, goal=None)


class Feed:
    def __init__(self) -> None:
        self.passes = 0

    def entries(self, now: datetime, playbooks: object, *, dry_run: bool = False,
                advance: bool = True) -> list[Entry]:
        self.passes += 1
        return [Entry("welcome", "c1", "event:1", datetime(2026, 1, 1, tzinfo=UTC))]

    def commit(self, now: datetime | None = None) -> None:
        pass


class Facts:
    def facts_of(self, ids: object) -> dict[str, dict[str, object]]:
        return {"c1": {"customer_id": "c1"}}


class Sent:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def run(self, ctx: StepContext) -> StepOutcome:
        self.calls.append(ctx.job.job_id)
        return StepOutcome("sent")


def test_the_loop_runs_passes_until_stopped(store_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI's modules through app, in its order (see test_run_command)
    from regulars.entrypoints.cli import app as _app  # noqa: F401
    from regulars.entrypoints.cli import worker

    settings = bootstrap.load_settings(database_url=store_url,
                                       playbook_runner={"interval_seconds": 0.05})
    feed, actions = Feed(), Sent()
    real = bootstrap.open_playbook_runner

    def wired(s: Any, **_: Any) -> Any:
        return real(s, playbooks={"welcome": PB}, feed=feed, facts=Facts(), actions=actions)

    monkeypatch.setattr(bootstrap, "open_playbook_runner", wired)
    stop = threading.Event()
    thread = threading.Thread(target=worker.playbooks_loop, args=(settings, stop))
    thread.start()
    deadline = time.monotonic() + 30
    while feed.passes < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert feed.passes >= 4
    assert len(actions.calls) == 1
