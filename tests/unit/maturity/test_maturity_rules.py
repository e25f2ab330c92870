"""The maturity rules of DOMAIN §10 with hand-computed expectations: the stage (the level most
parameters are at, a tie to the lowest), the gaps, and the recommendation rule "don't jump
levels" (:func:`next_steps`), with a property test over any answers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain.maturity import (
    PARAMETERS,
    STEP_KINDS,
    Evidence,
    MaturityError,
    Suggestion,
    evidence_text,
    gaps,
    highest_step_level,
    next_steps,
    stage,
)
from regulars.i18n import use_language


def levels_of(default: int, **overrides: int) -> dict[str, int]:
    levels = dict.fromkeys(PARAMETERS, default)
    levels.update(overrides)
    return levels


def test_stage_is_the_level_most_parameters_are_at() -> None:
    # 10 at level 2, 6 at level 3: the stage is 2
    levels = {p: (2 if i < 10 else 3) for i, p in enumerate(PARAMETERS)}
    assert stage(levels) == 2
    # 3 at 1, 4 at 2, 9 at 5: 5, though the average (3.56) would say 4
    levels = {p: (1 if i < 3 else 2 if i < 7 else 5) for i, p in enumerate(PARAMETERS)}
    assert stage(levels) == 5


def test_a_tie_goes_to_the_lower_level() -> None:
    levels = {p: (4 if i % 2 else 2) for i, p in enumerate(PARAMETERS)}  # 8 at 2, 8 at 4
    assert stage(levels) == 2
    # 5 at 3, 5 at 4, 5 at 5, 1 at 1: three levels tie for most, the lowest of them is 3
    levels = {p: (1 if i == 15 else 3 + i % 3) for i, p in enumerate(PARAMETERS)}
    assert stage(levels) == 3


def test_bad_answers_are_refused() -> None:
    with pytest.raises(MaturityError, match="unknown parameter 'budget'"):
        stage({"budget": 3})
    with pytest.raises(MaturityError, match="level 6"):
        stage({"result": 6})
    with pytest.raises(MaturityError, match="level 0"):
        stage({"result": 0})
    with pytest.raises(MaturityError, match="no answers"):
        stage({})


def test_gaps_are_the_parameters_below_the_stage_lowest_first() -> None:
    levels = levels_of(3, reputation=1, result=2, goal_setting=2, product=4, team=1)
    # stage 3 (11 parameters); below it: team 1, reputation 1 (table order), then
    # goal_setting 2, result 2
    assert gaps(levels) == ["team", "reputation", "goal_setting", "result"]
    assert gaps(levels_of(2)) == []


def test_a_level_one_business_gets_level_two_steps_only() -> None:
    steps = next_steps(levels_of(1))
    # every level-2 step lifts all its parameters; the one lifting more comes first:
    # assign_regulars 7, count_regulars 6, record_feedback 3
    assert [s.key for s in steps] == ["assign_regulars", "count_regulars", "record_feedback"]
    assert {s.level for s in steps} == {2}
    assert steps[1].parameters == ("goal_setting", "result", "stakeholders", "positioning",
                                   "product", "reputation")


def test_what_lags_furthest_behind_comes_first() -> None:
    # stage 3, goal_setting at 1: first lift it to 2, then the level-4 steps
    steps = next_steps(levels_of(3, goal_setting=1))
    assert [s.key for s in steps] == ["count_regulars", "goals_by_segment", "loyalty_programme"]
    assert steps[0].parameters == ("goal_setting",)
    # goals_by_segment lifts its parameters at 3 (7 of 8; goal_setting is at 1)
    assert steps[1].parameters == ("result", "team", "culture", "competencies", "potential",
                                   "motivation", "positioning")


def test_dont_jump_levels_while_most_parameters_are_at_one_or_two() -> None:
    # 5 at 1, 4 at 2, 7 at 4: the stage is 4, but 9 of 16 are at 1-2, so nothing above 3
    levels = {p: (1 if i < 5 else 2 if i < 9 else 4) for i, p in enumerate(PARAMETERS)}
    assert stage(levels) == 4
    assert highest_step_level(levels) == 3
    steps = next_steps(levels)
    assert steps and all(s.level <= 3 for s in steps)
    # 8 at 1-2 is not "most": the stage's next level, 5, is open
    levels = {p: (2 if i < 8 else 4) for i, p in enumerate(PARAMETERS)}
    assert highest_step_level(levels) == 3  # stage 2 (a tie of 8 and 8 goes to the lower)
    levels = {p: (2 if i < 7 else 4) for i, p in enumerate(PARAMETERS)}
    assert stage(levels) == 4 and highest_step_level(levels) == 5


def test_no_step_beyond_the_level_after_the_stage() -> None:
    levels = levels_of(3, product=4)  # product at 4 could go to 5, but the stage is 3
    steps = next_steps(levels)
    assert all(s.level == 4 for s in steps)
    assert "product" not in {p for s in steps for p in s.parameters}


def test_a_business_at_level_five_everywhere_has_no_next_step() -> None:
    assert next_steps(levels_of(5)) == []


def test_every_parameter_is_lifted_by_a_step_of_every_level() -> None:
    for level in range(2, 6):
        served = {p for k in STEP_KINDS if k.level == level for p in k.parameters}
        assert served == set(PARAMETERS), level


answers = st.fixed_dictionaries({p: st.integers(1, 5) for p in PARAMETERS})


@given(answers)
def test_next_steps_never_jump_levels(levels: dict[str, int]) -> None:
    steps = next_steps(levels)
    assert len(steps) <= 3
    assert len({s.key for s in steps}) == len(steps)
    low = sum(1 for v in levels.values() if v <= 2)
    for s in steps:
        assert s.level <= stage(levels) + 1
        if low * 2 > len(levels):
            assert s.level <= 3  # never a level-4 tool while most parameters are at 1-2
        assert s.parameters
        assert all(levels[p] == s.level - 1 for p in s.parameters)  # one level at a time
    # something to do unless everything is at level 5
    assert bool(steps) == any(v < 5 for v in levels.values())
    # the steps come lowest level first
    assert [s.level for s in steps] == sorted(s.level for s in steps)


@given(answers)
def test_the_stage_is_a_most_common_level_and_gaps_are_below_it(levels: dict[str, int]) -> None:
    at = stage(levels)
    counts = [list(levels.values()).count(v) for v in range(1, 6)]
    assert counts[at - 1] == max(counts)
    assert all(counts[v - 1] < max(counts) for v in range(1, at))
    assert set(gaps(levels)) == {p for p, v in levels.items() if v < at}


def test_evidence_is_written_in_the_readers_language() -> None:
    e = Evidence("share_tracked", "Regulars are {regulars_share} of active customers "
                 "({regulars} of {active}) on {as_of_on}.",
                 {"regulars_share": 0.25, "regulars": 1200, "active": 4800,
                  "as_of_on": date(2026, 11, 30)})
    with use_language("en"):
        assert evidence_text(e) == ("Regulars are 25.0% of active customers (1,200 of 4,800) "
                                    "on Nov 30, 2026.")
    assert Evidence.from_json(e.to_json()) == Evidence(
        e.code, e.message, {"regulars_share": 0.25, "regulars": 1200, "active": 4800,
                            "as_of_on": "2026-11-30"})


def test_a_suggestion_needs_a_level_and_its_evidence() -> None:
    e = Evidence("x", "x")
    assert Suggestion("result", 2, (e,)).level == 2
    with pytest.raises(MaturityError):
        Suggestion("result", 7, (e,))
    with pytest.raises(MaturityError):
        Suggestion("result", 2, ())
