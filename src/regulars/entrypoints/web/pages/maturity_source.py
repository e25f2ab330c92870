"""What the maturity page reads and writes, in one place: the questionnaire's words
(:mod:`regulars.domain.maturity`), the data's suggestions, the scoring and the kept
assessments (:class:`regulars.services.maturity.Maturity`, one per app, on the server's own
store, made on first use).

The data's suggestions are read once and kept for :data:`SUGGESTIONS_TTL` seconds: sixteen
screens in ten minutes ask for them sixteen times, and the facts are one pass over the store.
The suggestions saved with an assessment are the ones its screens showed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from fastapi import HTTPException, Request

from regulars import bootstrap
from regulars.domain import maturity as m
from regulars.domain.maturity import Suggestion
from regulars.entrypoints.http.language import language_of
from regulars.i18n import _
from regulars.services.maturity import Assessment, Maturity
from regulars.services.users import User

#: how long the data's suggestions are kept (seconds)
SUGGESTIONS_TTL = 300.0
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Suggested:
    """What the data suggests for one parameter, and why (sentences in the reader's
    language)."""

    level: int
    evidence: list[str]


@dataclass(frozen=True)
class Link:
    """A product feature that serves a step: its name, and its page or else its command."""

    label: str
    href: str | None
    command: str | None


@dataclass(frozen=True)
class Step:
    """A next step: what to do, the parameters it lifts, the features that serve it."""

    text: str
    lifts: list[str]
    links: list[Link]


@dataclass(frozen=True)
class Report:
    stage: int
    gaps: list[str]
    steps: list[Step]


def parameter_label(key: str) -> str:
    """The parameter's name in the reader's language."""
    return _(m.PARAMETER_NAMES[key])


def level_name(level: int) -> str:
    """The level's name (Chaos … Innovation) in the reader's language."""
    return _(m.LEVEL_NAMES[level])


def cell(key: str, level: int) -> str:
    """The article's table's description of ``key`` at ``level``, in the reader's language."""
    return _(m.description(key, level))


def service(request: Request) -> Maturity:
    """The app's maturity service (made on first use, closed with the server's services)."""
    state = request.app.state
    with _LOCK:
        found: Maturity | None = getattr(state, "maturity", None)
        if found is None:
            found = bootstrap.open_maturity(state.settings, state.services.store)
            state.services.closers.append(found.close)
            state.maturity = found
        return found


def _suggestions(request: Request) -> dict[str, Suggestion]:
    state = request.app.state
    kept: tuple[float, dict[str, Suggestion]] | None = getattr(
        state, "maturity_suggestions", None)
    now = time.monotonic()
    if kept is not None and now - kept[0] < SUGGESTIONS_TTL:
        return kept[1]
    found = service(request).suggestions()
    state.maturity_suggestions = (now, found)
    return found


def suggestions(request: Request) -> dict[str, Suggested]:
    """What the data suggests, by parameter (only where it can tell), with its evidence."""
    return {p: Suggested(s.level, [m.evidence_text(e) for e in s.evidence])
            for p, s in _suggestions(request).items()}


def report(levels: dict[str, int]) -> Report:
    """The stage, the gaps (each "name: level n, its name") and the next steps ("don't jump
    levels") of a complete set of answers."""
    scored = Maturity.score(levels)
    gap_lines = [_("{parameter}: level {level}, {name}").format(
        parameter=parameter_label(p), level=levels[p], name=level_name(levels[p]))
        for p in scored.gaps]
    steps = [Step(text=_(s.kind.text), lifts=[parameter_label(p) for p in s.parameters],
                  links=[Link(_(f.name), f.page, f.command) for f in s.kind.features])
             for s in scored.steps]
    return Report(stage=scored.stage, gaps=gap_lines, steps=steps)


def save(request: Request, user: User, answers: dict[str, int]) -> str:
    """Keep the answers with the suggestions the screens showed; the new assessment's id."""
    kept = service(request).save(answers, language=language_of(request),
                                 suggestions=_suggestions(request),
                                 taken_by=user.display_name)
    return kept.assessment_id


def history(request: Request) -> list[Assessment]:
    """The kept assessments, newest first."""
    return service(request).history()


def latest(request: Request) -> Assessment | None:
    """The newest kept assessment, if any."""
    found = service(request).history(1)
    return found[0] if found else None


def with_previous(request: Request, assessment_id: str | None
                  ) -> tuple[Assessment, Assessment | None] | None:
    """The assessment asked for (None: the latest) and the one before it; None when there
    is none kept yet; the 404 page for an id not kept."""
    maturity = service(request)
    chosen = None
    if assessment_id is not None:
        chosen = maturity.get(assessment_id)
        if chosen is None:
            raise HTTPException(404)
    comparison = maturity.compare(chosen)
    if comparison is None:
        return None
    return comparison.current, comparison.previous
