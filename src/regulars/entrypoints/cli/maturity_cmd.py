"""``regulars maturity``: article 001's maturity self-assessment (issue 21, DOMAIN §10).

Interactive in a terminal (one screen per parameter: the table's five descriptions and what
the data suggests, with its evidence; Enter accepts the suggestion), or from an answers file
(``--answers answers.toml``: ``parameter = level`` lines); ``--questions`` prints the
questionnaire. Kept in the store with ``--save``: by default an interactive assessment is
kept and a file is only scored (a dry run leaves no history behind).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from regulars import bootstrap
from regulars.domain.maturity import (
    CELLS,
    LEVEL_NAMES,
    PARAMETER_NAMES,
    PARAMETERS,
    Step,
    Suggestion,
    description,
    evidence_text,
)
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, fail, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _, current_language, fmt_date
from regulars.services.maturity import (
    Assessment,
    Maturity,
    Score,
    changes_since,
    complete_answers,
    parse_answers,
)

FORMATS = ("table", "json")


@app.command("maturity", help=_(
    "Where does the business stand? Article 001's maturity self-assessment: 16 parameters, "
    "five levels each (1 chaos … 5 innovation), pre-filled from what the data shows. Prints "
    "each parameter's level, the overall stage, the gaps and at most three next steps, and "
    "the change since the previous assessment. Exit codes: 0 scored; 2 a bad answers file or "
    "option; 3 the store cannot be used."))
def maturity(
    answers: Annotated[Path | None, typer.Option(
        "--answers", help=_("A TOML file of parameter = level lines (1..5); a parameter left "
                            "out takes the data's suggestion."), dir_okay=False,
        show_default=False)] = None,
    questions: Annotated[bool, typer.Option(
        "--questions", help=_("Print the questionnaire (the 16 parameters and their five "
                              "descriptions) and stop."))] = False,
    fmt: Annotated[str, typer.Option(
        "--format", help=_("table (for people) or json (for scripts; the texts in the "
                           "language of --lang)."))] = "table",
    save: Annotated[bool | None, typer.Option(
        "--save/--no-save", help=_("Keep the assessment in the store (default: kept when "
                                   "answered in the terminal, not kept from --answers)."),
        show_default=False)] = None,
    taken_by: Annotated[str | None, typer.Option(
        "--by", help=_("Who answered (kept with the assessment)."), show_default=False)] = None,
    note: Annotated[str | None, typer.Option(
        help=_("A note kept with the assessment."), show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        if fmt not in FORMATS:
            raise typer.BadParameter(_("use table or json"), param_hint="--format")
        if questions:
            _print_questions(fmt)
            return
        if answers is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
            fail(_("no terminal to ask the questions in: give the answers with --answers "
                   "FILE (regulars maturity --questions lists the parameters)"), 2)
        text = _read(answers) if answers is not None else None
        settings = settings_from(config, database_url)
        service = bootstrap.open_maturity(settings)
        try:
            _run(service, answers, text, fmt, save, taken_by, note)
        finally:
            service.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(_("{file}: no such file").format(file=path), 2)
    except (OSError, UnicodeDecodeError) as e:
        fail(_("{file}: cannot be read: {error}").format(file=path, error=e), 2)


def _run(service: Maturity, path: Path | None, text: str | None, fmt: str,
         save: bool | None, taken_by: str | None, note: str | None) -> None:
    suggestions = service.suggestions()
    if path is not None and text is not None:
        given = parse_answers(text, str(path))
        levels, from_data = complete_answers(given, suggestions, str(path))
        keep = bool(save)
    else:
        levels = _ask(suggestions)
        from_data = ()
        keep = save is None or save
    scored = service.score(levels)
    previous = service.latest()
    saved = service.save(levels, language=current_language(), suggestions=suggestions,
                         taken_by=taken_by, note=note) if keep else None
    if fmt == "json":
        typer.echo(json.dumps(_result_json(scored, suggestions, from_data, previous, saved),
                              indent=2, ensure_ascii=False))
    else:
        _print_result(scored, suggestions, from_data, previous, saved)


# --- the questionnaire ------------------------------------------------------------------------

def questions_json() -> dict[str, Any]:
    """The questionnaire in the current language (``--questions --format json``)."""
    return {
        "language": current_language(),
        "levels": [{"level": n, "name": _(name)} for n, name in LEVEL_NAMES.items()],
        "parameters": [{
            "parameter": p, "name": _(PARAMETER_NAMES[p]),
            "levels": [{"level": n, "name": _(LEVEL_NAMES[n]), "description": _(cell)}
                       for n, cell in enumerate(CELLS[p], 1)],
        } for p in PARAMETERS],
    }


def _print_questions(fmt: str) -> None:
    if fmt == "json":
        typer.echo(json.dumps(questions_json(), indent=2, ensure_ascii=False))
        return
    for i, p in enumerate(PARAMETERS, 1):
        table = Table(title=f"{i}/{len(PARAMETERS)} {_(PARAMETER_NAMES[p])} ({p})",
                      title_justify="left", show_header=False, expand=True)
        table.add_column(_("level"), no_wrap=True)
        table.add_column(_("description"), ratio=1)
        for n in range(1, 6):
            table.add_row(f"{n} {_(LEVEL_NAMES[n])}", _(description(p, n)))
        out.print(table)


class _LevelPrompt(Prompt):
    """Rich's prompt, its complaint about an answer outside 1-5 in the reader's language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.illegal_choice_message = ("[prompt.invalid.choice]"
                                       + escape(_("Answer with a level from 1 to 5.")))


def _ask(suggestions: Mapping[str, Suggestion]) -> dict[str, int]:
    """One screen per parameter; Enter takes the data's suggestion where there is one."""
    out.print(_("Sixteen questions, about ten minutes: for each parameter, pick the "
                "description closest to how things are (1-5)."), highlight=False)
    levels: dict[str, int] = {}
    for i, p in enumerate(PARAMETERS, 1):
        out.rule(f"{i}/{len(PARAMETERS)} {_(PARAMETER_NAMES[p])}")
        suggestion = suggestions.get(p)
        for n in range(1, 6):
            mark = "→" if suggestion is not None and suggestion.level == n else " "
            out.print(f"{mark} [bold]{n}[/] {escape(_(LEVEL_NAMES[n]))}: "
                      f"{escape(_(description(p, n)))}", highlight=False)
        if suggestion is not None:
            out.print(_("The data suggests {level}:").format(level=suggestion.level),
                      highlight=False)
            for e in suggestion.evidence:
                out.print("  · " + evidence_text(e), highlight=False, markup=False)
        choices = ["1", "2", "3", "4", "5"]
        if suggestion is None:  # no default: Enter alone is asked again
            answer = _LevelPrompt.ask(_("Level (1-5)"), console=out, choices=choices)
        else:
            answer = _LevelPrompt.ask(_("Level (1-5)"), console=out, choices=choices,
                                      default=str(suggestion.level))
        levels[p] = int(answer)
    return levels


# --- the result -------------------------------------------------------------------------------

def _step_json(step: Step) -> dict[str, Any]:
    return {"key": step.key, "level": step.level, "text": _(step.kind.text),
            "parameters": list(step.parameters),
            "features": [{"name": _(f.name), "page": f.page, "command": f.command}
                         for f in step.kind.features]}


def _result_json(scored: Score, suggestions: Mapping[str, Suggestion],
                 from_data: tuple[str, ...], previous: Assessment | None,
                 saved: Assessment | None) -> dict[str, Any]:
    changes = changes_since(scored.levels, previous)
    return {
        "language": current_language(),
        "stage": scored.stage, "stage_name": _(LEVEL_NAMES[scored.stage]),
        "parameters": [{
            "parameter": p, "name": _(PARAMETER_NAMES[p]), "level": level,
            "level_name": _(LEVEL_NAMES[level]), "description": _(description(p, level)),
            "source": "suggestion" if p in from_data else "answer",
            "suggested_level": suggestions[p].level if p in suggestions else None,
            "evidence": [{"code": e.code, "text": evidence_text(e)}
                         for e in (suggestions[p].evidence if p in suggestions else ())],
            "change": changes.get(p),
        } for p, level in scored.levels.items()],
        "gaps": [{"parameter": p, "name": _(PARAMETER_NAMES[p]), "level": scored.levels[p]}
                 for p in scored.gaps],
        "next_steps": [_step_json(s) for s in scored.steps],
        "previous": None if previous is None else {
            "assessment_id": previous.assessment_id,
            "taken_at": previous.taken_at.isoformat(), "stage": previous.stage},
        "stage_change": None if previous is None else scored.stage - previous.stage,
        "saved": None if saved is None else {
            "assessment_id": saved.assessment_id, "taken_at": saved.taken_at.isoformat()},
    }


def _change(n: int | None) -> str:
    if n is None:
        return ""
    return "=" if n == 0 else f"{n:+d}".replace("-", "−")


def _print_result(scored: Score, suggestions: Mapping[str, Suggestion],
                  from_data: tuple[str, ...], previous: Assessment | None,
                  saved: Assessment | None) -> None:
    changes = changes_since(scored.levels, previous)
    table = Table(title=_("Stage {stage}: {name}").format(
        stage=scored.stage, name=_(LEVEL_NAMES[scored.stage])), title_justify="left")
    table.add_column(_("parameter"))
    table.add_column(_("level"))
    table.add_column(_("the data"), justify="center")
    if previous is not None:
        table.add_column(_("since {day}").format(day=fmt_date(previous.taken_at)),
                         justify="center")
    for p, level in scored.levels.items():
        bar = "■" * level + "·" * (5 - level)
        suggested = str(suggestions[p].level) if p in suggestions else ""
        if p in from_data:
            suggested += " " + _("(taken)")
        row = [_(PARAMETER_NAMES[p]), f"{bar} {level} {_(LEVEL_NAMES[level])}", suggested]
        if previous is not None:
            row.append(_change(changes.get(p)))
        table.add_row(*row)
    out.print(table)
    if previous is not None:
        out.print(_("Stage then: {then}; now: {now}.").format(
            then=previous.stage, now=scored.stage), highlight=False)
    if scored.gaps:
        out.print(_("Holding the rest back: {gaps}.").format(gaps=", ".join(
            f"{_(PARAMETER_NAMES[p])} ({scored.levels[p]})" for p in scored.gaps)),
            highlight=False)
    if scored.steps:
        out.print(_("Next steps (one level at a time):"), highlight=False)
        for i, step in enumerate(scored.steps, 1):
            names = ", ".join(_(PARAMETER_NAMES[p]) for p in step.parameters)
            out.print(f"{i}. " + _("To level {level} ({parameters}): {text}").format(
                level=step.level, parameters=names, text=_(step.kind.text)),
                highlight=False, markup=False)
            for f in step.kind.features:
                where = " · ".join(x for x in (f.page, f.command) if x)
                out.print(f"   → {_(f.name)}: {where}", highlight=False, markup=False)
    else:
        out.print(_("Level 5 on every parameter: no next step to suggest."), highlight=False)
    if saved is not None:
        out.print(_("Kept as assessment {id} of {day}.").format(
            id=saved.assessment_id, day=fmt_date(saved.taken_at)), highlight=False)
    else:
        out.print(_("Not kept (add --save to keep it)."), highlight=False)
