"""The seams between the parts of the playbooks (issue 20). Each part builds against these and
nothing else of another part:

- the **feed** (:mod:`.feed`) turns triggers into :class:`Entry` rows and hands them to the
  runner, and answers :class:`FactsSource` (a customer's facts, which conditions read);
- the **runner** (:mod:`.runner`) keeps journeys and their jobs in a :class:`JobStore`,
  claims due jobs with a lease, evaluates waits and branches itself, and hands every other
  step to :class:`Actions`;
- **actions** (:mod:`.actions`) send messages (through a :class:`TemplateEngine` and the
  channels, under the contact policy), create tasks, award points, issue coupons, tag, call
  webhooks, each logged;
- the **report** (:mod:`.effect`) reads journeys, jobs and messages.

A customer's facts are a plain mapping: the keys are
:data:`regulars.domain.playbooks.model.CONDITION_FIELDS` plus ``attribute.<name>`` for each
customer attribute, and also ``customer_id``, ``name``, ``email``, ``phone``, ``time_zone``
(IANA), ``first_order_at``, ``last_order_at``, ``birthday``, ``attributes`` (dict). Lists
(``signals``, ``traits``, ``tags``) are lists of codes; a missing value is None.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from regulars.domain.playbooks.model import Playbook, Step, Template

Facts = Mapping[str, object]

TREATED = "treated"
CONTROL = "control"

# journey states
ACTIVE = "active"
DONE = "done"      # ran its last step
GOAL = "goal"      # the goal was met
EXITED = "exited"  # left: no longer matches, an exit step, or the playbook was switched off

# job statuses
PENDING = "pending"
CLAIMED = "claimed"
COMPLETED = "done"
FAILED = "failed"

# the runner's own outcomes (besides those of :class:`Actions`)
ERROR = "error"        # the step raised: retried with a backoff, the job failed at the last try
CONTROL_OUTCOME = "control"  # the control arm: the step was not run
WAITED = "waited"      # a wait step: the next job is due when the wait ends
BRANCHED = "branched"  # a branch step: ``detail`` names the step it went to
ENDED = "ended"        # the journey ended at this job (an exit step, the goal, no longer matching)


@dataclass(frozen=True)
class Entry:
    """A customer the feed found for a playbook's trigger. ``entry_key`` names the occurrence
    (``event:<event_id>``, ``change:rung:regular:<day>``, ``date:birthday:<YYYY-MM-DD>``,
    ``cadence:quarter:2027Q1``): the same occurrence seen twice enters once."""

    playbook: str
    customer_id: str
    entry_key: str
    at: datetime  # when the trigger happened (the journey starts then)


@dataclass(frozen=True)
class Journey:
    journey_id: str
    playbook: str
    version: str
    customer_id: str
    entry_key: str
    arm: str
    entered_at: datetime
    state: str
    ended_at: datetime | None = None
    end_reason: str | None = None
    goal_at: datetime | None = None


@dataclass(frozen=True)
class Job:
    """One step of one journey to run at ``due_at``; ``job_id`` is its idempotency key."""

    job_id: str
    journey_id: str
    playbook: str
    customer_id: str
    step_id: str
    seq: int
    due_at: datetime
    status: str
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True)
class StepContext:
    """What an action needs: the journey, the job (its id keys every side effect, so a retry
    after a crash does not repeat it), the playbook and step, the customer's facts, the
    moment it runs (simulated under ``--at``), and whether this is a dry run (decide and log,
    change nothing outside the store's own playbook tables, send nothing)."""

    journey: Journey
    job: Job
    playbook: Playbook
    step: Step
    facts: Facts
    at: datetime
    dry_run: bool = False


@dataclass(frozen=True)
class StepOutcome:
    """``outcome``: sent, skipped, failed, created, awarded, issued, tagged, called, dry_run,
    or deferred (``retry_at`` says when to try the same job again: quiet hours); ``reason`` the
    code of a skip (the contact policy's, or no_address, not_member, …)."""

    outcome: str
    reason: str | None = None
    detail: str | None = None
    retry_at: datetime | None = None
    goal_at: datetime | None = None  # the runner's: when the goal that ended the journey was met


class Actions(Protocol):
    def run(self, ctx: StepContext) -> StepOutcome: ...


class FactsSource(Protocol):
    def facts_of(self, customer_ids: Sequence[str]) -> dict[str, Facts]:
        """Each known customer's facts (an unknown id is left out)."""
        ...


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    text: str
    html: str | None


class TemplateEngine(Protocol):
    def check(self, template: Template) -> list[str]:
        """What is wrong with a template (syntax, a variable not in TEMPLATE_VARIABLES, a
        failure to render with sample values): one sentence each; empty when it is fine."""
        ...

    def render(self, template: Template, context: Mapping[str, object]) -> Rendered: ...


class Templates(Protocol):
    def choose(self, name: str, language: str | None) -> Template | None:
        """The template ``name`` in ``language``, else in the business's default language,
        else any language it has."""
        ...


class GoalSource(Protocol):
    """Whether customers reached a playbook's goal (the feed answers it from orders and
    events)."""

    def goal_met(self, windows: Mapping[str, tuple[datetime, datetime]],
                 event: str) -> dict[str, datetime]:
        """For each customer of ``windows`` (customer id → (since, until]: the moment of entry
        itself does not count, so the order that started a journey is not its goal), the first
        ``event`` (``order_placed`` and ``first_order`` read the orders, any other name
        ``playbook_events``) in that window; a customer without one is left out."""
        ...


class EntrySource(Protocol):
    """The trigger feed: the entries it finds up to ``now`` (a dry run moves no cursor)."""

    def entries(self, now: datetime, playbooks: Mapping[str, Playbook], *,
                dry_run: bool = False, advance: bool = True) -> list[Entry]:
        """With ``advance`` False the cursors stay where they were until :meth:`commit`, so
        a pass that dies before its entries are in finds them again (entering is
        idempotent: an occurrence enters once)."""
        ...

    def commit(self, now: datetime | None = None) -> None:
        """Move the cursors past what the last ``entries(..., advance=False)`` found."""
        ...


Completion = tuple[Job, StepOutcome, Job | None, tuple[str, str] | None]
"""One job's completion for :meth:`JobStore.complete_batch`: the job, its outcome, its next
job, the journey's end (state, reason)."""


Admit = Callable[[Journey, Journey | None], bool]
"""Whether a new journey may enter, given the customer's latest journey of the playbook (None:
none yet): the runner's re-entry rule, which :meth:`JobStore.enter` applies atomically."""


class JobStore(Protocol):
    """The durable schedule (SQL in adapters/db/playbook_jobs.py, memory for unit tests)."""

    def enter(self, journeys: Sequence[Journey], first_jobs: Sequence[Job], *,
              admit: Admit | None = None) -> list[str]:
        """Insert journeys and their first jobs in one transaction, skipping a journey whose
        (playbook, customer, entry_key) exists — and, with ``admit``, one it refuses against
        the customer's latest journey, read in that same serialised transaction; return the
        ids of those inserted."""
        ...

    def latest_journeys(self, playbook: str,
                        customer_ids: Iterable[str]) -> dict[str, Journey]: ...

    def claim(self, *, now: datetime, owner: str, limit: int,
              lease: timedelta) -> list[Job]: ...

    def complete(self, job: Job, *, owner: str, outcome: StepOutcome, now: datetime,
                 next_job: Job | None, end: tuple[str, str] | None) -> bool:
        """Mark the job done (or re-schedule it when ``outcome.retry_at``), insert the next
        one, end the journey (state, reason): one transaction, only while ``owner`` still holds
        the lease (False: it was lost and nothing was written)."""
        ...

    def complete_batch(self, items: Sequence[Completion], *, owner: str, now: datetime,
                       chained: Mapping[str, Sequence[Completion]] | None = None
                       ) -> list[bool]:
        """:meth:`complete` for many jobs in one transaction, each guarded on its own.

        ``chained``: for a job of ``items``, the steps the runner ran right after it under the
        same lease (their jobs are not in the store yet; the first is the job's next job): they
        are written as run — and the last one's next job and end — only when the job itself
        still holds its lease."""
        ...

    def journeys(self, journey_ids: Iterable[str]) -> dict[str, Journey]: ...

    def known_journeys(self, journey_ids: Iterable[str]) -> set[str]:
        """Which of these journeys exist."""
        ...

    def due(self, *, now: datetime, limit: int) -> list[Job]:
        """What :meth:`claim` would take at ``now``, without taking it (a dry run)."""
        ...


class TemplateRenderError(Exception):
    """A template could not be rendered for a customer (a value it names is missing): the
    send is skipped with this reason, not half-sent. Raised by ``TemplateEngine.render``."""

    def __init__(self, template: str, language: str, reason: str):
        super().__init__(f"{template} ({language}): {reason}")
        self.template = template
        self.language = language
        self.reason = reason


# --- channels (the sending part; added for issue 20's sender) --------------------------------

@dataclass(frozen=True)
class Outgoing:
    """One message as a channel delivers it. ``message_id`` is the job's id: the same on
    every try (a gateway drops a repeat by it; e-mail's Message-ID is made from it)."""

    message_id: str
    customer_id: str
    channel: str
    purpose: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    to_name: str | None = None
    language: str | None = None
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None


class ChannelError(Exception):
    """A message a channel did not deliver. ``unsent``: it certainly did not leave (refused
    before any of it was handed over), so trying again cannot send it twice; ``permanent``:
    trying again will not help (a 4xx, a refused address)."""

    def __init__(self, detail: str, *, unsent: bool, permanent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.unsent = unsent
        self.permanent = permanent


class Channel(Protocol):
    def send(self, message: Outgoing) -> str:
        """Deliver ``message``; the provider's id of it (the Message-ID, the gateway's id).
        Raises :class:`ChannelError`."""
        ...
