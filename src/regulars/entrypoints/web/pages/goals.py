"""``/goals``: the owner's goals on the portfolio (issue 21). Each goal with its latest reading,
how much of the way is covered and whether it is on track, a small chart of its readings
against the straight path to the target; a form to set one; a button to retire one and one to
record the readings now.

Targets are in the metric's unit, shares in percent (35 = 35 %), as in the CLI and the API.
The dashboard shows the same goals in a block of its own (:func:`goal_rows`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from regulars.domain.goals import (
    DEFINITIONS,
    METRICS,
    SEGMENT_METRICS,
    SEGMENTS,
    UNITS,
    GoalError,
    expected_on,
)
from regulars.entrypoints.goal_words import (
    goal_title,
    metric_label,
    metric_name,
    segment_name,
    state_name,
    value_text,
)
from regulars.entrypoints.http.routers.goals import goals_of
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Owner
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import flash
from regulars.i18n import N_, _, fmt_date, fmt_percent
from regulars.services.audit import Caller
from regulars.services.goals import GoalNotFoundError, TrackedGoal
from regulars.services.users import Role

router = APIRouter()
# right after the dashboard, whose goals block it details
nav.add(nav.NavItem(N_("Goals"), "/goals", {Role.OWNER}, order=15))


@dataclass(frozen=True)
class GoalRow:
    """One goal as the page and the dashboard show it."""

    goal_id: str
    title: str
    metric: str
    baseline: str
    target: str
    due: str
    now: str
    as_of: str
    covered: str
    covered_share: float  # 0-1, for the bar
    state: str
    state_code: str
    note: str | None
    chart: Markup
    retired: bool


_W, _H, _PAD = 220, 60, 4


def sparkline(t: TrackedGoal, label: str) -> Markup:
    """The readings (a line with dots) against the straight path (dashed) and the target (a
    thin line), in a small SVG; empty without two points to draw. Only numbers and the
    escaped ``label`` go into it."""
    g = t.goal
    points = [(r.as_of, r.value) for r in t.readings if r.value is not None]
    if not points:
        return Markup("")
    start = min(g.starts_on, points[0][0])
    end = max(g.due_on, points[-1][0])
    path = [(d, expected_on(g, d)) for d in (g.starts_on, g.due_on)]
    values = [v for _d, v in points] + [g.target] + [v for _d, v in path if v is not None]
    low, high = min(values), max(values)
    span_v = (high - low) or 1.0
    span_d = (end - start).days or 1

    def xy(d: date, v: float) -> str:
        x = _PAD + (_W - 2 * _PAD) * (d - start).days / span_d
        y = _H - _PAD - (_H - 2 * _PAD) * (v - low) / span_v
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg class="goal-chart" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
             f'role="img" aria-label="{escape(label)}">']
    ty = xy(start, g.target).split(",")[1]
    parts.append(f'<line class="goal-target" x1="{_PAD}" x2="{_W - _PAD}" y1="{ty}" '
                 f'y2="{ty}"/>')
    if all(v is not None for _d, v in path):
        a, b = ((d, v) for d, v in path if v is not None)
        parts.append(f'<polyline class="goal-path" points="{xy(*a)} {xy(*b)}"/>')
    parts.append('<polyline class="goal-line" points="'
                 + " ".join(xy(d, v) for d, v in points) + '"/>')
    for d, v in points:
        x, y = xy(d, v).split(",")
        parts.append(f'<circle class="goal-dot" cx="{x}" cy="{y}" r="2.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def goal_rows(goals: list[TrackedGoal], currency: str | None) -> list[GoalRow]:
    rows = []
    for t in goals:
        g, p = t.goal, t.progress
        code = p.state if p is not None else "no_data"
        title = goal_title(g, currency)
        covered = p.covered if p is not None else None
        rows.append(GoalRow(
            goal_id=g.goal_id, title=title, metric=metric_label(g),
            baseline=value_text(g.metric, g.baseline, currency),
            target=value_text(g.metric, g.target, currency), due=fmt_date(g.due_on),
            now=value_text(g.metric, p.value if p is not None else None, currency),
            as_of=fmt_date(p.as_of) if p is not None else "—",
            covered=fmt_percent(covered, 0) if covered is not None else "—",
            covered_share=min(max(covered or 0.0, 0.0), 1.0),
            state=_("retired") if t.retired_at is not None else state_name(code),
            state_code="retired" if t.retired_at is not None else code,
            note=g.note, chart=sparkline(t, _("Readings of {title}").format(title=title)),
            retired=t.retired_at is not None))
    return rows


def _options() -> dict[str, Any]:
    return {
        "metric_options": [(m, metric_name(m)) for m in METRICS],
        "segment_options": [(s, segment_name(s)) for s in SEGMENTS],
        "definitions": [(metric_name(m), _(DEFINITIONS[m])) for m in METRICS],
        "segment_metrics": ", ".join(metric_name(m) for m in SEGMENT_METRICS),
        "units": {m: UNITS[m] for m in METRICS},
    }


def _show(request: Request, *, values: Mapping[str, str] | None = None,
          errors: Mapping[str, str] | None = None, status: int = 200,
          retired: bool = False) -> HTMLResponse:
    goals = goals_of(request)
    currency = request.app.state.settings.currency
    found = goals.list(retired=retired)
    today = goals.today()
    context = {
        "rows": goal_rows(found, currency), "show_retired": retired,
        "recording": goals.tracking(),
        "values": {"due_on": date(today.year, 12, 31).isoformat()
                   if today < date(today.year, 12, 1) else
                   date(today.year + 1, 12, 31).isoformat(), **(values or {})},
        "errors": errors or {}, "today": today, **_options(),
    }
    return page(request, "goals.html", context, status=status)


@router.get("/goals", response_class=HTMLResponse)
def goals_page(request: Request, user: Owner) -> Response:
    return _show(request, retired=request.query_params.get("retired") == "1")


def _number(text: str) -> float:
    return float(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))


def _set(request: Request, form: Mapping[str, str], who: Caller) -> Response:
    values = {k: str(form.get(k) or "").strip() for k in
              ("metric", "segment", "target", "starts_on", "due_on", "note")}
    errors: dict[str, str] = {}
    target = due = start = None
    try:
        target = _number(values["target"])
    except ValueError:
        errors["target"] = _("a number, e.g. 35 or 48.50")
    for name in ("due_on", "starts_on"):
        if not values[name] and name == "starts_on":
            continue
        try:
            day = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = _("a date YYYY-MM-DD")
            continue
        if name == "due_on":
            due = day
        else:
            start = day
    if not errors:
        assert target is not None and due is not None
        try:
            made = goals_of(request).set(
                values["metric"], target, due_on=due, starts_on=start,
                segment=values["segment"] or None, note=values["note"] or None, caller=who)
        except GoalError as e:
            errors[e.field] = str(e)
        else:
            flash(request, _("Goal set: {title}.").format(
                title=goal_title(made.goal, request.app.state.settings.currency)), "success")
            return RedirectResponse("/goals", status_code=303)
    return _show(request, values=values, errors=errors, status=422)


@router.post("/goals", response_class=HTMLResponse)
async def set_goal(request: Request, user: Owner) -> Response:
    form = await request.form()
    return await run_in_threadpool(
        _set, request, {k: str(v) for k, v in form.items()},
        Caller.web(user.login, user.name, action="POST /goals"))


def _retire(request: Request, goal_id: str, who: Caller) -> Response:
    try:
        t = goals_of(request).retire(goal_id, caller=who)
    except GoalNotFoundError as e:
        raise HTTPException(404) from e
    flash(request, _("Goal retired: {title}.").format(
        title=goal_title(t.goal, request.app.state.settings.currency)), "success")
    return RedirectResponse("/goals", status_code=303)


@router.post("/goals/{goal_id}/retire", response_class=HTMLResponse)
async def retire_goal(request: Request, user: Owner, goal_id: str) -> Response:
    return await run_in_threadpool(
        _retire, request, goal_id,
        Caller.web(user.login, user.name, action="POST /goals/{id}/retire"))


@router.post("/goals/track", response_class=HTMLResponse)
def track_goals(request: Request, user: Owner) -> Response:
    # a customer map per month's end: minutes on a large store, so in the background (the
    # page says so while it runs; the CLI's `regulars goals track` waits for it instead)
    _run, started = goals_of(request).start_tracking()
    flash(request, _("The readings are being recorded from the order history; they show "
                     "here when done (reload the page in a while).") if started else
          _("The readings are already being recorded; they show here when done."), "success")
    return RedirectResponse("/goals", status_code=303)
