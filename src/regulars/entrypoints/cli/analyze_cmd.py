"""``regulars analyze``: the customer map of the store or of files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import (
    OUT_SUFFIXES,
    analysis_steps,
    app,
    check_out_dir,
    check_writable,
    files_by_kind,
    handled,
    parse_day,
    parse_period,
    read_options,
    settings_from,
    write_customers,
    write_customers_dir,
    write_report,
)
from regulars.entrypoints.cli.summary import print_summary
from regulars.i18n import _, ngettext


# over 60 lines for its signature: Typer declares each option as a parameter with its help;
# the body is short
@app.command("analyze", help=_(
    "The customer map: rung, status, signals and traits of every customer, with evidence, and "
    "how the base is doing."))
def analyze_command(
    files: Annotated[list[str] | None, typer.Argument(
        help=_("Files to analyse instead of the store: KIND=path, files named after their "
               "kind (orders.csv, customers.parquet, …), or a directory of them; with "
               "--engine spark also URIs Spark reads itself (s3a://, abfss://, hdfs://)."),
        show_default=False)] = None,
    as_of: Annotated[str | None, typer.Option(
        help=_("Analyse as of this date (YYYY-MM-DD); default the day of the last order."))
    ] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help=_("Write the customer map to a .parquet or .csv file."), dir_okay=False)
    ] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", help=_("Write the customer map to a new directory of Parquet files "
                            "(part-00000.parquet, …), for maps too large for one file."),
        file_okay=False)] = None,
    excel: Annotated[bool, typer.Option(
        "--excel", help=_("With --out x.csv: start the file with a UTF-8 byte-order mark, so "
                          "that Excel shows letters such as õ, ä or ж as they are."))] = False,
    report: Annotated[Path | None, typer.Option(
        help=_("Write a self-contained HTML report."), dir_okay=False)] = None,
    period: Annotated[str | None, typer.Option(
        help=_("Period for CRR, churn and NPS: START..END (default the last 365 days)."))
    ] = None,
    flow_from: Annotated[str | None, typer.Option(
        help=_("Compare the ladder with this date (default a year before as-of)."))] = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help=_("For the orders file: OUR_COLUMN=FILE_COLUMN, repeatable."))] = None,
    date_format: Annotated[str | None, typer.Option(
        help=_("For the orders file: strptime format of dates."))] = None,
    decimal_comma: Annotated[bool | None, typer.Option(
        "--decimal-comma/--decimal-point", show_default=False)] = None,
    encoding: Annotated[str | None, typer.Option(
        help=_("For the orders file (default: detected)."))] = None,
    header: Annotated[bool | None, typer.Option("--header/--no-header",
                                                show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        help=_("duckdb (default), postgres to compute in-database on a PostgreSQL store, or "
               "spark to compute on Apache Spark (pip install 'regulars[spark]')."))
    ] = "duckdb",
    spark_master: Annotated[str | None, typer.Option(
        help=_("With --engine spark: the Spark master (default local[*]), or sc://HOST:PORT "
               "for Spark Connect (also read from SPARK_REMOTE)."), show_default=False)
    ] = None,
    top: Annotated[int, typer.Option(help=_("Customers at risk to list."))] = 10,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        paths = files_by_kind(files or [])
        options = read_options(map_, date_format, decimal_comma, encoding, header)
        moment = parse_day(as_of, "--as-of")
        since = parse_day(flow_from, "--flow-from")
        span = parse_period(period)
        check_writable(out_file, "--out", OUT_SUFFIXES)
        if excel and (out_file is None or out_file.suffix.lower() != ".csv"):
            raise typer.BadParameter(_("it is for a .csv file written with --out"),
                                     param_hint="--excel")
        check_writable(report, "--report", ())
        check_out_dir(out_dir, "--out-dir")
        if spark_master is not None and engine != "spark":
            raise typer.BadParameter(_("it is for --engine spark"), param_hint="--spark-master")
        with analysis_steps(sys.stderr.isatty()) as steps:
            result = api.analyze(
                **paths, as_of=moment, config=settings,
                options=options, period=span, flow_from=since, engine=engine, progress=steps,
                spark_master=spark_master,
                # every customer's evidence in words only for a file of every customer, in
                # the English source text as every file for machines; the summary and the
                # report write it for the customers they list, in the reader's language
                words="en" if out_file is not None or out_dir is not None else False)
        print_summary(out, result, top=top, currency=result.currency)
        for line in result.set_aside:  # rows of the store outside the input rules
            out.print(line, highlight=False, markup=False)
        if out_file:
            write_customers(result, out_file, bom=excel)
            out.print(_("customer map written to {f}").format(f=out_file), highlight=False)
        if out_dir:
            parts = write_customers_dir(result, out_dir)
            out.print(ngettext("customer map written to {d} ({n} file)",
                               "customer map written to {d} ({n} files)", parts).format(
                d=out_dir, n=parts), highlight=False)
        if report:
            write_report(result, report)
            out.print(_("report written to {f}").format(f=report), highlight=False)
