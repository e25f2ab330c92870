"""The maturity store on SQLite and PostgreSQL: the facts pre-filling reads from a small,
hand-made business (every count computed by hand below), and assessments kept, listed and
compared with the one before."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from regulars.adapters.db.maturity_store import SqlMaturity
from regulars.adapters.db.tables import goal_readings, goals, tasks
from regulars.domain.maturity import PARAMETERS
from regulars.domain.tables import Kind
from regulars.services.maturity import Facts, GoalFact, Maturity, suggest

TODAY = date(2025, 7, 10)


def _business(services) -> None:
    orders = {"A": [datetime(2025, m, 5) for m in (1, 3, 6)],           # regular, active
              "B": [datetime(2023, 5, 1), datetime(2025, 2, 1), datetime(2025, 6, 30, 12)],
              "C": [datetime(2025, 4, 4)],                                # active, 1 order
              "D": [datetime(2023, m, 1) for m in (1, 2, 3, 4)]}          # regular, gone
    rows = [(Kind.CUSTOMERS, {"customer_id": c, "manager": "Mari" if c == "A" else None})
            for c in orders]
    rows += [(Kind.ORDERS, {"order_id": f"{c}{i}", "customer_id": c, "ordered_at": at,
                            "amount": 50}) for c, ats in orders.items() for i, at in enumerate(ats)]
    rows += [(Kind.FEEDBACK, r) for r in (
        {"feedback_id": "f1", "customer_id": "A", "at": datetime(2025, 6, 1), "nps": 9},
        {"feedback_id": "f2", "customer_id": "B", "at": datetime(2024, 8, 1), "csat": 4},
        {"feedback_id": "f3", "customer_id": "C", "at": datetime(2025, 3, 1), "complaint": True},
        {"feedback_id": "f4", "customer_id": "D", "at": datetime(2023, 3, 1), "nps": 3})]
    rows += [(Kind.INTERACTIONS, r) for r in (
        {"interaction_id": "i1", "customer_id": "A", "at": datetime(2025, 1, 10),
         "channel": "email", "direction": "out", "kind": "greeting"},
        {"interaction_id": "i2", "customer_id": "B", "at": datetime(2025, 2, 1),
         "channel": "email", "direction": "out", "kind": "event"},
        {"interaction_id": "i3", "customer_id": "C", "at": datetime(2025, 2, 1),
         "channel": "email", "direction": "out", "kind": "greeting"},
        {"interaction_id": "i4", "customer_id": "A", "at": datetime(2025, 4, 1),
         "channel": "phone", "direction": "in", "kind": "complaint",
         "responded_at": datetime(2025, 4, 2)},
        {"interaction_id": "i5", "customer_id": "D", "at": datetime(2023, 2, 1),
         "channel": "email", "direction": "out", "kind": "greeting"})]
    services.ingest.run(rows)
    now = datetime(2025, 7, 1)
    goal = {"target": 0.5, "starts_on": date(2025, 1, 1), "due_on": date(2025, 12, 31),
            "created_at": now}
    task = {"customer_id": "A", "due_on": date(2025, 7, 5), "reason": "overdue",
            "action": "call", "channel": "phone", "evidence": "[]", "source": "manual",
            "created_at": now}
    with services.store.writer.begin() as conn:
        conn.execute(goals.insert(), [
            {"goal_id": "g1", "metric": "revenue_share_of_regulars", **goal, "retired_at": None},
            {"goal_id": "g2", "metric": "average_order", **goal, "retired_at": now}])
        conn.execute(goal_readings.insert(), [
            {"goal_id": "g1", "as_of": date(2025, 7, 1), "value": 0.4, "recorded_at": now},
            {"goal_id": "g1", "as_of": date(2025, 1, 1), "value": 0.3, "recorded_at": now}])
        conn.execute(tasks.insert(), [
            {"task_id": "t1", "owner": "Mari", "state": "done", **task},
            {"task_id": "t2", "owner": "Jaan", "state": "open", **task}])


def test_the_facts_of_a_hand_made_business(services) -> None:
    _business(services)
    facts = SqlMaturity(services.store).facts(TODAY)
    assert facts == Facts(
        as_of=date(2025, 6, 30), regular_min_orders=3,
        active_customers=3, active_regulars=2, regulars_with_manager=1,  # A, B, C; A, B; A
        map_built_at=None,
        goals=(GoalFact("revenue_share_of_regulars", None, 1),),  # g2 retired; 1 reading < 90 d
        feedback_rows=4, survey_answers=2, surveyed_customers=2,  # f1, f2 (f4 too old)
        survey_quarters=2,  # Aug 2024 in the first quarter, Jun 2025 in the fourth
        complaints=2, complaints_answered=1,  # f3 and i4; i4 answered
        contacts_to_regulars=2, events_for_regulars=1,  # i1 and i2 (C is no regular)
        tasks_due=2, tasks_closed=1, task_owners=2, owners_closing=1)
    assert {p: s.level for p, s in suggest(facts).items()} == {
        "goal_setting": 3, "result": 4, "quality": 2, "interaction": 3, "motivation": 2,
        "personal_effectiveness": 2}


def test_the_threshold_of_a_regular_is_the_analysis_setting(services) -> None:
    _business(services)
    facts = SqlMaturity(services.store, regular_min_orders=4).facts(TODAY)
    assert (facts.active_regulars, facts.regulars_with_manager) == (0, 0)  # D is not active


def test_assessments_are_kept_listed_and_compared(services) -> None:
    _business(services)
    rows = SqlMaturity(services.store)
    clock = {"now": datetime(2025, 7, 10, 9)}
    maturity = Maturity(rows, rows, clock=lambda: clock["now"])
    assert maturity.compare() is None and maturity.history() == []
    suggestions = maturity.suggestions()
    first = maturity.save(dict.fromkeys(PARAMETERS, 2) | {"goal_setting": 3},
                          language="ru", taken_by="owner")
    clock["now"] = datetime(2025, 10, 1, 9)
    second = maturity.save(dict.fromkeys(PARAMETERS, 3) | {"reputation": 1}, language="et",
                           suggestions={}, note="after the goals")
    history = maturity.history()
    assert [a.assessment_id for a in history] == [second.assessment_id, first.assessment_id]
    kept = maturity.get(first.assessment_id)
    assert kept is not None and kept == first
    assert kept.stage == 2 and kept.language == "ru" and kept.taken_by == "owner"
    # the answer keeps what the data suggested, with its evidence, beside the owner's level
    assert kept.answers["goal_setting"].level == 3
    assert kept.answers["goal_setting"].suggested_level == suggestions["goal_setting"].level
    assert kept.answers["goal_setting"].evidence == suggestions["goal_setting"].evidence
    assert kept.answers["team"].suggested_level is None
    comparison = maturity.compare()
    assert comparison is not None and comparison.previous == first
    assert comparison.stage_change == 1
    assert comparison.changes["goal_setting"] == 0 and comparison.changes["team"] == 1
    assert comparison.changes["reputation"] == -1
    first_vs = maturity.compare(first)
    assert first_vs is not None and first_vs.previous is None and first_vs.changes == {}


def test_nothing_half_written_when_an_answer_is_refused(services) -> None:
    rows = SqlMaturity(services.store)
    maturity = Maturity(rows, rows)
    import pytest

    from regulars.domain.maturity import MaturityError

    with pytest.raises(MaturityError):
        maturity.save(dict.fromkeys(PARAMETERS, 2) | {"team": 9}, language="en")
    with services.store.reader.connect() as conn:
        assert conn.execute(sa.text("select count(*) from maturity_assessments")).scalar() == 0
