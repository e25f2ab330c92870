"""``regulars backtest``: the map and the ranking as of a date against what customers did next."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import (
    analysis_steps,
    app,
    check_writable,
    files_by_kind,
    handled,
    parse_day,
    read_options,
    replacing,
    settings_from,
)
from regulars.entrypoints.report.backtest import (
    basis_sentence,
    definitions,
    labels,
    pct,
    reach_rows,
    reach_sentence,
    render_backtest_report,
)
from regulars.i18n import _, fmt_date, fmt_days, fmt_money, fmt_number, fmt_percent


# over 60 lines for its signature: Typer declares each option as a parameter with its help;
# the body is short
@app.command("backtest", help=_(
    "Check the map and the ranking of whom to save against what customers did next: rewind to a "
    "date, build them as they were then, and compare.\n\n"
    "Statuses against who ordered again, retention by rung, and the share of the revenue later "
    "lost that the top of each ranking (1 %, 5 %, 10 %) had caught, beside simple baselines, "
    "and that the managers' worklists would have reached within their daily capacity. "
    "The data must reach the end of the horizon. Definitions: docs/backtest.md."))
def backtest_command(
    as_of: Annotated[str, typer.Option(
        help=_("Rewind to this date (YYYY-MM-DD): the map and the ranking as of its end."),
        show_default=False)],
    files: Annotated[list[str] | None, typer.Argument(
        help=_("Files to use instead of the store: KIND=path, files named after their kind "
               "(orders.csv, customers.parquet, …), or a directory of them."),
        show_default=False)] = None,
    horizon: Annotated[str | None, typer.Option(
        help=_("How long after as-of to watch: days, weeks or months, e.g. 180d, 26w, 6m "
               "(default 180d)."), show_default=False)] = None,
    until: Annotated[str | None, typer.Option(
        help=_("The horizon's last day (YYYY-MM-DD) instead of --horizon."))] = None,
    fmt: Annotated[str, typer.Option(
        "--format", help=_("table (for people) or json (for machines)."))] = "table",
    report: Annotated[Path | None, typer.Option(
        help=_("Write the backtest as a self-contained HTML page."), dir_okay=False)] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help=_("For the orders file: OUR_COLUMN=FILE_COLUMN, repeatable."))] = None,
    date_format: Annotated[str | None, typer.Option(
        help=_("For the orders file: strptime format of dates."))] = None,
    decimal_comma: Annotated[bool, typer.Option(
        "--decimal-comma", help=_("For the orders file: amounts are written 12,50."))] = False,
    encoding: Annotated[str, typer.Option(help=_("For the orders file."))] = "utf-8",
    header: Annotated[bool | None, typer.Option(
        "--header/--no-header", help=_("For the orders file: whether the first line names the "
                                       "columns."), show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        help=_("duckdb (default), or postgres to compute in-database on a PostgreSQL store."))
    ] = "duckdb",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        if fmt not in ("table", "json"):
            raise typer.BadParameter(_("use table or json"), param_hint="--format")
        settings = settings_from(config, database_url)
        paths = files_by_kind(files or [])
        options = read_options(map_, date_format, decimal_comma, encoding, header)
        start = parse_day(as_of, "--as-of")
        if start is None:
            raise typer.BadParameter(_("expected a date YYYY-MM-DD"), param_hint="--as-of")
        end = parse_day(until, "--until")
        check_writable(report, "--report", ())
        with analysis_steps(sys.stderr.isatty()) as steps:
            result = api.backtest(**paths, as_of=start, horizon=horizon,
                                  until=end, config=settings, options=options,
                                  engine=engine, progress=steps)
        if fmt == "json":
            typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            print_backtest(result, currency=settings.currency)
        if report:
            with replacing(report) as tmp:
                tmp.write_text(render_backtest_report(result), encoding="utf-8")
            # JSON on stdout stays JSON: the note goes to stderr
            (out if fmt == "table" else err).print(
                _("report written to {f}").format(f=report), highlight=False)


def print_backtest(result: Any, currency: str | None = None) -> None:
    """The backtest as Rich tables, each definition under them, in the current language
    (amounts in ``currency`` when given)."""
    words = labels()
    c = result.comparison
    out.print(_("Backtest as of {d}: {n} customers with an order by then; in the {days} to "
                "{u}, {g} placed no order.").format(
        d=fmt_date(result.as_of), n=fmt_number(c.customers), days=fmt_days(result.horizon_days),
        u=fmt_date(result.until), g=fmt_number(c.gone)), highlight=False)

    capture = Table(title=_("Share of the revenue later lost ({v}) caught by the top of each "
                            "list").format(v=fmt_money(c.lost_revenue, currency, 0)))
    capture.add_column(_("method"), no_wrap=True)
    for p, k in zip(c.percents, c.top, strict=True):
        capture.add_column(_("top {p} ({k})").format(p=fmt_percent(p / 100, 0), k=fmt_number(k)),
                           justify="right")
    for cap in c.capture:
        if cap.available:
            capture.add_row(words.get(cap.method, cap.method), *(pct(s) for s in cap.shares))
        else:
            capture.add_row(words.get(cap.method, cap.method),
                            _("not available: {why}").format(why=cap.reason),
                            *([""] * (len(c.top) - 1)))
    capture.add_row(_("ours beats every baseline"),
                    *((_("yes") if b else _("no")) if b is not None else "—"
                      for b in c.beats_baselines), style="bold")
    out.print(capture)
    reached = reach_rows(result)
    if reached:
        reach = Table(title=_("What the managers' worklists would have reached within their "
                              "daily capacity"))
        reach.add_column(_("worklists"))
        reach.add_column(_("value"), justify="right")
        for row in reached:
            reach.add_row(*row)
        out.print(reach)
        out.print(reach_sentence(result), style="dim", highlight=False)

    statuses = Table(title=_("Statuses against what happened (gone = no order in the "
                             "horizon)"))
    for col in (_("status"), _("customers"), _("of them gone"), _("precision"), _("recall"),
                _("gone in all")):
        statuses.add_column(col, justify="left" if col == _("status") else "right")
    for s in c.statuses:
        statuses.add_row(words[s.status], fmt_number(s.flagged), fmt_number(s.flagged_gone),
                         pct(s.precision), pct(s.recall), fmt_number(s.gone))
    out.print(statuses)

    again = Table(title=_("Share of each status that ordered again"))
    for col in (_("status"), _("customers"), _("ordered again"), _("share")):
        again.add_column(col, justify="left" if col == _("status") else "right")
    for o in c.status_outcomes:
        again.add_row(words[o.status], fmt_number(o.customers), fmt_number(o.ordered_again),
                      pct(o.share))
    out.print(again)

    rungs = Table(title=_("Retention by rung"))
    for col in (_("rung"), _("customers"), _("ordered in the horizon"), _("revenue before"),
                _("revenue in the horizon"), _("revenue kept")):
        rungs.add_column(col, justify="left" if col == _("rung") else "right")
    for r in c.rungs:
        rungs.add_row(words[r.rung], fmt_number(r.customers), pct(r.share_ordered),
                      fmt_money(r.revenue_before, currency, 0),
                      fmt_money(r.revenue_after, currency, 0), pct(r.revenue_kept))
    out.print(rungs)
    out.print(basis_sentence(result.ranking), highlight=False)
    for line in definitions(result):
        out.print("• " + line, style="dim", highlight=False)
