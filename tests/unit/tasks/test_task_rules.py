"""The rules of a task's life (domain/tasks.py), hand-computed, and its invariants."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regulars.domain import tasks as r
from regulars.domain.tasks import Outcome, State, TaskClosedError, TaskError, TaskState

TODAY = date(2025, 3, 10)


def test_a_snoozed_task_is_open_from_its_day_on():
    assert r.effective_state("snoozed", date(2025, 3, 11), TODAY) is State.SNOOZED
    assert r.effective_state("snoozed", TODAY, TODAY) is State.OPEN
    assert r.effective_state("done", None, TODAY) is State.DONE


@pytest.mark.parametrize("state", ["done", "cancelled"])
def test_closed_tasks_are_final(state):
    with pytest.raises(TaskClosedError, match=f"is {state} already"):
        r.check_transition(TaskState("T", State(state), TODAY), State.DONE, TODAY)


def test_open_goes_to_done_snoozed_or_cancelled_and_a_snoozed_one_wakes_first():
    open_ = TaskState("T", State.OPEN, TODAY)
    for to in (State.DONE, State.SNOOZED, State.CANCELLED):
        assert r.check_transition(open_, to, TODAY) is State.OPEN
    later = TaskState("T", State.SNOOZED, TODAY, date(2025, 3, 20))
    assert r.check_transition(later, State.DONE, TODAY) is State.OPEN


def test_outcomes_say_whether_the_customer_answered():
    at = datetime(2025, 3, 10, 12)
    assert r.responded_at(Outcome.REACHED, at) == at
    assert r.responded_at(Outcome.DO_NOT_CONTACT, at) == at
    assert r.responded_at(Outcome.NO_ANSWER, at) is None
    assert r.responded_at(Outcome.WRONG_CONTACT, at) is None


def test_actions_map_onto_interaction_kinds():
    assert r.interaction_kind("win_back") == "offer"
    assert r.interaction_kind("ask_addons") == "offer"
    assert r.interaction_kind("reminder") == "reminder"
    assert r.interaction_kind("call_detractor") == "call"
    assert set(r.ACTION_KINDS.values()) <= {"offer", "reminder", "call"}


def test_snooze_needs_a_day_after_today():
    assert r.check_snooze(date(2025, 3, 11), TODAY) == date(2025, 3, 11)
    for bad in (TODAY, date(2025, 3, 9)):
        with pytest.raises(TaskError) as e:
            r.check_snooze(bad, TODAY)
        assert e.value.field == "until"


def test_bad_codes_name_their_field_and_the_allowed_values():
    with pytest.raises(TaskError, match="outcome: 'maybe' is not an outcome; use one of "
                                        "reached, ordered") as e:
        r.parse_outcome("maybe")
    assert e.value.field == "outcome"
    with pytest.raises(TaskError, match="action: 'sing'"):
        r.check_action("sing")
    with pytest.raises(TaskError, match="channel: 'fax'"):
        r.check_channel("fax", "call")
    assert r.check_channel(None, "reminder") == "email"
    assert r.check_channel(None, "call") == "phone"


def test_on_time_and_overdue():
    assert r.on_time(TODAY, TODAY) and not r.on_time(TODAY, TODAY + timedelta(days=1))
    assert r.overdue("open", date(2025, 3, 9), None, TODAY)
    assert not r.overdue("open", TODAY, None, TODAY)
    assert not r.overdue("done", date(2025, 3, 1), None, TODAY)
    assert r.overdue("snoozed", date(2025, 3, 5), date(2025, 3, 5), TODAY)


OPS = st.lists(st.tuples(st.sampled_from(["done", "snooze", "cancel", "reassign"]),
                         st.integers(0, 5)), max_size=12)


@given(OPS)
def test_no_sequence_of_operations_reopens_a_closed_task(ops):
    """Whatever is asked, a task closes at most once, and never changes after."""
    state, until, day, closed = State.OPEN, None, TODAY, 0
    for op, step in ops:
        day = day + timedelta(days=step)
        target = {"done": State.DONE, "snooze": State.SNOOZED, "cancel": State.CANCELLED,
                  "reassign": State.OPEN}[op]
        before = r.effective_state(state, until, day)
        try:
            r.check_transition(TaskState("T", state, day, until), target, day)
        except TaskClosedError:
            assert before in r.FINAL
            continue
        assert before not in r.FINAL
        if target in r.FINAL:
            closed += 1
            state = target
        elif target is State.SNOOZED:
            state, until = State.SNOOZED, day + timedelta(days=1)
    assert closed <= 1
