"""``/maturity``: article 001's maturity self-assessment (DOMAIN §10) for the owner.

- ``GET /maturity``: the latest assessment's result (the level per parameter as a chart and a
  table, the overall stage, the gaps, at most three next steps linking to the product's
  features, the comparison with the assessment before it) and the list of past assessments.
- ``GET /maturity/{assessment_id}``: one past assessment, compared with the one before it.
- ``GET|POST /maturity/questions/{parameter}``: the questionnaire, one screen per parameter:
  the five descriptions of the article's table as radio buttons, the data's suggestion with
  its evidence preselected; Back, Next and, on the last screen, See the result (which saves).
- ``GET /maturity/questions``: the first unanswered screen; ``POST /maturity/restart``: a new,
  empty draft.

The answers given so far are kept in the session (:data:`DRAFT`: sixteen small numbers in
the signed cookie), so going back, reloading or leaving and coming back loses nothing until
the assessment is saved or started over. Plain forms with a 303 after each POST: it works
without scripts, and the base layout's ``hx-boost`` makes it a swap with them.

Who: the owner only (``Owner``). The assessment judges how the business is run — the team,
the managers' motivation and effectiveness among it — so it is the owner's; a manager or
marketer gets the 403 page, as for the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from regulars.domain.maturity import LEVELS, PARAMETERS, evidence_text
from regulars.entrypoints.web import nav
from regulars.entrypoints.web.auth import Owner
from regulars.entrypoints.web.maturity_chart import ProfileRow, profile_chart
from regulars.entrypoints.web.pages import maturity_source as source
from regulars.entrypoints.web.rendering import page
from regulars.entrypoints.web.sessions import flash
from regulars.i18n import N_, _, ngettext
from regulars.services.maturity import Assessment
from regulars.services.users import Role, User

router = APIRouter()
nav.add(nav.NavItem(N_("Maturity"), "/maturity", {Role.OWNER}, order=70))

#: the session's key of the questionnaire's draft: ``{parameter: level}``
DRAFT = "maturity"
CHANGE_NAMES = {"up": N_("up"), "down": N_("down"), "same": N_("same"),
                "new": N_("not assessed before")}
AssessmentId = Annotated[str, Path(max_length=64)]


def _draft(request: Request) -> dict[str, int]:
    """The answers given so far (what the session holds, checked: a bad value is dropped)."""
    raw = request.session.get(DRAFT)
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items()
            if k in PARAMETERS and isinstance(v, int) and v in LEVELS}


def _keep(request: Request, answers: dict[str, int]) -> None:
    request.session[DRAFT] = dict(answers)


def _level_names() -> dict[int, str]:
    return {level: source.level_name(level) for level in LEVELS}


@dataclass(frozen=True)
class Choice:
    level: int
    name: str
    text: str


@dataclass(frozen=True)
class Question:
    """One screen: the parameter, its place, its five choices, what is chosen."""

    key: str
    label: str
    number: int
    total: int
    choices: list[Choice]
    chosen: int | None
    suggestion: source.Suggested | None
    previous: str | None
    next: str | None
    answered: int
    level_names: dict[int, str]
    last: tuple[datetime, int] | None  # the latest assessment's date and answer here


def _question(request: Request, key: str, chosen: int | None = None) -> Question:
    answers = _draft(request)
    i = PARAMETERS.index(key)
    suggestion = source.suggestions(request).get(key)
    if chosen is None:
        chosen = answers.get(key, suggestion.level if suggestion is not None else None)
    names = _level_names()
    kept = source.latest(request)
    last = ((kept.taken_at, kept.answers[key].level)
            if kept is not None and key in kept.answers else None)
    return Question(
        key=key, label=source.parameter_label(key), number=i + 1, total=len(PARAMETERS),
        choices=[Choice(level, names[level], source.cell(key, level)) for level in LEVELS],
        chosen=chosen, suggestion=suggestion,
        previous=PARAMETERS[i - 1] if i > 0 else None,
        next=PARAMETERS[i + 1] if i + 1 < len(PARAMETERS) else None,
        answered=len(answers), level_names=names, last=last)


def _known(parameter: str) -> str:
    if parameter not in PARAMETERS:
        raise HTTPException(404)
    return parameter


# -- the questionnaire -----------------------------------------------------------------------


@router.get("/maturity/questions", response_class=HTMLResponse)
def first_open(request: Request, user: Owner) -> Response:
    answers = _draft(request)
    key = next((p for p in PARAMETERS if p not in answers), PARAMETERS[-1])
    return RedirectResponse(f"/maturity/questions/{key}", status_code=303)


@router.post("/maturity/restart", response_class=HTMLResponse)
def restart(request: Request, user: Owner) -> Response:
    _keep(request, {})
    return RedirectResponse(f"/maturity/questions/{PARAMETERS[0]}", status_code=303)


@router.get("/maturity/questions/{parameter}", response_class=HTMLResponse)
def question(request: Request, user: Owner, parameter: str) -> Response:
    q = _question(request, _known(parameter))
    return page(request, "maturity/question.html", {"q": q, "error": ""})


@router.post("/maturity/questions/{parameter}", response_class=HTMLResponse)
async def answer(request: Request, user: Owner, parameter: str,
                 level: Annotated[str, Form()] = "",
                 go: Annotated[str, Form()] = "next") -> Response:
    key = _known(parameter)
    chosen = int(level) if level.strip().isdigit() and int(level) in LEVELS else None
    if chosen is None and (go != "back" or level.strip()):
        error = (_("Choose one of the five descriptions.") if not level.strip() else
                 _("The level must be 1, 2, 3, 4 or 5, not {given}.").format(given=level[:20]))
        q = await run_in_threadpool(_question, request, key)
        return page(request, "maturity/question.html", {"q": q, "error": error}, status=422)
    answers = _draft(request)
    if chosen is not None:
        answers[key] = chosen
        _keep(request, answers)
    i = PARAMETERS.index(key)
    if go == "back":
        return RedirectResponse(f"/maturity/questions/{PARAMETERS[max(i - 1, 0)]}",
                                status_code=303)
    if go != "finish" and i + 1 < len(PARAMETERS):
        return RedirectResponse(f"/maturity/questions/{PARAMETERS[i + 1]}", status_code=303)
    missing = [p for p in PARAMETERS if p not in answers]
    if missing:
        flash(request, ngettext("{n} parameter is not answered yet.",
                                "{n} parameters are not answered yet.",
                                len(missing)).format(n=len(missing)), "error")
        return RedirectResponse(f"/maturity/questions/{missing[0]}", status_code=303)
    saved = await run_in_threadpool(source.save, request, user, answers)
    _keep(request, {})
    flash(request, _("The assessment is saved."), "success")
    return RedirectResponse(f"/maturity/{saved}", status_code=303)


# -- the result ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    level: int
    previous: int | None
    change: str
    suggested: int | None
    evidence: list[str]


@dataclass(frozen=True)
class Result:
    assessment: Assessment
    previous: Assessment | None
    rows: list[Row]
    counts: dict[str, int]
    gaps: list[str]
    steps: list[source.Step]
    chart: Markup


def _change(level: int, before: int | None) -> str:
    if before is None:
        return "new"
    return "up" if level > before else "down" if level < before else "same"


def result_of(request: Request, assessment: Assessment,
              previous: Assessment | None) -> Result:
    levels = assessment.levels
    before = previous.levels if previous is not None else {}
    rows = [Row(key=p, label=source.parameter_label(p), level=levels[p],
                previous=before.get(p), change=_change(levels[p], before.get(p)),
                suggested=assessment.answers[p].suggested_level,
                evidence=[evidence_text(e) for e in assessment.answers[p].evidence])
            for p in PARAMETERS if p in levels]
    counts = {c: sum(r.change == c for r in rows) for c in CHANGE_NAMES}
    names = _level_names()
    chart = profile_chart(
        "maturity-profile", _("The maturity profile"),
        _("The level of each of the sixteen parameters, from 1 ({low}) to 5 ({high}).").format(
            low=names[1], high=names[5]),
        [ProfileRow(r.label, r.level, r.previous) for r in rows],
        [names[level] for level in LEVELS],
        previous_label=_("the previous assessment") if previous is not None else "")
    report = source.report(levels)
    return Result(assessment=assessment, previous=previous, rows=rows, counts=counts,
                  gaps=report.gaps, steps=report.steps, chart=Markup(chart))


def _overview(request: Request, user: User, assessment_id: str | None) -> Response:
    shown = source.with_previous(request, assessment_id)
    result = result_of(request, *shown) if shown is not None else None
    return page(request, "maturity/result.html", {
        "result": result, "history": source.history(request), "level_names": _level_names(),
        "change_names": {k: _(v) for k, v in CHANGE_NAMES.items()},
        "draft_answered": len(_draft(request)), "total": len(PARAMETERS)})


@router.get("/maturity", response_class=HTMLResponse)
def overview(request: Request, user: Owner) -> Response:
    return _overview(request, user, None)


@router.get("/maturity/{assessment_id}", response_class=HTMLResponse)
def past(request: Request, user: Owner, assessment_id: AssessmentId) -> Response:
    return _overview(request, user, assessment_id)
