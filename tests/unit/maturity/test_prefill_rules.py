"""Pre-filling (issue 21, point 2): one rule per parameter over the store's facts, each with a
hand-computed case, and no suggestion where the data cannot tell."""

from __future__ import annotations

from datetime import date, datetime

from regulars.domain.maturity import PARAMETERS as PARAMETERS_
from regulars.domain.maturity import evidence_text
from regulars.i18n import use_language
from regulars.services.maturity import (
    Facts,
    GoalFact,
    score,
    suggest,
    suggest_goal_setting,
    suggest_interaction,
    suggest_motivation,
    suggest_personal_effectiveness,
    suggest_quality,
    suggest_relationships,
    suggest_result,
    suggest_stakeholders,
)

DAY = date(2025, 12, 30)
ORDERS = Facts(as_of=DAY, active_customers=200, active_regulars=50)


def level(s: object) -> int | None:
    return None if s is None else s.level  # type: ignore[attr-defined]


def test_an_empty_store_suggests_nothing() -> None:
    assert suggest(Facts()) == {}


def test_goal_setting_from_the_goals_in_force() -> None:
    assert level(suggest_goal_setting(Facts())) is None  # no orders, no goals: can't tell
    s = suggest_goal_setting(ORDERS)
    assert level(s) == 2  # recorded, no goal
    with use_language("en"):
        assert evidence_text(s.evidence[0]) == (  # type: ignore[union-attr]
            "Regular customers (at least 3 orders) among those who ordered in the 12 months "
            "to Dec 30, 2025: 50 of 200, 25.0%.")
    share = GoalFact("revenue_share_of_regulars")
    assert level(suggest_goal_setting(Facts(goals=(share,)))) == 3
    assert level(suggest_goal_setting(Facts(goals=(share, GoalFact("average_order"))))) == 4
    assert level(suggest_goal_setting(Facts(goals=(GoalFact("share_of_regulars", "loyal"),)))) == 4
    # rotation alone is not level 5: "in addition" to the level-4 goals
    assert level(suggest_goal_setting(Facts(goals=(GoalFact("rotation"),)))) == 3
    both = (GoalFact("rotation"), GoalFact("order_frequency"))
    assert level(suggest_goal_setting(Facts(goals=both))) == 5


def test_result_from_goals_read_the_map_and_answered_complaints() -> None:
    assert level(suggest_result(ORDERS)) is None
    assert level(suggest_result(Facts(map_built_at=datetime(2025, 12, 1)))) == 2
    assert level(suggest_result(Facts(as_of=DAY, complaints=3, complaints_answered=2))) == 2
    unread = Facts(goals=(GoalFact("average_order", None, 0),), map_built_at=datetime(2025, 1, 1))
    assert level(suggest_result(unread)) == 2  # a goal never read is not monitored
    read = Facts(goals=(GoalFact("average_order", None, 3),))
    assert level(suggest_result(read)) == 4


def test_interaction_from_surveys_and_complaints() -> None:
    assert level(suggest_interaction(Facts(as_of=DAY, feedback_rows=10))) is None
    assert level(suggest_interaction(Facts(as_of=DAY, complaints=4))) == 2
    some = Facts(as_of=DAY, survey_answers=12, surveyed_customers=10, survey_quarters=2)
    assert level(suggest_interaction(some)) == 3
    every = Facts(as_of=DAY, survey_answers=40, surveyed_customers=30, survey_quarters=4)
    s = suggest_interaction(every)
    assert level(s) == 4
    with use_language("en"):
        assert evidence_text(s.evidence[0]) == (  # type: ignore[union-attr]
            "Survey answers (NPS or CSAT) in the 12 months to Dec 30, 2025: 40; customers who "
            "answered: 30; quarters with answers: 4 of 4.")


def test_quality_from_playbooks_and_contacts() -> None:
    assert level(suggest_quality(ORDERS)) is None
    assert level(suggest_quality(Facts(as_of=DAY, contacts_to_regulars=5))) == 2
    assert level(suggest_quality(Facts(contacts_to_regulars=5, playbook_journeys=1))) == 3


def test_motivation_from_managers_assigned_to_regulars() -> None:
    # 4 of 50 regulars = 8% < 10%: can't tell (the column may just be empty)
    assert level(suggest_motivation(Facts(active_regulars=50, regulars_with_manager=4))) is None
    assert level(suggest_motivation(Facts(active_regulars=50, regulars_with_manager=5))) == 2
    assert level(suggest_motivation(Facts())) is None  # no regulars


def test_personal_effectiveness_from_tasks_closed() -> None:
    assert level(suggest_personal_effectiveness(Facts())) is None
    # 6 of 10 done (60%) and both managers closed some: everybody works in it
    assert level(suggest_personal_effectiveness(Facts(
        tasks_due=10, tasks_closed=6, task_owners=2, owners_closing=2))) == 3
    # 60% done, but one of the two managers closed none
    assert level(suggest_personal_effectiveness(Facts(
        tasks_due=10, tasks_closed=6, task_owners=2, owners_closing=1))) == 2
    # 4 of 10 done (40%)
    assert level(suggest_personal_effectiveness(Facts(
        tasks_due=10, tasks_closed=4, task_owners=2, owners_closing=2))) == 2


def test_stakeholders_and_relationships_from_the_programme_and_club() -> None:
    assert level(suggest_stakeholders(Facts(programme=True))) is None  # nobody enrolled
    assert level(suggest_stakeholders(Facts(programme=True, members=120))) == 4
    club = Facts(as_of=DAY, club=True, club_members=15)
    assert level(suggest_relationships(club)) is None  # a club, no event for regulars
    events = Facts(as_of=DAY, club=True, club_members=15, events_for_regulars=3)
    assert level(suggest_relationships(events)) == 5


def test_suggestions_come_in_the_tables_order() -> None:
    facts = Facts(as_of=DAY, active_customers=200, active_regulars=50, regulars_with_manager=20,
                  survey_answers=10, surveyed_customers=8, survey_quarters=1,
                  contacts_to_regulars=3, complaints_answered=1)
    assert {p: s.level for p, s in suggest(facts).items()} == {
        "goal_setting": 2, "result": 2, "quality": 2, "interaction": 3, "motivation": 2}
    assert list(suggest(facts)) == ["goal_setting", "result", "quality", "interaction",
                                    "motivation"]


def test_a_score_needs_every_parameter() -> None:
    import pytest

    from regulars.domain.maturity import PARAMETERS, MaturityError

    levels = dict.fromkeys(PARAMETERS, 2)
    assert score(levels).stage == 2
    del levels["reputation"]
    with pytest.raises(MaturityError, match="missing parameters: reputation"):
        score(levels)


def test_an_answers_file_names_file_line_and_key() -> None:
    import pytest

    from regulars.domain.maturity import MaturityError
    from regulars.services.maturity import parse_answers

    assert parse_answers('# mine\nteam = 2\n"culture" = 3\n', "a.toml") == {"team": 2,
                                                                             "culture": 3}
    with pytest.raises(MaturityError) as e:
        parse_answers('team = 2\nbudget = 3\nculture = "3"\nresult = 0\nquality = true\n',
                      "a.toml")
    assert str(e.value).splitlines() == [
        "a.toml, line 2: unknown parameter 'budget'; the parameters are "
        + ", ".join(PARAMETERS_),
        'a.toml, line 3: culture = "3": a level is a whole number from 1 to 5',
        "a.toml, line 4: result = 0: a level is a whole number from 1 to 5",
        "a.toml, line 5: quality = true: a level is a whole number from 1 to 5"]
    with pytest.raises(MaturityError, match=r"a.toml: not a TOML file .*line 1"):
        parse_answers("team == 2\n", "a.toml")


def test_left_out_parameters_take_the_suggestion_or_are_named() -> None:
    import pytest

    from regulars.domain.maturity import MaturityError
    from regulars.services.maturity import complete_answers

    suggestions = suggest(Facts(as_of=DAY, active_customers=10, active_regulars=4,
                                complaints=2))
    # interaction has a suggestion (2: complaints only), goal_setting too (2)
    given = {p: 3 for p in PARAMETERS_ if p not in ("interaction", "goal_setting")}
    levels, taken = complete_answers(given, suggestions, "a.toml")
    assert taken == ("goal_setting", "interaction")
    assert levels["interaction"] == 2 and levels["goal_setting"] == 2 and levels["team"] == 3
    del given["team"], given["culture"]
    with pytest.raises(MaturityError, match=r"a\.toml: no answer for team, culture, and the data"):
        complete_answers(given, suggestions, "a.toml")
