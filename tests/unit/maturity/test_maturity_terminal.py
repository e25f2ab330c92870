"""The questionnaire in a terminal: one screen per parameter, Enter takes the data's
suggestion, an answer outside 1-5 is asked again, and a parameter without a suggestion needs
an answer."""

from __future__ import annotations

import io
from datetime import date

import pytest

from regulars.domain.maturity import PARAMETERS
from regulars.entrypoints.cli import app as _app  # noqa: F401 - the commands in help order first
from regulars.entrypoints.cli import maturity_cmd
from regulars.i18n import use_language
from regulars.services.maturity import Facts, suggest


def test_enter_takes_the_suggestion(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    suggestions = suggest(Facts(as_of=date(2025, 12, 30), active_customers=10,
                                active_regulars=4, complaints=2))
    assert set(suggestions) == {"goal_setting", "interaction"}  # both 2
    # goal_setting: Enter (the suggestion, 2); architecture: Enter without a suggestion is
    # asked again, then 7 (asked again), then 1; every other parameter 3, interaction Enter
    lines = ["", "", "7", "1"] + ["" if p == "interaction" else "3" for p in PARAMETERS[2:]]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    with use_language("en"):
        levels = maturity_cmd._ask(suggestions)
    assert levels == dict.fromkeys(PARAMETERS, 3) | {"goal_setting": 2, "architecture": 1,
                                                    "interaction": 2}
    shown = capsys.readouterr().out
    assert "1/16 Goal-setting" in shown and "16/16 Reputation" in shown
    assert "The data suggests 2:" in shown
    assert shown.count("Answer with a level from 1 to 5.") == 2  # Enter alone, then 7
    assert "No goal is set (the goals page, regulars goals)." in shown


def test_the_history_lists_the_kept_assessments(capsys: pytest.CaptureFixture[str]) -> None:
    import json
    from datetime import datetime

    from regulars.services.maturity import Answer, Assessment

    answers = {p: Answer(2 if i % 2 else 3) for i, p in enumerate(PARAMETERS)}
    kept = [Assessment("b" * 32, datetime(2026, 3, 1, 9), "Mari", "et", 2, answers, "spring")]
    with use_language("ru"):
        maturity_cmd._print_history(kept, "table")
        maturity_cmd._print_history([], "table")
        maturity_cmd._print_history(kept, "json")
    shown = capsys.readouterr().out
    assert "2 Традиции" in shown and "Mari" in shown and "spring" in shown
    assert "3 2 3 2 3 2 3 2 3 2 3 2 3 2 3 2" in shown
    assert "Ни одной оценки ещё не сохранено" in shown
    listed = json.loads(shown[shown.index("["):])
    assert listed[0]["stage_name"] == "Традиции" and listed[0]["levels"]["goal_setting"] == 3
