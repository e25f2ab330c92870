"""The steps that act outside the schedule (issue 20): :class:`PlaybookActions` implements
:class:`regulars.services.playbooks.ports.Actions` for the runner.

Each step's side effect is keyed by the job's id, so a job run again after a crash repeats
nothing: a message is sent at most once (:mod:`.sending`), a task's id is derived from the
job, points and coupons go through the loyalty engine's idempotency keys (``playbook:<job>``),
a tag is a set, a webhook carries the job id as its delivery id.

The control arm receives nothing: every step answers ``skipped`` ``control`` (a message step
also leaves its row, which the report counts). A dry run changes nothing and answers
``dry_run`` with what would happen.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from regulars.domain.loyalty.errors import ConsentRequiredError, LoyaltyError, UnknownMemberError
from regulars.domain.playbooks.model import (
    AwardPoints,
    CallWebhook,
    CreateTask,
    IssueCoupon,
    Send,
    Tag,
    step_kind,
)
from regulars.services.playbooks.ports import CONTROL, StepContext, StepOutcome
from regulars.services.playbooks.sending import DRY_RUN, SKIPPED, Sender

# outcomes (ports.StepOutcome) and reasons of the steps besides sending
CREATED = "created"
AWARDED = "awarded"
ISSUED = "issued"
TAGGED = "tagged"
CALLED = "called"
FAILED = "failed"
NO_MANAGER = "no_manager"
TASK_EXISTS = "task_exists"
NOT_MEMBER = "not_member"
NO_LOYALTY = "no_loyalty"
UNKNOWN_CUSTOMER = "unknown_customer"
LOYALTY_REFUSED = "loyalty_refused"
WEBHOOK_FAILED = "webhook_failed"


class TaskMaker(Protocol):
    """:meth:`regulars.services.tasks.Tasks.add_for_playbook`."""

    def add_for_playbook(self, *, task_id: str, customer_id: str, action: str,
                         due_on: date, playbook: str, channel: str | None = None,
                         note: str | None = None) -> tuple[str, dict[str, Any] | None]: ...


class Loyalty(Protocol):
    """What the steps ask of the loyalty programme (bootstrap adapts the loyalty service).
    Each returns ``(outcome, detail)``: outcome ``done``, ``not_member`` or ``refused``."""

    def award(self, customer_id: str, points: int, *, reason: str,
              key: str) -> tuple[str, str | None]: ...

    def issue_coupon(self, customer_id: str, reward: str, *, key: str,
                     at: datetime) -> tuple[str, str | None]: ...


class TagStore(Protocol):
    def tag(self, customer_id: str, tag: str, *, remove: bool, source: str,
            at: datetime) -> bool: ...


# (url, body, delivery id) -> (delivered, detail): the signed, retried webhook post
PostWebhook = Callable[[str, bytes, str], tuple[bool, str | None]]


@dataclass
class PlaybookActions:
    sender: Sender
    tasks: TaskMaker | None
    loyalty: Loyalty | None
    tags: TagStore
    webhook: PostWebhook | None = None
    zone: str = "UTC"

    def prefetch(self, customer_ids: Iterable[str]) -> None:
        """Optional for a runner: read the contacts of the customers of a pass's due jobs in
        a few statements instead of three per message (:meth:`Sender.prefetch`)."""
        self.sender.prefetch(customer_ids)

    def forget(self) -> None:
        """The end of a pass: drop what :meth:`prefetch` read."""
        self.sender.forget()

    def run(self, ctx: StepContext) -> StepOutcome:
        step = ctx.step
        if isinstance(step, Send):
            return self.sender.run(ctx)
        if ctx.journey.arm == CONTROL:
            return StepOutcome(SKIPPED, "control")
        if isinstance(step, CreateTask):
            return self._task(ctx, step)
        if isinstance(step, AwardPoints):
            return self._points(ctx, step)
        if isinstance(step, IssueCoupon):
            return self._coupon(ctx, step)
        if isinstance(step, Tag):
            return self._tag(ctx, step)
        if isinstance(step, CallWebhook):
            return self._webhook(ctx, step)
        raise TypeError(f"{ctx.playbook.name}: step {step.id} ({step_kind(step)}) is the "
                        "runner's, not an action")

    def _task(self, ctx: StepContext, step: CreateTask) -> StepOutcome:
        manager = ctx.facts.get("manager")
        if ctx.dry_run:
            return StepOutcome(DRY_RUN, None if manager else NO_MANAGER,
                               f"{CREATED}: {step.action} for {manager}" if manager else None)
        if self.tasks is None:
            return StepOutcome(SKIPPED, NO_MANAGER)
        local = _utc(ctx.at).astimezone(ZoneInfo(self.zone)).date()
        result, row = self.tasks.add_for_playbook(
            task_id=_key_id("task", ctx.job.job_id), customer_id=ctx.job.customer_id,
            action=step.action, due_on=local + timedelta(days=step.due_in_days),
            playbook=ctx.playbook.name, channel=step.channel, note=step.note)
        if result == CREATED:
            return StepOutcome(CREATED, None, str(row["task_id"]) if row else None)
        return StepOutcome(SKIPPED, result)

    def _points(self, ctx: StepContext, step: AwardPoints) -> StepOutcome:
        if ctx.dry_run:
            return StepOutcome(DRY_RUN, None, f"{AWARDED}: {step.points}")
        if self.loyalty is None:
            return StepOutcome(SKIPPED, NO_LOYALTY)
        result, detail = self.loyalty.award(ctx.job.customer_id, step.points,
                                            reason=f"{step.reason}: {ctx.playbook.name}",
                                            key=f"playbook:{ctx.job.job_id}")
        return self._loyalty_outcome(result, detail, AWARDED)

    def _coupon(self, ctx: StepContext, step: IssueCoupon) -> StepOutcome:
        if ctx.dry_run:
            return StepOutcome(DRY_RUN, None, f"{ISSUED}: {step.reward}")
        if self.loyalty is None:
            return StepOutcome(SKIPPED, NO_LOYALTY)
        result, detail = self.loyalty.issue_coupon(ctx.job.customer_id, step.reward,
                                                   key=f"playbook:{ctx.job.job_id}",
                                                   at=_utc(ctx.at))
        return self._loyalty_outcome(result, detail, ISSUED)

    @staticmethod
    def _loyalty_outcome(result: str, detail: str | None, done: str) -> StepOutcome:
        if result == "done":
            return StepOutcome(done, None, detail)
        if result == NOT_MEMBER:
            return StepOutcome(SKIPPED, NOT_MEMBER, detail)
        return StepOutcome(FAILED, LOYALTY_REFUSED, detail)

    def _tag(self, ctx: StepContext, step: Tag) -> StepOutcome:
        if ctx.dry_run:
            return StepOutcome(DRY_RUN, None, f"{TAGGED}: {'-' if step.remove else '+'}"
                                              f"{step.tag}")
        changed = self.tags.tag(ctx.job.customer_id, step.tag, remove=step.remove,
                                source=ctx.playbook.name,
                                at=_utc(ctx.at).replace(tzinfo=None))
        return StepOutcome(TAGGED, None, "changed" if changed else "unchanged")

    def _webhook(self, ctx: StepContext, step: CallWebhook) -> StepOutcome:
        if ctx.dry_run:
            return StepOutcome(DRY_RUN, None, f"{CALLED}: {step.url}")
        if self.webhook is None:
            return StepOutcome(FAILED, WEBHOOK_FAILED, "no webhook sender")
        body = json.dumps({
            "event": "playbook_step", "playbook": ctx.playbook.name, "step": step.id,
            "journey_id": ctx.journey.journey_id, "job_id": ctx.job.job_id,
            "customer_id": ctx.job.customer_id, "at": _utc(ctx.at).isoformat(),
            "entry_key": ctx.journey.entry_key}, sort_keys=True).encode()
        ok, detail = self.webhook(step.url, body, ctx.job.job_id)
        return StepOutcome(CALLED, None, detail) if ok else StepOutcome(FAILED, WEBHOOK_FAILED,
                                                                        detail)


def _key_id(kind: str, job_id: str) -> str:
    """A 16-hex id derived from the job (a task's id column is short)."""
    return hashlib.sha256(f"playbook:{kind}:{job_id}".encode()).hexdigest()[:16]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class LoyaltySteps:
    """:class:`Loyalty` over the loyalty service (``service``: a
    :class:`regulars.services.loyalty.LoyaltyService`); the member's id is the customer's."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def award(self, customer_id: str, points: int, *, reason: str,
              key: str) -> tuple[str, str | None]:
        return self._call(lambda: self.service.adjust(customer_id, points, reason=reason,
                                                      actor="playbook", key=key),
                          lambda r: f"{r.points} -> {r.balance_after}")

    def issue_coupon(self, customer_id: str, reward: str, *, key: str,
                     at: datetime) -> tuple[str, str | None]:
        return self._call(lambda: self.service.gift_coupon(customer_id, reward, key=key, at=at),
                          lambda r: r.coupon_code)

    @staticmethod
    def _call(work: Callable[[], Any], detail: Callable[[Any], str | None]
              ) -> tuple[str, str | None]:
        try:
            result = work()
        except (UnknownMemberError, ConsentRequiredError) as e:
            return NOT_MEMBER, str(e)
        except LoyaltyError as e:
            return "refused", str(e)
        return "done", detail(result)
