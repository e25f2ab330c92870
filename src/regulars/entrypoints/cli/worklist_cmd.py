"""``regulars worklist``: today's list of whom each manager contacts and why (issue 18)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from regulars import api
from regulars.domain.tasks import CHANNEL_NAMES
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _, fmt_date, fmt_money
from regulars.services.worklist import ManagerList, Suggestion, Worklist

FORMATS = ("table", "csv", "json")
CSV_COLUMNS = ("manager", "bucket", "due_on", "customer_id", "name", "phone", "email",
               "channels", "last_order_at", "money_at_stake", "reason", "action", "task_id",
               "held_back", "contact_from", "reason_text", "since")
"""The CSV's columns: codes (language-neutral) first, the sentences last."""


@app.command("worklist", help=_(
    "Whom each manager contacts today and why: in buckets (overdue, today, this week) in the "
    "manager's time zone, ranked by money at stake, each with the reason in words and the "
    "action the articles suggest; suggestions the contact policy holds back are listed apart, "
    "with the reason. Exit codes: 0 the lists; 2 an unknown manager, a bad date or setting; "
    "3 the store cannot be used."))
def worklist(
    manager: Annotated[str | None, typer.Option(
        help=_("Only this manager's list."), show_default=False)] = None,
    day: Annotated[str | None, typer.Option(
        "--date", help=_("The day of the list, YYYY-MM-DD (default: the day the customer map "
                         "describes)."), show_default=False)] = None,
    limit: Annotated[int | None, typer.Option(
        min=0, help=_("At most this many customers per manager (default: the daily "
                      "capacity)."), show_default=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help=_("table (for people), csv or json (for machines)."))] = "table",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        if fmt not in FORMATS:
            raise typer.BadParameter(_("use table, csv or json"), param_hint="--format")
        settings = settings_from(config, database_url)
        # an unknown manager is an InputError naming the known ones: exit 2. JSON and CSV are
        # for machines: their sentences are the English source text whatever --lang says
        result = api.worklist(settings, manager=manager, on=day, limit=limit,
                              words=None if fmt == "table" else "en")
        if fmt == "json":
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
        elif fmt == "csv":
            typer.echo(to_csv(result), nl=False)
        else:
            print_worklist(result, settings.currency)


def to_csv(result: Worklist) -> str:
    """One line per listed or held-back customer (:data:`CSV_COLUMNS`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for lst in result.lists:
        for s in (*lst.items, *lst.held_back):
            row = s.to_dict()
            row["channels"] = ";".join(s.channels)
            row["manager"] = lst.manager or ""
            writer.writerow({c: _plain(row.get(c)) for c in CSV_COLUMNS})
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_worklist(result: Worklist, currency: str | None) -> None:
    """Every manager's list as a Rich table, the held-back suggestions under it."""
    out.print(_("worklist for {day}; customer map as of {as_of}").format(
        day=fmt_date(result.on), as_of=fmt_date(result.as_of)), highlight=False)
    for lst in result.lists:
        _print_list(lst, currency)


def _when(s: Suggestion) -> str:
    """The bucket and the due day: ``today``, ``overdue, due Mar 2, 2026``."""
    if s.bucket == "today":
        return _("today")
    if s.bucket == "overdue":
        return _("overdue, due {day}").format(day=fmt_date(s.due_on))
    if s.bucket == "week":
        return _("this week, by {day}").format(day=fmt_date(s.due_on))
    return f"{s.bucket} {fmt_date(s.due_on)}"


def _print_list(lst: ManagerList, currency: str | None) -> None:
    who = lst.manager or _("(no manager)")
    title = _("{manager}: {n} of {capacity} for {day} ({zone})").format(
        manager=who, n=len(lst.items), capacity=lst.capacity, day=fmt_date(lst.day),
        zone=lst.time_zone)
    if not lst.items:
        out.print(title + " — " + _("nothing to do"), highlight=False)
    else:
        table = Table(title=title, title_justify="left")
        for col in (_("when"), _("customer"), _("phone · e-mail"), _("channels"),
                    _("last order"), _("money at stake")):
            table.add_column(col, overflow="fold")
        table.add_column(_("why"), min_width=30)
        table.add_column(_("what to do"), min_width=20)
        for s in lst.items:
            table.add_row(*_cells(s, currency, lst.time_zone))
        out.print(table)
    if lst.held_back:
        out.print(_("held back ({n}):").format(n=len(lst.held_back)), style="bold",
                  highlight=False)
        for s in lst.held_back:
            out.print(f"  {_who(s)} · {fmt_money(s.money_at_stake, currency)} · "
                      f"{s.held_back}", highlight=False)


def _first_up(text: str) -> str:
    """A cell's text with a capital first letter, as the evidence sentences beside it."""
    return text[:1].upper() + text[1:]


def _who(s: Suggestion) -> str:
    return f"{s.name} ({s.customer_id})" if s.name else s.customer_id


def _cells(s: Suggestion, currency: str | None, zone: str) -> list[str]:
    when = _when(s)
    if s.task_id:
        when += "\n" + _("task {id}").format(id=s.task_id)
    why = _first_up(s.reason_text) + (f"\n{_first_up(s.since)}" if s.since else "")
    action = _first_up(s.action_text)
    if s.contact_from is not None:
        # the manager's wall clock: the list's days are theirs
        moment = s.contact_from if s.contact_from.tzinfo is not None else \
            s.contact_from.replace(tzinfo=UTC)
        local = moment.astimezone(ZoneInfo(zone))
        action += "\n" + _("not before {day} {time}").format(day=fmt_date(local),
                                                             time=f"{local:%H:%M}")
    channels = ", ".join(_(CHANNEL_NAMES[c]) if c in CHANNEL_NAMES else c for c in s.channels)
    return [when, _who(s), "\n".join(v for v in (s.phone, s.email) if v),
            channels, fmt_date(s.last_order_at),
            fmt_money(s.money_at_stake, currency), why, action]
