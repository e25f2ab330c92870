"""MBG/NBD: the modified BG/NBD model.

Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", International Journal of Research in Marketing 24(3), 201–209.

As BG/NBD, except that a customer may also leave right after their *first* purchase (at time
0), so one-time buyers are not all certainly alive. The likelihood is

    L = B(a, b+x+1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + B(a+1, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),

    P(alive) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)),

and the conditional expectation of purchases in (T, T+t] is

    E = (a+b+x)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(α+T+t))]
        · P(alive).
"""

# T is the customer's age, as in every paper and in lifetimes' API
# ruff: noqa: N803, N806

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from regulars.analytics.models._base import Data, FloatArray
from regulars.analytics.models._transactions import arrival_time_of
from regulars.analytics.models.bgnbd import BetaGeoFamily


class ModifiedBetaGeo(BetaGeoFamily):
    """The MBG/NBD model, parameters ``r, alpha, a, b``."""

    modified: ClassVar[bool] = True
    name: ClassVar[str] = "mbg_nbd"
    title: ClassVar[str] = "MBG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @classmethod
    def _starts(cls, x: FloatArray, T: FloatArray, w: FloatArray) -> list[FloatArray]:
        """Two starts: the likelihood can peak both at a moderate a, b and at small ones (on
        the demo business at a = 0.35, b = 59 and, 23 log-likelihood units higher, at
        a = 0.03, b = 0.31); from the usual start the fit stops at the first."""
        usual = cls._initial(x, T, w)
        small = usual.copy()
        small[2:] = (0.1, 1.0)
        return [usual, small]

    @classmethod
    def _loglik(cls, theta: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        r, alpha, a, b = (float(v) for v in theta)
        if len(data) == 3:
            data = cls._prepare(*data)
        x, _, _, xu, xi, tu, ti, big_tu, big_ti = data
        # terms of x alone, of t_x alone and of T alone: once per distinct value, gathered
        rx = (r + xu)[xi]
        log_aT = np.log(alpha + big_tu)[big_ti]
        log_at = np.log(alpha + tu)[ti]
        inv_aT = (1.0 / (alpha + big_tu))[big_ti]
        inv_at = (1.0 / (alpha + tu))[ti]
        const_u = (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
                   + special.gammaln(a + b) + special.gammaln(b + xu + 1) - special.gammaln(b)
                   - special.gammaln(a + b + xu + 1))
        a3 = -rx * log_aT
        a4 = (np.log(a) - np.log(b + xu))[xi] - rx * log_at
        lse = np.logaddexp(a3, a4)
        w3 = np.exp(a3 - lse)
        w4 = np.exp(a4 - lse)
        ll = const_u[xi] + lse
        psi_ab = special.digamma(a + b)
        psi_abx = special.digamma(a + b + xu + 1)
        grad = np.empty((x.shape[0], 4))
        grad[:, 0] = ((special.digamma(r + xu) - special.digamma(r) + np.log(alpha))[xi]
                      - w3 * log_aT - w4 * log_at)
        grad[:, 1] = r / alpha - rx * (w3 * inv_aT + w4 * inv_at)
        grad[:, 2] = (psi_ab - psi_abx)[xi] + w4 / a
        grad[:, 3] = ((psi_ab + special.digamma(b + xu + 1) - special.digamma(b) - psi_abx)[xi]
                      - w4 * (1.0 / (b + xu))[xi])
        return ll, grad

    def _log_p_alive(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = (float(v) for v in self.theta)
        odds = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.asarray(-np.logaddexp(0.0, odds), dtype=np.float64)

    def _log_survival_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        # as BG/NBD with p ~ Beta(a, b+x+1) given alive:
        # 2F1(r+x, a; a+b+x+1; -h/(α+T)), after Pfaff at u = h/(α+T+h)
        r, alpha, a, b = (float(v) for v in self.theta)
        u = h / (alpha + T + h)
        log_f = np.log(special.hyp2f1(a + b + 1 - r, a, a + b + x + 1, u))
        return np.asarray(a * np.log1p(-u) + log_f, dtype=np.float64)

    def _expected_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = (float(v) for v in self.theta)
        z = h / (alpha + T + h)
        log_tail = (r + x) * np.log1p(-z) + np.log(special.hyp2f1(r + x, b + x + 1, a + b + x, z))
        return np.asarray((a + b + x) / (a - 1) * -np.expm1(log_tail), dtype=np.float64)

    def _simulate(self, T: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        r, alpha, a, b = (float(v) for v in self.theta)
        n = T.shape[0]
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        # may leave right after the first purchase: K ~ Geometric(p) - 1 >= 0 repeat purchases
        k = np.asarray(rng.geometric(p), dtype=np.float64) - 1.0
        arrivals = rng.poisson(lam * T).astype(np.float64)
        x = np.minimum(k, arrivals)
        return x, arrival_time_of(x, arrivals, T, rng)
