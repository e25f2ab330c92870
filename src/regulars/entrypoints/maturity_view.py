"""The maturity questionnaire and its result as plain data in the reader's language: what
``regulars maturity --format json`` prints, and what a page can render (issue 21). Codes
(parameter keys, levels, step keys) stay as they are; every text is translated with
regulars.i18n's ``_`` in the current language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from regulars.domain.maturity import (
    CELLS,
    LEVEL_NAMES,
    PARAMETER_NAMES,
    PARAMETERS,
    Evidence,
    Step,
    Suggestion,
    description,
    evidence_text,
)
from regulars.i18n import _, current_language
from regulars.services.maturity import Assessment, Score, changes_since


def questions() -> dict[str, Any]:
    """The sixteen parameters with their five descriptions (``--questions --format json``)."""
    return {
        "language": current_language(),
        "levels": [{"level": n, "name": _(name)} for n, name in LEVEL_NAMES.items()],
        "parameters": [{
            "parameter": p, "name": _(PARAMETER_NAMES[p]),
            "levels": [{"level": n, "name": _(LEVEL_NAMES[n]), "description": _(cell)}
                       for n, cell in enumerate(CELLS[p], 1)],
        } for p in PARAMETERS],
    }


def evidence(items: Sequence[Evidence]) -> list[dict[str, str]]:
    return [{"code": e.code, "text": evidence_text(e)} for e in items]


def suggestion(s: Suggestion | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"level": s.level, "level_name": _(LEVEL_NAMES[s.level]),
            "evidence": evidence(s.evidence)}


def step(s: Step) -> dict[str, Any]:
    return {"key": s.key, "level": s.level, "text": _(s.kind.text),
            "parameters": list(s.parameters),
            "parameter_names": [_(PARAMETER_NAMES[p]) for p in s.parameters],
            "features": [{"name": _(f.name), "page": f.page, "command": f.command}
                         for f in s.kind.features]}


def assessment_head(a: Assessment) -> dict[str, Any]:
    return {"assessment_id": a.assessment_id, "taken_at": a.taken_at.isoformat(),
            "taken_by": a.taken_by, "language": a.language, "stage": a.stage,
            "stage_name": _(LEVEL_NAMES[a.stage]), "note": a.note,
            "levels": {p: a.answers[p].level for p in PARAMETERS if p in a.answers}}


def result(scored: Score, suggestions: Mapping[str, Suggestion], *,
           from_data: Sequence[str] = (), previous: Assessment | None = None,
           saved: Assessment | None = None) -> dict[str, Any]:
    """Each parameter's level (with its description, the data's suggestion and the change
    since ``previous``), the stage, the gaps, the next steps, and what was kept."""
    changes = changes_since(scored.levels, previous)
    return {
        "language": current_language(),
        "stage": scored.stage, "stage_name": _(LEVEL_NAMES[scored.stage]),
        "parameters": [{
            "parameter": p, "name": _(PARAMETER_NAMES[p]), "level": level,
            "level_name": _(LEVEL_NAMES[level]), "description": _(description(p, level)),
            "source": "suggestion" if p in from_data else "answer",
            "suggested_level": suggestions[p].level if p in suggestions else None,
            "evidence": evidence(suggestions[p].evidence if p in suggestions else ()),
            "change": changes.get(p),
        } for p, level in scored.levels.items()],
        "gaps": [{"parameter": p, "name": _(PARAMETER_NAMES[p]), "level": scored.levels[p]}
                 for p in scored.gaps],
        "next_steps": [step(s) for s in scored.steps],
        "previous": None if previous is None else assessment_head(previous),
        "stage_change": None if previous is None else scored.stage - previous.stage,
        "saved": None if saved is None else assessment_head(saved),
    }
