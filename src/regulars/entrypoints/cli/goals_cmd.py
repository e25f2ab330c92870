"""``regulars goals list | set | show | retire | track``: the business's goals on its portfolio
and their tracking over time (issue 21).

Registered on ``main.app`` when imported (``app.py``'s import list).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api
from regulars.domain.goals import DEFINITIONS, METRICS, SEGMENTS
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, fail, out
from regulars.entrypoints.cli.main import app, handled, parse_day, settings_from
from regulars.entrypoints.goal_words import goal_title, metric_name, state_name, value_text
from regulars.i18n import _, fmt_date, fmt_list, fmt_number, fmt_percent, ngettext
from regulars.services.audit import Caller
from regulars.services.goals import GoalNotFoundError, TrackedGoal, as_dict

goals_app = typer.Typer(help=_("The business's goals on its portfolio: set them, list them, "
                               "see each one's readings over time, retire them, and record "
                               "the readings (track)."),
                        no_args_is_help=True)
app.add_typer(goals_app, name="goals")


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help=_("How to print it."),
                                           case_sensitive=False)]
GoalIdArg = Annotated[str, typer.Argument(help=_("The goal's id (from `regulars goals list`)."))]


def _json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _print_goals(goals: list[TrackedGoal], currency: str | None) -> None:
    """Each goal on two lines (a table broke the names mid-word at 80 columns): its title and
    id, then where it stands."""
    if not goals:
        out.print(_("No goals set. Set one with `regulars goals set METRIC TARGET --due "
                    "YYYY-MM-DD`; the metrics: {metrics}.").format(
                        metrics=fmt_list(list(METRICS))), highlight=False, markup=False)
        return
    for t in goals:
        g, p = t.goal, t.progress
        out.print(f"{goal_title(g, currency)}  [{g.goal_id}]", highlight=False, markup=False)
        if t.retired_at is not None:
            state = _("retired")
        else:
            state = state_name(p.state if p is not None else "no_data")
        if p is None:
            line = _("baseline {baseline} · {state}").format(
                baseline=value_text(g.metric, g.baseline, currency), state=state)
        else:
            line = _("now {value} ({day}) · baseline {baseline} · covered {covered} · "
                     "{state}").format(
                value=value_text(g.metric, p.value, currency), day=fmt_date(p.as_of),
                baseline=value_text(g.metric, g.baseline, currency),
                covered=fmt_percent(p.covered, 0) if p.covered is not None else "—",
                state=state)
        out.print("  " + line, highlight=False, markup=False)
        if g.note:
            out.print("  " + g.note, highlight=False, markup=False)


@goals_app.command("list", help=_(
    "The goals with their latest reading and progress."))
def list_goals(
    all_goals: Annotated[bool, typer.Option("--all", help=_("Retired goals too."))] = False,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        with api.goals(settings) as goals:
            found = goals.list(retired=all_goals)
    if fmt is Format.JSON:
        _json([as_dict(t) for t in found])
        return
    _print_goals(found, settings.currency)


@goals_app.command("set", help=_(
    "Set a goal; its baseline is the metric's value at the start, read from the store."))
def set_goal(
    metric: Annotated[str, typer.Argument(
        help=_("What to aim at: {metrics}.").format(metrics=", ".join(METRICS)),
        show_default=False)],
    target: Annotated[float, typer.Argument(
        help=_("The target, in the metric's unit: a share in percent (35 = 35 %), an "
               "average order in money, tenure in days, rotation in customers."),
        show_default=False)],
    due: Annotated[str, typer.Option("--due", help=_("The due date, YYYY-MM-DD."),
                                     show_default=False)],
    start: Annotated[str | None, typer.Option(
        "--start", help=_("The start, YYYY-MM-DD (default: the day the data describes)."))
    ] = None,
    segment: Annotated[str | None, typer.Option(
        "--segment", help=_("A rung of the ladder to measure the metric on ({rungs}); for "
                            "order_frequency, average_order and regulars_tenure.").format(
                                rungs=", ".join(SEGMENTS)))] = None,
    baseline: Annotated[float | None, typer.Option(
        "--baseline", help=_("The value to start from (default: the metric at the start)."))
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help=_("Why, in a few words."))] = None,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    due_on = parse_day(due, "--due")
    starts_on = parse_day(start, "--start")
    assert due_on is not None
    with handled():
        settings = settings_from(config, database_url)
        with api.goals(settings) as goals:
            made = goals.set(metric, target, due_on=due_on, starts_on=starts_on,
                             segment=segment, baseline=baseline, note=note,
                             caller=Caller.cli("regulars goals set"))
    if fmt is Format.JSON:
        _json(as_dict(made))
        return
    g = made.goal
    out.print(_("goal {id} set: {title}, from {baseline} on {start}").format(
        id=g.goal_id, title=goal_title(g, settings.currency),
        baseline=value_text(g.metric, g.baseline, settings.currency),
        start=fmt_date(g.starts_on)), highlight=False, markup=False)
    out.print(_("Definition: {text}").format(text=_(DEFINITIONS[g.metric])),
              highlight=False, markup=False)


def _one(goal_id: str, settings: api.Settings, *, retire: bool = False) -> TrackedGoal:
    try:
        with api.goals(settings) as goals:
            if retire:
                return goals.retire(goal_id, caller=Caller.cli("regulars goals retire"))
            return goals.get(goal_id)
    except GoalNotFoundError:
        fail(_("no goal {id}; `regulars goals list --all` lists them").format(id=goal_id), 2)


@goals_app.command("show", help=_(
    "A goal and its readings over time, each against the straight path to the target."))
def show_goal(
    goal_id: GoalIdArg,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        t = _one(goal_id, settings)
    if fmt is Format.JSON:
        _json(as_dict(t))
        return
    from regulars.domain.goals import progress

    g, money = t.goal, settings.currency
    out.print(goal_title(g, money), highlight=False, markup=False)
    out.print(_("{metric}: {definition}").format(metric=metric_name(g.metric),
                                                 definition=_(DEFINITIONS[g.metric])),
              highlight=False, markup=False)
    if g.note:
        out.print(g.note, highlight=False, markup=False)
    if not t.readings:
        out.print(_("No readings yet: `regulars goals track` records them."),
                  highlight=False, markup=False)
        return
    table = Table(show_edge=False, pad_edge=False)
    for header in (_("Date"), _("Value"), _("Path"), _("Covered"), _("State")):
        table.add_column(header)
    for r in t.readings:
        p = progress(g, r.value, r.as_of)
        table.add_row(fmt_date(r.as_of), value_text(g.metric, r.value, money),
                      value_text(g.metric, p.expected, money),
                      fmt_percent(p.covered, 0) if p.covered is not None else "—",
                      state_name(p.state))
    out.print(table)


@goals_app.command("retire", help=_(
    "Stop pursuing a goal; it is kept with its readings (`list --all` shows it)."))
def retire_goal(
    goal_id: GoalIdArg,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        t = _one(goal_id, settings, retire=True)
    out.print(_("goal {id} retired: {title}").format(
        id=t.goal.goal_id, title=goal_title(t.goal, settings.currency)),
        highlight=False, markup=False)


@goals_app.command("track", help=_(
    "Record the goals' readings still missing (the start, every month's end, today) from the "
    "store's order history, then list the goals."))
def track_goals(
    again: Annotated[bool, typer.Option(
        "--again", help=_("Read every date anew, not only the missing ones and today."))
    ] = False,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        with api.goals(settings) as goals:
            written = goals.track(again=again)
            found = goals.list()
    if fmt is Format.JSON:
        _json({"readings_written": written, "goals": [as_dict(t) for t in found]})
        return
    out.print(ngettext("{n} reading recorded.", "{n} readings recorded.", written).format(
        n=fmt_number(written)), highlight=False, markup=False)
    _print_goals(found, settings.currency)
