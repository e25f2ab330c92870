"""``regulars tasks list | add | plan | done | snooze | reassign | cancel | report``: the
managers' tasks (issue 18).

Registered on ``main.app`` when imported (``app.py``'s import list).
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api
from regulars.domain.tasks import OUTCOME_NAMES, STATE_NAMES, Outcome, State
from regulars.domain.worklist import ACTION_NAMES, REASONS
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import app, handled, parse_day, settings_from
from regulars.i18n import _, fmt_date, fmt_money, fmt_number, fmt_percent, ngettext, use_language
from regulars.services.audit import Caller
from regulars.services.task_report import ALL_MANAGERS

tasks_app = typer.Typer(help=_("The managers' tasks: list, add, plan, done, snooze, "
                               "reassign, cancel, and whether they work."),
                        no_args_is_help=True)
app.add_typer(tasks_app, name="tasks")


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help=_("How to print it."),
                                           case_sensitive=False)]
TaskIdArg = Annotated[str, typer.Argument(help=_("The task's id (from `regulars tasks list`)."))]


def _caller(command: str) -> Caller:
    return Caller.cli(f"regulars tasks {command}")


def _day(text: str | None, option: str) -> date | None:
    return parse_day(text, option)


def _state_name(code: str) -> str:
    return _(STATE_NAMES[State(code)])


def _outcome_name(code: str | None) -> str:
    return _(OUTCOME_NAMES[Outcome(code)]) if code else ""


def _action_name(code: str) -> str:
    return _(ACTION_NAMES[code]) if code in ACTION_NAMES else code


def _reason_name(code: str) -> str:
    """A worklist reason's name; ``manual`` (a task added by hand) and other codes as they
    are."""
    if code == "manual":
        return _("added by hand")
    return _(REASONS[code]) if code in REASONS else code


def _print_task(task: dict[str, Any], settings: api.Settings) -> None:
    out.print(_("task {id}: {name} ({customer}), {owner}, due {due}, {state}").format(
        id=task["task_id"], name=task.get("name") or "", customer=task["customer_id"],
        owner=task["owner"], due=fmt_date(date.fromisoformat(task["due_on"])),
        state=_state_name(task["state"])), highlight=False, markup=False)
    for warning in task.get("warnings") or []:
        err.print(_("warning: {text}").format(text=warning), highlight=False, markup=False)


@tasks_app.command("list", help=_(
    "List tasks by due day, with each customer's name and contacts."))
def list_tasks(
    manager: Annotated[str | None, typer.Option(help=_("Only this manager's tasks."),
                                                show_default=False)] = None,
    state: Annotated[str | None, typer.Option(
        help=_("open, done, snoozed or cancelled (open includes snoozed tasks whose day has "
               "come)."), show_default=False)] = None,
    due_from: Annotated[str | None, typer.Option(help=_("Due on or after this day."),
                                                 show_default=False)] = None,
    due_to: Annotated[str | None, typer.Option(help=_("Due on or before this day."),
                                               show_default=False)] = None,
    customer: Annotated[str | None, typer.Option(help=_("Only this customer's tasks."),
                                                 show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help=_("At most this many."))] = 200,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    start, end = _day(due_from, "--due-from"), _day(due_to, "--due-to")
    with handled():
        settings = settings_from(config, database_url)
        rows = api.list_tasks(settings, owner=manager, state=state, due_from=start,
                              due_to=end, customer_id=customer, limit=limit)
        if fmt is Format.JSON:
            out.print_json(json.dumps(rows))
            return
        if fmt is Format.CSV:
            columns = [c for c in (rows[0] if rows else {}) if c != "evidence"]
            writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            return
        table = Table(title=ngettext("{n} task", "{n} tasks", len(rows)).format(
            n=fmt_number(len(rows))))
        for col in (_("task"), _("due"), _("manager"), _("customer"), _("phone"), _("e-mail"),
                    _("action"), _("reason"), _("money at stake"), _("state"), _("outcome")):
            table.add_column(col)
        for r in rows:
            due = fmt_date(date.fromisoformat(r["due_on"]))
            table.add_row(r["task_id"], f"[red]{due}[/]" if r["overdue"] else due, r["owner"],
                          f"{r.get('name') or ''} ({r['customer_id']})", r.get("phone") or "",
                          r.get("email") or "", _action_name(r["action"]),
                          _reason_name(r["reason"]),
                          fmt_money(r["money_at_stake"], settings.currency),
                          _state_name(r["state"]), _outcome_name(r.get("outcome")))
        out.print(table)


@tasks_app.command("add", help=_(
    "Add a task by hand. It is added even when the customer asked not to be contacted or "
    "gave no consent for the channel; a warning says so."))
def add(
    customer_id: Annotated[str, typer.Argument(help=_("The customer's id."))],
    action: Annotated[str, typer.Option(help=_(
        "What to do: reminder, call, call_detractor, ask_addons, win_back, quarterly_call, "
        "review_terms."))],
    due: Annotated[str | None, typer.Option(help=_("The due day (default today)."),
                                            show_default=False)] = None,
    owner: Annotated[str | None, typer.Option(help=_("The manager (default the customer's)."),
                                              show_default=False)] = None,
    reason: Annotated[str, typer.Option(help=_("Why, as a reason code."))] = "manual",
    channel: Annotated[str | None, typer.Option(
        help=_("phone, email, sms, messenger or meeting (default by the action)."),
        show_default=False)] = None,
    note: Annotated[str | None, typer.Option(help=_("A note."), show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    day = _day(due, "--due")
    with handled():
        settings = settings_from(config, database_url)
        done = api.add_task(customer_id, due_on=day,
                            action=action, settings=settings, owner=owner, reason=reason,
                            channel=channel, note=note, caller=_caller("add"))
        _print_task({**done.task, "warnings": done.warnings}, settings)


@dataclass(frozen=True)
class _Suggestion:
    """A suggestion read from a JSON file (``regulars worklist --format json``'s rows)."""

    customer_id: str
    manager: str | None
    reason: str
    action: str
    bucket: str
    due_on: date
    channels: tuple[str, ...] = ()
    money_at_stake: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    held_back: str | None = None


def _read_suggestions(path: Path) -> list[_Suggestion]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        rows = raw.get("rows", raw) if isinstance(raw, dict) else raw
        return [_Suggestion(
            customer_id=str(r["customer_id"]), manager=r.get("manager"),
            reason=str(r.get("reason") or "worklist"), action=str(r.get("action") or "call"),
            bucket=str(r.get("bucket") or "today"), due_on=date.fromisoformat(r["due_on"]),
            channels=tuple(r.get("channels") or ()), money_at_stake=r.get("money_at_stake"),
            evidence=dict(r.get("evidence") or {}), held_back=r.get("held_back"))
            for r in rows]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise typer.BadParameter(_("{file}: not a list of suggestions ({err})").format(
            file=path, err=e), param_hint="--suggestions") from e


@tasks_app.command("plan", help=_(
    "Every morning: the top of each manager's list becomes tasks. Running it again on the "
    "same day creates nothing new; a customer with an open task gets none."))
def plan(
    on: Annotated[str | None, typer.Option("--date", help=_(
        "The day to plan (default: the worklist's day, the one the customer map describes; "
        "today with --suggestions)."), show_default=False)] = None,
    per_manager: Annotated[int | None, typer.Option(
        min=1, help=_("At most this many new tasks per manager."), show_default=False)] = None,
    suggestions: Annotated[Path | None, typer.Option(
        help=_("Read the suggestions from this JSON file (`regulars worklist --format json`) "
               "instead of today's worklist."), dir_okay=False, exists=True,
        show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    day = _day(on, "--date")
    given = _read_suggestions(suggestions) if suggestions is not None else None
    with handled():
        settings = settings_from(config, database_url)
        result = api.plan_tasks(settings, suggestions=given, on=day, per_manager=per_manager,
                                caller=_caller("plan"))
        out.print(ngettext("{n} task planned for {day}", "{n} tasks planned for {day}",
                           len(result.created)).format(n=fmt_number(len(result.created)),
                                                       day=fmt_date(result.on)),
                  highlight=False)
        for t in result.created:
            out.print(f"  {t['owner']}: {t.get('name') or ''} ({t['customer_id']}), "
                      f"{_action_name(t['action'])}", highlight=False, markup=False)
        for s in result.skipped:
            out.print(_("  skipped {customer}: {why}").format(customer=s["customer_id"],
                                                              why=s["why"]),
                      highlight=False, markup=False)


@tasks_app.command("done", help=_(
    "Close a task with its outcome; the contact is recorded as an interaction, and "
    "do_not_contact sets the customer's flag."))
def done(
    task_id: TaskIdArg,
    outcome: Annotated[str, typer.Option(help=_(
        "reached, ordered, promised, no_answer, not_interested, wrong_contact or "
        "do_not_contact."))],
    note: Annotated[str | None, typer.Option(help=_("A note."), show_default=False)] = None,
    by: Annotated[str | None, typer.Option(help=_("Who made the contact (the audit log)."),
                                           show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        answer = api.complete_task(task_id, outcome, settings=settings, note=note, by=by,
                                   caller=_caller("done"))
        _print_task(answer.task, settings)


@tasks_app.command("snooze", help=_(
    "Put a task off to a later day."))
def snooze(
    task_id: TaskIdArg,
    until: Annotated[str, typer.Option(help=_("The day it is due again (after today)."))],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    day = _day(until, "--until")
    assert day is not None
    with handled():
        settings = settings_from(config, database_url)
        _print_task(api.snooze_task(task_id, day, settings=settings,
                                    caller=_caller("snooze")).task, settings)


@tasks_app.command("reassign", help=_(
    "Hand a task to another manager (an unknown one is refused with the known ones)."))
def reassign(
    task_id: TaskIdArg,
    owner: Annotated[str, typer.Option(help=_("The manager who takes it over."))],
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        _print_task(api.reassign_task(task_id, owner, settings=settings,
                                      caller=_caller("reassign")).task, settings)


@tasks_app.command("cancel", help=_(
    "Cancel a task (it cannot be reopened)."))
def cancel(
    task_id: TaskIdArg,
    note: Annotated[str | None, typer.Option(help=_("Why."), show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        _print_task(api.cancel_task(task_id, settings=settings, note=note,
                                    caller=_caller("cancel")).task, settings)


@tasks_app.command("report", help=_(
    "Do the tasks work? Per manager: done on time and late, open overdue, outcomes, and "
    "the revenue of the contacted customers against similar customers not contacted (an "
    "observation, not a causal claim)."))
def report(
    since: Annotated[str | None, typer.Option(help=_("From this day (default 180 days ago)."),
                                              show_default=False)] = None,
    until: Annotated[str | None, typer.Option(help=_("To this day (default today)."),
                                              show_default=False)] = None,
    window_days: Annotated[int, typer.Option(
        min=1, max=730, help=_("Days after a contact whose revenue is compared."))] = 90,
    fmt: FormatOpt = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    start, end = _day(since, "--since"), _day(until, "--until")
    with handled():
        settings = settings_from(config, database_url)
        result = api.task_report(settings, since=start, until=end, window_days=window_days)
        if fmt is not Format.TABLE:
            with use_language("en"):  # for machines: the same in every language
                out.print_json(json.dumps(result.to_dict()))
            return
        body = result.to_dict()
        money = settings.currency
        table = Table(title=_("Tasks from {a} to {b}").format(a=fmt_date(result.since),
                                                              b=fmt_date(result.until)))
        for col in (_("manager"), _("tasks done"), _("on time"), _("open overdue"), _("outcomes"),
                    _("contacted"), _("revenue per contacted"), _("per similar customer"),
                    _("waiting")):
            table.add_column(col)
        for m in [*body["managers"], body["total"]]:
            e = m["effect"]
            outcomes = ", ".join(f"{_outcome_name(k)} {fmt_number(v)}"
                                 for k, v in m["outcomes"].items() if v)
            who = _(ALL_MANAGERS) if m is body["total"] else m["manager"]
            table.add_row(who, fmt_number(m["done"]), fmt_percent(m["on_time_share"]),
                          fmt_number(m["open_overdue"]), outcomes, fmt_number(e["contacted"]),
                          fmt_money(e["revenue_per_contacted"], money),
                          fmt_money(e["revenue_per_similar"], money),
                          fmt_number(e["pending"]))
        out.print(table)
        out.print(ngettext(
            "Revenue in the {n} day after the contact, against customers of the same rung, "
            "status and money-at-stake band who were not contacted.",
            "Revenue in the {n} days after the contact, against customers of the same rung, "
            "status and money-at-stake band who were not contacted.",
            result.window_days).format(n=fmt_number(result.window_days)), highlight=False)
        out.print(body["observation"], highlight=False)
