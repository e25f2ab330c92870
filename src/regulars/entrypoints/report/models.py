"""The models report: a calibration/holdout evaluation as one self-contained page."""

from __future__ import annotations

from typing import Any

from regulars.entrypoints.report import charts
from regulars.entrypoints.report.format import day, num, pct
from regulars.entrypoints.report.html import Markup, empty, figure, pair, section, table
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.page import page

__all__ = ["render_models_report"]


def render_models_report(evaluation: Any, *, title: str, lang: str = "en") -> str:
    """One self-contained HTML page of a calibration/holdout evaluation
    (:class:`regulars.analytics.models.ModelsEvaluation`): the models compared, and for each
    predicted against actual holdout orders per calibration-frequency bucket and cumulatively
    over time, as charts and tables."""
    split = evaluation.split
    unit = split.calibration.time_unit
    meta = _("Calibration to {cal}, holdout to {obs} ({d:g} {unit}s), {n} customers").format(
        cal=day(split.calibration_end), obs=day(split.observation_end), d=split.duration,
        unit=unit, n=num(len(split.calibration)))
    comparison = evaluation.comparison.to_pylist()
    rows = [[r["model"], str(r["parameters"]), num(r["log_likelihood"], 1),
             num(r["aic"], 1), num(r["bic"], 1)] for r in comparison]
    body = table(_("Models fitted on the calibration period (lower AIC and BIC fit better)"),
                 [_("Model"), _("Parameters"), _("Log-likelihood"), "AIC", "BIC"], rows,
                 numeric_from=2)
    for name, why in evaluation.failures.items():
        body += empty(f"{name}: {why}")
    sections = [section("comparison", _("Models compared"), "", body)]
    sections += [_model_section(i, ev, unit) for i, ev in enumerate(evaluation.evaluations)]
    return page(title, meta, [], sections, split.observation_end, lang)


COLOURS = ("#2563eb", "#f59e0b")
"""Actual and predicted, in every chart of the page."""


def _model_section(i: int, ev: Any, unit: str) -> Markup:
    """One model's predictions against the holdout: by calibration frequency and over time."""
    colours = COLOURS
    model = ev.model.title
    freq = ev.by_frequency.to_pylist()
    bars = charts.paired_bars(
        f"chart-freq-{i}",
        _("{m}: holdout orders by calibration frequency").format(m=model),
        _("Mean orders per customer in the holdout, actual and predicted, for customers "
          "grouped by their repeat purchases in the calibration period."),
        [(r["bucket"], [r["actual_mean"], r["predicted_mean"]]) for r in freq],
        [(_("actual"), colours[0]), (_("predicted"), colours[1])],
        x_label=_("repeat purchases in the calibration period"),
        y_label=_("mean orders in the holdout"),
        number=lambda v: f"{v:.2g}",
    )
    cum = ev.cumulative.to_pylist()
    curve = charts.lines(
        f"chart-cum-{i}",
        _("{m}: cumulative repeat orders in the holdout").format(m=model),
        _("Orders of the calibration customers since the calibration end, actual and "
          "predicted, by {unit}.").format(unit=unit),
        [r["t"] for r in cum],
        [(_("actual"), colours[0], [r["actual"] for r in cum]),
         (_("predicted"), colours[1], [r["predicted"] for r in cum])],
        x_label=_("{unit}s after the calibration end").format(unit=unit),
        y_label=_("orders"),
        number=lambda v: f"{v:,.0f}",
    )
    numbers = table(
        _("By calibration frequency"),
        [_("Repeat purchases"), _("Customers"), _("Actual mean"), _("Predicted mean")],
        [[r["bucket"], num(r["customers"]), num(r["actual_mean"], 3),
          num(r["predicted_mean"], 3)] for r in freq],
    )
    lead = _("Holdout orders: {a} actual, {p} predicted ({d} off); mean absolute error "
             "per customer {mae}.").format(
        a=num(ev.actual_total), p=num(ev.predicted_total),
        d=pct((ev.predicted_total - ev.actual_total) / ev.actual_total
               if ev.actual_total else None),
        mae=num(ev.mae, 3))
    return section(f"model-{i}", model, lead, pair(bars, numbers) + figure(curve))
