"""BG/NBD: the beta-geometric / negative binomial distribution model.

Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2), 275–284 (eq. 6 likelihood, eq. 10 conditional
expectation, eq. 11 P(alive)).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each *repeat* purchase they
leave with probability p ~ Beta(a, b). The likelihood of (x, t_x, T) is

    L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x)),

    P(alive) = 1 / (1 + [x > 0] a/(b+x-1) · ((α+T)/(α+t_x))^(r+x)).

A customer who never came back has P(alive) = 1 whatever their age (nobody can leave before a
repeat purchase): use MBG/NBD or Pareto/NBD when one-time buyers matter.
"""

# T is the customer's age, as in every paper and in lifetimes' API
# ruff: noqa: N803, N806

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from regulars.analytics.models._base import Data, FloatArray
from regulars.analytics.models._transactions import TransactionModel, arrival_time_of


class BetaGeo(TransactionModel):
    """The BG/NBD model, parameters ``r, alpha, a, b``."""

    name: ClassVar[str] = "bg_nbd"
    title: ClassVar[str] = "BG/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

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
        rep_u = xu > 0
        bx1_u = np.where(rep_u, b + xu - 1.0, 1.0)
        const_u = (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
                   + special.gammaln(a + b) + special.gammaln(b + xu) - special.gammaln(b)
                   - special.gammaln(a + b + xu))
        a4_const = np.where(rep_u, np.log(a) - np.log(bx1_u), -np.inf)[xi]
        a3 = -rx * log_aT
        a4 = a4_const - rx * log_at
        lse = np.logaddexp(a3, a4)
        w3 = np.exp(a3 - lse)
        w4 = np.exp(a4 - lse)
        ll = const_u[xi] + lse
        psi_ab = special.digamma(a + b)
        psi_abx = special.digamma(a + b + xu)
        grad = np.empty((x.shape[0], 4))
        grad[:, 0] = ((special.digamma(r + xu) - special.digamma(r) + np.log(alpha))[xi]
                      - w3 * log_aT - w4 * log_at)
        grad[:, 1] = r / alpha - rx * (w3 * inv_aT + w4 * inv_at)
        grad[:, 2] = (psi_ab - psi_abx)[xi] + w4 / a
        grad[:, 3] = ((psi_ab + special.digamma(b + xu) - special.digamma(b) - psi_abx)[xi]
                      - w4 * (1.0 / bx1_u)[xi])
        return ll, grad

    def _log_p_alive(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, a, b = (float(v) for v in self.theta)
        rep = x > 0
        bx1 = np.where(rep, b + x - 1.0, 1.0)
        odds = np.where(rep, np.log(a) - np.log(bx1)
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
        return np.asarray(-np.logaddexp(0.0, odds), dtype=np.float64)

    def _log_survival_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        # given alive: λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x); survive h iff no purchase in
        # (T, T+h] triggers dropout: E[exp(-λ h p)] = E_p[(1 + h p/(α+T))^-(r+x)]
        #   = 2F1(r+x, a; a+b+x; -h/(α+T)), evaluated after Pfaff at u = h/(α+T+h) in [0, 1)
        r, alpha, a, b = (float(v) for v in self.theta)
        u = h / (alpha + T + h)
        log_f = np.log(special.hyp2f1(a + b - r, a, a + b + x, u))
        return np.asarray(a * np.log1p(-u) + log_f, dtype=np.float64)

    def _expected_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        # FHL 2005 eq. 10 without its P(alive) denominator
        r, alpha, a, b = (float(v) for v in self.theta)
        z = h / (alpha + T + h)
        log_tail = (r + x) * np.log1p(-z) + np.log(special.hyp2f1(r + x, b + x, a + b + x - 1, z))
        return np.asarray((a + b + x - 1) / (a - 1) * -np.expm1(log_tail), dtype=np.float64)

    def _simulate(self, T: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        r, alpha, a, b = (float(v) for v in self.theta)
        n = T.shape[0]
        lam = rng.gamma(r, 1.0 / alpha, n)
        p = rng.beta(a, b, n)
        # repeat purchases made before leaving: leaves after the K-th, K ~ Geometric(p) >= 1
        k = np.asarray(rng.geometric(p), dtype=np.float64)
        arrivals = rng.poisson(lam * T).astype(np.float64)
        x = np.minimum(k, arrivals)
        return x, arrival_time_of(x, arrivals, T, rng)
