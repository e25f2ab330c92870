"""A manager's task: whom to contact, by when, why, and how it ended (issue 18, DOMAIN §9).

A task is born ``open`` (by hand, or from the top of a manager's worklist in the morning),
and moves only along :data:`TRANSITIONS`::

    open ──► done        (with an outcome: final)
      │ ──► cancelled    (final)
      │ ──► snoozed ──► open   (when its date comes)

A snoozed task whose date has come counts as open (:func:`effective_state`); closing or
snoozing it again wakes it first, so a manager who reaches the customer before the date can
close it at once. ``done`` and ``cancelled`` are final: closing a closed task is an error.

A completed task is one ``out`` interaction (DOMAIN §2): its kind comes from the action
(:data:`ACTION_KINDS`), and whether the customer answered from the outcome
(:data:`RESPONDED`): the ``unresponsive`` signal reads ``responded_at`` of the last offers.

Everything here is pure: the rules, with no clock and no store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from regulars.domain.errors import InputError
from regulars.i18n import N_, _, fmt_date, fmt_list


class State(StrEnum):
    OPEN = "open"
    DONE = "done"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


STATE_NAMES: dict[State, str] = {
    State.OPEN: N_("open"),
    State.DONE: N_("done"),
    State.SNOOZED: N_("snoozed"),
    State.CANCELLED: N_("cancelled"),
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.OPEN: frozenset({State.DONE, State.SNOOZED, State.CANCELLED}),
    State.SNOOZED: frozenset({State.OPEN}),
    State.DONE: frozenset(),
    State.CANCELLED: frozenset(),
}
FINAL = frozenset({State.DONE, State.CANCELLED})


class Outcome(StrEnum):
    """How a completed contact ended (the codes are the interaction's ``outcome``)."""

    REACHED = "reached"
    ORDERED = "ordered"
    PROMISED = "promised"
    NO_ANSWER = "no_answer"
    NOT_INTERESTED = "not_interested"
    WRONG_CONTACT = "wrong_contact"
    DO_NOT_CONTACT = "do_not_contact"


OUTCOME_NAMES: dict[Outcome, str] = {
    Outcome.REACHED: N_("reached"),
    Outcome.ORDERED: N_("ordered"),
    Outcome.PROMISED: N_("promised to order"),
    Outcome.NO_ANSWER: N_("no answer"),
    Outcome.NOT_INTERESTED: N_("not interested"),
    Outcome.WRONG_CONTACT: N_("wrong contact"),
    Outcome.DO_NOT_CONTACT: N_("do not contact"),
}

RESPONDED = frozenset({Outcome.REACHED, Outcome.ORDERED, Outcome.PROMISED,
                       Outcome.NOT_INTERESTED, Outcome.DO_NOT_CONTACT})
"""Outcomes in which the customer answered: the interaction's ``responded_at`` is the moment
the task was done. ``no_answer`` and ``wrong_contact`` leave it empty, so that the contact
counts as unanswered (the ``unresponsive`` signal)."""

SOURCES = ("manual", "plan")

# The worklist's action codes (``regulars.domain.worklist`` names them for people) and the
# interaction kind each contact is recorded as (DOMAIN §2 INTERACTION_KINDS). Asking about a
# dropped service and the win-back contact propose something: they are offers, which the
# ``unresponsive`` signal reads; the calls and the reminder are recorded as what they are.
ACTION_KINDS: dict[str, str] = {
    "reminder": "reminder",
    "call": "call",
    "call_detractor": "call",
    "ask_addons": "offer",
    "win_back": "offer",
    "quarterly_call": "call",
    "review_terms": "call",
}

CHANNELS = ("phone", "email", "sms", "messenger", "meeting")
"""How a task's contact is made (the interaction's ``channel``)."""

CHANNEL_NAMES: dict[str, str] = {
    "phone": N_("phone"),
    "email": N_("e-mail"),
    "sms": N_("SMS"),
    "messenger": N_("messenger"),
    "meeting": N_("meeting"),
}
"""Each channel's name, translated where it is shown (a column of channels)."""

CHANNEL_WAYS: dict[str, str] = {
    "phone": N_("by phone"),
    "email": N_("by e-mail"),
    "sms": N_("by SMS"),
    "messenger": N_("in a messenger"),
    "meeting": N_("in person"),
}
"""How a contact is made, said in a sentence ("no consent to contact by phone")."""

ACTION_CHANNELS: dict[str, str] = {
    "reminder": "email", "ask_addons": "phone", "win_back": "email",
}
"""The channel a task gets when none is given (``phone`` for the others)."""

MAX_NOTE = 2000
MAX_CODE = 64


class TaskError(InputError):
    """A task operation that cannot be done; ``field`` names the argument at fault."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class UnknownTaskError(TaskError):
    """No task with that id (or none the caller may see)."""


class TaskForbiddenError(TaskError):
    """The caller may act on one manager's tasks only, and asked for another's."""


class TaskClosedError(TaskError):
    """The task is done or cancelled already."""


class UnknownManagerError(TaskError):
    """An owner who is not a known manager; ``known`` lists those who are."""

    def __init__(self, name: str, known: Sequence[str], *, field: str = "owner") -> None:
        listed = fmt_list(list(known)) if known else _("none yet")
        super().__init__(_("{field}: no manager named {name!r}; known managers: {known}").format(
            field=field, name=name, known=listed), field=field)
        self.name = name
        self.known = list(known)


@dataclass(frozen=True)
class TaskState:
    """What the rules need of a stored task."""

    task_id: str
    state: State
    due_on: date
    snoozed_until: date | None = None


def effective_state(state: State | str, snoozed_until: date | None, today: date) -> State:
    """The state a person sees on ``today``: a snoozed task whose date has come is open."""
    s = State(state)
    if s is State.SNOOZED and snoozed_until is not None and snoozed_until <= today:
        return State.OPEN
    return s


def check_transition(task: TaskState, to: State, today: date) -> State:
    """The state the task leaves for ``to`` (a due snoozed task wakes first: open), or
    :class:`TaskClosedError` / :class:`TaskError` when the move is not allowed.

    A snoozed task not yet due may be closed or snoozed again too: the manager reached the
    customer earlier, or moves the date once more (it wakes and moves in one step)."""
    now = effective_state(task.state, task.snoozed_until, today)
    if now in FINAL:
        raise TaskClosedError(_("task {id} is {state} already; a closed task cannot change")
                              .format(id=task.task_id, state=_(STATE_NAMES[now])),
                              field="task_id")
    if now is State.SNOOZED:
        now = State.OPEN  # woken early by the manager's own action
    if to not in TRANSITIONS[now] and to is not now:
        raise TaskError(_("task {id} cannot go from {a} to {b}").format(
            id=task.task_id, a=now.value, b=to.value), field="state")
    return now


def parse_outcome(value: str | Outcome) -> Outcome:
    try:
        return Outcome(str(value).strip().lower())
    except ValueError:
        raise TaskError(_("outcome: {value!r} is not an outcome; use one of {codes}").format(
            value=str(value), codes=", ".join(o.value for o in Outcome)),
            field="outcome") from None


def parse_state(value: str | State) -> State:
    try:
        return State(str(value).strip().lower())
    except ValueError:
        raise TaskError(_("state: {value!r} is not a task state; use one of {codes}").format(
            value=str(value), codes=", ".join(s.value for s in State)),
            field="state") from None


def check_action(action: str) -> str:
    code = action.strip().lower()
    if code not in ACTION_KINDS:
        raise TaskError(_("action: {value!r} is not an action; use one of {codes}").format(
            value=action, codes=", ".join(ACTION_KINDS)), field="action")
    return code


def check_channel(channel: str | None, action: str) -> str:
    if channel is None or not channel.strip():
        return ACTION_CHANNELS.get(action, "phone")
    code = channel.strip().lower()
    if code not in CHANNELS:
        raise TaskError(_("channel: {value!r} is not a channel; use one of {codes}").format(
            value=channel, codes=", ".join(CHANNELS)), field="channel")
    return code


def check_code(value: str, field: str) -> str:
    code = value.strip()
    if not code or len(code) > MAX_CODE or "\x00" in code:
        raise TaskError(_("{field}: give a code of 1 to {n} characters").format(
            field=field, n=MAX_CODE), field=field)
    return code


def check_note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE or "\x00" in note:
        raise TaskError(_("note: at most {n} characters").format(n=MAX_NOTE), field="note")
    return note.strip()


def check_snooze(until: date, today: date) -> date:
    """A snooze must move the task to a day after ``today``."""
    if until <= today:
        raise TaskError(_("until: {day} is not after today ({today}); snooze to a later "
                          "day").format(day=fmt_date(until), today=fmt_date(today)),
                        field="until")
    return until


def interaction_kind(action: str) -> str:
    """The interaction kind a completed task of ``action`` is recorded as."""
    return ACTION_KINDS.get(action, "call")


def responded_at(outcome: Outcome, done_at: datetime) -> datetime | None:
    """When the customer answered, as the interaction records it: the moment of the contact
    for an answered one, nothing for no answer or a wrong contact."""
    return done_at if outcome in RESPONDED else None


def on_time(due_on: date, done_on: date) -> bool:
    """Done on or before its due day (both in the business's zone)."""
    return done_on <= due_on


def overdue(state: State | str, due_on: date, snoozed_until: date | None, today: date) -> bool:
    """Open (a due snoozed task included) with its due day behind ``today``."""
    return effective_state(state, snoozed_until, today) is State.OPEN and due_on < today
