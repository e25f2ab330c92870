"""The business's goals on its portfolio (issue 21): list, set, retire, their readings, and
recording the readings.

Roles: a key that may read the portfolio reads the goals (admin, manager, readonly); only an
admin key sets, retires or tracks them. ``POST /v1/goals`` takes an ``Idempotency-Key`` as
ingest does: a retry with the same key and body answers the goal set the first time, another
body under the key is refused (409). Targets are in the metric's unit, shares in percent
(35 = 35 %), as on the page and in the CLI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from regulars import bootstrap
from regulars.domain.goals import GoalError
from regulars.entrypoints.http.deps import Services, require
from regulars.entrypoints.http.fields import Day
from regulars.entrypoints.http.presenters import caller
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS, IdempotencyKey
from regulars.entrypoints.http.schemas import Moment, Text
from regulars.i18n import _
from regulars.services.api.ingest import request_hash
from regulars.services.api.keys import ApiKey, Permission
from regulars.services.api.ports import DuplicateError
from regulars.services.goals import GoalNotFoundError, Goals, TrackRun, as_dict

router = APIRouter(prefix="/v1", tags=["goals"])
Reader = Annotated[ApiKey, require(Permission.READ_PORTFOLIO)]
Admin = Annotated[ApiKey, require(Permission.ADMIN)]
GoalId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
MetricCode = Literal["share_of_regulars", "revenue_share_of_regulars", "order_frequency",
                     "average_order", "regulars_tenure", "loyalty_efficiency", "rotation"]
SegmentCode = Literal["newcomer", "returning", "regular", "loyal", "advocate"]
StateCode = Literal["achieved", "on_track", "behind", "missed", "no_data"]


class ReadingOut(BaseModel):
    as_of: date
    value: float | None = Field(description="None: the metric had no value that day.")


class ProgressOut(BaseModel):
    as_of: date
    value: float | None
    covered: float | None = Field(description="The share of the way from the baseline to the "
                                              "target covered (0-1; below 0: went back).")
    expected: float | None = Field(description="Where the straight path from the baseline at "
                                               "the start to the target at the due date is.")
    state: StateCode


class GoalOut(BaseModel):
    goal_id: str
    metric: MetricCode
    segment: SegmentCode | None
    target: float
    baseline: float | None
    starts_on: date
    due_on: date
    note: str | None
    created_at: str
    created_by: str | None
    retired_at: str | None
    progress: ProgressOut | None
    readings: list[ReadingOut]


class GoalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: MetricCode
    target: float = Field(description="In the metric's unit: shares in percent (0-100).")
    due_on: Day
    starts_on: Day | None = Field(default=None, description="Default: the day the data "
                                                            "describes.")
    segment: SegmentCode | None = Field(
        default=None, description="A rung of the ladder; for order_frequency, average_order "
                                  "and regulars_tenure.")
    baseline: float | None = Field(default=None, description="Default: the metric at the "
                                                              "start, read from the store.")
    note: Annotated[Text, Field(max_length=2000)] | None = None


class TrackOut(BaseModel):
    """The latest recording of readings this server process started in the background."""

    running: bool = Field(description="Still recording.")
    started_at: Moment | None = Field(default=None, description="None: none started yet.")
    again: bool = Field(default=False, description="Reading every date anew.")
    finished_at: Moment | None = None
    readings_written: int | None = Field(default=None, description="Once ended.")
    failed: bool = Field(default=False, description="It ended in an error (in the server's "
                                                    "log); the readings it had not written "
                                                    "are recorded by the next run.")


def _track_out(run: TrackRun | None) -> TrackOut:
    if run is None:
        return TrackOut(running=False)
    return TrackOut.model_validate(run, from_attributes=True)


def goals_of(request: Request) -> Goals:
    """The app's goals, made on first use."""
    state = request.app.state
    found: Goals | None = getattr(state, "goals", None)
    if found is None:
        found = bootstrap.open_goals(state.settings, services=state.services)
        state.goals = found
    return found


@contextmanager
def _answers() -> Iterator[None]:
    try:
        yield
    except GoalNotFoundError as e:
        raise Problem(404, _("no goal {id}").format(id=str(e.args[0])),
                      slug="no-such-goal") from e
    except GoalError as e:
        raise Problem(422, str(e), errors=[{"field": e.field, "message": str(e)}]) from e


@router.get("/goals", response_model=list[GoalOut], responses=_PROBLEMS,
            summary="The goals, with their readings and progress")
def list_goals(key: Reader, request: Request,
               retired: Annotated[bool, Query(description="Retired goals too.")] = False
               ) -> Any:
    return [as_dict(t) for t in goals_of(request).list(retired=retired)]


@router.get("/goals/track", response_model=TrackOut, responses=_PROBLEMS,
            summary="The latest recording of readings: running, or what it wrote")
def track_status(key: Reader, request: Request) -> Any:
    """Kept by the server process that started it (with ``regulars serve --workers N``, ask
    again if the answer says none was started: another process may have it)."""
    return _track_out(goals_of(request).last_run())


@router.get("/goals/{goal_id}", response_model=GoalOut, responses=_PROBLEMS,
            summary="One goal")
def get_goal(goal_id: GoalId, key: Reader, request: Request) -> Any:
    with _answers():
        return as_dict(goals_of(request).get(goal_id))


@router.get("/goals/{goal_id}/readings", response_model=list[ReadingOut], responses=_PROBLEMS,
            summary="A goal's readings, oldest first")
def goal_readings(goal_id: GoalId, key: Reader, request: Request) -> Any:
    with _answers():
        return as_dict(goals_of(request).get(goal_id))["readings"]


@router.post("/goals", status_code=201, response_model=GoalOut,
             responses={**_PROBLEMS, 200: {"model": GoalOut, "description":
                                           "A repeated Idempotency-Key: the goal set then."}},
             summary="Set a goal")
def set_goal(body: GoalIn, key: Admin, services: Services, request: Request,
             idempotency_key: IdempotencyKey = None) -> Any:
    """The baseline, unless given, is the metric's value at the start, read from the store
    (seconds on a large store). A target out of the metric's range, a segment the metric does
    not take, or a due date not after the start: 422 naming the field."""
    goals = goals_of(request)
    fingerprint = request_hash("POST", request.url.path, body.model_dump(mode="json"))
    goal_id = None
    if idempotency_key:
        with services.store.begin() as tx:
            kept = tx.get_response(key.key_id, idempotency_key)
        if kept is not None and kept.request_hash != fingerprint:
            raise Problem(409, _("Idempotency-Key {key!r} was used with another request")
                          .format(key=idempotency_key), slug="idempotency-conflict")
        # the goal's id follows from the key: a concurrent twin cannot set a second goal
        goal_id = hashlib.sha256(f"{key.key_id}\0{idempotency_key}".encode()).hexdigest()[:12]
        if kept is not None or goals.store.goal_row(goal_id) is not None:
            with _answers():
                return JSONResponse(as_dict(goals.get(goal_id)), status_code=200)
    with _answers():
        try:
            made = goals.set(body.metric, body.target, due_on=body.due_on,
                             starts_on=body.starts_on, segment=body.segment,
                             baseline=body.baseline, note=body.note, goal_id=goal_id,
                             caller=caller(key, "POST /v1/goals"))
        except GoalError:
            raise
        except Exception:
            if goal_id is not None and goals.store.goal_row(goal_id) is not None:
                return JSONResponse(as_dict(goals.get(goal_id)), status_code=200)
            raise
    answer = as_dict(made)
    if idempotency_key:
        with services.store.begin() as tx:
            try:
                tx.keep_response(key.key_id, idempotency_key, fingerprint, 201,
                                 json.dumps(answer))
                tx.commit()
            except DuplicateError:  # a twin kept it first: the same goal
                pass
    return JSONResponse(answer, status_code=201)


@router.post("/goals/{goal_id}/retire", response_model=GoalOut, responses=_PROBLEMS,
             summary="Stop pursuing a goal")
def retire_goal(goal_id: GoalId, key: Admin, request: Request) -> Any:
    """The goal is kept with its readings (``GET /v1/goals?retired=true``); retiring it
    again changes nothing."""
    with _answers():
        return as_dict(goals_of(request).retire(
            goal_id, caller=caller(key, "POST /v1/goals/{id}/retire")))


@router.post("/goals/track", response_model=TrackOut, status_code=202, responses=_PROBLEMS,
             summary="Record the goals' readings still missing, in the background")
def track_goals(key: Admin, request: Request, response: Response,
                again: Annotated[bool, Query(description="Read every date anew.")] = False
                ) -> Any:
    """The start, every month's end and today, from the store's order history (one customer
    map per date for every goal): seconds to minutes on a large store, so it runs in the
    background and the answer is 202 at once; ``GET /v1/goals/track`` says when it has ended
    and how many readings it wrote. While one recording runs, another is not started: the
    answer describes the one running."""
    run, _started = goals_of(request).start_tracking(again=again)
    response.headers["Location"] = "/v1/goals/track"
    return _track_out(run)
