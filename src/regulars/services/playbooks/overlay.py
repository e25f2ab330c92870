"""A schedule in memory, optionally laid over another one that it only reads.

Two uses: with no ``base`` it is the whole schedule for unit tests
(:class:`regulars.adapters.memory_playbooks.MemoryJobStore`); laid over the store's schedule it
is what a dry run writes to — the run claims, completes and enters exactly as it would, and the
store is never written (``--dry-run``: "what would go out").
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from regulars.services.playbooks import ports
from regulars.services.playbooks.ports import (
    Admit,
    Completion,
    Job,
    JobStore,
    Journey,
    StepOutcome,
)

_ALL = 10**9  # "every due job" for the base's due()


def _status(outcome: StepOutcome) -> str:
    if outcome.retry_at is not None:
        return ports.PENDING
    if outcome.outcome == ports.ERROR:
        return ports.FAILED
    return ports.COMPLETED


class Overlay:
    """A :class:`JobStore` in memory over ``base`` (read, never written)."""

    def __init__(self, base: JobStore | None = None) -> None:
        self.base = base
        self.journeys_by_id: dict[str, Journey] = {}
        self.jobs: dict[str, Job] = {}
        self.outcomes: dict[str, StepOutcome] = {}
        self._entries: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._pulled: datetime | None = None

    def enter(self, journeys: Sequence[Journey], first_jobs: Sequence[Job], *,
              admit: Admit | None = None) -> list[str]:
        with self._lock:
            ids = [j.journey_id for j in journeys]
            known = self.base.known_journeys(ids) if self.base is not None else set()
            inserted: list[str] = []
            for j in journeys:
                key = (j.playbook, j.customer_id, j.entry_key)
                if key in self._entries or j.journey_id in known:
                    continue
                if admit is not None:
                    before = self._latest_unlocked(j.playbook, {j.customer_id}).get(
                        j.customer_id)
                    if not admit(j, before):
                        continue
                self._entries.add(key)
                self.journeys_by_id[j.journey_id] = j
                inserted.append(j.journey_id)
            new = set(inserted)
            for job in first_jobs:
                if job.journey_id in new:
                    self.jobs[job.job_id] = replace(job, status=ports.PENDING, attempts=0)
            return inserted

    def known_journeys(self, journey_ids: Iterable[str]) -> set[str]:
        ids = set(journey_ids)
        mine = ids & self.journeys_by_id.keys()
        return mine | (self.base.known_journeys(ids - mine) if self.base is not None else set())

    def latest_journeys(self, playbook: str,
                        customer_ids: Iterable[str]) -> dict[str, Journey]:
        with self._lock:
            return self._latest_unlocked(playbook, set(customer_ids))

    def _latest_unlocked(self, playbook: str, ids: set[str]) -> dict[str, Journey]:
        latest = dict(self.base.latest_journeys(playbook, ids)) if self.base is not None else {}
        for j in self.journeys_by_id.values():
            if j.playbook != playbook or j.customer_id not in ids:
                continue
            old = latest.get(j.customer_id)
            if old is None or (j.entered_at, j.journey_id) >= (old.entered_at, old.journey_id):
                latest[j.customer_id] = j
        return latest

    def journeys(self, journey_ids: Iterable[str]) -> dict[str, Journey]:
        ids = set(journey_ids)
        found = {i: self.journeys_by_id[i] for i in ids if i in self.journeys_by_id}
        missing = ids - found.keys()
        if missing and self.base is not None:
            found.update(self.base.journeys(missing))
        return found

    def _pull(self, now: datetime) -> None:
        # the base's jobs due by ``now`` become this overlay's, once (a job it has seen is its
        # own); the base does not change under a dry run, so a moment pulled is pulled for good
        if self.base is None or (self._pulled is not None and now <= self._pulled):
            return
        self._pulled = now
        for job in self.base.due(now=now, limit=_ALL):
            if job.job_id not in self.jobs:
                self.jobs[job.job_id] = replace(job, status=ports.PENDING, lease_owner=None,
                                                lease_until=None)

    def _is_due(self, job: Job, now: datetime) -> bool:
        if job.due_at > now:
            return False
        return job.status == ports.PENDING or (
            job.status == ports.CLAIMED and job.lease_until is not None
            and job.lease_until <= now)

    def due(self, *, now: datetime, limit: int) -> list[Job]:
        with self._lock:
            self._pull(now)
            found = sorted((j for j in self.jobs.values() if self._is_due(j, now)),
                           key=lambda j: (j.due_at, j.job_id))
            return found[:limit]

    def claim(self, *, now: datetime, owner: str, limit: int,
              lease: timedelta) -> list[Job]:
        with self._lock:
            self._pull(now)
            found = sorted((j for j in self.jobs.values() if self._is_due(j, now)),
                           key=lambda j: (j.due_at, j.job_id))[:limit]
            claimed = []
            for j in found:
                c = replace(j, status=ports.CLAIMED, lease_owner=owner,
                            lease_until=now + lease, attempts=j.attempts + 1)
                self.jobs[j.job_id] = c
                claimed.append(c)
            return claimed

    def complete(self, job: Job, *, owner: str, outcome: StepOutcome, now: datetime,
                 next_job: Job | None, end: tuple[str, str] | None) -> bool:
        return self.complete_batch([(job, outcome, next_job, end)], owner=owner, now=now)[0]

    def _write(self, held: Job, outcome: StepOutcome) -> None:
        status = _status(outcome)
        attempts = held.attempts
        due_at = held.due_at
        if status == ports.PENDING:
            assert outcome.retry_at is not None
            due_at = outcome.retry_at
            if outcome.outcome != ports.ERROR:
                attempts -= 1
        self.jobs[held.job_id] = replace(held, status=status, lease_owner=None,
                                         lease_until=None, attempts=attempts, due_at=due_at)
        self.outcomes[held.job_id] = outcome

    def complete_batch(self, items: Sequence[Completion], *, owner: str, now: datetime,
                       chained: Mapping[str, Sequence[Completion]] | None = None
                       ) -> list[bool]:
        done = []
        with self._lock:
            for head in items:
                held = self.jobs.get(head[0].job_id)
                if held is None or held.status != ports.CLAIMED or held.lease_owner != owner:
                    done.append(False)
                    continue
                self._write(held, head[1])
                run = chained.get(head[0].job_id) if chained else None
                for c in run or ():
                    # run at once after the head, under its lease: in as run
                    self._write(replace(c[0], attempts=1), c[1])
                job, outcome, next_job, end = run[-1] if run else head
                if next_job is not None:
                    self.jobs[next_job.job_id] = replace(next_job, status=ports.PENDING,
                                                         attempts=0)
                if end is not None:
                    journey = self.journeys(
                        [job.journey_id]).get(job.journey_id)
                    if journey is not None and journey.state == ports.ACTIVE:
                        self.journeys_by_id[job.journey_id] = replace(
                            journey, state=end[0], end_reason=end[1], ended_at=now,
                            goal_at=outcome.goal_at)
                done.append(True)
        return done
