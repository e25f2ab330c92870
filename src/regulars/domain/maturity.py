"""Article 001's maturity self-assessment (DOMAIN §10): five levels of managing relationships
with regular customers, on sixteen parameters. The keys are the contract between the
questionnaire, the answers files (`parameter = level`), the store and the catalogue.

Pure: no I/O, no clock. What a person reads is marked here with ``N_`` (English, the msgid) and
translated where it is shown (``_()``); the Russian catalogue holds the article's own words.

The rules (each a function with its own hand-computed tests):

- :func:`stage` — the overall stage is the level **most parameters are at**; when two or more
  levels are tied for most, the **lowest** of them (a business is only as mature as it reliably
  is: of 8 parameters at level 2 and 8 at level 4, the stage is 2).
- :func:`gaps` — the parameters below the stage, lowest first (then in the table's order): they
  hold the rest back.
- :func:`next_steps` — the article's rule "**don't jump levels**" ("if you are at level 1–2 on
  most parameters, don't try to introduce level 4–5 tools at once; act step by step"): every
  step lifts a parameter by exactly one level; no step goes beyond the level after the stage;
  while more than half of the parameters are at level 1–2, no step goes beyond level 3. The
  parameters furthest behind come first; at most three steps, each pointing to the product's
  feature that serves it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from regulars.domain.errors import InputError
from regulars.i18n import N_, _, fmt_date, fmt_number, fmt_percent

# The sixteen parameters, in the article's table's order.
PARAMETERS: tuple[str, ...] = (
    "goal_setting", "architecture", "result", "quality", "interaction", "relationships",
    "team", "culture", "competencies", "potential", "motivation", "personal_effectiveness",
    "stakeholders", "positioning", "product", "reputation",
)

# The five levels, 1..5, and their names.
LEVELS: dict[int, str] = {1: "chaos", 2: "tradition", 3: "standards", 4: "goals", 5: "innovation"}

#: The levels' names as a person reads them (``_()`` when shown).
LEVEL_NAMES: dict[int, str] = {
    1: N_("Chaos"), 2: N_("Tradition"), 3: N_("Standards"), 4: N_("Goals"), 5: N_("Innovation"),
}

#: The parameters' names as a person reads them (``_()`` when shown).
PARAMETER_NAMES: dict[str, str] = {
    "goal_setting": N_("Goal-setting"),
    "architecture": N_("Architecture"),
    "result": N_("Result"),
    "quality": N_("Quality"),
    "interaction": N_("Interaction"),
    "relationships": N_("Relationships"),
    "team": N_("Team"),
    "culture": N_("Culture"),
    "competencies": N_("Competencies"),
    "potential": N_("Potential"),
    "motivation": N_("Motivation"),
    "personal_effectiveness": N_("Personal effectiveness"),
    "stakeholders": N_("Stakeholders"),
    "positioning": N_("Positioning"),
    "product": N_("Product"),
    "reputation": N_("Reputation"),
}

#: The table's 80 cells: for each parameter, the descriptions of levels 1..5 (English msgids;
#: the Russian catalogue holds the article's words). Where the extracted article ran two cells
#: together, they were split by reading; "Result" level 5 takes the sentence that begins
#: "Дополнительно" ("In addition"), as the table's other level-5 cells that begin so do.
CELLS: dict[str, tuple[str, str, str, str, str]] = {
    "goal_setting": (
        N_("No goals are set for the number, segments or share of regular customers. "
           "Customers become regulars by chance."),
        N_("The number and share of regular customers are recorded; no goals are set."),
        N_("Goals are set for the share of sales that comes from regular customers' orders."),
        N_("Goals are set by key segment, order frequency, average order size, regular "
           "customers' average tenure and the return on investment in loyalty programmes."),
        N_("In addition, goals are set for the rotation of regular customers and for joint "
           "projects carried out with them."),
    ),
    "architecture": (
        N_("No one is responsible for relationships with regular customers. Most "
           "communication with them is handled by the owner or head of the business."),
        N_("No position carries responsibility for relationships with regular customers. "
           "Whoever works with a particular regular customer deals with them."),
        N_("Relationships with regular customers are assigned: communication to sales "
           "managers, loyalty programmes to the marketer, VIP customers to the head of sales."),
        N_("Serving regular customers is assigned to key account managers (KAM)."),
        N_("Regular customers become partners and take part in joint projects."),
    ),
    "result": (
        N_("The state of relationships with regular customers is not monitored and results "
           "are not assessed."),
        N_("The state of affairs is reviewed at meetings by following how particular regular "
           "customers are served. Claims and complaints are looked into when they arise."),
        N_("Compliance with the standard for serving regular customers is checked from time "
           "to time. Sometimes world best practice and trends in the figures are used to "
           "assess the result."),
        N_("The goals set are monitored against agreed indicators. The standard is checked "
           "systematically."),
        N_("In addition, whether the relationship system is still up to date is checked "
           "through feedback from customers and from staff. A system for monitoring results "
           "takes in quantitative indicators, stakeholders' reviews and ratings."),
    ),
    "quality": (
        N_("There is no standard for relationships with regular customers; what matters is "
           "that the relationship exists, not its quality."),
        N_("There is no standard for relationships with regular customers, only some "
           "unwritten \"family\" traditions: greetings on holidays, asking now and then how "
           "things are going."),
        N_("A standard for serving regular customers has been written; its authors check it "
           "now and then, but it is not kept up to date."),
        N_("Goals for service quality are set from measured satisfaction, commitment and "
           "loyalty of regular customers. The standard is checked regularly."),
        N_("The standard is updated systematically, taking into account the views of all "
           "stakeholders."),
    ),
    "interaction": (
        N_("There is no system of feedback from regular customers."),
        N_("Feedback from regular customers comes only on their initiative, when they make "
           "claims and complaints."),
        N_("Feedback is collected by the managers who work with the customers; surveys are "
           "run now and then."),
        N_("Surveys of regular customers' opinions are run regularly. Their results drive "
           "management decisions that change the system of relationships with regular "
           "customers."),
        N_("Feedback from regular customers comes continuously. A regular customer can see "
           "the overall results of regular customers' feedback, make suggestions and requests "
           "online, and they are taken into account. Regular customers are promptly told "
           "what has changed."),
    ),
    "relationships": (
        N_("Inside the organisation, regular customers are not discussed and no decisions "
           "are taken about them."),
        N_("Discussions about regular customers are started by the head of the business or "
           "by proactive sales managers."),
        N_("The customer service standard requires staff to put forward proposals about "
           "relationships with customers."),
        N_("Relationships with regular customers are part of internal training and "
           "mentoring. Regular debriefs are held."),
        N_("Regular customers may be invited to internal discussions to shape the policy "
           "towards them. Events (conferences, seminars, focus groups) are held where they can "
           "take part in discussions. Communities and clubs are created."),
    ),
    "team": (
        N_("Relationships with regular customers are not a priority for the team; the "
           "leader pays them no particular attention."),
        N_("The leader understands the importance of regular customers and takes decisions "
           "accordingly; the team helps carry them out."),
        N_("Strategic decisions, which at this stage include relationships with regular "
           "customers, are discussed and taken by the team."),
        N_("The team grows closer thanks to regular customers' feedback, which shapes "
           "decisions on improving the system."),
        N_("Regular customers are seen as members of the team."),
    ),
    "culture": (
        N_("No culture of relationships with regular customers has formed. The need to keep "
           "regular customers is not recognised."),
        N_("Traditions towards regular customers have formed. Management recognises the value "
           "of these relationships and passes it on to staff."),
        N_("The standard sets out the actions required towards regular customers. The "
           "company's values set out its approach to relationships with customers. The most "
           "conscientious employees carry the culture on their own initiative."),
        N_("The culture of relationships with regular customers is upheld at every level of "
           "the organisation but needs regular checking."),
        N_("Every employee carries a culture of respect for customers and understands the "
           "value of regular customers."),
    ),
    "competencies": (
        N_("No one in the organisation has specific skills in managing relationships with "
           "regular customers; such skills are usually not needed."),
        N_("Relationships with regular customers are built on common sense, by intuition."),
        N_("The need to maintain relationships with regular customers, and how to do it, "
           "are set out in job descriptions."),
        N_("Skills in working with regular customers are developed through internal training "
           "based on agreed indicators and their measures."),
        N_("Skills improve continuously, at work and through training and self-study. "
           "Internal conferences, sharing of experience, debriefs and reading professional "
           "literature together take place. Developing skills is part of the daily work and "
           "never stops."),
    ),
    "potential": (
        N_("No initiatives about regular customers arise; there is plenty else to do."),
        N_("The head of the business or the marketer initiates building systematic "
           "relationships with regular customers."),
        N_("Initiatives may come from the quality specialist, the marketer, or sales "
           "managers aiming for a career."),
        N_("The organisation has a mechanism that nurtures every employee's initiatives: "
           "project teams, quality circles and working groups, which also look at the system "
           "of working with regular customers."),
        N_("Initiatives come from all staff, and from regular customers too."),
    ),
    "motivation": (
        N_("Staff are not specifically motivated to work with regular customers."),
        N_("Working with regular customers is more rewarding because it takes less effort, "
           "so the more experienced, long-serving employees are motivated by having regular "
           "customers assigned to them."),
        N_("A motivation scheme for working with regular customers applies, calculated from "
           "performance indicators."),
        N_("Regular customers' feedback is one of the criteria for assessing and motivating "
           "staff."),
        N_("Staff are so committed and loyal that no special motivation for working with "
           "regular customers is needed. Only innovations and unusual proposals for improving "
           "the system are rewarded."),
    ),
    "personal_effectiveness": (
        N_("No special software is used."),
        N_("Every employee who deals with regular customers organises their own work "
           "according to their preferences and general skill level."),
        N_("A CRM is introduced, and everyone who deals with customers must work in it."),
        N_("The CRM's data are analysed regularly; additional fields for recording and "
           "analysis are introduced."),
        N_("In-house tools are used that fully fit the organisation and let regular customers "
           "themselves take part in the process."),
    ),
    "stakeholders": (
        N_("The term \"stakeholders\" is not used."),
        N_("The interests of each particular regular customer are taken into account. There "
           "is no system for regular customers as a group of stakeholders. Regular customers "
           "can bargain for individual terms (discounts, payment terms, delivery and so on)."),
        N_("A system for working with regular customers has been built, with uniform terms "
           "depending on the starting conditions (purchase volume, frequency, payment terms "
           "and so on)."),
        N_("Loyalty programmes are introduced that encourage particular behaviour of regular "
           "customers."),
        N_("Regular customers can set up their own loyalty programmes. Automation makes it "
           "possible to personalise loyalty programmes without harming the whole system or "
           "other parties."),
    ),
    "positioning": (
        N_("The organisation does not single out target segments of regular customers."),
        N_("The organisation looks at who its regular customers are and draws conclusions "
           "about its positioning from the situation as it has turned out."),
        N_("The organisation has formulated its positioning from market analysis and its "
           "strategic goals."),
        N_("The organisation sets performance indicators for its positioning, in both "
           "quantitative and qualitative terms."),
        N_("In addition, the positioning is value-driven: it carries the idea of belonging to "
           "a common cause and treats regular customers as part of a business model that "
           "benefits both sides."),
    ),
    "product": (
        N_("The range holds what the organisation can and wants to make or do."),
        N_("The range forms haphazardly, from regular customers' preferences."),
        N_("A range policy takes into account not only customers' preferences but also the "
           "profitability of each product or service, market trends and competitors' offers."),
        N_("The range is analysed systematically: unprofitable items and items not in demand "
           "are dropped, new ones are tested and introduced."),
        N_("Regular customers take a direct part in shaping the range, rating every product "
           "or service and suggesting new ones."),
    ),
    "reputation": (
        N_("The reputation is only being built; it gets no particular attention."),
        N_("The reputation rests either on the product or on the reputation of the head of "
           "the business."),
        N_("The target reputation is defined and there are plans to reach it, among regular "
           "customers too."),
        N_("The organisation has a firm reputation among regular customers. Customers are "
           "ready to keep working with it even with competitors around and objectively better "
           "offers."),
        N_("Regular customers are proud to be its customers. Its reputation extends to them "
           "too."),
    ),
}


class MaturityError(InputError, ValueError):
    """Answers the rules cannot score: an unknown parameter or a level outside 1..5 (an
    :class:`~regulars.domain.errors.InputError`: the CLI exits 2, the API answers 4xx)."""


def description(parameter: str, level: int) -> str:
    """The table's cell for ``parameter`` at ``level`` (the English msgid; ``_()`` to show)."""
    return CELLS[parameter][level - 1]


def check_levels(levels: Mapping[str, int]) -> None:
    """Raise :class:`MaturityError` for an unknown parameter or a level outside 1..5."""
    for parameter, level in levels.items():
        if parameter not in CELLS:
            raise MaturityError(_("unknown parameter '{parameter}'; the parameters are "
                                  "{parameters}").format(parameter=parameter,
                                                         parameters=", ".join(PARAMETERS)))
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            raise MaturityError(_("{parameter}: level {level} is not one of 1..5").format(
                parameter=parameter, level=repr(level)))


def _order(parameter: str) -> int:
    return PARAMETERS.index(parameter)


def stage(levels: Mapping[str, int]) -> int:
    """The overall stage: the level most parameters are at; a tie goes to the lowest level.

    Scores the parameters given (the questionnaire gives all sixteen; a partial set is scored
    as it is). Raises :class:`MaturityError` on an empty set or a bad answer."""
    check_levels(levels)
    if not levels:
        raise MaturityError(_("no answers to score"))
    counts = Counter(levels.values())
    most = max(counts.values())
    return min(level for level, n in counts.items() if n == most)


def gaps(levels: Mapping[str, int]) -> list[str]:
    """The parameters below the stage, the lowest first, then in the table's order."""
    at = stage(levels)
    behind = [p for p, level in levels.items() if level < at]
    return sorted(behind, key=lambda p: (levels[p], _order(p)))


@dataclass(frozen=True)
class Feature:
    """A part of the product that serves a step: its name (``N_``), and where to find it:
    a web page's path and/or a command line."""

    name: str
    page: str | None = None
    command: str | None = None


DASHBOARD = Feature(N_("Dashboard: regulars and their share"), "/dashboard", "regulars analyze")
GOALS = Feature(N_("Goals"), "/goals", "regulars goals")
WORKLIST = Feature(N_("Worklist and tasks"), "/worklist", "regulars worklist")
PLAYBOOKS = Feature(N_("Playbooks: the communication plan"), None, "regulars playbooks")
LOYALTY = Feature(N_("Loyalty programme"), "/loyalty", "regulars points")
FEEDBACK = Feature(N_("Customers: feedback and NPS"), "/customers", "regulars analyze")


@dataclass(frozen=True)
class StepKind:
    """A recommendation of the catalogue: the level it brings a business to, the parameters it
    lifts to that level, what to do (``N_``) and the features that serve it."""

    key: str
    level: int
    parameters: tuple[str, ...]
    text: str
    features: tuple[Feature, ...]


#: What to do to reach each level, and which product feature serves it (DOMAIN §10: level 2
#: count and share of regulars; 3 goals on the share of sales from regulars; 4 goals by
#: segment, frequency, average order, tenure, loyalty-programme efficiency; 5 rotation goals
#: and customers shaping their own programme). Every parameter is lifted by a step of every
#: level 2..5.
STEP_KINDS: tuple[StepKind, ...] = (
    StepKind("count_regulars", 2,
             ("goal_setting", "result", "positioning", "product", "stakeholders", "reputation"),
             N_("Count your regular customers and their share of all active customers, and "
                "look at the figure every month."),
             (DASHBOARD,)),
    StepKind("assign_regulars", 2,
             ("architecture", "team", "culture", "competencies", "potential", "motivation",
              "personal_effectiveness"),
             N_("Give every regular customer a manager who looks after them, and let each "
                "manager see their regulars in the worklist."),
             (WORKLIST,)),
    StepKind("record_feedback", 2,
             ("interaction", "quality", "relationships"),
             N_("Record every complaint and every piece of feedback against the customer, so "
                "that it is looked into."),
             (FEEDBACK,)),
    StepKind("goal_sales_share", 3,
             ("goal_setting", "result", "positioning", "reputation", "team", "culture"),
             N_("Set a goal for the share of sales that comes from regular customers and "
                "track it."),
             (GOALS,)),
    StepKind("work_worklist", 3,
             ("personal_effectiveness", "architecture", "competencies", "motivation",
              "potential"),
             N_("Have every manager work the worklist every day and close their tasks: one "
                "system everybody who deals with customers works in."),
             (WORKLIST,)),
    StepKind("standard_plan", 3,
             ("quality", "interaction", "relationships", "stakeholders", "product"),
             N_("Write your service standard down as a communication plan: the same terms "
                "and the same contacts for every regular customer."),
             (PLAYBOOKS,)),
    StepKind("goals_by_segment", 4,
             ("goal_setting", "result", "positioning", "team", "culture", "motivation",
              "competencies", "potential"),
             N_("Set goals by segment, on order frequency, average order, regular customers' "
                "tenure and the loyalty programme's efficiency."),
             (GOALS,)),
    StepKind("loyalty_programme", 4,
             ("stakeholders", "product", "relationships", "architecture"),
             N_("Run a loyalty programme that rewards the behaviour you want from regular "
                "customers, and set a goal on its efficiency."),
             (LOYALTY, GOALS)),
    StepKind("regular_feedback", 4,
             ("interaction", "quality", "personal_effectiveness", "reputation"),
             N_("Measure satisfaction and NPS regularly and act on what they show."),
             (FEEDBACK,)),
    StepKind("rotation_goals", 5,
             ("goal_setting", "result", "positioning", "team", "culture", "motivation",
              "competencies", "potential", "reputation"),
             N_("Set goals on the rotation of regular customers: regulars gained against "
                "regulars lost."),
             (GOALS,)),
    StepKind("customers_shape_programme", 5,
             ("stakeholders", "product", "interaction", "relationships", "quality",
              "architecture", "personal_effectiveness"),
             N_("Let regular customers shape their own programme: their choice of rewards, "
                "their say in the range, a club of their own."),
             (LOYALTY,)),
)

MAX_STEPS = 3


@dataclass(frozen=True)
class Step:
    """A next step for this business: the catalogue's :class:`StepKind` and the parameters it
    lifts here (each from the level just below ``kind.level``), in the table's order."""

    kind: StepKind
    parameters: tuple[str, ...]

    @property
    def key(self) -> str:
        return self.kind.key

    @property
    def level(self) -> int:
        return self.kind.level


def highest_step_level(levels: Mapping[str, int]) -> int:
    """The highest level a step may bring a parameter to ("don't jump levels"): the level after
    the stage, and no higher than 3 while more than half the parameters are at level 1-2."""
    at = stage(levels)
    ceiling = min(5, at + 1)
    low = sum(1 for level in levels.values() if level <= 2)
    if low * 2 > len(levels):
        ceiling = min(ceiling, 3)
    return ceiling


def next_steps(levels: Mapping[str, int], limit: int = MAX_STEPS) -> list[Step]:
    """At most ``limit`` (three) next steps under the rule "don't jump levels".

    A step of level L lifts the parameters it serves that are at L - 1 now; only steps up to
    :func:`highest_step_level` are considered. They come lowest level first (what lags
    furthest behind holds the rest back), then the step that lifts more parameters, then the
    catalogue's order. A business at level 5 everywhere has no next step."""
    ceiling = highest_step_level(levels)
    candidates: list[tuple[int, int, int, Step]] = []
    for index, kind in enumerate(STEP_KINDS):
        if kind.level > ceiling:
            continue
        lifted = tuple(sorted((p for p in kind.parameters if levels.get(p) == kind.level - 1),
                              key=_order))
        if lifted:
            candidates.append((kind.level, -len(lifted), index, Step(kind, lifted)))
    candidates.sort(key=lambda c: c[:3])
    return [c[3] for c in candidates[:limit]]


# --- what the data suggests -----------------------------------------------------------------

Value = int | float | str | date


@dataclass(frozen=True)
class Evidence:
    """What the data showed, in any language: a code, the sentence (``N_``, with ``{name}``
    placeholders) and its values. Written by :func:`evidence_text` in the reader's language:
    an int or float as a number, a value whose name ends in ``_share`` as a percentage, a
    date (kept as ISO text, as JSON holds it; its name ends in ``_on``) as a date, any other
    string as it is."""

    code: str
    message: str
    values: Mapping[str, Value] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # kept as JSON holds it (a date as ISO text, read back as a date by its name's
        # ``_on``), so that an evidence read from the store equals the one written
        object.__setattr__(self, "values", {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.values.items()})

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message,
                "values": {k: (v.isoformat() if isinstance(v, date) else v)
                           for k, v in self.values.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Evidence:
        raw = data.get("values") or {}
        values: dict[str, Value] = {}
        if isinstance(raw, Mapping):
            for k, v in raw.items():
                if isinstance(v, (int, float, str)):
                    values[str(k)] = v
        return cls(str(data["code"]), str(data["message"]), values)


def _value_text(name: str, value: Value) -> str:
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, str):
        if name.endswith("_on") or name.endswith("_date"):
            try:
                return fmt_date(date.fromisoformat(value))
            except ValueError:
                return value
        return value
    if name.endswith("_share"):
        return fmt_percent(float(value))
    if isinstance(value, float) and not math.isclose(value, round(value)):
        return fmt_number(value, 1)
    return fmt_number(value)


def evidence_text(evidence: Evidence) -> str:
    """The evidence's sentence in the reader's language (the current one)."""
    values = {k: _value_text(k, v) for k, v in evidence.values.items()}
    return _(evidence.message).format(**values)


@dataclass(frozen=True)
class Suggestion:
    """What the data suggests for one parameter: the level and the evidence behind it."""

    parameter: str
    level: int
    evidence: tuple[Evidence, ...]

    def __post_init__(self) -> None:
        check_levels({self.parameter: self.level})
        if not self.evidence:
            raise MaturityError(f"{self.parameter}: a suggestion needs its evidence")  # a bug
