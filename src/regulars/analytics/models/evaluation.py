"""Calibration/holdout evaluation and model comparison.

Two views, as in Fader, Hardie & Lee (2005, Figures 3–4):

- **by calibration frequency**: customers grouped by their repeat purchases in the calibration
  period (0, 1, …, 6, 7+); per group the mean actual order days in the holdout and the mean
  conditional expectation ``E[X(T, T+τ) | x, t_x, T]`` (τ the holdout length);
- **cumulative over the holdout**: at the end of each time unit t of the holdout, the actual
  number of order days so far and the predicted ``Σ E[X(T, T+t) | …]`` over customers.

Results are plain dataclasses holding Arrow tables, ready to print or chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pyarrow as pa

from regulars.analytics.models._base import FittedModel, ModelError
from regulars.analytics.models._transactions import TransactionModel
from regulars.analytics.models.bgnbd import BetaGeo
from regulars.analytics.models.mbgnbd import ModifiedBetaGeo
from regulars.analytics.models.paretonbd import ParetoNBD
from regulars.analytics.models.summary import CalibrationHoldout, calibration_holdout

TRANSACTION_MODELS: dict[str, type[TransactionModel]] = {
    cls.name: cls for cls in (ParetoNBD, ModifiedBetaGeo, BetaGeo)
}
BUCKETS = 8  # 0..6 and 7+


@dataclass(frozen=True)
class HoldoutEvaluation:
    """How one fitted model predicted the holdout period.

    ``by_frequency`` columns: ``bucket`` ("0".."6", "7+"), ``customers``, ``actual_mean``,
    ``predicted_mean``. ``cumulative`` columns: ``t`` (end of each time unit of the holdout),
    ``actual``, ``predicted``. ``actual_total``/``predicted_total``: order days over the whole
    holdout; ``mae``: mean absolute error per customer.
    """

    model: FittedModel
    by_frequency: pa.Table
    cumulative: pa.Table
    actual_total: float
    predicted_total: float
    mae: float
    duration: float
    time_unit: str


def evaluate_holdout(model: TransactionModel, split: CalibrationHoldout) -> HoldoutEvaluation:
    """Compare ``model`` (fitted on ``split.calibration``) with what happened in the
    holdout."""
    cal = split.calibration
    if cal.time_unit != model.time_unit:
        raise ModelError("The model and the calibration summary use different time units.")
    predicted = model.expected_purchases(split.duration, cal.frequency, cal.recency, cal.T)
    actual = split.holdout_frequency
    bucket = np.minimum(cal.frequency, BUCKETS - 1).astype(np.int64)
    counts = np.bincount(bucket, minlength=BUCKETS)
    sum_actual = np.bincount(bucket, weights=actual, minlength=BUCKETS)
    sum_pred = np.bincount(bucket, weights=predicted, minlength=BUCKETS)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_actual = np.where(counts > 0, sum_actual / np.maximum(counts, 1), np.nan)
        mean_pred = np.where(counts > 0, sum_pred / np.maximum(counts, 1), np.nan)
    labels = [str(i) for i in range(BUCKETS - 1)] + [f"{BUCKETS - 1}+"]
    by_frequency = pa.table({
        "bucket": labels,
        "customers": counts.astype(np.int64),
        "actual_mean": pa.array(mean_actual, from_pandas=True),
        "predicted_mean": pa.array(mean_pred, from_pandas=True),
    })
    steps = np.arange(1, math.ceil(split.duration - 1e-9) + 1, dtype=np.float64)
    steps = np.minimum(steps, split.duration)
    actual_cum = np.searchsorted(np.sort(split.holdout_offsets), steps, side="right")
    predicted_cum = np.array([
        model.expected_purchases(float(t), cal.frequency, cal.recency, cal.T).sum()
        for t in steps
    ])
    cumulative = pa.table({
        "t": steps, "actual": actual_cum.astype(np.float64), "predicted": predicted_cum,
    })
    return HoldoutEvaluation(
        model=model, by_frequency=by_frequency, cumulative=cumulative,
        actual_total=float(actual.sum()), predicted_total=float(predicted.sum()),
        mae=float(np.mean(np.abs(actual - predicted))), duration=split.duration,
        time_unit=cal.time_unit,
    )


def compare_models(models: Sequence[FittedModel]) -> pa.Table:
    """One row per fitted model: ``model, parameters, n_customers, log_likelihood, aic,
    bic`` (lower AIC/BIC is better; only comparable on the same data)."""
    return pa.table({
        "model": [m.title for m in models],
        "parameters": [", ".join(f"{k}={v:.4g}" for k, v in m.params.items()) for m in models],
        "n_customers": [m.n_customers for m in models],
        "log_likelihood": [m.log_likelihood for m in models],
        "aic": [m.aic for m in models],
        "bic": [m.bic for m in models],
    })


@dataclass(frozen=True)
class ModelsEvaluation:
    """What ``regulars models evaluate`` shows: one holdout evaluation per model that could
    be fitted, the comparison table, and why the others could not."""

    evaluations: list[HoldoutEvaluation]
    comparison: pa.Table
    failures: dict[str, str]
    split: CalibrationHoldout


def evaluate_models(
    customer_id: Any,
    ordered_at: Any,
    *,
    calibration_end: datetime | date,
    observation_end: datetime | date,
    models: Sequence[str] = ("pareto_nbd", "mbg_nbd", "bg_nbd"),
    time_unit: str = "day",
    penalty: float = 0.0,
) -> ModelsEvaluation:
    """Split the orders, fit each named model on the calibration period and evaluate it on
    the holdout. A model that cannot be fitted is reported in ``failures`` (its readable
    error message) instead of stopping the others; if none can be fitted, raises the first
    error."""
    split = calibration_holdout(customer_id, ordered_at, calibration_end=calibration_end,
                                observation_end=observation_end, time_unit=time_unit)
    evaluations: list[HoldoutEvaluation] = []
    failures: dict[str, str] = {}
    first_error: ModelError | None = None
    for name in models:
        if name not in TRANSACTION_MODELS:
            raise ModelError(
                f"Unknown model {name!r}; choose from {', '.join(TRANSACTION_MODELS)}.")
        try:
            fitted = TRANSACTION_MODELS[name].fit_summary(split.calibration, penalty=penalty)
            evaluations.append(evaluate_holdout(fitted, split))
        except ModelError as exc:
            failures[name] = str(exc)
            first_error = first_error or exc
    if not evaluations and first_error is not None:
        raise first_error
    return ModelsEvaluation(
        evaluations=evaluations,
        comparison=compare_models([e.model for e in evaluations]),
        failures=failures,
        split=split,
    )
