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

from regulars.domain.maturity import LEVELS, PARAMETERS
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
    return key.replace("_", " ")


def level_name(level: int) -> str:
    return LEVELS[level]


def cell(key: str, level: int) -> str:
    return f"{parameter_label(key)} at level {level}"


def suggestions(request: Request) -> dict[str, Suggested]:
    return {}


def report(levels: dict[str, int]) -> Report:
    return Report(gaps=[], steps=[])


_LOCK = threading.Lock()


def _store(request: Request) -> list[Assessment]:
    with _LOCK:
        found: list[Assessment] | None = getattr(request.app.state, "maturity_memory", None)
        if found is None:
            found = []
            request.app.state.maturity_memory = found
        return found


def save(request: Request, user: User, answers: dict[str, int]) -> str:
    levels = [answers[p] for p in PARAMETERS]
    stage = max(LEVELS, key=lambda lv: (levels.count(lv), -lv))
    a = Assessment(uuid.uuid4().hex, datetime.now(), user.display_name, stage, dict(answers))
    _store(request).insert(0, a)
    return a.assessment_id


def history(request: Request) -> list[Assessment]:
    return list(_store(request))


def assessment(request: Request, assessment_id: str) -> Assessment:
    return next(a for a in _store(request) if a.assessment_id == assessment_id)
