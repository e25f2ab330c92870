"""Gamma-Gamma model of spend per transaction.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
Journal of Marketing Research 42(4), 415–430, and Fader & Hardie (2013), "The Gamma-Gamma
model of monetary value" (note).

Each transaction of a customer is Gamma(p, ν) in value; ν ~ Gamma(q, γ) across customers
(spend is assumed independent of the purchase process). For a repeat buyer with x repeat
transactions of mean value m_x,

    f(m_x | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m_x^(px-1) x^(px) / (γ + m_x x)^(px+q),

and the expected value of their future transactions is

    E[M | x, m_x] = p (γ + x m_x) / (px + q - 1)
                  = (q-1)/(px+q-1) · pγ/(q-1) + px/(px+q-1) · m_x,

a weighted mean of the population mean pγ/(q-1) and the customer's own mean. Customers
without repeat purchases get the population mean. Fit on repeat buyers only.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from regulars.analytics.models._base import (
    CHUNK,
    FittedModel,
    FloatArray,
    ModelError,
    as_float_array,
    check_weights,
    dot,
    finite_or_raise,
    maximise,
)
from regulars.analytics.models._compress import compress, factorize


class GammaGamma(FittedModel):
    """The Gamma-Gamma spend model, parameters ``p, q, gamma``."""

    name: ClassVar[str] = "gamma_gamma"
    title: ClassVar[str] = "Gamma-Gamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    @staticmethod
    def _loglik(theta: FloatArray, data: tuple[FloatArray, ...]) -> tuple[FloatArray, FloatArray]:
        p, q, g = (float(v) for v in theta)
        x, m = data[0], data[1]
        px = p * x
        log_m = np.log(m)
        log_x = np.log(x)
        log_gxm = np.log(g + x * m)
        ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
              + (px - 1) * log_m + px * log_x - (px + q) * log_gxm)
        psi = special.digamma(px + q)
        grad = np.empty((x.shape[0], 3))
        grad[:, 0] = x * (psi - special.digamma(px) + log_m + log_x - log_gxm)
        grad[:, 1] = psi - special.digamma(q) + np.log(g) - log_gxm
        grad[:, 2] = q / g - (px + q) / (g + x * m)
        return ll, grad

    @staticmethod
    def _loglik_sum(
        theta: FloatArray, data: tuple[FloatArray, ...], weights: FloatArray
    ) -> tuple[float, FloatArray]:
        """``Σ w·ll`` and ``Σ w·∇ll`` of :meth:`_loglik`, arranged for speed: the gamma and
        digamma terms depend on x alone (few distinct values), the rest per row is one log
        and one division, block by block. ``data`` is ``(x, m, distinct x, index of x)``."""
        p, q, g = (float(v) for v in theta)
        x, m, xu, xi = data
        n_x = xu.shape[0]
        w_x = np.zeros(n_x)
        s_log_mx = s_log_m = s_log = s_xlog = s_inv = s_xinv = 0.0
        for lo in range(0, x.shape[0], CHUNK):
            cx, cm, cw = x[lo:lo + CHUNK], m[lo:lo + CHUNK], weights[lo:lo + CHUNK]
            w_x += np.bincount(xi[lo:lo + CHUNK], weights=cw, minlength=n_x)
            wx = cw * cx
            log_m = np.log(cm)
            s_log_m += dot(cw, log_m)
            s_log_mx += dot(wx, log_m)
            gxm = cx * cm
            gxm += g
            inv = 1.0 / gxm
            np.log(gxm, out=gxm)
            s_log += dot(cw, gxm)
            s_xlog += dot(wx, gxm)
            s_inv += dot(cw, inv)
            s_xinv += dot(wx, inv)
        total = float(w_x.sum())
        pxu = p * xu
        s_xlogx = float(w_x @ (xu * np.log(xu)))
        psi_u = special.digamma(pxu + q)
        ll = (float(w_x @ (special.gammaln(pxu + q) - special.gammaln(pxu)))
              + total * (q * math.log(g) - float(special.gammaln(q)))
              + p * s_log_mx - s_log_m + p * s_xlogx - p * s_xlog - q * s_log)
        grad = np.array([
            float(w_x @ (xu * (psi_u - special.digamma(pxu)))) + s_log_mx + s_xlogx - s_xlog,
            float(w_x @ psi_u) + total * (math.log(g) - float(special.digamma(q))) - s_log,
            total * q / g - p * s_xinv - q * s_inv,
        ])
        return ll, grad

    @classmethod
    def fit(
        cls,
        frequency: Any,
        monetary_value: Any,
        *,
        weights: Any = None,
        penalty: float = 0.0,
        initial: dict[str, float] | None = None,
    ) -> Self:
        """Fit on the repeat buyers (``frequency > 0``) among the rows given.

        ``monetary_value`` is the mean value of each customer's repeat transactions; it must
        be positive for repeat buyers.
        """
        if penalty < 0:
            raise ModelError("The penalty must not be negative.")
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        if x.shape != m.shape:
            raise ModelError("frequency and monetary_value must have the same length.")
        w = check_weights(weights, x.shape[0])
        rep = (x > 0) & (w > 0)
        if not np.any(rep):
            raise ModelError(
                "Nobody made a repeat purchase, so the Gamma-Gamma spend model cannot be "
                "fitted; use the average order value instead."
            )
        if np.any(m[rep] <= 0):
            raise ModelError(
                "The Gamma-Gamma model needs a positive mean order value for every repeat "
                "buyer; remove zero-value or refund-only customers first."
            )
        if np.unique(m[rep]).shape[0] < 2:
            raise ModelError("All repeat buyers spend the same: there is no spread to model.")
        (ux, um), uw, _ = compress((x[rep], m[rep]), w[rep])
        mean = float(uw @ um) / float(uw.sum())
        start = np.array([1.0, 2.0, mean])
        if initial is not None:
            start = np.array([initial[k] for k in cls.param_names], dtype=np.float64)
        xu, xi = factorize(ux)
        outcome = maximise(cls._loglik, (ux, um, xu, xi), uw, start, cls.param_names,
                           cls.title, penalty, loglik_sum=cls._loglik_sum)
        return cls._from_outcome(outcome, float(w[rep].sum()), "day", penalty)

    def population_mean(self) -> float:
        """Mean transaction value of the population, ``pγ/(q-1)`` (needs q > 1)."""
        p, q, g = (float(v) for v in self.theta)
        if q <= 1:
            raise ModelError(
                "The fitted spend distribution has no finite mean (q <= 1): a few very large "
                "orders dominate. Cap outliers or use the average order value."
            )
        return p * g / (q - 1)

    def expected_order_value(self, frequency: Any, monetary_value: Any) -> FloatArray:
        """Conditional expected value of each customer's future transactions."""
        x = as_float_array(frequency, "frequency")
        m = as_float_array(monetary_value, "monetary_value")
        p, q, g = (float(v) for v in self.theta)
        pop = self.population_mean()
        rep = x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            own = p * (g + x * m) / (p * x + q - 1)
        out = np.where(rep, own, pop)
        return finite_or_raise(out, "expected order value", self.title)

    def simulate(
        self, frequency: Any, seed: int | np.random.Generator | None = None
    ) -> FloatArray:
        """Mean value of ``frequency`` transactions per customer (0 for ``frequency = 0``)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        x = as_float_array(frequency, "frequency")
        p, q, g = (float(v) for v in self.theta)
        nu = rng.gamma(q, 1.0 / g, x.shape[0])
        total = rng.gamma(np.maximum(p * x, 1e-300), 1.0 / nu)
        return np.where(x > 0, total / np.maximum(x, 1.0), 0.0)
