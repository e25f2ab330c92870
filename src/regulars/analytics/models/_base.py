"""Maximum-likelihood machinery shared by every model.

Each model supplies a per-row log-likelihood and its gradient with respect to the natural
parameters (and, for speed, their weighted totals; some models also the Hessian). This module
compresses identical rows into weights, maximises the weighted log-likelihood over
log-parameters with L-BFGS-B (analytic gradient) or, from a warm start, with Newton steps,
polishes with Newton steps on a Hessian (analytic, or by differences of the analytic
gradient), and derives standard errors from that Hessian (delta method:
``SE(θ) = θ · SE(log θ)``).
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
SumLogLik = Callable[[FloatArray, Data, FloatArray], tuple[float, FloatArray]]
"""``(θ, data, weights) -> (Σ w·ll, Σ w·∇ll)``: the weighted totals without per-row arrays."""
HessLogLik = Callable[[FloatArray, Data, FloatArray], tuple[float, FloatArray, FloatArray]]
"""``(θ, data, weights) -> (Σ w·ll, Σ w·∇ll, Σ w·∇²ll)`` in the natural parameters."""

TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0}
"""Time units of a customer summary and of a fitted model's scale parameters, in days."""

CHUNK = 32_768
"""Rows per block in the summed likelihoods: a block's temporaries stay in the CPU cache,
which makes the dozen numpy passes per row two to three times faster than on whole columns."""


def dot(u: FloatArray, v: FloatArray) -> float:
    """``u · v`` without BLAS: OpenBLAS threads its dot product, and on a busy machine
    waking the threads costs milliseconds per call (measured: 10 ms for 32k rows)."""
    return float(np.einsum("i,i->", u, v))


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


@dataclass(frozen=True)
class FitOutcome:
    """What the optimiser found (internal). ``hessian`` is that of the objective (negative
    mean log-likelihood plus penalty) in log-parameters, at ``params``."""

    params: FloatArray
    standard_errors: FloatArray
    log_likelihood: float
    iterations: int
    converged: bool
    hessian: FloatArray | None = None


# over 60 lines, one piece: the optimiser's fallback ladder (Newton from a warm start,
# L-BFGS-B, Newton polish) shares its closures over the compressed data (see pyproject)
def maximise(
    loglik: RowLogLik,
    data: Data,
    weights: FloatArray,
    x0: FloatArray,
    names: Sequence[str],
    model: str,
    penalty: float = 0.0,
    *,
    loglik_sum: SumLogLik | None = None,
    hessian0: FloatArray | None = None,
    rough: bool = False,
    loglik_hess: HessLogLik | None = None,
) -> FitOutcome:
    """Maximise ``Σ w · ll(θ) - W · penalty · Σ (log θ)²`` over ``log θ``.

    The penalty is on the log-parameters: it keeps a parameter from running off to zero or
    infinity and hardly moves one the data identify. (A penalty on ``θ²`` itself, as lifetimes'
    ``penalizer_coef``, depends on the units: a scale of 114 days, or a spend scale in roubles
    rather than euros, is pulled a hundred or ten thousand times harder.)

    The objective handed to L-BFGS-B is the negative mean log-likelihood (plus the penalty) so
    its scale does not depend on the number of customers. ``loglik_sum``, when the model has
    one, gives the weighted totals directly (fewer passes over the rows than per-row arrays).
    ``hessian0``, an approximate Hessian of that objective at ``x0`` (from a fit on a
    subsample: the mean log-likelihood's curvature hardly depends on the sample size), starts
    with Newton steps on that fixed Hessian, one evaluation each, instead of L-BFGS-B.
    ``loglik_hess``, when the model has an analytic Hessian, replaces the fixed Hessian by the
    exact one (Newton steps converge quadratically) and the final numerical Hessian by one
    evaluation. ``rough`` stops L-BFGS-B at a gradient of 1e-7 and skips the Newton polish (for the
    subsample fit that only provides a starting point and a Hessian).
    Raises :class:`ModelError` when the optimum is not finite, a parameter runs off to 0 or
    infinity, or the gradient is not zero.
    """
    total = float(weights.sum())
    if total <= 0:
        raise ModelError(f"There are no customers to fit the {model} model on.")

    def totals(theta: FloatArray) -> tuple[float, FloatArray]:
        if loglik_sum is not None:
            return loglik_sum(theta, data, weights)
        ll, grad = loglik(theta, data)
        # einsum, not BLAS: threaded OpenBLAS is erratic on a busy machine
        return float(np.einsum("i,i->", weights, ll)), np.einsum("i,ij->j", weights, grad)

    def objective(log_theta: FloatArray) -> tuple[float, FloatArray]:
        theta = np.exp(log_theta)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ll_sum, grad_sum = totals(theta)
        value = -ll_sum / total + penalty * float(log_theta @ log_theta)
        g = -np.asarray(grad_sum, dtype=np.float64) / total
        g_log = g * theta + 2.0 * penalty * log_theta
        if not (math.isfinite(value) and np.all(np.isfinite(g_log))):
            return math.inf, np.zeros_like(log_theta)
        return value, g_log

    def objective_h(log_theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        assert loglik_hess is not None
        theta = np.exp(log_theta)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ll_sum, grad_sum, hess_sum = loglik_hess(theta, data, weights)
        value = -ll_sum / total + penalty * float(log_theta @ log_theta)
        g = -np.asarray(grad_sum, dtype=np.float64) / total
        h_nat = -np.asarray(hess_sum, dtype=np.float64) / total
        # chain rule for θ = exp(u): ∂²f/∂u_i∂u_j = θ_i θ_j H_ij + δ_ij θ_i g_i; the penalty
        # is already in u
        eye = np.eye(theta.shape[0])
        h_log = h_nat * np.outer(theta, theta) + np.diag(g * theta) + 2.0 * penalty * eye
        g_log = g * theta + 2.0 * penalty * log_theta
        if not (math.isfinite(value) and np.all(np.isfinite(g_log))
                and np.all(np.isfinite(h_log))):
            return math.inf, np.zeros_like(log_theta), np.full((theta.shape[0],) * 2, np.nan)
        return value, g_log, h_log

    def hessian_at(log_theta: FloatArray, g: FloatArray) -> FloatArray:
        if loglik_hess is not None:
            return objective_h(log_theta)[2]
        return _hessian(objective, log_theta, g)

    start = np.log(np.asarray(x0, dtype=np.float64))
    if hessian0 is not None and loglik_hess is not None:
        f0, g0, h0 = objective_h(start)
    else:
        f0, g0 = objective(start)
    if not math.isfinite(f0):
        raise ModelError(
            f"The {model} log-likelihood is not finite at the starting values: the data may "
            "hold extreme values (check frequency, recency and age for outliers)."
        )
    newton = None
    hess: FloatArray | None = None
    if hessian0 is not None and loglik_hess is not None:
        exact = _exact_newton(objective_h, start, f0, g0, h0)
        if exact is not None:
            log_theta, value, g, hess, iterations = exact
            newton = log_theta, value, g, iterations
    elif hessian0 is not None:
        newton = _fixed_newton(objective, start, f0, g0, hessian0)
    if newton is not None:
        log_theta, value, g, iterations = newton
    else:
        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
        res = optimize.minimize(
            objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
            options={"maxiter": 3000, "ftol": 1e-12 if rough else 1e-15,
                     "gtol": 1e-7 if rough else 1e-10, "maxcor": 20},
            callback=_stop_when_running_off,
        )
        log_theta = np.asarray(res.x, dtype=np.float64)
        iterations = int(res.nit)
        value, g = objective(log_theta)
    _refuse_running_off(log_theta, names, model)
    # polish with Newton steps (numerical Hessian of the analytic gradient) when the optimiser
    # stopped short; the last Hessian also gives the standard errors
    if hess is None:
        hess = hessian_at(log_theta, g)
    for _ in range(0 if rough else 3):
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
        hess = hessian_at(log_theta, g)
    _refuse_running_off(log_theta, names, model)
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
    ll_total = -(value - penalty * float(log_theta @ log_theta)) * total
    se = _standard_errors(hess * total, theta, model)
    return FitOutcome(theta, se, ll_total, iterations, converged, hess)


def _refuse_running_off(log_theta: FloatArray, names: Sequence[str], model: str) -> None:
    """A :class:`ModelError` naming the parameters beyond :data:`_RUNAWAY`."""
    running = np.abs(log_theta) > _RUNAWAY
    if np.any(running):
        which = ", ".join(n for n, b in zip(names, running, strict=True) if b)
        raise ModelError(
            f"The {model} model cannot be fitted: parameter(s) {which} ran off to zero or "
            "infinity, so the data do not identify the model. Try another model, more history, "
            "or a small penalty (e.g. 0.001)."
        )


_RUNAWAY = 25.0
"""A log-parameter beyond ±25 (θ below 1.4e-11 or above 7e10) is running off to zero or
infinity: no customer base has such a rate or shape, and the fit never comes back."""


def _stop_when_running_off(intermediate_result: optimize.OptimizeResult) -> None:
    """Stop L-BFGS-B as soon as a parameter is running off (see :data:`_RUNAWAY`): the fit
    cannot converge, and on a million customers the optimiser took 5 s to say so."""
    if np.any(np.abs(intermediate_result.x) > _RUNAWAY):
        raise StopIteration


_NEWTON_TOL = 1e-9  # the fixed-Hessian Newton steps stop at this gradient (L-BFGS-B: 1e-10)


def _exact_newton(
    objective_h: Callable[[FloatArray], tuple[float, FloatArray, FloatArray]],
    x: FloatArray,
    value: float,
    g: FloatArray,
    hess: FloatArray,
    max_steps: int = 20,
) -> tuple[FloatArray, float, FloatArray, FloatArray, int] | None:
    """Newton steps with the exact Hessian (halved while they do not make progress), one
    evaluation each; returns the Hessian at the point reached too. ``None`` (the caller
    falls back to L-BFGS-B) when the Hessian is not positive definite or a step fails."""
    for step_no in range(max_steps):
        gmax = float(np.max(np.abs(g)))
        if gmax < _NEWTON_TOL:
            return x, value, g, hess, step_no
        try:
            chol = np.linalg.cholesky(hess)
        except np.linalg.LinAlgError:
            return None
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        for shrink in (1.0, 0.5, 0.25, 0.125):
            candidate = np.clip(x - shrink * step, -_LOG_BOUND, _LOG_BOUND)
            cand_value, cand_g, cand_h = objective_h(candidate)
            if math.isfinite(cand_value) and (
                cand_value <= value or float(np.max(np.abs(cand_g))) < 0.5 * gmax
            ):
                break
        else:
            return None
        x, value, g, hess = candidate, cand_value, cand_g, cand_h
    if float(np.max(np.abs(g))) < _GRAD_TOL:
        return x, value, g, hess, max_steps
    return None


def _fixed_newton(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    x: FloatArray,
    value: float,
    g: FloatArray,
    hess: FloatArray,
    max_steps: int = 12,
) -> tuple[FloatArray, float, FloatArray, int] | None:
    """Newton steps ``x - H⁻¹ g`` with a fixed approximate ``H``: linear convergence at the
    rate of ``H``'s relative error, one evaluation per step. ``None`` (the caller falls back
    to L-BFGS-B) when ``H`` is not positive definite or a step fails to make progress."""
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    for step_no in range(max_steps):
        gmax = float(np.max(np.abs(g)))
        if gmax < _NEWTON_TOL:
            return x, value, g, step_no
        step = np.linalg.solve(chol.T, np.linalg.solve(chol, g))
        for shrink in (1.0, 0.5, 0.25):
            candidate = np.clip(x - shrink * step, -_LOG_BOUND, _LOG_BOUND)
            cand_value, cand_g = objective(candidate)
            if math.isfinite(cand_value) and (
                cand_value <= value or float(np.max(np.abs(cand_g))) < 0.5 * gmax
            ):
                break
        else:
            return None
        x, value, g = candidate, cand_value, cand_g
    return (x, value, g, max_steps) if float(np.max(np.abs(g))) < _GRAD_TOL else None


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
