"""``/worklist``: a manager's day — their open tasks by bucket with a one-click outcome, a
snooze and a note; and the worklist's suggestions not yet planned as tasks.

A manager sees their own list (``?manager=`` naming another is the 404 page); the owner
picks any manager. Every change goes through the tasks service (``Tasks.done``,
``Tasks.snooze``: the rules and the audit entry of ``POST /v1/tasks/{id}/done|snooze``), the
caller being the signed-in person (``web:<login>``), scoped to the manager's own tasks for a
manager (another's task: 404). With htmx the row is replaced in place; without scripts the
form posts and the page comes back (303) with a message.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from regulars import api, bootstrap
from regulars.domain import worklist as wl
from regulars.domain.tasks import (
    CHANNEL_NAMES,
    OUTCOME_NAMES,
    Outcome,
    TaskClosedError,
    TaskError,
    UnknownTaskError,
)
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Manager
from regulars.entrypoints.web.nav import NavItem
from regulars.entrypoints.web.rendering import is_fragment, page, render
from regulars.entrypoints.web.sessions import flash
from regulars.i18n import N_, _, fmt_date
from regulars.services.api import ApiServices
from regulars.services.audit import Caller
from regulars.services.manager_day import DayRow, ManagerDay, ManagerDays
from regulars.services.users import Role, User

router = APIRouter()
nav.add(NavItem(N_("Worklist"), "/worklist", {Role.MANAGER, Role.OWNER}, order=20))
nav.LANDING[Role.MANAGER] = "/worklist"

BUCKET_NAMES = {"overdue": N_("Overdue"), "today": N_("Today"), "week": N_("This week")}
TaskId = Annotated[str, Path(max_length=200)]
_LOCK = threading.Lock()


def manager_days(request: Request) -> ManagerDays:
    """The app's reader of managers' days (made on first use; it keeps the worklist's
    suggestions per map)."""
    state = request.app.state
    with _LOCK:
        found: ManagerDays | None = getattr(state, "manager_days", None)
        if found is None:
            settings = state.settings
            services: ApiServices = state.services
            found = bootstrap.manager_days(settings, services, suggestions=lambda: api.worklist(
                settings, store=services.store, words="en"))
            services.closers.append(found.close)  # its build ends before the store closes
            state.manager_days = found
        return found


def snooze_days(today: date) -> dict[str, date]:
    """What the snooze buttons mean on ``today``: tomorrow, and the Monday of next week."""
    return {"tomorrow": today + timedelta(days=1),
            "next_week": today + timedelta(days=7 - today.weekday())}


def _scope(user: User) -> str | None:
    """The manager whose tasks the user may change (None: the owner, any)."""
    return (user.manager or "") if user.role is Role.MANAGER else None


def _whose(request: Request, user: User, asked: str | None) -> tuple[str | None, list[str]]:
    """The manager whose day is shown, and the managers the owner may pick from."""
    if user.role is Role.MANAGER:
        own = user.manager or ""
        if asked is not None and asked != own:
            raise HTTPException(404)  # another manager's list is not there for them
        return own, []
    known = manager_days(request).known_managers()
    if asked is not None and asked not in known:
        raise HTTPException(404)
    return (asked if asked is not None else (known[0] if known else None)), known


def _context(request: Request, day: ManagerDay | None, known: list[str],
             errors: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"day": day, "managers": known, "errors": errors or {},
            "currency": settings.currency, "bucket_names": BUCKET_NAMES,
            "outcomes": [(o.value, OUTCOME_NAMES[o]) for o in Outcome],
            "action_names": wl.ACTION_NAMES, "channel_names": CHANNEL_NAMES,
            "snooze": snooze_days(day.today) if day is not None else {},
            "reason_of": lambda row: row.reason_text(settings.currency)}


def _back(manager: str | None, user: User) -> str:
    if user.role is Role.MANAGER or not manager:
        return "/worklist"
    return "/worklist?manager=" + quote(manager)


@router.get("/worklist", response_class=HTMLResponse)
def worklist(request: Request, user: Manager,
             manager: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    whose, known = _whose(request, user, manager)
    day = manager_days(request).day(whose) if whose is not None else None
    return page(request, "worklist/page.html", _context(request, day, known))


def _row(request: Request, manager: str, task_id: str) -> tuple[ManagerDay, DayRow | None]:
    day = manager_days(request).day(manager, suggestions=False)
    return day, next((r for r in day.tasks if r.task_id == task_id), None)


def _refused(request: Request, user: User, manager: str, task_id: str, error: TaskError
             ) -> Response:
    """The form again with the message next to its field (422): the row for htmx, the
    page without scripts; a closed task (409) says so in its place."""
    status = 409 if isinstance(error, TaskClosedError) else 422
    field = error.field or "form"
    if is_fragment(request):
        day, row = _row(request, manager, task_id)
        extra = _context(request, day, [], {task_id: {"field": field, "message": str(error)}})
        if row is None:
            return HTMLResponse(render(request, "worklist/_gone.html",
                                       {**extra, "task_id": task_id, "message": str(error)}),
                                status_code=status)
        return HTMLResponse(render(request, "worklist/_row.html", {**extra, "row": row}),
                            status_code=status)
    whose, known = _whose(request, user, manager if user.role is Role.OWNER else None)
    shown = manager_days(request).day(whose) if whose is not None else None
    errors = {task_id: {"field": field, "message": str(error)}}
    if shown is None or not any(r.task_id == task_id for r in shown.tasks):
        flash(request, str(error), "error")  # not on the list (closed, or not due this week)
        return RedirectResponse(_back(manager, user), status_code=303)
    return page(request, "worklist/page.html", _context(request, shown, known, errors),
                status=status)


def _owner_of(user: User, manager: str) -> str:
    """The manager whose list the form came from: a manager's own; the owner's choice."""
    return (user.manager or "") if user.role is Role.MANAGER else manager


@router.post("/worklist/tasks/{task_id}/done", response_class=HTMLResponse)
async def task_done(request: Request, user: Manager, task_id: TaskId,
                    outcome: Annotated[str, Form()] = "",
                    note: Annotated[str, Form()] = "",
                    manager: Annotated[str, Form()] = "") -> Response:
    whose = _owner_of(user, manager)
    tasks = manager_days(request).tasks
    try:
        done = await run_in_threadpool(
            lambda: tasks.done(task_id, outcome, note or None, user.login, scope=_scope(user),
                               caller=Caller.web(user.login, user.name, action=(
                                   "POST /worklist/tasks/{id}/done"))))
    except UnknownTaskError:
        raise HTTPException(404) from None
    except TaskError as e:
        return await run_in_threadpool(_refused, request, user, whose, task_id, e)
    name = done.task.get("name") or done.task["customer_id"]
    message = _("{name}: done, {outcome}.").format(
        name=name, outcome=_(OUTCOME_NAMES[Outcome(done.task["outcome"])]))
    if is_fragment(request):
        return HTMLResponse(render(request, "worklist/_gone.html", {
            "task_id": task_id, "message": message, "kind": "success"}))
    flash(request, message, "success")
    return RedirectResponse(_back(whose, user), status_code=303)


@router.post("/worklist/tasks/{task_id}/snooze", response_class=HTMLResponse)
async def task_snooze(request: Request, user: Manager, task_id: TaskId,
                      when: Annotated[str, Form()] = "",
                      until: Annotated[str, Form()] = "",
                      manager: Annotated[str, Form()] = "") -> Response:
    whose = _owner_of(user, manager)
    days = manager_days(request)
    choices = snooze_days(days.today(whose))
    try:
        if when in choices:
            day = choices[when]
        else:  # "date", or Enter in the date field
            try:
                day = date.fromisoformat(until.strip())
            except ValueError:
                raise TaskError(_("Give the day to snooze to."), field="until") from None
        answer = await run_in_threadpool(
            lambda: days.tasks.snooze(task_id, day, scope=_scope(user), caller=Caller.web(
                user.login, user.name, action="POST /worklist/tasks/{id}/snooze")))
    except UnknownTaskError:
        raise HTTPException(404) from None
    except TaskError as e:
        return await run_in_threadpool(_refused, request, user, whose, task_id, e)
    name = answer.task.get("name") or answer.task["customer_id"]
    message = _("{name}: snoozed to {day}.").format(name=name, day=fmt_date(day))
    if is_fragment(request):
        return HTMLResponse(render(request, "worklist/_gone.html", {
            "task_id": task_id, "message": message, "kind": "success"}))
    flash(request, message, "success")
    return RedirectResponse(_back(whose, user), status_code=303)
