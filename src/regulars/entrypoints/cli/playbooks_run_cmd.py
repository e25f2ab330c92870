"""``regulars playbooks run``: one pass of the playbooks' schedule (for cron).

Enters the customers the triggers found, then runs every step due by ``--at`` (default now);
prints what happened, or with ``--dry-run`` what would go out, writing and sending nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import handled, settings_from
from regulars.entrypoints.cli.playbooks_cmd import playbooks_app
from regulars.i18n import N_, _, fmt_date, fmt_number
from regulars.services.playbooks.runner import PassResult

# what each outcome of a step is called on screen (the codes stay in the store and JSON)
OUTCOMES = {
    "sent": N_("sent"), "skipped": N_("skipped"), "failed": N_("failed"),
    "created": N_("task created"), "awarded": N_("points awarded"),
    "issued": N_("coupon issued"), "tagged": N_("tagged"), "called": N_("webhook called"),
    "dry_run": N_("would run"), "deferred": N_("deferred"), "control": N_("control group"),
    "waited": N_("waiting"), "branched": N_("branched"), "ended": N_("journey ended"),
    "error": N_("error"),
}
ENDS = {
    "done": N_("finished"), "goal": N_("goal met"), "exit_step": N_("exit step"),
    "unmatched": N_("no longer matches"), "playbook_off": N_("playbook switched off"),
    "step_gone": N_("step no longer in the playbook"),
    "unknown_customer": N_("unknown customer"), "failed": N_("a step failed"),
    "reentry": N_("re-entry rule"), "already_entered": N_("already entered"),
    "bad_branch": N_("a branch to an earlier or unknown step"),
    "journey_ended": N_("the journey had already ended"),
}


def _word(codes: dict[str, str], code: str) -> str:
    return _(codes[code]) if code in codes else code


def _moment(text: str | None, zone: str) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(_("expected ISO 8601, e.g. 2026-03-01T12:00"),
                                 param_hint="--at") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=ZoneInfo(zone))


def _when(at: datetime, zone: str) -> str:
    local = at.astimezone(ZoneInfo(zone))
    return f"{fmt_date(local)} {local:%H:%M}"


def _counts(title: str, counts: Counter[str], words: dict[str, str]) -> str:
    items = ", ".join(f"{_word(words, k)} {fmt_number(v)}" for k, v in counts.most_common())
    return f"{title}: {items}" if items else ""


def show(result: PassResult, zone: str) -> None:
    e, r = result.entered, result.ran
    if result.dry_run:
        table = Table(title=_("what would run by {at} (nothing was written or sent)").format(
            at=_when(result.at, zone)))
        for header in (_("when"), _("playbook"), _("customer"), _("step"), _("arm"),
                       _("outcome")):
            table.add_column(header)
        for row in r.rows:
            who = f"{row.name} ({row.customer_id})" if row.name else row.customer_id
            what = _word(OUTCOMES, row.outcome)
            if row.reason:
                what += f" — {_word(ENDS, row.reason)}"
            arm = _("control") if row.arm == "control" else _("treated")
            table.add_row(_when(row.due_at, zone), row.playbook, who,
                          f"{row.step_id} ({row.kind})", arm, what)
        out.print(table)
    out.print(_("entered: {n} ({c} in the control group)").format(
        n=fmt_number(e.entered), c=fmt_number(e.control)), highlight=False)
    for line in (_counts(_("not entered"), e.skipped, ENDS),
                 _counts(_("steps run"), r.outcomes, OUTCOMES),
                 _counts(_("skipped by reason"), r.skipped, {}),
                 _counts(_("journeys ended"), r.ended, ENDS)):
        if line:
            out.print(line, highlight=False, markup=False)
    if r.failed or r.retried or r.lost:
        out.print(_("failed: {f}, to be retried: {t}, taken over by another worker: {l}").format(
            f=fmt_number(r.failed), t=fmt_number(r.retried), l=fmt_number(r.lost)),
            highlight=False)


def as_json(result: PassResult) -> dict[str, object]:
    e, r = result.entered, result.ran
    return {
        "at": result.at.astimezone(UTC).isoformat(), "dry_run": result.dry_run,
        "entered": e.entered, "control": e.control, "not_entered": dict(e.skipped),
        "ran": r.ran, "outcomes": dict(r.outcomes), "skipped": dict(r.skipped),
        "ended": dict(r.ended), "failed": r.failed, "retried": r.retried, "lost": r.lost,
        "rows": [{"due_at": row.due_at.isoformat(), "playbook": row.playbook,
                  "customer_id": row.customer_id, "name": row.name, "step": row.step_id,
                  "kind": row.kind, "arm": row.arm, "outcome": row.outcome,
                  "reason": row.reason, "detail": row.detail} for row in r.rows],
    }


@playbooks_app.command("run", help=_(
    "One pass of the playbooks' schedule (for cron): enter the customers the triggers found, "
    "then run every step due by --at (default now).\n\n"
    "Safe to run beside `regulars serve`'s worker and on several machines: each step is "
    "claimed with a lease and completed once. --dry-run --at shows what would go out by then, "
    "and writes and sends nothing."))
def run(
    at: Annotated[str | None, typer.Option(
        "--at", metavar="DATETIME",
        help=_("Run the schedule as of this moment, ISO 8601 (the business's time zone unless "
               "it names one); default now."), show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help=_("Show what would run; write and send nothing."))] = False,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, metavar="N", help=_("Run at most N steps."),
        show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help=_("Print JSON."))] = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        when = _moment(at, settings.timezone)
        result = api.run_playbooks(settings, at=when, dry_run=dry_run, limit=limit)
    if json_out:
        typer.echo(json.dumps(as_json(result), ensure_ascii=False, indent=2))
        return
    show(result, settings.timezone)
