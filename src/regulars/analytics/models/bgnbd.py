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

from regulars.analytics.models._base import CHUNK, Data, FloatArray, dot
from regulars.analytics.models._transactions import TransactionModel, arrival_time_of


def bg_family_sum(
    theta: FloatArray, data: Data, weights: FloatArray, modified: bool
) -> tuple[float, FloatArray]:
    """``Σ w·ll`` and ``Σ w·∇ll`` of BG/NBD (``modified=False``) or MBG/NBD (``True``)."""
    ll, grad, _ = bg_family(theta, data, weights, modified, hessian=False)
    return ll, grad


# over 60 lines, one piece: one likelihood, its gradient and Hessian, term by term as the
# papers write them, in one pass over the data (see pyproject)
def bg_family(
    theta: FloatArray, data: Data, weights: FloatArray, modified: bool, hessian: bool
) -> tuple[float, FloatArray, FloatArray | None]:
    """``Σ w·ll``, ``Σ w·∇ll`` and, if asked, ``Σ w·∇²ll`` of BG/NBD (``modified=False``) or
    MBG/NBD (``True``), in the natural parameters.

    The same likelihood as the models' ``_loglik``, arranged for speed: with
    ``d = A₄ - A₃ = log a - log(b+x-1+m) + (r+x)(log(α+T) - log(α+t_x))`` (``m`` 1 for MBG/NBD,
    0 for BG/NBD, where ``d = -∞`` for x = 0), ``ll = const(x) - (r+x) log(α+T) + softplus(d)``
    and the share of the second term is ``σ(d)``, so
    ``∇²ll = ∇²const - ∇²((r+x) log(α+T)) + σ(1-σ) ∇d ∇dᵀ + σ ∇²d``. Sums of terms that
    depend on x alone or on T alone are taken over per-value weight totals; what is left per
    row is a handful of passes, run block by block.
    """
    r, alpha, a, b = (float(v) for v in theta)
    m = 1.0 if modified else 0.0
    _, _, _, xu, xi, tu, ti, big_tu, big_ti = data
    n_x, n_T = xu.shape[0], big_tu.shape[0]
    # per distinct value
    log_aT_u = np.log(alpha + big_tu)
    log_at_u = np.log(alpha + tu)
    inv_aT_u = 1.0 / (alpha + big_tu)
    inv_at_u = 1.0 / (alpha + tu)
    rx_u = r + xu
    rep_u = (xu > 0) | modified
    bx_u = np.where(rep_u, b + xu - 1.0 + m, 1.0)
    a4c_u = np.where(rep_u, np.log(a) - np.log(bx_u), -np.inf)
    inv_bx_u = np.where(rep_u, 1.0 / bx_u, 0.0)
    # per row, block by block: d, softplus(d) and σ(d), without overflow
    w_x = np.zeros(n_x)
    ws_x = np.zeros(n_x)
    w_T = np.zeros(n_T)
    wx_T = np.zeros(n_T)
    sum_softplus = sum_diff = sum_dinv = 0.0
    # for the Hessian: v = w σ(1-σ); sums of v D², v D E, v E² (D = ∂d/∂r, E = ∂d/∂α),
    # per-x sums of v, v D, v E, and of w σ ∂²d/∂r∂α, w σ ∂²d/∂α²
    v_x = np.zeros(n_x)
    vd_x = np.zeros(n_x)
    ve_x = np.zeros(n_x)
    s_vdd = s_vde = s_vee = s_ra = s_aa = 0.0
    for lo in range(0, xi.shape[0], CHUNK):
        cx, ct, cT = xi[lo:lo + CHUNK], ti[lo:lo + CHUNK], big_ti[lo:lo + CHUNK]
        cw = weights[lo:lo + CHUNK]
        w_x += np.bincount(cx, weights=cw, minlength=n_x)
        w_T += np.bincount(cT, weights=cw, minlength=n_T)
        wx_T += np.bincount(cT, weights=cw * xu[cx], minlength=n_T)
        rx = rx_u[cx]
        diff = log_aT_u[cT]
        diff -= log_at_u[ct]
        d = rx * diff
        d += a4c_u[cx]
        e = np.abs(d)
        np.negative(e, out=e)
        np.exp(e, out=e)  # exp(-|d|)
        sig = np.where(d >= 0, 1.0, e)
        one_e = e + 1.0
        sig /= one_e  # σ(d)
        if hessian:
            v = e / one_e  # σ(1-σ) = e/(1+e)² whatever the sign of d
            v /= one_e
            v *= cw
        np.log(one_e, out=one_e)
        np.maximum(d, 0.0, out=d)
        d += one_e  # softplus(d)
        sum_softplus += dot(cw, d)
        sig *= cw  # weight of the "left after the last purchase" term
        ws_x += np.bincount(cx, weights=sig, minlength=n_x)
        sum_diff += dot(sig, diff)
        idiff = inv_aT_u[cT]
        idiff -= inv_at_u[ct]
        dinv = rx * idiff
        sum_dinv += dot(sig, dinv)
        if hessian:
            s_ra += dot(sig, idiff)
            isum = inv_aT_u[cT]
            isum += inv_at_u[ct]
            isum *= dinv
            s_aa += dot(sig, isum)
            v_x += np.bincount(cx, weights=v, minlength=n_x)
            vd = v * diff
            vd_x += np.bincount(cx, weights=vd, minlength=n_x)
            s_vdd += dot(vd, diff)
            s_vde += dot(vd, dinv)
            v *= dinv
            ve_x += np.bincount(cx, weights=v, minlength=n_x)
            s_vee += dot(v, dinv)
    total = float(w_x.sum())
    const_u = (special.gammaln(r + xu) - special.gammaln(r) + r * np.log(alpha)
               + special.gammaln(a + b) + special.gammaln(b + xu + m) - special.gammaln(b)
               - special.gammaln(a + b + xu + m))
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + xu + m)
    rw_T = r * w_T + wx_T  # Σ w (r+x) per distinct T
    ll = float(w_x @ const_u) - float(rw_T @ log_aT_u) + sum_softplus
    grad = np.array([
        float(w_x @ (special.digamma(r + xu) - special.digamma(r) + np.log(alpha)))
        - float(w_T @ log_aT_u) + sum_diff,
        total * r / alpha - float(rw_T @ inv_aT_u) + sum_dinv,
        float(w_x @ (psi_ab - psi_abx)) + float(ws_x.sum()) / a,
        float(w_x @ (psi_ab + special.digamma(b + xu + m) - special.digamma(b) - psi_abx))
        - float(ws_x @ inv_bx_u),
    ])
    if not hessian:
        return ll, grad, None
    tri_ab = float(special.polygamma(1, a + b))
    tri_abx = special.polygamma(1, a + b + xu + m)
    h_ab = float(w_x @ (tri_ab - tri_abx))
    s_v = float(v_x.sum())
    s_ws = float(ws_x.sum())
    hess = np.empty((4, 4))
    hess[0, 0] = float(w_x @ (special.polygamma(1, r + xu) - special.polygamma(1, r))) + s_vdd
    hess[0, 1] = total / alpha - float(w_T @ inv_aT_u) + s_vde + s_ra
    hess[1, 1] = -total * r / alpha**2 + float(rw_T @ (inv_aT_u * inv_aT_u)) + s_vee - s_aa
    hess[0, 2] = float(vd_x.sum()) / a
    hess[0, 3] = -float(vd_x @ inv_bx_u)
    hess[1, 2] = float(ve_x.sum()) / a
    hess[1, 3] = -float(ve_x @ inv_bx_u)
    hess[2, 2] = h_ab + (s_v - s_ws) / a**2
    hess[2, 3] = h_ab - float(v_x @ inv_bx_u) / a
    hess[3, 3] = (float(w_x @ (tri_ab + special.polygamma(1, b + xu + m)
                               - special.polygamma(1, b) - tri_abx))
                  + float((v_x + ws_x) @ (inv_bx_u * inv_bx_u)))
    lower = np.tril_indices(4, -1)
    hess[lower] = hess.T[lower]
    return ll, grad, hess


class BetaGeoFamily(TransactionModel):
    """What BG/NBD and MBG/NBD share: the summed likelihood, its gradient and its analytic
    Hessian (:func:`bg_family`), told apart by ``modified``."""

    modified: ClassVar[bool] = False
    _has_hessian: ClassVar[bool] = True

    @classmethod
    def _loglik_hess(
        cls, theta: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray, FloatArray]:
        if len(data) == 3:
            data = cls._prepare(*data)
        ll, grad, hess = bg_family(theta, data, weights, cls.modified, hessian=True)
        assert hess is not None
        return ll, grad, hess

    @classmethod
    def _loglik_sum(
        cls, theta: FloatArray, data: Data, weights: FloatArray
    ) -> tuple[float, FloatArray]:
        if len(data) == 3:
            data = cls._prepare(*data)
        return bg_family_sum(theta, data, weights, modified=cls.modified)


class BetaGeo(BetaGeoFamily):
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
