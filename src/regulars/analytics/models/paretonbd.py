"""Pareto/NBD: Poisson purchasing with an exponential lifetime, both heterogeneous.

Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are they and what will
they do next?", Management Science 33(1), 1–24; likelihood as in Fader & Hardie (2005), "A note
on deriving the Pareto/NBD model and related expressions" (eq. 22–23).

While alive a customer buys at Poisson rate λ ~ Gamma(r, α); their lifetime is exponential with
rate μ ~ Gamma(s, β), independent of purchasing. With ``k = r + s + x``,

    L = Γ(r+x) α^r β^s / Γ(r) · [ 1 / ((α+T)^(r+x) (β+T)^s) + s/k · A₀ ],

    A₀ = 2F1(k, s+1; k+1; (α-β)/(α+t_x)) / (α+t_x)^k
         - 2F1(k, s+1; k+1; (α-β)/(α+T)) / (α+T)^k                  if α >= β,
    A₀ = 2F1(k, r+x; k+1; (β-α)/(β+t_x)) / (β+t_x)^k
         - 2F1(k, r+x; k+1; (β-α)/(β+T)) / (β+T)^k                  if α < β.

Equivalently ``s/k · A₀ = s ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ`` (dying at τ after the last
purchase). Everything is computed in log space; the 2F1 term by a series with its parameter
derivatives (:mod:`._special`), which gives the analytic gradient. P(alive) is the first term's
share of L; given alive, μ ~ Gamma(s, β+T), so

    P(alive at T+h) = P(alive) · ((β+T)/(β+T+h))^s,
    E[X(T, T+t) | alive] = (r+x)(β+T) / ((α+T)(s-1)) · [1 - ((β+T)/(β+T+t))^(s-1)].
"""

# T is the customer's age, as in every paper and in lifetimes' API
# ruff: noqa: N803, N806

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy import special  # type: ignore[import-untyped]

from regulars.analytics.models._base import CHUNK, Data, FloatArray, dot
from regulars.analytics.models._compress import factorize
from regulars.analytics.models._special import expm1_ratio, hyp_series, log1mexp
from regulars.analytics.models._transactions import TransactionModel, prepare_rfm


def _prepare_pairs(x: FloatArray, t_x: FloatArray, T: FloatArray) -> Data:
    """:func:`prepare_rfm` plus the distinct (x, τ) pairs over τ in {t_x, T}: the
    hypergeometric term depends on x and τ only (few pairs with daily data)."""
    base = prepare_rfm(x, t_x, T)
    both = np.concatenate([t_x, T])
    tau_u, tau_i = factorize(both)
    _, xi = factorize(x)
    key = np.concatenate([xi, xi]).astype(np.int64) * tau_u.shape[0] + tau_i
    key_u, pair_idx = np.unique(key, return_inverse=True)
    pair_x = np.empty(key_u.shape[0])
    pair_tau = tau_u[key_u % tau_u.shape[0]]
    pair_x[pair_idx] = np.concatenate([x, x])
    return (*base, pair_x, pair_tau, pair_idx.reshape(-1).astype(np.intp))


def _pair_terms(
    theta: FloatArray, data: Data, gradient: bool
) -> tuple[FloatArray, FloatArray | None]:
    """Per distinct (x, τ) pair: ``log E(τ)`` (E the term of A₀ at τ, so that
    ``s/k · A₀ = s (E(t_x) - E(T))``) and, if asked, its gradient in (r, α, s, β) as a
    pairs × 4 array."""
    r, alpha, s, beta = (float(v) for v in theta)
    pair_x, pair_tau = data[9], data[10]
    case_alpha = alpha >= beta
    m_big = alpha if case_alpha else beta
    gap = abs(alpha - beta)
    k_pair = r + s + pair_x
    b_pair = np.full(pair_x.shape[0], s + 1.0) if case_alpha else r + pair_x
    z = gap / (m_big + pair_tau)
    log_g, d_k, d_b, d_z = hyp_series(k_pair, b_pair, z)
    log_m = np.log(m_big + pair_tau)
    log_e = -k_pair * log_m + log_g
    if not gradient:
        return log_e, None
    inv_m = 1.0 / (m_big + pair_tau)
    g_pair = np.empty((pair_x.shape[0], 4))
    if case_alpha:
        g_pair[:, 0] = -log_m + d_k
        g_pair[:, 2] = -log_m + d_k + d_b
        g_pair[:, 1] = -k_pair * inv_m + d_z * (beta + pair_tau) * inv_m * inv_m
        g_pair[:, 3] = -d_z * inv_m
    else:
        g_pair[:, 0] = -log_m + d_k + d_b
        g_pair[:, 2] = -log_m + d_k
        g_pair[:, 1] = -d_z * inv_m
        g_pair[:, 3] = -k_pair * inv_m + d_z * (alpha + pair_tau) * inv_m * inv_m
    return log_e, g_pair


def _terms(
    theta: FloatArray, data: Data, gradient: bool
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """``A`` (log of the alive-at-T term), ``B`` (log of the died-in-(t_x, T] term, without
    the common factor) and, if asked, the gradient rows of ``B`` in (r, α, s, β)."""
    r, alpha, s, beta = (float(v) for v in theta)
    x = data[0]
    big_tu, big_ti = data[7], data[8]
    pair_idx = data[11]
    p = r + x
    log_aT = np.log(alpha + big_tu)[big_ti]
    log_bT = np.log(beta + big_tu)[big_ti]
    big_a = -p * log_aT - s * log_bT
    n = x.shape[0]
    log_e_pair, g_pair = _pair_terms(theta, data, gradient)
    log_e = log_e_pair[pair_idx]  # log E(τ) at t_x (first n) and T (last n)
    delta = log_e[n:] - log_e[:n]  # log E(T) - log E(t_x) <= 0
    log_j = log_e[:n] + log1mexp(delta)
    big_b = np.log(s) + log_j
    if g_pair is None:
        return big_a, big_b, None
    rho = np.exp(delta)
    one_minus = -np.expm1(delta)
    safe = one_minus > 0
    denom = np.where(safe, one_minus, 1.0)
    grad_b = np.empty((n, 4))
    for col in range(4):
        g = g_pair[:, col][pair_idx]
        grad_b[:, col] = np.where(safe, (g[:n] - rho * g[n:]) / denom, 0.0)
    grad_b[:, 2] += 1.0 / s
    return big_a, big_b, grad_b


# over 60 lines, one piece: one likelihood and its gradient, term by term as the paper writes
# them, in one pass over the data (see pyproject)
def _pareto_sum(theta: FloatArray, data: Data, weights: FloatArray) -> tuple[float, FloatArray]:
    """``Σ w·ll`` and ``Σ w·∇ll``: :meth:`ParetoNBD._loglik` arranged for speed (sums of terms
    of x alone, of T alone or of one (x, τ) pair are taken over per-value weight totals; the
    per-row passes run block by block, in cache)."""
    r, alpha, s, beta = (float(v) for v in theta)
    xu, xi, big_tu, big_ti = data[3], data[4], data[7], data[8]
    pair_idx = data[11]
    n = xi.shape[0]
    n_x, n_T, n_pairs = xu.shape[0], big_tu.shape[0], data[9].shape[0]
    log_aT_u = np.log(alpha + big_tu)
    log_bT_u = np.log(beta + big_tu)
    log_s = np.log(s)
    rx_u = r + xu
    log_e_pair, g_pair = _pair_terms(theta, data, gradient=True)
    assert g_pair is not None
    w_x = np.zeros(n_x)
    qa_T = np.zeros(n_T)
    qax_T = np.zeros(n_T)
    per_pair = np.zeros(n_pairs)
    sum_lse = sum_qb = 0.0
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        cx, cT, cw = xi[lo:hi], big_ti[lo:hi], weights[lo:hi]
        pt, pT = pair_idx[lo:hi], pair_idx[n + lo:n + hi]
        w_x += np.bincount(cx, weights=cw, minlength=n_x)
        big_a = rx_u[cx] * log_aT_u[cT]
        big_a += s * log_bT_u[cT]
        np.negative(big_a, out=big_a)
        log_et = log_e_pair[pt]
        delta = log_e_pair[pT]
        delta -= log_et  # log E(T) - log E(t_x) <= 0
        big_b = log1mexp(delta)
        big_b += log_et
        big_b += log_s
        # log(e^A + e^B) and the share of B, without overflow (B = -inf when t_x = T)
        gap = big_b - big_a
        e = np.abs(gap)
        np.negative(e, out=e)
        np.exp(e, out=e)
        q_b = np.where(gap >= 0, 1.0, e)
        e += 1.0
        q_b /= e
        np.log(e, out=e)
        np.maximum(big_a, big_b, out=big_a)
        big_a += e
        sum_lse += dot(cw, big_a)
        q_b *= cw  # weight of the died-in-(t_x, T] term
        sum_qb += float(q_b.sum())
        q_a = cw - q_b
        qa_T += np.bincount(cT, weights=q_a, minlength=n_T)
        q_a *= xu[cx]
        qax_T += np.bincount(cT, weights=q_a, minlength=n_T)
        # B's gradient: (g(t_x) - ρ g(T)) / (1 - ρ) with ρ = exp(delta), summed per pair
        one_minus = np.expm1(delta)
        np.negative(one_minus, out=one_minus)
        u = np.divide(q_b, one_minus, out=np.zeros(hi - lo), where=one_minus > 0)
        np.exp(delta, out=delta)
        delta *= u
        per_pair += np.bincount(pt, weights=u, minlength=n_pairs)
        per_pair -= np.bincount(pT, weights=delta, minlength=n_pairs)
    total = float(w_x.sum())
    ll = float(w_x @ (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
                      + s * np.log(beta))) + sum_lse
    grad = np.array([
        float(w_x @ (special.digamma(r + xu) - special.digamma(r) + np.log(alpha)))
        - float(qa_T @ log_aT_u),
        total * r / alpha - float((r * qa_T + qax_T) @ (1.0 / (alpha + big_tu))),
        total * np.log(beta) - float(qa_T @ log_bT_u) + sum_qb / s,
        total * s / beta - s * float(qa_T @ (1.0 / (beta + big_tu))),
    ])
    grad += np.einsum("i,ij->j", per_pair, g_pair)
    return ll, grad


class ParetoNBD(TransactionModel):
    """The Pareto/NBD model, parameters ``r, alpha, s, beta``."""

    name: ClassVar[str] = "pareto_nbd"
    title: ClassVar[str] = "Pareto/NBD"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    @classmethod
    def _prepare(cls, x: FloatArray, t_x: FloatArray, T: FloatArray) -> Data:
        return _prepare_pairs(x, t_x, T)

    @classmethod
    def _loglik(cls, theta: FloatArray, data: Data) -> tuple[FloatArray, FloatArray]:
        r, alpha, s, beta = (float(v) for v in theta)
        if len(data) == 3:
            data = cls._prepare(*data)
        xu, xi, big_tu, big_ti = data[3], data[4], data[7], data[8]
        big_a, big_b, grad_b = _terms(theta, data, gradient=True)
        assert grad_b is not None
        lse = np.logaddexp(big_a, big_b)
        w_a = np.exp(big_a - lse)
        w_b = np.exp(big_b - lse)
        ll = (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
              + s * np.log(beta))[xi] + lse
        grad = w_b[:, None] * grad_b
        grad[:, 0] += ((special.digamma(r + xu) - special.digamma(r) + np.log(alpha))[xi]
                       - w_a * np.log(alpha + big_tu)[big_ti])
        grad[:, 1] += r / alpha - w_a * (r + xu)[xi] * (1.0 / (alpha + big_tu))[big_ti]
        grad[:, 2] += np.log(beta) - w_a * np.log(beta + big_tu)[big_ti]
        grad[:, 3] += s / beta - w_a * s * (1.0 / (beta + big_tu))[big_ti]
        return ll, grad

    @classmethod
    def _loglik_sum(
        cls, theta: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray]:
        if len(data) == 3:
            data = cls._prepare(*data)
        return _pareto_sum(theta, data, weights)

    def _log_p_alive(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
        big_a, big_b, _ = _terms(self.theta, self._prepare(x, t_x, T), gradient=False)
        return big_a - np.logaddexp(big_a, big_b)

    def _log_survival_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        s, beta = self.params["s"], self.params["beta"]
        return -s * np.log1p(h / (beta + T))

    def _expected_if_alive(self, h: float, x: FloatArray, T: FloatArray) -> FloatArray:
        r, alpha, s, beta = (float(v) for v in self.theta)
        return ((r + x) * (beta + T) / (alpha + T)
                * expm1_ratio(s - 1.0, np.log1p(h / (beta + T))))

    def _simulate(self, T: FloatArray, rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
        r, alpha, s, beta = (float(v) for v in self.theta)
        n = T.shape[0]
        lam = rng.gamma(r, 1.0 / alpha, n)
        mu = rng.gamma(s, 1.0 / beta, n)
        window = np.minimum(rng.exponential(1.0, n) / mu, T)
        x = rng.poisson(lam * window).astype(np.float64)
        # the last of x uniform arrivals in (0, window]
        t_x = np.where(x > 0, window * rng.random(n) ** (1.0 / np.maximum(x, 1.0)), 0.0)
        return x, t_x
