"""``regulars points``: the periodic work: expire, run (and their dry runs), notify-expiring,
tiers."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.points_common import (
    AtOpt,
    DryRunOpt,
    JsonOpt,
    handled,
    loyalty_service,
    moment,
    show,
)
from regulars.i18n import _
from regulars.services.loyalty.results import PeriodicRun, to_json


def expire(
    at: AtOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        if dry_run:
            show_preview(svc.preview_run(moment(svc, at)), as_json, tiers=False)
            return
        r = svc.expire_due(moment(svc, at), actor="cli")
        show(r, as_json, _("expired {n} lots ({p} points) of {m} members").format(
            n=r.items, p=r.points, m=r.members))


def run_command(
    at: AtOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        when = moment(svc, at)
        if dry_run:
            show_preview(svc.preview_run(when), as_json, tiers=True)
            return
        r = svc.run(when, actor="cli")
        if as_json:
            typer.echo(json.dumps(to_json(r), ensure_ascii=False, indent=2))
            return
        out.print(_("run {id} at {at}: released {rl} lots ({rp} points), expired {el} lots "
                    "({ep} points) of {em} members, {tc} tier changes").format(
            id=r.run_id, at=r.as_of.isoformat(timespec="seconds"), rl=r.released.items,
            rp=r.released.points, el=r.expired.items, ep=r.expired.points,
            em=r.expired.members, tc=r.tiers.items), highlight=False)
        for line in r.tiers.details:
            out.print("  " + line, highlight=False)


def notify_expiring(
    within: Annotated[int | None, typer.Option(
        "--within", min=1, max=3650, metavar="DAYS",
        help=_("Points expiring within this many days (default from settings: "
               "api.points_expiring_notice_days, 14)."), show_default=False)] = None,
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    overrides = {"database_url": database_url} if database_url else {}
    with handled():
        settings = api.load_settings(config, **overrides)
        when = None
        if at:
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                raise typer.BadParameter(_("expected ISO 8601, e.g. 2026-03-01T12:00"),
                                         param_hint="--at") from None
            if when.tzinfo is None:
                when = when.replace(tzinfo=api.loyalty_programme(settings).tz)
        r = api.notify_expiring(settings, at=when, within_days=within)
    if as_json:
        typer.echo(json.dumps(r, ensure_ascii=False, indent=2, default=str))
        return
    if not r["subscribers"]:
        out.print(_("no webhook subscribes to points_expiring: nothing sent"), highlight=False)
        return
    out.print(_("{n} points_expiring notices queued for {m} members ({p} points expiring "
                "by {until})").format(n=r["sent"], m=r["members"], p=r["points"],
                                      until=r["until"].isoformat(timespec="minutes")),
              highlight=False)


def tiers(
    at: AtOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with loyalty_service(config, database_url) as svc:
        r = svc.review_tiers(moment(svc, at), actor="cli")
        show(r, as_json, _("{n} tier changes").format(n=r.items))
        if not as_json:
            for line in r.details:
                out.print("  " + line, highlight=False)


def show_preview(p: PeriodicRun, as_json: bool, *, tiers: bool) -> None:
    if as_json:
        typer.echo(json.dumps(to_json(p), ensure_ascii=False, indent=2))
        return
    table = Table(title=_("a run at {at} would (nothing was written)").format(
        at=p.as_of.isoformat(timespec="seconds")))
    for col in (_("customer"), _("name"), _("points expiring"), _("pending expiring")):
        table.add_column(col)
    if tiers:
        table.add_column(_("tier"))
    for m in p.members:
        if not tiers and not m.lots_expiring:
            continue
        row = [m.member_id, m.name or "", str(m.points_expiring), str(m.pending_expiring)]
        if tiers:
            row.append(m.tier_from if m.tier_from == m.tier_to
                       else f"{m.tier_from} → {m.tier_to}")
        table.add_row(*row)
    out.print(table)
    line = _("in all: {el} lots ({ep} points) of {em} members would expire").format(
        el=p.expired.items, ep=p.expired.points, em=p.expired.members)
    if tiers:
        line += "; " + _("{rl} lots ({rp} points) would be released; {tc} tiers would "
                         "change").format(rl=p.released.items, rp=p.released.points,
                                          tc=p.tiers.items)
    out.print(line, highlight=False)
