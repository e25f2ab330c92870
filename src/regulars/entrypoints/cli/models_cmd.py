"""``regulars models``: fit the customer-base models, save them, and check them on a holdout."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from regulars import api
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import app, handled, parse_mapping, settings_from
from regulars.i18n import _, fmt_date, fmt_number

models_app = typer.Typer(
    help=_("Customer-base models: P(alive), expected orders, CLV, and how well they predict."),
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")

OrdersArg = Annotated[Path | None, typer.Argument(
    help=_("An orders file to use instead of the store."), show_default=False, dir_okay=False)]
MapOpt = Annotated[list[str] | None, typer.Option(
    "--map", help=_("For the orders file: OUR_COLUMN=FILE_COLUMN, repeatable."))]
DateFormatOpt = Annotated[str | None, typer.Option(
    help=_("For the orders file: strptime format of dates."))]


def _date(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise typer.BadParameter(_("expected a date YYYY-MM-DD"), param_hint=option) from e


def _options(settings: api.Settings, map_: list[str] | None, date_format: str | None,
             header: bool | None) -> api.ReadOptions:
    return api.ReadOptions(header=header, mapping=parse_mapping(map_ or []),
                                 date_format=date_format, currency=settings.currency)


def _parameters(title: str, model: dict[str, object]) -> Table:
    table = Table(title=title)
    for col in (_("parameter"), _("estimate"), _("standard error")):
        table.add_column(col, justify="left" if col == _("parameter") else "right")
    params = model.get("params") or {}
    ses = model.get("standard_errors") or {}
    assert isinstance(params, dict) and isinstance(ses, dict)
    for name, value in params.items():
        se = ses.get(name)
        table.add_row(name, f"{value:.4g}", "–" if se is None else f"{se:.3g}")
    return table


@models_app.command("fit", help=_(
    "Fit the model the customer map uses ([analysis] prediction_model) and a spend model, and "
    "show their parameters."))
def fit_command(
    orders: OrdersArg = None,
    as_of: Annotated[str | None, typer.Option(
        help=_("Fit on the orders up to this date (default the day of the last order)."))
    ] = None,
    save: Annotated[Path | None, typer.Option(
        "--save", help=_("Write the fitted models to this JSON file."), dir_okay=False)] = None,
    map_: MapOpt = None,
    date_format: DateFormatOpt = None,
    header: Annotated[bool | None, typer.Option("--header/--no-header",
                                                show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        with err.status(_("fitting…")):
            fitted = api.fit_models(
                orders, as_of=_date(as_of, "--as-of"), config=settings,
                options=_options(settings, map_, date_format, header))
        described = fitted.describe()
        tx = described["transactions"]
        out.print(_("{m} on {n} customers as of {d}: log-likelihood {ll}").format(
            m=fitted.transactions.title, n=fmt_number(tx["n_customers"]),
            d=fmt_date(fitted.as_of), ll=fmt_number(tx["log_likelihood"], 1)), highlight=False)
        out.print(_parameters(_("repeat purchases ({m}, per {u})").format(
            m=fitted.transactions.title, u=tx["time_unit"]), tx))
        if described["spend"]:
            out.print(_parameters(_("order value (Gamma-Gamma)"), described["spend"]))
        for note in fitted.notes:
            out.print(f"  {note}", style="dim", highlight=False)
        if save:
            save.write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
            out.print(_("models written to {f}").format(f=save), highlight=False)


# over 60 lines for its signature: Typer declares each option as a parameter with its help;
# the body is short
@models_app.command("evaluate", help=_(
    "How well the models predict: fit on a calibration period, then compare predicted and actual "
    "orders in the holdout, per calibration frequency and over time."))
def evaluate_command(
    orders: OrdersArg = None,
    calibration_end: Annotated[str, typer.Option(
        help=_("Fit on the orders up to this date (YYYY-MM-DD)…"), show_default=False)] = "",
    observation_end: Annotated[str | None, typer.Option(
        help=_("…and compare with what customers did up to this one (default the day of the "
               "last order)."))] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", help=_("pareto_nbd, mbg_nbd or bg_nbd; repeatable (default all three)."))
    ] = None,
    report: Annotated[Path | None, typer.Option(
        help=_("Write the tables and charts to a self-contained HTML file."), dir_okay=False)
    ] = None,
    map_: MapOpt = None,
    date_format: DateFormatOpt = None,
    header: Annotated[bool | None, typer.Option("--header/--no-header",
                                                show_default=False)] = None,
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        if not calibration_end:
            raise typer.BadParameter(_("give the end of the calibration period"),
                                     param_hint="--calibration-end")
        settings = settings_from(config, database_url)
        with err.status(_("fitting and evaluating…")):
            result = api.evaluate_models(
                orders, calibration_end=_date(calibration_end, "--calibration-end") or date.min,
                observation_end=_date(observation_end, "--observation-end"),
                models=tuple(model or ("pareto_nbd", "mbg_nbd", "bg_nbd")), config=settings,
                options=_options(settings, map_, date_format, header))
        split = result.split
        out.rule(_("calibration to {a}, holdout to {b} ({n} customers)").format(
            a=fmt_date(split.calibration_end), b=fmt_date(split.observation_end),
            n=fmt_number(len(split.calibration))))
        compared = Table(title=_("models (lower AIC and BIC fit better)"))
        for col in (_("model"), _("parameters"), _("log-likelihood"), "AIC", "BIC",
                    _("holdout orders predicted / actual"), _("MAE per customer")):
            compared.add_column(col, justify="left" if col in (_("model"), _("parameters"))
                                else "right")
        for row, ev in zip(result.comparison.to_pylist(), result.evaluations, strict=True):
            penalised = getattr(ev.model, "penalty", 0.0) or 0.0
            name = row["model"] + (_(" (penalty {p:g})").format(p=penalised) if penalised else "")
            compared.add_row(name, str(row["parameters"]), fmt_number(row["log_likelihood"], 1),
                             fmt_number(row["aic"], 1), fmt_number(row["bic"], 1),
                             f"{fmt_number(ev.predicted_total)} / {fmt_number(ev.actual_total)}",
                             fmt_number(ev.mae, 3))
        out.print(compared)
        for name, why in result.failures.items():
            out.print(f"{name}: {why}", style="yellow", highlight=False)
        for ev in result.evaluations:
            table = Table(title=_("{m}: mean holdout orders by calibration repeat purchases"
                                  ).format(m=ev.model.title))
            for col in (_("repeat purchases"), _("customers"), _("actual"), _("predicted")):
                table.add_column(col, justify="right")
            for r in ev.by_frequency.to_pylist():
                table.add_row(r["bucket"], fmt_number(r["customers"]),
                              fmt_number(r["actual_mean"], 3), fmt_number(r["predicted_mean"], 3))
            out.print(table)
        if report:
            from regulars.entrypoints.report import render_models_report

            report.write_text(render_models_report(result, title=_("Model evaluation")),
                              encoding="utf-8")
            out.print(_("report written to {f}").format(f=report), highlight=False)
