"""What the maturity page reads and writes, in one place: the questionnaire's words, the
data's suggestions, the scoring and the store (the domain and the service of issue 21).

PROVISIONAL until the domain and service land: placeholder texts and an in-memory store.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import Request

from regulars.domain import maturity as m
from regulars.i18n import _
from regulars.services.users import User


@dataclass(frozen=True)
class Suggested:
    """What the data suggests for one parameter, and why (translated lines)."""

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
    gaps: list[str]
    steps: list[Step]


@dataclass(frozen=True)
class Assessment:
    assessment_id: str
    taken_at: datetime
    taken_by: str | None
    stage: int
    levels: dict[str, int] = field(default_factory=dict)
    suggested: dict[str, int] = field(default_factory=dict)


def parameter_label(key: str) -> str:
    """The parameter's name in the reader's language."""
    return _(m.PARAMETER_NAMES[key])


def level_name(level: int) -> str:
    """The level's name (Chaos … Innovation) in the reader's language."""
    return _(m.LEVEL_NAMES[level])


def cell(key: str, level: int) -> str:
    """The article's table's description of ``key`` at ``level``, in the reader's language."""
    return _(m.description(key, level))


def suggestions(request: Request) -> dict[str, Suggested]:
    return {}


def report(levels: dict[str, int]) -> Report:
    """The gaps (each "name: level n, its name") and the next steps ("don't jump levels")."""
    gap_lines = [_("{parameter}: level {level}, {name}").format(
        parameter=parameter_label(p), level=levels[p], name=level_name(levels[p]))
        for p in m.gaps(levels)]
    steps = [Step(text=_(s.kind.text), lifts=[parameter_label(p) for p in s.parameters],
                  links=[Link(_(f.name), f.page, f.command) for f in s.kind.features])
             for s in m.next_steps(levels)]
    return Report(gaps=gap_lines, steps=steps)


_LOCK = threading.Lock()


def _store(request: Request) -> list[Assessment]:
    with _LOCK:
        found: list[Assessment] | None = getattr(request.app.state, "maturity_memory", None)
        if found is None:
            found = []
            request.app.state.maturity_memory = found
        return found


def save(request: Request, user: User, answers: dict[str, int]) -> str:
    a = Assessment(uuid.uuid4().hex, datetime.now(), user.display_name, m.stage(answers),
                   dict(answers))
    _store(request).insert(0, a)
    return a.assessment_id


def history(request: Request) -> list[Assessment]:
    return list(_store(request))


def assessment(request: Request, assessment_id: str) -> Assessment:
    return next(a for a in _store(request) if a.assessment_id == assessment_id)
