"""The maturity self-assessment's use cases (issue 21, DOMAIN §10): what the data suggests
(:func:`suggest`, pre-filling), scoring, and the assessments kept with their answers.

Pre-filling reads :class:`Facts` (the port :class:`FactsSource`, one read of the store) and
applies one rule per parameter, each documented on its function and in docs/maturity.md. A rule
suggests a level only when the data shows it; where the data cannot tell (a table never
imported, nothing in the window), there is no suggestion: absence of data is never read as a
low level.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from regulars.domain.maturity import (
    PARAMETERS,
    Evidence,
    MaturityError,
    Step,
    Suggestion,
    check_levels,
    gaps,
    next_steps,
    stage,
)
from regulars.i18n import N_, _

# --- what the rules read ----------------------------------------------------------------------

#: The window the data's recent facts are counted over (days up to the data's last order).
WINDOW_DAYS = 365
#: The window of the managers' tasks (days up to today).
TASK_DAYS = 90
#: The share of regulars with a named manager that shows regulars are assigned to managers.
MANAGER_SHARE = 0.10
#: The share of due tasks closed that shows managers work their worklist.
CLOSED_SHARE = 0.5
#: Goal metrics by the level of the table's goal-setting cell they belong to.
LEVEL_3_METRICS = frozenset({"share_of_regulars", "revenue_share_of_regulars"})
LEVEL_4_METRICS = frozenset({"order_frequency", "average_order", "regulars_tenure",
                             "loyalty_efficiency"})
ROTATION = "rotation"


@dataclass(frozen=True)
class GoalFact:
    """A goal in force (not retired): its metric, its segment (None: the whole base) and how
    many readings it had in the last :data:`TASK_DAYS` days."""

    metric: str
    segment: str | None = None
    recent_readings: int = 0


@dataclass(frozen=True)
class Facts:
    """What the store shows, as the rules read it. Counts over the :data:`WINDOW_DAYS` days to
    ``as_of`` (the day of the data's last order; None: no orders), tasks over the
    :data:`TASK_DAYS` days to today. ``None`` for a table that holds nothing."""

    as_of: date | None = None
    regular_min_orders: int = 3
    active_customers: int = 0      # customers with an order in the window
    active_regulars: int = 0       # of them, with at least regular_min_orders orders
    regulars_with_manager: int = 0  # of those, with a manager named on their card
    map_built_at: datetime | None = None  # the served customer map (dashboard, worklist)
    goals: tuple[GoalFact, ...] = ()
    feedback_rows: int = 0         # feedback rows ever
    survey_answers: int = 0        # NPS or CSAT answers in the window
    surveyed_customers: int = 0
    survey_quarters: int = 0       # of the window's four quarters, those with survey answers
    complaints: int = 0            # complaints in the window (feedback or interactions)
    complaints_answered: int = 0   # complaint interactions in the window with a response
    contacts_to_regulars: int = 0  # greetings, calls and events to active regulars, window
    events_for_regulars: int = 0   # events (kind "event") to active regulars, window
    playbook_journeys: int = 0     # customers' journeys through a playbook, ever
    tasks_due: int = 0             # tasks due in the last TASK_DAYS days up to today
    tasks_closed: int = 0          # of them, done
    task_owners: int = 0           # the managers those tasks belong to
    owners_closing: int = 0        # of them, those who closed at least one
    programme: bool = False        # a loyalty programme is defined
    members: int = 0               # its members
    club: bool = False             # the programme has a paid club
    club_members: int = 0          # members who paid the club's fee


class FactsSource(Protocol):
    def facts(self, today: date) -> Facts: ...


# --- the rules, one per parameter -------------------------------------------------------------

def _ev(code: str, message: str, **values: int | float | str | date) -> Evidence:
    return Evidence(code, message, values)


def _share_evidence(f: Facts) -> Evidence:
    share = f.active_regulars / f.active_customers if f.active_customers else 0.0
    return _ev("regulars_counted", N_(
        "Regular customers (at least {min_orders} orders) among those who ordered in the 12 "
        "months to {as_of_on}: {regulars} of {active}, {regulars_share}."),
        min_orders=f.regular_min_orders, regulars=f.active_regulars, active=f.active_customers,
        as_of_on=f.as_of or date.min, regulars_share=share)


def _goals_evidence(f: Facts, level: int) -> Evidence:
    message = {
        5: N_("Goals in force: {goals}, among them on the rotation of regulars, and by segment or "
              "on order frequency, average order, tenure or the loyalty programme's efficiency."),
        4: N_("Goals in force: {goals}, among them by segment or on order frequency, average "
              "order, tenure or the loyalty programme's efficiency."),
        3: N_("Goals in force: {goals}, on the share of regulars or of sales from regulars."),
    }[level]
    return _ev("goals_set", message, goals=len(f.goals))


def suggest_goal_setting(f: Facts) -> Suggestion | None:
    """Goals in force decide: a goal by segment or on frequency, average order, tenure or the
    loyalty programme's efficiency is level 4, and 5 with a rotation goal beside it; goals on
    the share of regulars or of sales from them are level 3. No goal, but orders in the store
    (so the number and share of regulars are recorded): level 2. No orders and no goal: none."""
    if f.goals:
        metrics = {g.metric for g in f.goals}
        level_4 = bool(metrics & LEVEL_4_METRICS) or any(g.segment for g in f.goals)
        level = 5 if level_4 and ROTATION in metrics else 4 if level_4 else 3
        return Suggestion("goal_setting", level, (_goals_evidence(f, level),))
    if f.as_of is None:
        return None
    return Suggestion("goal_setting", 2, (_share_evidence(f), _ev(
        "no_goals", N_("No goal is set (the goals page, regulars goals)."))))


def suggest_result(f: Facts) -> Suggestion | None:
    """Goals read against the portfolio in the last 90 days: level 4 (the goals are monitored
    by agreed indicators). Otherwise the served customer map, or complaints that were answered,
    show the state of affairs followed customer by customer: level 2. Neither: none."""
    read = [g for g in f.goals if g.recent_readings > 0]
    if read:
        return Suggestion("result", 4, (_ev("goals_read", N_(
            "Goals read against the portfolio in the last {days} days: {goals}."),
            goals=len(read), days=TASK_DAYS),))
    evidence: list[Evidence] = []
    if f.map_built_at is not None:
        evidence.append(_ev("map_served", N_(
            "The customer map (every customer's rung, status and signals) was last built on "
            "{built_on}."), built_on=f.map_built_at.date()))
    if f.complaints_answered:
        evidence.append(_ev("complaints_answered", N_(
            "Complaints answered in the 12 months to {as_of_on}: {answered}."),
            answered=f.complaints_answered, as_of_on=f.as_of or date.min))
    return Suggestion("result", 2, tuple(evidence)) if evidence else None


def suggest_interaction(f: Facts) -> Suggestion | None:
    """Survey answers (NPS or CSAT) in each of the last four quarters: level 4 (surveys run
    regularly); in one to three of them: level 3 (now and then); no survey but complaints:
    level 2 (feedback only when customers complain). No feedback at all: none."""
    if f.survey_answers:
        level = 4 if f.survey_quarters >= 4 else 3
        return Suggestion("interaction", level, (_ev("surveys", N_(
            "Survey answers (NPS or CSAT) in the 12 months to {as_of_on}: {answers}; customers "
            "who answered: {customers}; quarters with answers: {quarters} of 4."),
            answers=f.survey_answers, customers=f.surveyed_customers,
            as_of_on=f.as_of or date.min, quarters=f.survey_quarters),))
    if f.complaints:
        return Suggestion("interaction", 2, (_ev("complaints_only", N_(
            "In the 12 months to {as_of_on}: complaints {complaints}, survey answers none."),
            complaints=f.complaints, as_of_on=f.as_of or date.min),))
    return None


def suggest_quality(f: Facts) -> Suggestion | None:
    """A playbook running (a written plan of contacts: the standard): level 3. Otherwise
    greetings, calls or events to regulars recorded in the last 12 months, with no written plan
    (the "family" traditions): level 2. Neither: none."""
    if f.playbook_journeys:
        return Suggestion("quality", 3, (_ev("playbooks", N_(
            "A communication plan runs: customers' journeys through playbooks: {journeys}."),
            journeys=f.playbook_journeys),))
    if f.contacts_to_regulars:
        return Suggestion("quality", 2, (_ev("contacts_no_plan", N_(
            "Greetings, calls and events to regulars in the 12 months to {as_of_on}: "
            "{contacts}; no playbook runs."), contacts=f.contacts_to_regulars,
            as_of_on=f.as_of or date.min),))
    return None


def suggest_motivation(f: Facts) -> Suggestion | None:
    """At least :data:`MANAGER_SHARE` of the active regulars have a manager named on their card
    (regulars are assigned to staff): level 2. Fewer, or no regulars: none (a card without a
    manager may just be a column never imported)."""
    if not f.active_regulars:
        return None
    share = f.regulars_with_manager / f.active_regulars
    if share < MANAGER_SHARE:
        return None
    return Suggestion("motivation", 2, (_ev("regulars_assigned", N_(
        "Regulars with a manager named on their card: {assigned} of {regulars}, "
        "{assigned_share}."), assigned=f.regulars_with_manager, regulars=f.active_regulars,
        assigned_share=share),))


def suggest_personal_effectiveness(f: Facts) -> Suggestion | None:
    """Tasks due in the last 90 days: at least :data:`CLOSED_SHARE` of them done and every
    manager with tasks closing some (one system everybody works in): level 3; otherwise
    level 2 (each organises their own work). No task: none."""
    if not f.tasks_due:
        return None
    closed = f.tasks_closed / f.tasks_due
    level = 3 if closed >= CLOSED_SHARE and f.owners_closing == f.task_owners else 2
    return Suggestion("personal_effectiveness", level, (_ev("tasks", N_(
        "Tasks due in the last {days} days done: {closed} of {due}, {closed_share}; managers "
        "who closed some of their tasks: {closing} of {owners}."),
        closed=f.tasks_closed, due=f.tasks_due, days=TASK_DAYS, closed_share=closed,
        closing=f.owners_closing, owners=f.task_owners),))


def suggest_stakeholders(f: Facts) -> Suggestion | None:
    """A loyalty programme with members (a programme that encourages the behaviour wanted):
    level 4. None: no suggestion."""
    if not (f.programme and f.members):
        return None
    return Suggestion("stakeholders", 4, (_ev("programme", N_(
        "A loyalty programme runs; its members: {members}."), members=f.members),))


def suggest_relationships(f: Facts) -> Suggestion | None:
    """A club with members and events for regulars in the last 12 months (events held, a club
    created): level 5. Otherwise none."""
    if not (f.club and f.club_members and f.events_for_regulars):
        return None
    return Suggestion("relationships", 5, (_ev("club_events", N_(
        "Club members: {members}; events for regulars in the 12 months to {as_of_on}: "
        "{events}."), members=f.club_members, events=f.events_for_regulars,
        as_of_on=f.as_of or date.min),))


#: The rules, in the table's order. No rule for the other parameters: the data regulars keeps
#: says nothing about a team's culture, its competencies, or the range of products.
RULES: tuple[Callable[[Facts], Suggestion | None], ...] = (
    suggest_goal_setting, suggest_result, suggest_quality, suggest_interaction,
    suggest_relationships, suggest_motivation, suggest_personal_effectiveness,
    suggest_stakeholders,
)


def suggest(facts: Facts) -> dict[str, Suggestion]:
    """Every suggestion the data supports, by parameter, in the table's order."""
    found = {s.parameter: s for s in (rule(facts) for rule in RULES) if s is not None}
    return {p: found[p] for p in PARAMETERS if p in found}


# --- scoring and the assessments ------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """Answers scored: each parameter's level, the stage, the gaps and the next steps."""

    levels: Mapping[str, int]
    stage: int
    gaps: tuple[str, ...]
    steps: tuple[Step, ...]


def score(levels: Mapping[str, int]) -> Score:
    """Score a complete set of answers (all sixteen parameters)."""
    check_levels(levels)
    missing = [p for p in PARAMETERS if p not in levels]
    if missing:
        raise MaturityError(_("missing parameters: {parameters}").format(
            parameters=", ".join(missing)))
    ordered = {p: levels[p] for p in PARAMETERS}
    return Score(ordered, stage(ordered), tuple(gaps(ordered)), tuple(next_steps(ordered)))


@dataclass(frozen=True)
class Answer:
    """One parameter's answer: the owner's level, and what the data suggested (if anything)."""

    level: int
    suggested_level: int | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Assessment:
    """An assessment as kept: when, by whom, in which language, the answers and the stage."""

    assessment_id: str
    taken_at: datetime
    taken_by: str | None
    language: str
    stage: int
    answers: Mapping[str, Answer]
    note: str | None = None

    @property
    def levels(self) -> dict[str, int]:
        return {p: a.level for p, a in self.answers.items()}

    def score(self) -> Score:
        return score(self.levels)


@dataclass(frozen=True)
class Comparison:
    """An assessment against the one before it: per parameter, the change of level (None
    when there is no earlier assessment)."""

    current: Assessment
    previous: Assessment | None
    changes: Mapping[str, int] = field(default_factory=dict)

    @property
    def stage_change(self) -> int | None:
        return None if self.previous is None else self.current.stage - self.previous.stage


class AssessmentStore(Protocol):
    def insert(self, assessment: Assessment) -> None: ...

    def list(self, limit: int) -> list[Assessment]:
        """The latest ``limit`` assessments, newest first."""
        ...

    def get(self, assessment_id: str) -> Assessment | None: ...

    def before(self, assessment: Assessment) -> Assessment | None:
        """The assessment taken just before ``assessment``."""
        ...


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Maturity:
    """The questionnaire's use cases over the store's facts and its kept assessments."""

    def __init__(self, facts: FactsSource, store: AssessmentStore,
                 clock: Callable[[], datetime] = _now,
                 closers: Sequence[Callable[[], None]] = ()) -> None:
        self.facts_source = facts
        self.store = store
        self.clock = clock
        self.closers = list(closers)

    def facts(self) -> Facts:
        return self.facts_source.facts(self.clock().date())

    def suggestions(self) -> dict[str, Suggestion]:
        """What the data suggests now, by parameter (those it can tell only)."""
        return suggest(self.facts())

    @staticmethod
    def score(levels: Mapping[str, int]) -> Score:
        return score(levels)

    def save(self, levels: Mapping[str, int], *, language: str,
             suggestions: Mapping[str, Suggestion] | None = None,
             taken_by: str | None = None, note: str | None = None) -> Assessment:
        """Keep a complete set of answers with the suggestions they were given (None: asks
        the data now), and return the assessment kept."""
        scored = score(levels)
        suggested = self.suggestions() if suggestions is None else suggestions
        answers = {p: Answer(level, suggested[p].level if p in suggested else None,
                             suggested[p].evidence if p in suggested else ())
                   for p, level in scored.levels.items()}
        assessment = Assessment(uuid.uuid4().hex, self.clock(), taken_by, language,
                                scored.stage, answers, note)
        self.store.insert(assessment)
        return assessment

    def history(self, limit: int = 50) -> list[Assessment]:
        """The kept assessments, newest first."""
        return self.store.list(limit)

    def get(self, assessment_id: str) -> Assessment | None:
        return self.store.get(assessment_id)

    def compare(self, assessment: Assessment | None = None) -> Comparison | None:
        """``assessment`` (default: the latest) against the one before it; None when none is
        kept."""
        if assessment is None:
            latest = self.store.list(1)
            if not latest:
                return None
            assessment = latest[0]
        previous = self.store.before(assessment)
        return compare(assessment, previous)

    def latest(self) -> Assessment | None:
        """The latest kept assessment, or None."""
        found = self.store.list(1)
        return found[0] if found else None

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def compare(current: Assessment, previous: Assessment | None) -> Comparison:
    """The per-parameter change of level from ``previous`` to ``current``."""
    if previous is None:
        return Comparison(current, None, {})
    changes = {p: current.answers[p].level - previous.answers[p].level
               for p in PARAMETERS if p in current.answers and p in previous.answers}
    return Comparison(current, previous, changes)


def changes_since(levels: Mapping[str, int], previous: Assessment | None) -> dict[str, int]:
    """Per parameter, ``levels`` minus the ``previous`` assessment's level (empty: none)."""
    if previous is None:
        return {}
    return {p: levels[p] - previous.answers[p].level
            for p in PARAMETERS if p in levels and p in previous.answers}


# --- an answers file --------------------------------------------------------------------------

def _key_lines(text: str) -> dict[str, int]:
    """The line each top-level key of a TOML text is on (the first; 1-based)."""
    lines: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"""\s*["']?([A-Za-z0-9_\-]+)["']?\s*=""", line)
        if m and m.group(1) not in lines:
            lines[m.group(1)] = n
    return lines


def parse_answers(text: str, source: str) -> dict[str, int]:
    """The ``parameter = level`` lines of an answers file (TOML), checked: every problem at
    once, each naming ``source``, the line and the key (an :class:`MaturityError`). A parameter
    the file leaves out is not an error here (see :func:`complete_answers`)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise MaturityError(_("{file}: not a TOML file of parameter = level lines: {error}")
                            .format(file=source, error=str(e))) from e
    lines = _key_lines(text)
    problems: list[str] = []
    answers: dict[str, int] = {}
    for key, value in data.items():
        where = _("{file}, line {line}").format(file=source, line=lines.get(key, "?"))
        if key not in PARAMETERS:
            problems.append(_("{where}: unknown parameter '{key}'; the parameters are "
                              "{parameters}").format(where=where, key=key,
                                                     parameters=", ".join(PARAMETERS)))
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            problems.append(_("{where}: {key} = {value}: a level is a whole number from 1 "
                              "to 5").format(where=where, key=key, value=_toml_value(value)))
        else:
            answers[key] = value
    if problems:
        raise MaturityError("\n".join(problems))
    return answers


def _toml_value(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else type(value).__name__


def complete_answers(answers: Mapping[str, int], suggestions: Mapping[str, Suggestion],
                     source: str) -> tuple[dict[str, int], tuple[str, ...]]:
    """The file's answers with each parameter it leaves out taken from the data's suggestion;
    returns the levels and the parameters taken so. A parameter left out that the data cannot
    tell is an error naming them all."""
    missing = [p for p in PARAMETERS if p not in answers]
    unknown = [p for p in missing if p not in suggestions]
    if unknown:
        raise MaturityError(_("{file}: no answer for {parameters}, and the data suggests no "
                              "level for them: add a line parameter = level for each").format(
            file=source, parameters=", ".join(unknown)))
    levels = {p: answers[p] if p in answers else suggestions[p].level for p in PARAMETERS}
    return levels, tuple(missing)
