"""Maximum-likelihood machinery shared by every model.

Each model supplies a per-row log-likelihood and its gradient with respect to the natural
parameters. This module compresses identical rows into weights, maximises the weighted
log-likelihood over log-parameters with L-BFGS-B (analytic gradient), polishes with Newton steps
on a Hessian obtained by central differences of the analytic gradient, and derives standard
errors from that Hessian (delta method: ``SE(θ) = θ · SE(log θ)``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from scipy import optimize  # type: ignore[import-untyped]

FloatArray = npt.NDArray[np.float64]
Data = tuple[npt.NDArray[Any], ...]
RowLogLik = Callable[[FloatArray, Data], tuple[FloatArray, FloatArray]]

TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0}
"""Time units of a customer summary and of a fitted model's scale parameters, in days."""

_LOG_BOUND = 30.0  # log-parameters live in [-30, 30]: e^±30 is "ran off to 0 or infinity"
_GRAD_TOL = 1e-6  # mean-log-likelihood gradient (per log-parameter) accepted as converged


class ModelError(ValueError):
    """A statistical model cannot be fitted, loaded or used on the data given.

    The message is a plain English sentence saying what to do. Analytics imports nothing from
    the rest of regulars (import-linter), so this is not a ``regulars.domain.errors``
    exception: the service layer turns it into ``AnalysisError(str(exc))``.
    """


class ModelWarning(UserWarning):
    """A model result is usable but weaker than usual (e.g. no standard errors)."""


def package_version() -> str:
    """The installed regulars version (``0.0.0`` in a bare source tree)."""
    try:
        return version("regulars")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def as_float_array(values: Any, name: str) -> FloatArray:
    """A 1-D float64 array from a list, numpy array, pandas Series or pyarrow array."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        try:
            values = values.to_numpy(zero_copy_only=False)
        except TypeError:
            values = values.to_numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ModelError(f"The {name} column must be one-dimensional, not of shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ModelError(f"The {name} column has {bad} missing or infinite value(s).")
    return arr


def check_weights(weights: Any, n: int) -> FloatArray:
    """Per-row weights (1 each when ``None``); negative or missing weights are refused."""
    if weights is None:
        return np.ones(n)
    w = as_float_array(weights, "weights")
    if w.shape[0] != n:
        raise ModelError(f"There are {w.shape[0]} weights for {n} customers.")
    if np.any(w < 0):
        raise ModelError("Weights must not be negative.")
    return w


def factorize(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct values and, for each input, the index of its value (``uniq[index] == values``).

    Likelihood terms that depend on one column only are computed once per distinct value and
    gathered: with daily data a million customers have a few hundred distinct ages.
    """
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, inverse.astype(np.intp).reshape(-1)


def compress(
    columns: Sequence[FloatArray], weights: FloatArray
) -> tuple[tuple[FloatArray, ...], FloatArray, npt.NDArray[np.intp]]:
    """Identical rows collapsed into one row each, their weights summed.

    Returns the unique rows (one array per column), their weights and, for every input row, the
    index of its unique row (so per-row results can be broadcast back with ``out[inverse]``).
    """
    n = columns[0].shape[0]
    if n == 0:
        return tuple(c[:0] for c in columns), weights[:0], np.zeros(0, dtype=np.intp)
    order = np.lexsort(tuple(reversed(columns)))
    sorted_cols = [c[order] for c in columns]
    new = np.ones(n, dtype=bool)
    diff = np.zeros(n - 1, dtype=bool)
    for c in sorted_cols:
        diff |= c[1:] != c[:-1]
    new[1:] = diff
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    uniq = tuple(c[new] for c in sorted_cols)
    w = np.bincount(group, weights=weights[order], minlength=int(group[-1]) + 1)
    return uniq, w.astype(np.float64), inverse


@dataclass(frozen=True)
class FitOutcome:
    """What the optimiser found (internal)."""

    params: FloatArray
    standard_errors: FloatArray
    log_likelihood: float
    iterations: int
    converged: bool


def maximise(
    loglik: RowLogLik,
    data: Data,
    weights: FloatArray,
    x0: FloatArray,
    names: Sequence[str],
    model: str,
    penalty: float = 0.0,
) -> FitOutcome:
    """Maximise ``Σ w · ll(θ) - W · penalty · Σ θ²`` over ``log θ``.

    The objective handed to L-BFGS-B is the negative mean log-likelihood (plus the penalty) so
    its scale does not depend on the number of customers. Raises :class:`ModelError` when the
    optimum is not finite, a parameter runs off to 0 or infinity, or the gradient is not zero.
    """
    total = float(weights.sum())
    if total <= 0:
        raise ModelError(f"There are no customers to fit the {model} model on.")

    def objective(log_theta: FloatArray) -> tuple[float, FloatArray]:
        theta = np.exp(log_theta)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ll, grad = loglik(theta, data)
        value = -float(weights @ ll) / total + penalty * float(theta @ theta)
        g = -(weights @ grad) / total + 2.0 * penalty * theta
        g_log = g * theta
        if not (math.isfinite(value) and np.all(np.isfinite(g_log))):
            return math.inf, np.zeros_like(log_theta)
        return value, g_log

    start = np.log(np.asarray(x0, dtype=np.float64))
    f0, _ = objective(start)
    if not math.isfinite(f0):
        raise ModelError(
            f"The {model} log-likelihood is not finite at the starting values: the data may "
            "hold extreme values (check frequency, recency and age for outliers)."
        )
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    res = optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": 3000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    log_theta = np.asarray(res.x, dtype=np.float64)
    iterations = int(res.nit)
    # polish with Newton steps (numerical Hessian of the analytic gradient) when L-BFGS-B
    # stopped short; the last Hessian also gives the standard errors
    value, g = objective(log_theta)
    hess = _hessian(objective, log_theta, g)
    for _ in range(3):
        if np.max(np.abs(g)) < 1e-8 or not math.isfinite(value):
            break
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            break
        candidate = np.clip(log_theta - step, -_LOG_BOUND, _LOG_BOUND)
        cand_value, cand_g = objective(candidate)
        if not cand_value <= value:
            break
        log_theta, value, g = candidate, cand_value, cand_g
        hess = _hessian(objective, log_theta, g)
    at_bound = np.abs(log_theta) >= _LOG_BOUND - 1.0
    if np.any(at_bound):
        which = ", ".join(n for n, b in zip(names, at_bound, strict=True) if b)
        raise ModelError(
            f"The {model} model cannot be fitted: parameter(s) {which} ran off to zero or "
            "infinity, so the data do not identify the model. Try another model, more history, "
            "or a small penalty (e.g. 0.001)."
        )
    converged = math.isfinite(value) and float(np.max(np.abs(g))) < _GRAD_TOL
    if not converged:
        where = ", ".join(f"{n}={v:.4g}" for n, v in zip(names, np.exp(log_theta), strict=True))
        raise ModelError(
            f"The {model} fit did not converge: it stopped at {where} with the likelihood "
            f"still rising (gradient {np.max(np.abs(g)):.2g}). Parameters growing without "
            "bound mean the data cannot identify the model (often too few customers or too "
            "short a history). Try a small penalty (e.g. 0.001), more data, or another model."
        )
    theta = np.exp(log_theta)
    ll_total = -(value - penalty * float(theta @ theta)) * total
    se = _standard_errors(hess * total, theta, model)
    return FitOutcome(theta, se, ll_total, iterations, converged)


def _hessian(
    objective: Callable[[FloatArray], tuple[float, FloatArray]], x: FloatArray, g: FloatArray
) -> FloatArray:
    """Forward differences of the analytic gradient (``g`` at ``x``), symmetrised: accurate
    to about 1e-6 relative, plenty for standard errors and Newton steps."""
    p = x.shape[0]
    hess = np.empty((p, p))
    for j in range(p):
        h = 1e-6 * max(1.0, abs(float(x[j])))
        up = x.copy()
        up[j] += h
        hess[:, j] = (objective(up)[1] - g) / h
    return 0.5 * (hess + hess.T)


def _standard_errors(hess_total: FloatArray, theta: FloatArray, model: str) -> FloatArray:
    """``θ · sqrt(diag(H⁻¹))`` where ``H`` is the Hessian of the total negative
    log-likelihood in log-parameters; NaN (with a warning) when ``H`` is not positive
    definite."""
    try:
        np.linalg.cholesky(hess_total)
        cov = np.linalg.inv(hess_total)
    except np.linalg.LinAlgError:
        warnings.warn(
            f"Standard errors of the {model} model are unavailable: the likelihood is flat in "
            "some direction at the optimum (the parameters are poorly identified).",
            ModelWarning, stacklevel=4,
        )
        return np.full(theta.shape, np.nan)
    return theta * np.sqrt(np.diag(cov))


@dataclass(frozen=True)
class FittedModel:
    """A model with its parameters and, when fitted, how the fit went.

    ``params`` maps parameter names (in the model's order) to values; ``standard_errors``
    maps them to asymptotic standard errors (``None`` when unavailable or the model was built
    from parameters). ``time_unit`` is the unit of the summary it was fitted on (``"day"`` or
    ``"week"``); scale parameters (α, β, …) are in that unit.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    params: dict[str, float]
    standard_errors: dict[str, float | None] = field(default_factory=dict)
    log_likelihood: float | None = None
    n_customers: float | None = None
    time_unit: str = "day"
    penalty: float = 0.0
    iterations: int | None = None
    fitted_at: str | None = None
    package_version: str = field(default_factory=package_version)

    def __post_init__(self) -> None:
        names = tuple(self.params)
        if set(names) != set(self.param_names):
            raise ModelError(
                f"A {self.title} model needs the parameters {', '.join(self.param_names)}; "
                f"got {', '.join(names) or 'none'}."
            )
        for key in self.param_names:
            value = self.params[key]
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ModelError(
                    f"The {self.title} parameter {key} must be a positive number, not {value!r}."
                )
        if self.time_unit not in TIME_UNITS:
            raise ModelError(
                f"Unknown time unit {self.time_unit!r}; use one of {', '.join(TIME_UNITS)}."
            )

    @property
    def theta(self) -> FloatArray:
        """The parameters as an array in the model's order."""
        return np.array([self.params[k] for k in self.param_names], dtype=np.float64)

    @property
    def n_params(self) -> int:
        """Number of free parameters."""
        return len(self.param_names)

    @property
    def aic(self) -> float | None:
        """Akaike's information criterion, ``2k - 2 LL``."""
        if self.log_likelihood is None:
            return None
        return 2 * self.n_params - 2 * self.log_likelihood

    @property
    def bic(self) -> float | None:
        """Schwarz's Bayesian information criterion, ``k ln n - 2 LL``."""
        if self.log_likelihood is None or not self.n_customers:
            return None
        return self.n_params * math.log(self.n_customers) - 2 * self.log_likelihood

    @classmethod
    def _from_outcome(
        cls, outcome: FitOutcome, n: float, time_unit: str, penalty: float
    ) -> Self:
        params = {k: float(v) for k, v in zip(cls.param_names, outcome.params, strict=True)}
        ses: dict[str, float | None] = {
            k: (float(v) if math.isfinite(v) else None)
            for k, v in zip(cls.param_names, outcome.standard_errors, strict=True)
        }
        return cls(
            params=params, standard_errors=ses, log_likelihood=outcome.log_likelihood,
            n_customers=n, time_unit=time_unit, penalty=penalty, iterations=outcome.iterations,
            fitted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self.params.items())
        ll = "" if self.log_likelihood is None else f", LL={self.log_likelihood:.1f}"
        return f"{type(self).__name__}({ps}{ll})"


def finite_or_raise(values: FloatArray, what: str, model: str) -> FloatArray:
    """Refuse to hand on NaN or infinite predictions."""
    bad = ~np.isfinite(values)
    if np.any(bad):
        raise ModelError(
            f"The {model} model gave {int(bad.sum())} non-finite value(s) of {what} (numerical "
            "overflow at these parameters). Refit with a small penalty or use another model."
        )
    return values


def check_time_unit(time_unit: str) -> str:
    """The time unit, validated."""
    if time_unit not in TIME_UNITS:
        raise ModelError(f"Unknown time unit {time_unit!r}; use one of {', '.join(TIME_UNITS)}.")
    return time_unit
