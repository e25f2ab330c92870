"""The managers' tasks: list, add, done, snooze, reassign, cancel, and the report.

Roles: an admin key sees and changes every task; a manager key bound to a manager
(``regulars keys create --role manager --manager NAME``) sees and closes that manager's
tasks only (another manager's task is 404, asking for another manager's list 403); the other
roles may not. Writes take an ``Idempotency-Key`` as ingest does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from regulars.domain.tasks import (
    MAX_NOTE,
    TaskClosedError,
    TaskError,
    TaskForbiddenError,
    UnknownManagerError,
    UnknownTaskError,
)
from regulars.entrypoints.http.deps import Services, manager_scope, require
from regulars.entrypoints.http.fields import Day, QueryDay
from regulars.entrypoints.http.presenters import caller, status_for
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS, IdempotencyKey
from regulars.entrypoints.http.schemas import Id, Text
from regulars.i18n import _
from regulars.services.api import ApiServices
from regulars.services.api.ingest import request_hash
from regulars.services.api.keys import ApiKey, Permission
from regulars.services.tasks import TaskAnswer, TaskFilter, Tasks

router = APIRouter(prefix="/v1", tags=["tasks"])
Worker = Annotated[ApiKey, require(Permission.WORK_TASKS)]
TaskId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
StateCode = Literal["open", "done", "snoozed", "cancelled"]
OutcomeCode = Literal["reached", "ordered", "promised", "no_answer", "not_interested",
                      "wrong_contact", "do_not_contact"]
ActionCode = Literal["reminder", "call", "call_detractor", "ask_addons", "win_back",
                     "quarterly_call", "review_terms"]
ChannelCode = Literal["phone", "email", "sms", "messenger", "meeting"]  # domain.tasks.CHANNELS
Note = Annotated[Text, Field(max_length=MAX_NOTE)]


class TaskOut(BaseModel):
    task_id: str
    customer_id: str
    name: str | None
    email: str | None
    phone: str | None
    owner: str
    due_on: date
    reason: str
    action: str
    channel: str
    evidence: dict[str, Any]
    money_at_stake: float | None
    state: StateCode = Field(description="As of today: a snoozed task whose day has come is "
                                         "open.")
    snoozed_until: date | None
    overdue: bool
    outcome: str | None
    note: str | None
    source: Literal["manual", "plan"]
    created_at: datetime
    closed_at: datetime | None
    created_by: str | None
    warnings: list[str] | None = Field(
        default=None, description="A task added by hand: what would have held the contact "
                                  "back (it is added all the same).")


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id
    due_on: Day
    action: ActionCode
    owner: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Default: the customer's manager (a manager key: its own).")
    reason: Annotated[Text, Field(min_length=1, max_length=64)] = "manual"
    channel: ChannelCode | None = None
    note: Note | None = None
    evidence: dict[str, Any] | None = None
    money_at_stake: float | None = Field(default=None, ge=0)


class DoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: OutcomeCode
    note: Note | None = None
    by: Annotated[Text, Field(max_length=200)] | None = Field(
        default=None, description="Who made the contact (the audit log); default the key.")


class SnoozeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: Day = Field(description="A day after today (the business's calendar).")


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    owner: Annotated[Text, Field(min_length=1, max_length=200)]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note | None = None


def _tasks(services: ApiServices) -> Tasks:
    if services.tasks is None:
        raise Problem(503, _("tasks are not available on this server"))
    return services.tasks


@contextmanager
def _answers() -> Iterator[None]:
    """The task use cases' refusals as problem documents naming the field."""
    try:
        yield
    except UnknownTaskError as e:
        raise Problem(404, str(e), slug="no-such-task") from e
    except TaskClosedError as e:
        raise Problem(409, str(e), slug="task-closed") from e
    except TaskForbiddenError as e:
        raise Problem(403, str(e)) from e
    except UnknownManagerError as e:
        raise Problem(422, str(e), slug="unknown-manager", errors=[
            {"field": e.field, "message": str(e), "known": e.known}]) from e
    except TaskError as e:
        raise Problem(422, str(e), errors=[{"field": e.field or "body",
                                            "message": str(e)}]) from e


def _answer(done: TaskAnswer, status: int) -> JSONResponse:
    body = dict(done.task)
    if done.warnings:
        body["warnings"] = done.warnings
    return JSONResponse(body, status_code=done.kept_status or (
        status_for(done.outcome) if done.replayed else status))


def _fingerprint(request: Request, body: BaseModel) -> str:
    return request_hash("POST", request.url.path, body.model_dump(mode="json"))


_REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": TaskOut, "description": "Done; or, for a repeated Idempotency-Key, the "
                                           "first answer again."}}


@router.get("/tasks", response_model=list[TaskOut], responses=_PROBLEMS,
            summary="Tasks, by due day")
def list_tasks(key: Worker, services: Services,
               owner: Annotated[str | None, Query(max_length=200)] = None,
               state: StateCode | None = None,
               due_from: QueryDay | None = None, due_to: QueryDay | None = None,
               customer_id: Annotated[str | None, Query(max_length=200)] = None,
               limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> Any:
    """The tasks with the customer's name, e-mail and phone. A manager key sees its own."""
    with _answers():
        return _tasks(services).list(
            TaskFilter(owner=owner, state=state, due_from=due_from,  # type: ignore[arg-type]
                       due_to=due_to, customer_id=customer_id, limit=limit),
            scope=manager_scope(key))


@router.get("/tasks/report", responses=_PROBLEMS, summary="Do the tasks work?")
def task_report(key: Worker, services: Services, since: QueryDay | None = None,
                until: QueryDay | None = None,
                window_days: Annotated[int, Query(ge=1, le=730)] = 90) -> Any:
    """Per manager: tasks done on time and late, open overdue, outcomes, and the revenue of
    the customers contacted in the following ``window_days`` against similar customers nobody
    contacted (same rung, status and money-at-stake band at the time). An observation, not a
    causal claim. A manager key gets its own line only."""
    with _answers():
        return _tasks(services).report(since=since, until=until, window_days=window_days,
                                       scope=manager_scope(key)).to_dict()


@router.post("/tasks", status_code=201, response_model=TaskOut,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Add a task by hand")
def add_task(body: TaskIn, key: Worker, services: Services, request: Request,
             idempotency_key: IdempotencyKey = None) -> Any:
    """Allowed even when the customer asked not to be contacted or gave no consent for the
    channel: ``warnings`` says so."""
    with _answers():
        done = _tasks(services).add(
            customer_id=body.customer_id, due_on=body.due_on, action=body.action,
            owner=body.owner, reason=body.reason, channel=body.channel, note=body.note,
            evidence=body.evidence, money_at_stake=body.money_at_stake, scope=manager_scope(key),
            caller=caller(key, "POST /v1/tasks"), idempotency_key=idempotency_key,
            fingerprint=_fingerprint(request, body))
    return _answer(done, 201)


@router.post("/tasks/{task_id}/done", response_model=TaskOut,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Close a task with its outcome")
def task_done(task_id: TaskId, body: DoneIn, key: Worker, services: Services,
              request: Request, idempotency_key: IdempotencyKey = None) -> Any:
    """The contact is recorded as an outbound interaction in the same transaction;
    ``do_not_contact`` also sets the customer's flag. A closed task answers 409."""
    with _answers():
        done = _tasks(services).done(
            task_id, body.outcome, body.note, body.by or key.name or key.key_id,
            scope=manager_scope(key), caller=caller(key, "POST /v1/tasks/{id}/done"),
            idempotency_key=idempotency_key, fingerprint=_fingerprint(request, body))
    return _answer(done, 200)


@router.post("/tasks/{task_id}/snooze", response_model=TaskOut,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Put a task off to a later day")
def task_snooze(task_id: TaskId, body: SnoozeIn, key: Worker, services: Services,
                request: Request, idempotency_key: IdempotencyKey = None) -> Any:
    with _answers():
        done = _tasks(services).snooze(
            task_id, body.until, scope=manager_scope(key),
            caller=caller(key, "POST /v1/tasks/{id}/snooze"),
            idempotency_key=idempotency_key, fingerprint=_fingerprint(request, body))
    return _answer(done, 200)


@router.post("/tasks/{task_id}/reassign", response_model=TaskOut,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Hand a task to another manager")
def task_reassign(task_id: TaskId, body: ReassignIn, key: Worker, services: Services,
                  request: Request, idempotency_key: IdempotencyKey = None) -> Any:
    """An unknown manager is refused with the list of known ones."""
    with _answers():
        done = _tasks(services).reassign(
            task_id, body.owner, scope=manager_scope(key),
            caller=caller(key, "POST /v1/tasks/{id}/reassign"),
            idempotency_key=idempotency_key, fingerprint=_fingerprint(request, body))
    return _answer(done, 200)


@router.post("/tasks/{task_id}/cancel", response_model=TaskOut,
             responses={**_PROBLEMS, **_REPLAYED}, summary="Cancel a task")
def task_cancel(task_id: TaskId, body: CancelIn, key: Worker, services: Services,
                request: Request, idempotency_key: IdempotencyKey = None) -> Any:
    with _answers():
        done = _tasks(services).cancel(
            task_id, body.note, scope=manager_scope(key),
            caller=caller(key, "POST /v1/tasks/{id}/cancel"),
            idempotency_key=idempotency_key, fingerprint=_fingerprint(request, body))
    return _answer(done, 200)
