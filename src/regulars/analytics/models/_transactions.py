"""What the continuous-time repeat-purchase models (BG/NBD, MBG/NBD, Pareto/NBD) share.

Data per customer: ``frequency`` x (repeat purchases), ``recency`` t_x (time of the last
purchase since the first) and ``T`` (age: as-of minus first purchase), in one time unit.
Every model here has a purchase rate λ ~ Gamma(r, α) while alive, so given that a customer
is alive at T the posterior of λ is Gamma(r + x, α + T) and the waiting time to the next
purchase is Lomax: ``P(wait > t | alive) = ((α+T)/(α+T+t))^(r+x)``.
"""

# T is the customer's age, as in every paper and in lifetimes' API
# ruff: noqa: N803, N806

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from regulars.analytics.models._base import (
    Data,
    FitOutcome,
    FittedModel,
    FloatArray,
    ModelError,
    as_float_array,
    check_time_unit,
    check_weights,
    finite_or_raise,
    maximise,
)
from regulars.analytics.models._compress import compress, factorize

if TYPE_CHECKING:
    from regulars.analytics.models.summary import CustomerSummary

_TOL = 1e-9
_WARM_START_ROWS = 50_000
"""Above this many distinct (x, t_x, T) rows a fit starts from a fit on a random subsample of
about this many rows, whose Hessian then drives fixed-Hessian Newton steps on all rows."""
_WARM_START_SEED = 20261122


def validate_rfm(
    frequency: Any, recency: Any, T: Any, *, strict: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Frequency, recency and age as float arrays, checked for consistency."""
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    age = as_float_array(T, "T (age)")
    if not (x.shape == t_x.shape == age.shape):
        raise ModelError(
            f"frequency, recency and T must have the same length "
            f"({x.shape[0]}, {t_x.shape[0]}, {age.shape[0]})."
        )
    if np.any(x < 0) or np.any(np.abs(x - np.round(x)) > _TOL):
        raise ModelError("frequency must be a whole number of repeat purchases, 0 or more.")
    if np.any(t_x < 0) or np.any(t_x > age * (1 + _TOL) + _TOL):
        raise ModelError("recency must lie between 0 and the customer's age T.")
    if strict and np.any((x == 0) & (t_x > _TOL)):
        raise ModelError("A customer without repeat purchases must have recency 0.")
    return np.round(x), np.minimum(t_x, age), age


def _objective(outcome: FitOutcome, weights: FloatArray, penalty: float) -> float:
    """What the fit maximised: the log-likelihood less the penalty (see ``maximise``)."""
    logs = np.log(outcome.params)
    return outcome.log_likelihood - float(weights.sum()) * penalty * float(logs @ logs)


def prepare_rfm(x: FloatArray, t_x: FloatArray, T: FloatArray) -> Data:
    """``(x, t_x, T)`` followed by the distinct values and indices of each column."""
    xu, xi = factorize(x)
    tu, ti = factorize(t_x)
    big_tu, big_ti = factorize(T)
    return (x, t_x, T, xu, xi, tu, ti, big_tu, big_ti)


class TransactionModel(FittedModel):
    """Base of the continuous-time models: fitting and the per-customer predictions."""

    # --- what a model supplies -------------------------------------------------------------

    @classmethod
    @abstractmethod
    def _loglik(cls, theta: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        """Per-row log-likelihood and its gradient (rows × params) in natural parameters;
        ``data`` is ``(x, t_x, T)`` or what :meth:`_prepare` made of it."""

    @classmethod
    def _loglik_sum(
        cls, theta: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray]:
        """``Σ w·ll`` and ``Σ w·∇ll`` over the prepared rows (models override this with a
        version that never builds the rows × params gradient)."""
        ll, grad = cls._loglik(theta, data)
        return float(np.einsum("i,i->", weights, ll)), np.einsum("i,ij->j", weights, grad)

    _has_hessian: ClassVar[bool] = False
    """Whether :meth:`_loglik_hess` is implemented (an analytic Hessian)."""

    @classmethod
    def _loglik_hess(
        cls, theta: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray, FloatArray]:
        """``Σ w·ll``, ``Σ w·∇ll`` and ``Σ w·∇²ll`` in the natural parameters (models with
        ``_has_hessian``)."""
        raise NotImplementedError

    @classmethod
    def _prepare(cls, x: FloatArray, t_x: FloatArray, T: FloatArray) -> Data:
        """Data-only work done once per fit (factorising columns)."""
        return prepare_rfm(x, t_x, T)

    @abstractmethod
    def _log_p_alive(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        """log P(alive at T | x, t_x, T)."""

    @abstractmethod
    def _log_survival_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        """log P(alive at T + h | alive at T, history), whatever happens meanwhile."""

    @abstractmethod
    def _expected_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        """E[purchases in (T, T + h] | alive at T, history]."""

    @abstractmethod
    def _simulate(
        self, T: FloatArray, rng: np.random.Generator
    ) -> tuple[FloatArray, FloatArray]:
        """(frequency, recency) of customers with ages ``T``, drawn from the model."""

    @classmethod
    def _initial(cls, x: FloatArray, T: FloatArray, w: FloatArray) -> FloatArray:
        """Starting values: r = 1, α the mean time per repeat purchase, others neutral (for
        Pareto/NBD β = α, where its hypergeometric term is cheapest)."""
        scale = max(float(np.einsum("i,i->", w, T)) / max(float(np.einsum("i,i->", w, x)), 1.0),
                    1e-6)
        return np.array([1.0, scale, 1.0, math.sqrt(scale) if cls.name == "pareto_nbd" else 3.0])

    # --- fitting ---------------------------------------------------------------------------

    # over 60 lines for its docstring: the parameters are documented in full; the body is short
    @classmethod
    def fit(
        cls,
        frequency: Any,
        recency: Any,
        T: Any,
        *,
        weights: Any = None,
        penalty: float = 0.0,
        time_unit: str = "day",
        initial: dict[str, float] | None = None,
    ) -> Self:
        """Fit by maximum likelihood (analytic gradient, identical rows compressed).

        Parameters
        ----------
        frequency, recency, T
            Per-customer repeat purchases x, time of the last purchase t_x and age T, in
            ``time_unit`` (arrays, lists, pandas Series or pyarrow arrays).
        weights
            Optional per-customer weights (e.g. counts of identical customers).
        penalty
            L2 penalty on the log-parameters: the objective is the mean log-likelihood minus
            ``penalty · Σ (log θ)²`` (lifetimes' ``penalizer_coef`` is on ``θ²``, which
            depends on the time unit).
        time_unit
            ``"day"`` or ``"week"``, recorded with the model.
        initial
            Optional starting values by parameter name.

        Raises
        ------
        ModelError
            Degenerate data (nobody made a repeat purchase), non-convergence, or parameters
            running off to 0 or infinity.
        """
        check_time_unit(time_unit)
        if penalty < 0:
            raise ModelError("The penalty must not be negative.")
        x, t_x, age = validate_rfm(frequency, recency, T)
        w = check_weights(weights, x.shape[0])
        keep = w > 0
        if not np.any(keep):
            raise ModelError(f"There are no customers to fit the {cls.title} model on.")
        if not np.any(x[keep] > 0):
            raise ModelError(
                f"Nobody in the data made a repeat purchase, so the {cls.title} model cannot "
                "tell how often customers buy or when they leave. Use more history (an earlier "
                "start or a later as-of date)."
            )
        if not np.any(age[keep] > 0):
            raise ModelError("Every customer's age T is 0: the as-of date is their first order.")
        if not keep.all():
            x, t_x, age, w = x[keep], t_x[keep], age[keep], w[keep]
        (ux, ut, uT), uw, _ = compress((x, t_x, age), w, inverse=False)
        if initial is not None:
            starts = [np.array([initial[k] for k in cls.param_names], dtype=np.float64)]
        else:
            starts = cls._starts(ux, uT, uw)
        data = cls._prepare(ux, ut, uT)
        best: FitOutcome | None = None
        failure: ModelError | None = None
        for start in starts:
            try:
                outcome = cls._maximise_from(start, data, (ux, ut, uT, uw), penalty,
                                             warm=initial is None)
            except ModelError as exc:
                failure = failure or exc
                continue
            if best is None or _objective(outcome, uw, penalty) > _objective(best, uw, penalty):
                best = outcome
        if best is None:
            assert failure is not None
            raise failure
        return cls._from_outcome(best, float(w.sum()), time_unit, penalty)

    @classmethod
    def _starts(cls, x: FloatArray, T: FloatArray, w: FloatArray) -> list[FloatArray]:
        """Where the fit starts: :meth:`_initial`, and more for a model whose likelihood has
        more than one peak (the best of the fits wins)."""
        return [cls._initial(x, T, w)]

    @classmethod
    def _maximise_from(
        cls, start: FloatArray, data: Data,
        rows: tuple[FloatArray, FloatArray, FloatArray, FloatArray], penalty: float, *,
        warm: bool,
    ) -> FitOutcome:
        """One fit from ``start``, warmed up on a subsample when the data are large."""
        ux, ut, uT, uw = rows
        hessian0 = None
        warm_iterations = 0
        if warm and ux.shape[0] > _WARM_START_ROWS:
            first = cls._warm_start(ux, ut, uT, uw, start, penalty)
            if first is not None:
                start, hessian0, warm_iterations = first.params, first.hessian, first.iterations
        outcome = maximise(cls._loglik, data, uw, start, cls.param_names, cls.title, penalty,
                           loglik_sum=cls._loglik_sum, hessian0=hessian0,
                           loglik_hess=cls._loglik_hess if cls._has_hessian else None)
        if warm_iterations:
            outcome = replace(outcome, iterations=outcome.iterations + warm_iterations)
        return outcome

    @classmethod
    def _warm_start(
        cls, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray, start: FloatArray,
        penalty: float,
    ) -> FitOutcome | None:
        """A fit on a random subsample of the distinct rows (each kept with the same
        probability, weights unchanged, so the weighted sample is unbiased): its parameters
        are close to the full fit's and its Hessian to the full Hessian. ``None`` if it
        fails (the full fit then starts cold)."""
        rng = np.random.default_rng(_WARM_START_SEED)
        keep = rng.random(x.shape[0]) < _WARM_START_ROWS / x.shape[0]
        if not np.any(x[keep] > 0):
            return None
        data = cls._prepare(x[keep], t_x[keep], T[keep])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                outcome = maximise(cls._loglik, data, w[keep], start, cls.param_names,
                                   cls.title, penalty, loglik_sum=cls._loglik_sum, rough=True)
        except ModelError:
            return None
        return outcome if outcome.hessian is not None else None

    @classmethod
    def fit_summary(cls, summary: CustomerSummary, **kwargs: Any) -> Self:
        """:meth:`fit` on a :class:`~regulars.analytics.models.summary.CustomerSummary`."""
        return cls.fit(summary.frequency, summary.recency, summary.T,
                       time_unit=summary.time_unit, **kwargs)

    # --- predictions -------------------------------------------------------------------------

    def log_likelihood_rows(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Each customer's log-likelihood under these parameters."""
        x, t_x, age = validate_rfm(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ll, _ = self._loglik(self.theta, (x, t_x, age))
        return ll

    def p_alive(self, frequency: Any, recency: Any, T: Any, horizon: float = 0.0) -> FloatArray:
        """Probability that the customer is still active ("alive") ``horizon`` time units
        after the as-of date, given their history — whatever they do meanwhile.

        ``horizon = 0`` is P(alive) now. For a later horizon it is P(alive now) times the
        probability of not leaving in between (for BG/NBD-type models: not leaving at any of
        the purchases made in between).
        """
        x, t_x, age = validate_rfm(frequency, recency, T)
        if horizon < 0:
            raise ModelError("The horizon must not be negative.")
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            logp = self._log_p_alive(x, t_x, age)
            if horizon > 0:
                logp = logp + self._log_survival_if_alive(horizon, x, age)
            out = np.exp(logp)
        return np.clip(finite_or_raise(out, "P(alive)", self.title), 0.0, 1.0)

    def expected_purchases_if_alive(
        self, horizon: float, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Expected purchases in the next ``horizon`` time units for a customer who is still
        active now."""
        x, _, age = validate_rfm(frequency, recency, T)
        if horizon < 0:
            raise ModelError("The horizon must not be negative.")
        if horizon == 0:
            return np.zeros(x.shape[0])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = self._expected_if_alive(horizon, x, age)
        return np.maximum(finite_or_raise(out, "expected purchases", self.title), 0.0)

    def expected_purchases(
        self, horizon: float, frequency: Any, recency: Any, T: Any
    ) -> FloatArray:
        """Conditional expected purchases in the next ``horizon`` time units,
        ``E[X(T, T+h) | x, t_x, T] = P(alive) · E[X(T, T+h) | alive]``."""
        return self.p_alive(frequency, recency, T) * self.expected_purchases_if_alive(
            horizon, frequency, recency, T)

    def median_time_to_next_purchase(self, frequency: Any, recency: Any, T: Any) -> FloatArray:
        """Median waiting time to the next purchase of a customer who is still active and
        stays so: ``(α + T)(2^(1/(r+x)) - 1)`` (Lomax median of the Gamma(r + x, α + T)
        posterior rate)."""
        x, _, age = validate_rfm(frequency, recency, T)
        r, alpha = self.params["r"], self.params["alpha"]
        return np.asarray((alpha + age) * np.expm1(np.log(2.0) / (r + x)), dtype=np.float64)

    def simulate(
        self, T: Any, seed: int | np.random.Generator | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Draw (frequency, recency, T) for customers of ages ``T`` from this model
        (continuous time; seeded)."""
        age = as_float_array(T, "T (age)")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        x, t_x = self._simulate(age, rng)
        return x, t_x, age


def arrival_time_of(x: FloatArray, n: FloatArray, window: FloatArray,
                    rng: np.random.Generator) -> FloatArray:
    """Time of the ``x``-th of ``n`` Poisson arrivals in ``(0, window]`` (0 when ``x = 0``):
    ``window`` times the ``x``-th order statistic of ``n`` uniforms, i.e. Beta(x, n - x + 1)."""
    out = np.zeros(x.shape[0])
    pos = x > 0
    out[pos] = window[pos] * rng.beta(x[pos], n[pos] - x[pos] + 1)
    return out
