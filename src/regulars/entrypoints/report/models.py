"""The models report: a calibration/holdout evaluation as one self-contained page."""

from __future__ import annotations

from typing import Any

from regulars.entrypoints.report import charts
from regulars.entrypoints.report.format import day, num, pct, sig
from regulars.entrypoints.report.html import Markup, empty, figure, pair, section, table
from regulars.entrypoints.report.html import translate as _
from regulars.entrypoints.report.html import translate_plural as ngettext
from regulars.entrypoints.report.page import page
from regulars.i18n import current_language, fmt_days, use_language

__all__ = ["render_models_report"]


def render_models_report(evaluation: Any, *, title: str | None = None,
                         lang: str | None = None) -> str:
    """One self-contained HTML page of a calibration/holdout evaluation
    (:class:`regulars.analytics.models.ModelsEvaluation`): the models compared, and for each
    predicted against actual holdout orders per calibration-frequency bucket and cumulatively
    over time, as charts and tables; in ``lang`` (None: the current language), titled
    ``title`` (None: "Model evaluation" in that language)."""
    with use_language(lang or current_language()) as chosen:
        return _models_page(evaluation, _("Model evaluation") if title is None else title,
                            chosen)


def _duration(amount: float, unit: str) -> str:
    """``amount`` weeks or days in words: ``52 weeks``, ``26,5 недели``, ``364 дня``."""
    # a fraction takes the form of 2 in ru (26,5 недели), et and en (plural)
    n = int(amount) if float(amount).is_integer() else 2
    text = num(amount, 0 if float(amount).is_integer() else 1)
    if unit == "week":
        return ngettext("{n} week", "{n} weeks", n).format(n=text)
    return fmt_days(amount)


def _models_page(evaluation: Any, title: str, lang: str) -> str:
    split = evaluation.split
    unit = split.calibration.time_unit
    customers = len(split.calibration)
    meta = ngettext("Calibration to {cal}, holdout to {obs} ({duration}), {n} customer",
                    "Calibration to {cal}, holdout to {obs} ({duration}), {n} customers",
                    customers).format(
        cal=day(split.calibration_end), obs=day(split.observation_end),
        duration=_duration(split.duration, unit), n=num(customers))
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
        number=lambda v: sig(v, 2),
    )
    cum = ev.cumulative.to_pylist()
    curve = charts.lines(
        f"chart-cum-{i}",
        _("{m}: cumulative repeat orders in the holdout").format(m=model),
        _("Orders of the calibration customers since the calibration end, actual and "
          "predicted, week by week.") if unit == "week" else
        _("Orders of the calibration customers since the calibration end, actual and "
          "predicted, day by day."),
        [r["t"] for r in cum],
        [(_("actual"), colours[0], [r["actual"] for r in cum]),
         (_("predicted"), colours[1], [r["predicted"] for r in cum])],
        x_label=(_("weeks after the calibration end") if unit == "week"
                 else _("days after the calibration end")),
        y_label=_("orders"),
        number=num,
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
