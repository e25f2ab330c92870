"""BG/BB: beta-geometric / beta-Bernoulli model of discrete transaction opportunities.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
setting", Marketing Science 29(6), 1086–1108 (eq. 5 likelihood, eq. 11 P(alive), eq. 13
conditional expectation).

At each of ``n`` opportunities (yearly donations, weekly visits…) an alive customer transacts
with probability p ~ Beta(α, β); at the start of each opportunity an alive customer dies with
probability θ ~ Beta(γ, δ). With x transactions, the last at opportunity t_x:

    L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
        + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ),

    P(alive at n + m) = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n+m)/B(γ,δ) / L,

    E[X(n, n+n*)] = B(α+x+1, β+n-x)/B(α,β) · δ/(γ-1) · Γ(γ+δ)/Γ(1+δ)
                    · [Γ(1+δ+n)/Γ(γ+δ+n) - Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)] / L.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from regulars.analytics.models._base import (
    FittedModel,
    FloatArray,
    ModelError,
    as_float_array,
    check_weights,
    finite_or_raise,
    maximise,
)
from regulars.analytics.models._compress import compress

_TOL = 1e-9


def _betaln(a: FloatArray | float, b: FloatArray | float) -> FloatArray:
    return np.asarray(special.betaln(a, b), dtype=np.float64)


def validate_opportunities(
    frequency: Any, recency: Any, n_periods: Any
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Transactions x, last opportunity with a transaction t_x and opportunities n, checked."""
    x = as_float_array(frequency, "frequency")
    t_x = as_float_array(recency, "recency")
    n = as_float_array(n_periods, "n_periods")
    if not (x.shape == t_x.shape == n.shape):
        raise ModelError("frequency, recency and n_periods must have the same length.")
    for arr, label in ((x, "frequency"), (t_x, "recency"), (n, "n_periods")):
        if np.any(arr < 0) or np.any(np.abs(arr - np.round(arr)) > _TOL):
            raise ModelError(f"{label} must be a whole number, 0 or more.")
    x, t_x, n = np.round(x), np.round(t_x), np.round(n)
    if np.any(x > t_x) or np.any(t_x > n) or np.any((x > 0) & (t_x == 0)):
        raise ModelError(
            "BG/BB data need frequency <= recency <= n_periods (recency is the opportunity "
            "of the last transaction, 0 when there was none)."
        )
    return x, t_x, n


class BetaGeoBetaBinom(FittedModel):
    """The BG/BB model, parameters ``alpha, beta, gamma, delta`` (time unit: opportunities)."""

    name: ClassVar[str] = "bg_bb"
    title: ClassVar[str] = "BG/BB"
    param_names: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")

    @staticmethod
    def _loglik(theta: FloatArray, data: tuple[FloatArray, ...]) -> tuple[FloatArray, FloatArray]:
        al, be, ga, de = (float(v) for v in theta)
        x, t_x, n = data
        rows = x.shape[0]
        width = int(np.max(n - t_x)) if rows else 0
        i = np.arange(width, dtype=np.float64)[None, :]
        valid = i < (n - t_x)[:, None]
        xx, tt = x[:, None], t_x[:, None]
        # column 0: alive through n; columns 1..: died at the start of opportunity t_x+i+1
        log_terms = np.empty((rows, width + 1))
        log_terms[:, 0] = _betaln(al + x, be + n - x) + _betaln(ga, de + n)
        log_terms[:, 1:] = np.where(
            valid, _betaln(al + xx, be + tt - xx + i) + _betaln(ga + 1, de + tt + i), -np.inf)
        top = log_terms.max(axis=1)
        share = np.exp(log_terms - top[:, None])
        total = share.sum(axis=1)
        share /= total[:, None]
        ll = top + np.log(total) - _betaln(al, be) - _betaln(ga, de)
        dg = special.digamma
        d_al = np.empty_like(log_terms)
        d_be = np.empty_like(log_terms)
        d_ga = np.empty_like(log_terms)
        d_de = np.empty_like(log_terms)
        d_al[:, 0] = dg(al + x) - dg(al + be + n)
        d_be[:, 0] = dg(be + n - x) - dg(al + be + n)
        d_ga[:, 0] = dg(ga) - dg(ga + de + n)
        d_de[:, 0] = dg(de + n) - dg(ga + de + n)
        d_al[:, 1:] = dg(al + xx) - dg(al + be + tt + i)
        d_be[:, 1:] = dg(be + tt - xx + i) - dg(al + be + tt + i)
        d_ga[:, 1:] = dg(ga + 1) - dg(ga + de + 1 + tt + i)
        d_de[:, 1:] = dg(de + tt + i) - dg(ga + de + 1 + tt + i)
        grad = np.empty((rows, 4))
        grad[:, 0] = (share * np.where(np.isfinite(log_terms), d_al, 0.0)).sum(axis=1)
        grad[:, 1] = (share * np.where(np.isfinite(log_terms), d_be, 0.0)).sum(axis=1)
        grad[:, 2] = (share * np.where(np.isfinite(log_terms), d_ga, 0.0)).sum(axis=1)
        grad[:, 3] = (share * np.where(np.isfinite(log_terms), d_de, 0.0)).sum(axis=1)
        grad[:, 0] -= dg(al) - dg(al + be)
        grad[:, 1] -= dg(be) - dg(al + be)
        grad[:, 2] -= dg(ga) - dg(ga + de)
        grad[:, 3] -= dg(de) - dg(ga + de)
        return ll, grad

    @classmethod
    def fit(
        cls,
        frequency: Any,
        recency: Any,
        n_periods: Any,
        *,
        weights: Any = None,
        penalty: float = 0.0,
        initial: dict[str, float] | None = None,
    ) -> Self:
        """Fit by maximum likelihood; rows identical in (x, t_x, n) are compressed, and
        ``weights`` counts customers per row (as in the donations data)."""
        if penalty < 0:
            raise ModelError("The penalty must not be negative.")
        x, t_x, n = validate_opportunities(frequency, recency, n_periods)
        w = check_weights(weights, x.shape[0])
        keep = w > 0
        if not np.any(x[keep] > 0):
            raise ModelError(
                "Nobody in the data transacted at any opportunity, so the BG/BB model cannot "
                "be fitted."
            )
        (ux, ut, un), uw, _ = compress((x[keep], t_x[keep], n[keep]), w[keep])
        start = np.array([1.0, 1.0, 1.0, 1.0])
        if initial is not None:
            start = np.array([initial[k] for k in cls.param_names], dtype=np.float64)
        outcome = maximise(cls._loglik, (ux, ut, un), uw, start, cls.param_names, cls.title,
                           penalty)
        return cls._from_outcome(outcome, float(w.sum()), "day", penalty)

    def _log_l(self, x: FloatArray, t_x: FloatArray, n: FloatArray) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            ll, _ = self._loglik(self.theta, (x, t_x, n))
        return ll

    def p_alive(
        self, frequency: Any, recency: Any, n_periods: Any, horizon: int = 0
    ) -> FloatArray:
        """P(alive at opportunity n + horizon) given the history (FHS 2010 eq. 11 is
        ``horizon = 1``)."""
        x, t_x, n = validate_opportunities(frequency, recency, n_periods)
        al, be, ga, de = (float(v) for v in self.theta)
        log_p = (_betaln(al + x, be + n - x) - _betaln(al, be) + _betaln(ga, de + n + horizon)
                 - _betaln(ga, de) - self._log_l(x, t_x, n))
        return np.clip(finite_or_raise(np.exp(log_p), "P(alive)", self.title), 0.0, 1.0)

    def expected_purchases(
        self, horizon: int, frequency: Any, recency: Any, n_periods: Any
    ) -> FloatArray:
        """Expected transactions in the next ``horizon`` opportunities (FHS 2010 eq. 13)."""
        x, t_x, n = validate_opportunities(frequency, recency, n_periods)
        al, be, ga, de = (float(v) for v in self.theta)
        lg = special.gammaln
        head = (_betaln(al + x + 1, be + n - x) - _betaln(al, be) + lg(ga + de) - lg(1 + de)
                - self._log_l(x, t_x, n))
        bracket = (np.exp(lg(1 + de + n) - lg(ga + de + n))
                   - np.exp(lg(1 + de + n + horizon) - lg(ga + de + n + horizon)))
        out = np.exp(head) * de / (ga - 1) * bracket
        return np.maximum(finite_or_raise(out, "expected transactions", self.title), 0.0)

    def simulate(
        self, n_customers: int, n_periods: int, seed: int | np.random.Generator | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Draw (frequency, recency, n_periods) for ``n_customers`` over ``n_periods``."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        al, be, ga, de = (float(v) for v in self.theta)
        p = rng.beta(al, be, n_customers)
        th = rng.beta(ga, de, n_customers)
        alive = np.ones(n_customers, dtype=bool)
        x = np.zeros(n_customers)
        t_x = np.zeros(n_customers)
        for j in range(1, n_periods + 1):
            alive &= rng.random(n_customers) >= th
            buy = alive & (rng.random(n_customers) < p)
            x += buy
            t_x[buy] = j
        return x, t_x, np.full(n_customers, float(n_periods))
