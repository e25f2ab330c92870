"""The playbooks' runner (DOMAIN §9, issue 20): customers enter journeys, and the journeys'
due steps run, each a job of the durable schedule (:class:`~.ports.JobStore`).

What it promises:

* **Never twice, never lost.** A job is claimed with a lease and completed — its outcome, the
  next step's job and the journey's end — in one transaction that holds only while the lease
  does. A worker that dies after claiming leaves the job to be claimed again when the lease
  runs out, so a step may be *attempted* again after a crash; every side effect of a step is
  keyed by the job's id (:attr:`StepContext.job`), so the attempt after a crash finds the
  first one's effect and does not repeat it. The runner itself is at-least-once; the keyed
  actions make each step's effect happen once.
* **Deterministic.** The journey's id and its arm (treated or control) are digests of
  (playbook, customer, entry_key): entering the same occurrence again, on any machine, gives
  the same journey in the same arm — and the store keeps the first.
* **Time is the customer's.** Waits end on the customer's clock (:mod:`.timing`), and every
  step after a wait is due at the moment the schedule said, not when a worker got to it, so
  a simulated run (``--at``) and a late one take the same path.

Waits, branches, exits, the goal and "no longer matches" are decided here; every other step
goes to :class:`~.ports.Actions` — or, in the control arm, nowhere (outcome ``control``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from regulars.domain.playbooks import model as m
from regulars.domain.playbooks.conditions import evaluate
from regulars.domain.playbooks.timing import after_wait
from regulars.services.playbooks import ports
from regulars.services.playbooks.overlay import Overlay
from regulars.services.playbooks.ports import (
    Actions,
    Admit,
    Completion,
    Entry,
    EntrySource,
    Facts,
    FactsSource,
    GoalSource,
    Job,
    JobStore,
    Journey,
    StepContext,
    StepOutcome,
)

log = logging.getLogger("regulars.playbooks")

# why an entry did not enter
SKIP_PLAYBOOK_OFF = "playbook_off"
SKIP_UNKNOWN_CUSTOMER = "unknown_customer"
SKIP_UNMATCHED = "unmatched"
SKIP_REENTRY = "reentry"
SKIP_ALREADY_ENTERED = "already_entered"

# why a journey ended
END_DONE = "done"
END_GOAL = "goal"
END_EXIT_STEP = "exit_step"
END_UNMATCHED = "unmatched"
END_PLAYBOOK_OFF = "playbook_off"
END_STEP_GONE = "step_gone"
END_UNKNOWN_CUSTOMER = "unknown_customer"
END_FAILED = "failed"
END_BAD_BRANCH = "bad_branch"

# claims are taken this many at a time (one statement, one completing transaction)
BATCH = 500
# at most this many steps of one journey run at once after its claimed one (branches only go
# forward, so a journey's steps end anyway; this bounds a long run of immediate steps)
MAX_CHAIN = 20


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x1f".join(parts).encode()).digest()


def journey_id(playbook: str, customer_id: str, entry_key: str) -> str:
    """The journey's id: the same occurrence always names the same journey."""
    return _digest("journey", playbook, customer_id, entry_key).hex()[:32]


def job_id(journey: str, seq: int) -> str:
    """A job's id (its idempotency key): the journey and the step's place in it."""
    return f"{journey}.{seq}"


def in_control(playbook: str, customer_id: str, entry_key: str, share: float) -> bool:
    """Whether this entry falls in the control group: a uniform draw from a digest of the
    entry, so a re-run assigns the same arm."""
    draw = int.from_bytes(_digest("arm", playbook, customer_id, entry_key)[:8], "big") / 2**64
    return draw < share


@dataclass
class EnterResult:
    entered: int = 0
    control: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason → entries
    journeys: list[Journey] = field(default_factory=list)


@dataclass(frozen=True)
class RunRow:
    """One job a run ran (kept for a dry run: "what would go out")."""

    due_at: datetime
    playbook: str
    customer_id: str
    name: str | None
    step_id: str
    kind: str
    arm: str
    outcome: str
    reason: str | None
    detail: str | None


@dataclass
class RunResult:
    ran: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)   # outcome → jobs
    skipped: Counter[str] = field(default_factory=Counter)    # a skipped step's reason → jobs
    ended: Counter[str] = field(default_factory=Counter)      # journey end reason → journeys
    failed: int = 0    # jobs given up on (their last attempt raised)
    retried: int = 0   # jobs that raised and will be tried again
    lost: int = 0      # completions refused: the lease had been lost
    rows: list[RunRow] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def default_owner() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Runner:
    """Enters customers into playbooks and runs the journeys' due steps (see the module)."""

    def __init__(self, store: JobStore, playbooks: Mapping[str, m.Playbook],
                 facts: FactsSource, actions: Actions, *,
                 goals: GoalSource | None = None,
                 control_share: float = 0.1,
                 clock: Callable[[], datetime] | None = None,
                 owner: str | None = None,
                 zone_of: Callable[[Facts], str | tzinfo | None] | None = None,
                 default_zone: str = "UTC",
                 older: Iterable[m.Playbook] = (),
                 max_attempts: int = 5,
                 lease: timedelta = timedelta(minutes=5),
                 retry_after: timedelta = timedelta(minutes=1),
                 batch: int = BATCH) -> None:
        self.store = store
        self.playbooks = dict(playbooks)
        self.facts = facts
        self.actions = actions
        self.goals = goals
        self.control_share = control_share
        self.clock = clock or _now
        self.owner = owner or default_owner()
        self.zone_of = zone_of or (lambda f: f.get("time_zone"))  # type: ignore[return-value]
        self.default_zone = ZoneInfo(default_zone)
        # the versions a journey may have entered with: the loaded ones and any older ones
        self.versions = {(p.name, p.version): p for p in (*older, *self.playbooks.values())}
        self.max_attempts = max_attempts
        self.lease = lease
        self.retry_after = retry_after
        self.batch = batch
        self._dry: Overlay | None = None

    def _store(self, dry_run: bool) -> JobStore:
        if not dry_run:
            return self.store
        if self._dry is None:
            # a dry run writes to memory over the store, so a dry enter then a dry run of the
            # due jobs see each other, and the store sees nothing
            self._dry = Overlay(self.store)
        return self._dry

    # --- entering ----------------------------------------------------------------------------

    def enter(self, entries: Sequence[Entry], *, dry_run: bool = False) -> EnterResult:
        result = EnterResult()
        store = self._store(dry_run)
        by_playbook: dict[str, list[Entry]] = {}
        for e in entries:
            by_playbook.setdefault(e.playbook, []).append(e)
        facts = self.facts.facts_of(sorted({e.customer_id for e in entries})) if entries else {}
        for name, group in by_playbook.items():
            pb = self.playbooks.get(name)
            if pb is None or not pb.enabled or not pb.steps:
                result.skipped[SKIP_PLAYBOOK_OFF] += len(group)
                continue
            share = pb.control_share if pb.control_share is not None else self.control_share
            version = pb.version  # a digest of the whole playbook: once, not per entry
            latest = dict(store.latest_journeys(name, {e.customer_id for e in group}))
            journeys: list[Journey] = []
            jobs: list[Job] = []
            for e in sorted(group, key=lambda e: (e.at, e.customer_id, e.entry_key)):
                f = facts.get(e.customer_id)
                if f is None:
                    result.skipped[SKIP_UNKNOWN_CUSTOMER] += 1
                    continue
                if not evaluate(pb.conditions, f):
                    result.skipped[SKIP_UNMATCHED] += 1
                    continue
                jid = journey_id(name, e.customer_id, e.entry_key)
                at = e.at if e.at.tzinfo is not None else e.at.replace(tzinfo=UTC)
                before = latest.get(e.customer_id)
                if before is not None:
                    if before.journey_id == jid:
                        result.skipped[SKIP_ALREADY_ENTERED] += 1
                        continue
                    if not self._may_reenter(pb, before, at):
                        result.skipped[SKIP_REENTRY] += 1
                        continue
                arm = ports.CONTROL if in_control(name, e.customer_id, e.entry_key, share) \
                    else ports.TREATED
                journey = Journey(journey_id=jid, playbook=name, version=version,
                                  customer_id=e.customer_id, entry_key=e.entry_key, arm=arm,
                                  entered_at=at, state=ports.ACTIVE)
                journeys.append(journey)
                jobs.append(Job(job_id=job_id(jid, 1), journey_id=jid, playbook=name,
                                customer_id=e.customer_id, step_id=pb.steps[0].id, seq=1,
                                due_at=at, status=ports.PENDING))
                latest[e.customer_id] = journey
            # the re-entry rule again, in the entering transaction itself: another pass may
            # have entered these customers since they were read above
            inserted = set(store.enter(journeys, jobs, admit=self._admit(pb)))
            if len(journeys) > len(inserted):  # another pass entered them first
                result.skipped[SKIP_ALREADY_ENTERED] += len(journeys) - len(inserted)
            for j in journeys:
                if j.journey_id in inserted:
                    result.entered += 1
                    result.control += j.arm == ports.CONTROL
                    result.journeys.append(j)
        return result

    def _admit(self, pb: m.Playbook) -> Admit:
        def admit(new: Journey, before: Journey | None) -> bool:
            return before is None or self._may_reenter(pb, before, new.entered_at)
        return admit

    @staticmethod
    def _may_reenter(pb: m.Playbook, before: Journey, at: datetime) -> bool:
        if pb.reentry == m.REENTRY_NEVER:
            return False
        if pb.reentry == m.REENTRY_AFTER_EXIT:
            return before.state != ports.ACTIVE
        return at >= before.entered_at + timedelta(days=pb.reentry_days)

    # --- running -------------------------------------------------------------------------

    def run_due(self, now: datetime | None = None, *, limit: int | None = None,
                dry_run: bool = False) -> RunResult:
        """Run jobs due at ``now`` (and those their steps make due by then) until none is
        left or ``limit`` have run."""
        now = now or self.clock()
        store = self._store(dry_run)
        result = RunResult()
        while limit is None or result.ran < limit:
            size = self.batch if limit is None else min(self.batch, limit - result.ran)
            jobs = store.claim(now=now, owner=self.owner, limit=size, lease=self.lease)
            if not jobs:
                break
            # under --limit every step is a claim of its own, so the count is exact
            self._run_batch(store, jobs, now, result, dry_run, chain=limit is None)
        return result

    def _chains(self, pb: m.Playbook | None, completion: Completion, now: datetime) -> bool:
        """Whether the step after this one runs at once, in the same claim: it is due by
        ``now``, the journey goes on, and this step changed none of the facts the next one
        reads (a tag, points or a coupon: the next step sees them after a fresh read)."""
        job, outcome, nxt, end = completion
        if pb is None or nxt is None or end is not None or outcome.retry_at is not None \
                or nxt.due_at > now or outcome.outcome == ports.ERROR:
            return False
        try:
            step = pb.step(job.step_id)
        except KeyError:
            return False
        return not isinstance(step, m.Tag | m.AwardPoints | m.IssueCoupon)

    def _run_batch(self, store: JobStore, jobs: list[Job], now: datetime, result: RunResult,
                   dry_run: bool, *, chain: bool = True) -> None:
        journeys = store.journeys(j.journey_id for j in jobs)
        customers = sorted({j.customer_id for j in jobs})
        facts = self.facts.facts_of(customers)
        goals = self._goals(jobs, journeys, now)
        # actions that can read the batch's customers at once (the sender's contact
        # histories: a few statements instead of three a message) are told whom to read; what
        # they read only ever holds a message back, every send is asked again afresh
        prefetch = getattr(self.actions, "prefetch", None)
        if prefetch is not None:
            prefetch(customers)
        try:
            self._run_jobs(store, jobs, journeys, facts, goals, now, result, dry_run,
                           chain=chain)
        finally:
            forget = getattr(self.actions, "forget", None)
            if forget is not None:
                forget()

    def _run_jobs(self, store: JobStore, jobs: list[Job], journeys: Mapping[str, Journey],
                  facts: Mapping[str, Facts], goals: Mapping[str, datetime], now: datetime,
                  result: RunResult, dry_run: bool, *, chain: bool) -> None:
        done: list[Completion] = []
        chained: dict[str, list[Completion]] = {}
        for job in jobs:
            journey = journeys.get(job.journey_id)
            f = facts.get(job.customer_id)
            goal = goals.get(job.journey_id)
            completion = self._run_job(job, journey, f, goal, now, dry_run)
            done.append(completion)
            if not chain or journey is None:
                continue
            # the steps due at once run in this claim, under its lease: a claim and a
            # completion for a journey's run of immediate steps, not one for each
            pb = self._playbook_of(journey)[0]
            run: list[Completion] = []
            current = completion
            while len(run) < MAX_CHAIN and self._chains(pb, current, now):
                nxt = current[2]
                assert nxt is not None
                held = replace(nxt, status=ports.CLAIMED, attempts=1,
                               lease_owner=self.owner)
                current = self._run_job(held, journey, f, goal, now, dry_run)
                run.append(current)
            if run:
                chained[job.job_id] = run
        kept = store.complete_batch(done, owner=self.owner, now=now, chained=chained)
        for head, ok in zip(done, kept, strict=True):
            if not ok:
                result.lost += 1
                continue
            for completion in (head, *chained.get(head[0].job_id, ())):
                self._count(completion, journeys, facts, result, dry_run)

    def _count(self, completion: Completion, journeys: Mapping[str, Journey],
               facts: Mapping[str, Facts], result: RunResult, dry_run: bool) -> None:
        job, outcome, _next, end = completion
        result.ran += 1
        result.outcomes[outcome.outcome] += 1
        if outcome.outcome == "skipped" and outcome.reason:
            result.skipped[outcome.reason] += 1
        if outcome.outcome == ports.ERROR:
            if outcome.retry_at is None:
                result.failed += 1
            else:
                result.retried += 1
        if end is not None:
            result.ended[end[1]] += 1
        if dry_run:
            journey = journeys.get(job.journey_id)
            f = facts.get(job.customer_id) or {}
            name = f.get("name")
            pb = self.playbooks.get(job.playbook)
            kind = "-"
            if pb is not None:
                with contextlib.suppress(KeyError):
                    kind = m.step_kind(pb.step(job.step_id))
            result.rows.append(RunRow(
                due_at=job.due_at, playbook=job.playbook, customer_id=job.customer_id,
                name=name if isinstance(name, str) else None, step_id=job.step_id,
                kind=kind, arm=journey.arm if journey else "-", outcome=outcome.outcome,
                reason=outcome.reason, detail=outcome.detail))

    def _goals(self, jobs: Sequence[Job], journeys: Mapping[str, Journey],
               now: datetime) -> dict[str, datetime]:
        """journey id → when its goal was met (those met by ``now``)."""
        if self.goals is None:
            return {}
        # one question per goal event; a customer with two journeys in one batch asks twice
        asks: dict[str, list[dict[str, tuple[datetime, datetime]]]] = {}
        owners: dict[tuple[str, int, str], str] = {}
        for job in jobs:
            journey = journeys.get(job.journey_id)
            pb = self.playbooks.get(job.playbook)
            if journey is None or pb is None or pb.goal is None or \
                    journey.state != ports.ACTIVE:
                continue
            until = min(now, journey.entered_at + timedelta(days=pb.goal.days))
            if until < journey.entered_at:
                continue
            rounds = asks.setdefault(pb.goal.event, [])
            i = 0
            while i < len(rounds) and journey.customer_id in rounds[i]:
                i += 1
            if i == len(rounds):
                rounds.append({})
            rounds[i][journey.customer_id] = (journey.entered_at, until)
            owners[(pb.goal.event, i, journey.customer_id)] = journey.journey_id
        met: dict[str, datetime] = {}
        for event, rounds in asks.items():
            for i, windows in enumerate(rounds):
                for customer, at in self.goals.goal_met(windows, event).items():
                    jid = owners.get((event, i, customer))
                    if jid is not None:
                        met[jid] = at
        return met

    def _playbook_of(self, journey: Journey) -> tuple[m.Playbook | None, str | None]:
        """The version the journey entered with while it is loaded, else the current one;
        and a note when it is not the entered one."""
        pb = self.versions.get((journey.playbook, journey.version))
        if pb is not None and journey.playbook in self.playbooks:
            return pb, None
        current = self.playbooks.get(journey.playbook)
        if current is None:
            return None, None
        return current, f"version {current.version} (entered with {journey.version})"

    def _zone(self, facts: Facts) -> tzinfo:
        zone = self.zone_of(facts)
        if isinstance(zone, tzinfo):
            return zone
        if isinstance(zone, str) and zone:
            try:
                return ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return self.default_zone

    def _run_job(self, job: Job, journey: Journey | None, facts: Facts | None,
                 goal_at: datetime | None, now: datetime, dry_run: bool) -> Completion:
        if journey is None or journey.state != ports.ACTIVE:
            # a job left behind a journey that has already ended: nothing to do
            return (job, StepOutcome(ports.ENDED, reason="journey_ended"), None, None)
        pb, note = self._playbook_of(journey)
        stop = self._stop(job, pb, facts, goal_at)
        if stop is not None:
            return stop
        assert pb is not None and facts is not None
        return self._step(job, journey, pb, pb.step(job.step_id), facts, note, now, dry_run)

    @staticmethod
    def _stop(job: Job, pb: m.Playbook | None, facts: Facts | None,
              goal_at: datetime | None) -> Completion | None:
        """The journey's end before its step runs, if it ends there."""
        def end(state: str, reason: str, at: datetime | None = None) -> Completion:
            return (job, StepOutcome(ports.ENDED, reason=reason, goal_at=at), None,
                    (state, reason))

        if pb is None or not pb.enabled:
            return end(ports.EXITED, END_PLAYBOOK_OFF)
        if job.step_id not in {s.id for s in pb.steps}:
            return end(ports.EXITED, END_STEP_GONE)
        if facts is None:
            return end(ports.EXITED, END_UNKNOWN_CUSTOMER)
        if goal_at is not None:
            return end(ports.GOAL, END_GOAL, goal_at)
        if pb.exit_when_unmatched and not evaluate(pb.conditions, facts):
            return end(ports.EXITED, END_UNMATCHED)
        return None

    def _step(self, job: Job, journey: Journey, pb: m.Playbook, step: m.Step, facts: Facts,
              note: str | None, now: datetime, dry_run: bool) -> Completion:
        def then(step_id: str | None, due: datetime, outcome: StepOutcome) -> Completion:
            if note:
                outcome = replace(outcome, detail="; ".join(p for p in (outcome.detail, note)
                                                              if p))
            if step_id is None:
                return (job, outcome, None, (ports.DONE, END_DONE))
            nxt = Job(job_id=job_id(journey.journey_id, job.seq + 1),
                      journey_id=journey.journey_id, playbook=job.playbook,
                      customer_id=job.customer_id, step_id=step_id, seq=job.seq + 1,
                      due_at=due, status=ports.PENDING)
            return (job, outcome, nxt, None)

        if isinstance(step, m.Wait):
            until = after_wait(job.due_at, step, self._zone(facts))
            return then(pb.after(step.id), until,
                        StepOutcome(ports.WAITED, detail=until.isoformat()))
        if isinstance(step, m.Branch):
            target = step.then if evaluate(step.condition, facts) else \
                (step.else_ or pb.after(step.id))
            ids = [s.id for s in pb.steps]
            if target is not None and (target not in ids or
                                       ids.index(target) <= ids.index(step.id)):
                # the parser refuses a jump back (it could loop) or to nowhere; a playbook
                # built otherwise ends here rather than loop within one run
                return (job, StepOutcome(ports.ENDED, reason=END_BAD_BRANCH, detail=target),
                        None, (ports.EXITED, END_BAD_BRANCH))
            return then(target, job.due_at, StepOutcome(ports.BRANCHED, detail=target))
        if isinstance(step, m.Exit):
            return (job, StepOutcome(ports.ENDED, reason=END_EXIT_STEP), None,
                    (ports.EXITED, END_EXIT_STEP))
        if journey.arm == ports.CONTROL:
            return then(pb.after(step.id), job.due_at, StepOutcome(ports.CONTROL_OUTCOME))
        ctx = StepContext(journey=journey, job=job, playbook=pb, step=step, facts=facts,
                          at=job.due_at if dry_run else max(job.due_at, now), dry_run=dry_run)
        try:
            outcome = self.actions.run(ctx)
        except Exception as exc:  # a step's failure is its job's, not the run's
            return self._failed(job, exc, now)
        if outcome.retry_at is not None:
            # "not before" a moment already past would be claimed again in this very run
            if outcome.retry_at <= now:
                outcome = replace(outcome, retry_at=now + timedelta(seconds=1))
            return (job, outcome, None, None)
        return then(pb.after(step.id), job.due_at, outcome)

    def _failed(self, job: Job, exc: Exception, now: datetime) -> Completion:
        detail = f"{type(exc).__name__}: {exc}"[:500]
        if job.attempts >= self.max_attempts:
            log.error("playbook %s, step %s, job %s failed after %d attempts: %s",
                      job.playbook, job.step_id, job.job_id, job.attempts, detail)
            return (job, StepOutcome(ports.ERROR, detail=detail), None,
                    (ports.EXITED, END_FAILED))
        # 1, 2, 4, 8 … times the base, so a step that fails for a while does not hammer
        retry = now + self.retry_after * 2 ** max(job.attempts - 1, 0)
        log.warning("playbook %s, step %s, job %s failed (attempt %d of %d), retried at %s: %s",
                    job.playbook, job.step_id, job.job_id, job.attempts, self.max_attempts,
                    retry.isoformat(), detail)
        return (job, StepOutcome(ports.ERROR, detail=detail, retry_at=retry), None, None)


class NoEntries:
    """A feed that finds nothing (until the trigger feed is wired in, or for a run of the due
    steps alone)."""

    def entries(self, now: datetime, playbooks: Mapping[str, m.Playbook], *,
                dry_run: bool = False, advance: bool = True) -> list[Entry]:
        return []

    def commit(self, now: datetime | None = None) -> None:
        pass


@dataclass
class PassResult:
    """One pass of the schedule: who entered, and what the due steps did."""

    at: datetime
    dry_run: bool
    entered: EnterResult
    ran: RunResult


def one_pass(runner: Runner, feed: EntrySource, *, at: datetime | None = None,
             dry_run: bool = False, limit: int | None = None) -> PassResult:
    """Enter what the feed found up to ``at`` (default now), then run the due steps until none
    is due at ``at`` (or ``limit`` have run). A dry run writes nothing (the feed moves no
    cursor, the schedule is laid over in memory) and sends nothing."""
    at = at or runner.clock()
    # the cursors move only once the entries are in: a pass that dies between finds them
    # again next time, and enters each occurrence once
    entries = feed.entries(at, runner.playbooks, dry_run=dry_run, advance=False)
    entered = runner.enter(entries, dry_run=dry_run)
    if not dry_run:
        feed.commit(at)
    ran = runner.run_due(at, limit=limit, dry_run=dry_run)
    return PassResult(at=at, dry_run=dry_run, entered=entered, ran=ran)
