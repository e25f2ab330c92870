"""``regulars playbooks report``: did a playbook make a difference? Treated entrants against
the playbook's random control group, per playbook and step (issue 20, proof of effect).

Adds itself to :data:`~regulars.entrypoints.cli.playbooks_cmd.playbooks_app` when imported
(``app.py``'s import list).
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api
from regulars.domain.contact_policy import REASONS
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import handled, parse_day, settings_from
from regulars.entrypoints.cli.playbooks_cmd import playbooks_app
from regulars.i18n import N_, _, fmt_date, fmt_money, fmt_number, fmt_percent, ngettext

MINUS = "\u2212"

# the skip reasons a step's messages may carry besides the contact policy's
SKIP_REASONS = {
    **REASONS,
    "no_address": N_("no address for the channel"),
    "not_member": N_("not a member of the loyalty programme"),
    "unknown": N_("no reason recorded"),
}

VERDICTS = {
    "goal": {
        "better": N_("The playbook raised the goal rate: the whole interval lies above zero."),
        "worse": N_("The playbook lowered the goal rate: the whole interval lies below zero."),
        "unclear": N_("Goal rate: not yet distinguishable from no effect (the interval "
                      "spans zero)."),
    },
    "revenue": {
        "better": N_("The playbook raised revenue per entrant: the whole interval lies "
                     "above zero."),
        "worse": N_("The playbook lowered revenue per entrant: the whole interval lies "
                    "below zero."),
        "unclear": N_("Revenue per entrant: not yet distinguishable from no effect (the "
                      "interval spans zero)."),
    },
}
NO_INTERVAL = {
    "empty_arm": N_("No comparison yet: one group has no entrant whose goal window has "
                    "closed."),
    "small_arm": N_("Too few entrants to compare yet: fewer than {n} in a group."),
    "no_variation": N_("Nothing to compare: every entrant's revenue is the same."),
}


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _signed(text: str, value: float) -> str:
    return (MINUS if value < 0 else "+") + text


def _points(value: float) -> str:
    """A difference of two rates in percentage points, signed: ``+4.1``, in the reader's
    language's digits."""
    return _signed(fmt_number(abs(value) * 100, 1), value)


def _points_unit(value: float) -> str:
    return _("{value} pp").format(value=_points(value))


def _money(value: float, currency: str | None) -> str:
    return _signed(fmt_money(abs(value), currency), value)


def _count(value: float) -> str:
    return _signed(fmt_number(abs(value), 2), value)


def _interval(d: dict[str, Any], estimate: Any, bound: Any) -> str:
    """``+4.1 pp (−0.8 … +9.0)``: the estimate and its interval."""
    if d["estimate"] is None:
        return "—"
    if d["low"] is None:
        return str(estimate(d["estimate"]))
    return f"{estimate(d['estimate'])} ({bound(d['low'])} … {bound(d['high'])})"


def _meaning(d: dict[str, Any], which: str, min_arm: int) -> str:
    if d["verdict"] == "no_interval":
        return _(NO_INTERVAL.get(d["reason"], NO_INTERVAL["empty_arm"])).format(
            n=fmt_number(min_arm))
    return _(VERDICTS[which][d["verdict"]])


def _arm_cells(a: dict[str, Any], currency: str | None) -> list[str]:
    return [
        _("{compared} ({open} open)").format(compared=fmt_number(a["compared"]),
                                             open=fmt_number(a["open"])),
        fmt_percent(a["goal_rate"]) if a["goal_rate"] is None else
        f"{fmt_percent(a['goal_rate'])} ({fmt_number(a['goals'])})",
        fmt_money(a["revenue_per_entrant"], currency),
        fmt_number(a["orders_per_entrant"], 2),
    ]


def _skips(step: dict[str, Any]) -> str:
    return ", ".join(f"{_(SKIP_REASONS[code]) if code in SKIP_REASONS else code} "
                     f"{fmt_number(n)}" for code, n in step["skipped_by_reason"].items())


def _print_playbook(p: dict[str, Any], currency: str | None, min_arm: int) -> None:
    table = Table(title=_("Playbook {name}").format(name=p["playbook"]), title_justify="left")
    for col in (_("measure"), _("treated"), _("control"), _("uplift (interval)")):
        table.add_column(col)
    def money(value: float) -> str:
        return _money(value, currency)

    treated = _arm_cells(p["treated"], currency)
    control = _arm_cells(p["control"], currency)
    g, r = p["goal_rate_uplift"], p["revenue_uplift"]
    table.add_row(_("entrants compared"), treated[0], control[0], "")
    table.add_row(ngettext("goal rate (an order within {n} day)",
                           "goal rate (an order within {n} days)", p["goal_days"]).format(
                               n=fmt_number(p["goal_days"])) if p["goal"] == "order" else
                  ngettext("goal rate (the goal within {n} day)",
                           "goal rate (the goal within {n} days)", p["goal_days"]).format(
                               n=fmt_number(p["goal_days"])),
                  treated[1], control[1], _interval(g, _points_unit, _points))
    table.add_row(_("revenue per entrant in the window"), treated[2], control[2],
                  _interval(r, money, money))
    table.add_row(_("orders per entrant in the window"), treated[3], control[3],
                  _interval(p["orders_uplift"], _count, _count))
    out.print(table)
    meanings = [_meaning(g, "goal", min_arm), _meaning(r, "revenue", min_arm)]
    for meaning in dict.fromkeys(meanings):  # the same "no comparison yet" once
        out.print(meaning, highlight=False)
    if not p["steps"]:
        return
    steps = Table(title=_("Steps of {name}").format(name=p["playbook"]), title_justify="left")
    for col in (_("step"), _("runs"), _("control"), _("sent"), _("skipped"),
                _("failed"), _("not run yet")):
        steps.add_column(col)
    for s in p["steps"]:
        skipped = fmt_number(s["skipped"])
        if s["skipped"]:
            skipped += f": {_skips(s)}"
        steps.add_row(s["step"], fmt_number(s["runs"]), fmt_number(s["control"]),
                      fmt_number(s["sent"]), skipped,
                      fmt_number(s["failed"] + s["send_failed"]), fmt_number(s["pending"]))
    out.print(steps)


CSV_ARM = ("entrants", "compared", "open", "goals", "goal_rate", "revenue_per_entrant",
           "orders_per_entrant")
CSV_DIFF = ("estimate", "low", "high", "verdict")


def _csv(body: dict[str, Any]) -> None:
    columns = ["playbook", "goal_days",
               *(f"{arm}_{c}" for arm in ("treated", "control") for c in CSV_ARM),
               *(f"goal_rate_uplift_{c}" for c in (*CSV_DIFF, "relative")),
               *(f"revenue_uplift_{c}" for c in CSV_DIFF),
               *(f"orders_uplift_{c}" for c in CSV_DIFF)]
    writer = csv.writer(sys.stdout)
    writer.writerow(columns)
    for p in body["playbooks"]:
        g, r = p["goal_rate_uplift"], p["revenue_uplift"]
        writer.writerow([p["playbook"], p["goal_days"],
                         *(p[arm][c] for arm in ("treated", "control") for c in CSV_ARM),
                         *(g[c] for c in (*CSV_DIFF, "relative")),
                         *(r[c] for c in CSV_DIFF),
                         *(p["orders_uplift"][c] for c in CSV_DIFF)])


def _as_of(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(_("expected a date YYYY-MM-DD or a moment "
                                   "YYYY-MM-DDTHH:MM"), param_hint="--as-of") from e


@playbooks_app.command("report", help=_(
    "Did the playbooks make a difference? Per playbook, its entrants against its random "
    "control group: goal rate and revenue per entrant in the goal window, the uplift with "
    "its confidence interval, and per step the runs, sends and skips by reason."))
def report(
    playbook: Annotated[str | None, typer.Option(help=_("Only this playbook."),
                                                 show_default=False)] = None,
    since: Annotated[str | None, typer.Option(help=_(
        "Only journeys entered on or after this day (YYYY-MM-DD)."), show_default=False)] = None,
    until: Annotated[str | None, typer.Option(help=_(
        "Only journeys entered on or before this day (YYYY-MM-DD)."),
        show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=_(
        "Judge the goal windows as of this moment, UTC (default now)."),
        show_default=False)] = None,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help=_(
        "The confidence of the intervals."))] = 0.95,
    fmt: Annotated[Format, typer.Option("--format", help=_("How to print it."),
                                        case_sensitive=False)] = Format.TABLE,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    start, end = parse_day(since, "--since"), parse_day(until, "--until")
    moment = _as_of(as_of)
    with handled():
        settings = settings_from(config, database_url)
        result = api.playbook_report(settings, playbook=playbook, since=start, until=end,
                                     as_of=moment, confidence=confidence)
        body = result.to_dict()
        if fmt is Format.JSON:
            out.print_json(json.dumps(body))
            return
        if fmt is Format.CSV:
            _csv(body)
            return
        if not body["playbooks"]:
            out.print(_("No journeys yet: no playbook has had an entrant in this period."),
                      highlight=False)
            return
        for p in body["playbooks"]:
            _print_playbook(p, settings.currency, result.min_arm)
        out.print(_("As of {as_of}: only entrants whose goal window has closed are compared; "
                    "{n} still in it are counted as open.").format(
                        as_of=fmt_date(result.as_of), n=fmt_number(result.open)),
                  highlight=False)
        out.print(_("Intervals at {confidence} confidence. The control group is drawn at "
                    "random and receives nothing, so a difference whose whole interval lies "
                    "on one side of zero can be put down to the playbook.").format(
                        confidence=fmt_percent(result.confidence, 0)), highlight=False)
