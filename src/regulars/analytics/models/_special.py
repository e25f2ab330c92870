"""Log-space special functions for the likelihoods.

The one non-trivial piece is the Gauss hypergeometric term of the Pareto/NBD likelihood
(Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and related expressions",
eq. 22–23). It always has the form ``2F1(k, b; k + 1; z)`` with ``z`` in ``[0, 1)``, which is
``k z^-k ∫_0^z y^(k-1) (1-y)^(-b) dy``. We sum its power series

    G(k, b, z) = Σ_n (b)_n / n! · z^n / (k + n)          (so 2F1 = k · G)

together with the derivatives ∂G/∂k, ∂G/∂b and ∂G/∂z, which give the likelihood's analytic
gradient (scipy has no parameter derivatives of 2F1). Rows whose series would converge slowly
(``z > 0.9``) or overflow are integrated by tanh-sinh quadrature instead (scipy's ``hyp2f1``
returns wrong values, even negative ones, for large parameters here), the derivatives in ``k``
and ``b`` integrated on the same nodes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_SERIES_MAX_Z = 0.9
_SERIES_MAX_TERMS = 5000
_EPS = 1e-16


def log1mexp(x: FloatArray) -> FloatArray:
    """``log(1 - exp(x))`` for ``x <= 0``, accurate near 0 and for very negative ``x``
    (Mächler 2012); ``x == 0`` gives ``-inf``."""
    x = np.minimum(x, 0.0)
    out = np.empty_like(x)
    small = x > -0.6931471805599453
    with np.errstate(divide="ignore"):
        out[small] = np.log(-np.expm1(x[small]))
    out[~small] = np.log1p(-np.exp(x[~small]))
    return out


def expm1_ratio(c: FloatArray | float, length: FloatArray) -> FloatArray:
    """``(1 - exp(-c·L)) / c``, continuous at ``c = 0`` (where it is ``L``)."""
    c_arr = np.broadcast_to(np.asarray(c, dtype=np.float64), np.shape(length))
    out = np.array(length, dtype=np.float64, copy=True)
    nz = np.abs(c_arr) > 1e-12
    out[nz] = -np.expm1(-c_arr[nz] * length[nz]) / c_arr[nz]
    return out


def hyp_series(
    k: FloatArray, b: FloatArray, z: FloatArray, one_minus_z: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log G`` and the logarithmic derivatives ``∂G/∂k / G``, ``∂G/∂b / G``, ``∂G/∂z / G``.

    ``G(k, b, z) = Σ_n (b)_n/n! z^n/(k+n) = 2F1(k, b; k+1; z) / k`` for ``k > 0``, ``b > 0``,
    ``0 <= z < 1``. Summed after Euler's transformation (see :func:`_series`); rows with
    ``z > 0.9`` (slow convergence) go to quadrature, which reads ``one_minus_z`` (``1 - z``
    computed without cancellation by the caller, or ``None``).
    """
    k, b, z = np.broadcast_arrays(
        np.asarray(k, np.float64), np.asarray(b, np.float64), np.asarray(z, np.float64)
    )
    eps = 1.0 - z if one_minus_z is None else np.broadcast_to(
        np.asarray(one_minus_z, np.float64), z.shape)
    n_rows = k.shape[0]
    log_g = np.empty(n_rows)
    d_k = np.empty(n_rows)
    d_b = np.empty(n_rows)
    d_z = np.empty(n_rows)
    use_series = z <= _SERIES_MAX_Z
    idx = np.flatnonzero(use_series)
    if idx.size:
        lg, lk, lb, lz = _series(k[idx], b[idx], z[idx])
        log_g[idx], d_k[idx], d_b[idx], d_z[idx] = lg, lk, lb, lz
    rest = np.flatnonzero(~use_series)
    if rest.size:
        lg, lk, lb, lz = _fallback(k[rest], b[rest], z[rest], eps[rest])
        log_g[rest], d_k[rest], d_b[rest], d_z[rest] = lg, lk, lb, lz
    return log_g, d_k, d_b, d_z


# over 60 lines, one piece: one series and its three derivatives, summed in one loop as the
# formula in the docstring writes them
def _series(
    k: FloatArray, b: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log G`` and its log-derivatives from Euler's transformation

        2F1(k, b; k+1; z) = (1-z)^(1-b) 2F1(1, c; k+1; z),   c = k + 1 - b,

    whose series ``H = Σ_n t_n``, ``t_n = Π_{j<n} (c+j)/(k+1+j) · z^n``, has positive terms
    falling from the first (ratio below ``z``; the untransformed series first climbs a hump of
    height ``(1-z)^-b``, hundreds of terms when ``b = r + x`` is large). Needs ``c > 0``, i.e.
    ``b < k + 1`` (the Pareto/NBD's ``b`` is ``s + 1`` or ``r + x``, ``k = r + s + x``); rows
    with ``c <= 0`` go to the untransformed series. Rows leave the loop as soon as their tail
    is negligible.
    """
    c = k + 1.0 - b
    bad = c <= 0
    if np.any(bad):  # pragma: no cover - not reached by the Pareto/NBD likelihood
        o1, o2, o3, o4 = (np.empty(k.shape[0]) for _ in range(4))
        good = ~bad
        for dst, src in zip((o1, o2, o3, o4), _series(k[good], b[good], z[good]), strict=True):
            dst[good] = src
        for dst, src in zip((o1, o2, o3, o4), _plain_series(k[bad], b[bad], z[bad]),
                            strict=True):
            dst[bad] = src
        return o1, o2, o3, o4
    n_rows = k.shape[0]
    out_h = np.empty(n_rows)
    out_hk = np.empty(n_rows)
    out_hb = np.empty(n_rows)
    out_hz = np.empty(n_rows)
    rows = np.arange(n_rows)
    k1 = k + 1.0
    zz = z
    h = np.ones(n_rows)  # Σ t_n (t_0 = 1)
    hk = np.zeros(n_rows)  # Σ t_n ∂log t_n/∂k,  ∂log t_n/∂k = Σ_{j<n} 1/(c+j) - 1/(k+1+j)
    hb = np.zeros(n_rows)  # Σ t_n ∂log t_n/∂b,  ∂log t_n/∂b = -Σ_{j<n} 1/(c+j)
    hz = np.zeros(n_rows)  # Σ n t_n  (= z ∂H/∂z)
    term = np.ones(n_rows)
    sum_c = np.zeros(n_rows)
    sum_k = np.zeros(n_rows)
    tail_factor = zz / (1.0 - zz)
    for n in range(_SERIES_MAX_TERMS):
        inv_c = 1.0 / (c + n)
        inv_k = 1.0 / (k1 + n)
        term *= (c + n) * inv_k * zz  # t_(n+1)
        sum_c += inv_c
        sum_k += inv_k
        h += term
        hk += term * (sum_c - sum_k)
        hb -= term * sum_c
        hz += term * (n + 1)
        if n % 8 != 7:
            continue
        # terms fall at a ratio below z: the tail of every sum is below
        # t_n (1 + Σ1/c + n) z/(1-z) (the weights grow at most like n)
        done = term * (n + 2.0 + sum_c) * tail_factor <= _EPS * h
        if done.any():
            fin = rows[done]
            out_h[fin], out_hk[fin], out_hb[fin], out_hz[fin] = h[done], hk[done], hb[done], hz[
                done]
            keep = ~done
            if not keep.any():
                break
            rows, c, k1, zz, tail_factor = rows[keep], c[keep], k1[keep], zz[keep], tail_factor[
                keep]
            h, hk, hb, hz = h[keep], hk[keep], hb[keep], hz[keep]
            term, sum_c, sum_k = term[keep], sum_c[keep], sum_k[keep]
    else:  # pragma: no cover
        raise FloatingPointError("hypergeometric series did not converge")
    # G = (1-z)^(1-b) H / k: ∂log G/∂k = Hk/H - 1/k (c moves with k), ∂log G/∂b = -log(1-z)
    # + Hb/H, ∂log G/∂z = (b-1)/(1-z) + Hz/(z H)
    log1m_z = np.log1p(-z)
    log_g = (1.0 - b) * log1m_z + np.log(out_h) - np.log(k)
    d_k = out_hk / out_h - 1.0 / k
    d_b = out_hb / out_h - log1m_z
    with np.errstate(divide="ignore", invalid="ignore"):
        d_z = (b - 1.0) / (1.0 - z) + np.where(z > 0, out_hz / (np.where(z > 0, z, 1.0) * out_h),
                                               (k + 1.0 - b) / (k + 1.0))
    return log_g, d_k, d_b, d_z


def _plain_series(
    k: FloatArray, b: FloatArray, z: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:  # pragma: no cover - see _series
    """``log G`` and its log-derivatives from the untransformed series."""
    n_rows = k.shape[0]
    out_g = np.empty(n_rows)
    out_gk = np.empty(n_rows)
    out_gb = np.empty(n_rows)
    out_gz = np.empty(n_rows)
    rows = np.arange(n_rows)
    g = 1.0 / k  # the n = 0 term: c_0 = 1
    gk = -g * g
    gb = np.zeros(n_rows)
    gz = np.zeros(n_rows)
    term = np.ones(n_rows)  # c_n z^n
    harm = np.zeros(n_rows)  # ψ(b+n) − ψ(b) = Σ_{j<n} 1/(b+j)
    for n in range(1, _SERIES_MAX_TERMS + 1):
        bn = b + (n - 1)
        dterm = term * bn  # n c_n z^(n-1) = c_(n-1) z^(n-1) (b+n-1)
        term = dterm * (z / n)
        harm += 1.0 / bn
        inv = 1.0 / (k + n)
        t0 = term * inv
        g += t0
        gk -= t0 * inv
        gb += t0 * harm
        gz += dterm * inv
        ratio = (b + n) / (n + 1) * z
        tail = t0 * (1.0 + harm + n)
        done = (ratio < 0.99) & (tail <= _EPS * g * (1.0 - ratio))
        if n % 4 and not done.all():
            continue
        if done.any():
            fin = rows[done]
            out_g[fin], out_gk[fin] = g[done], gk[done]
            out_gb[fin], out_gz[fin] = gb[done], gz[done]
            keep = ~done
            if not keep.any():
                return np.log(out_g), out_gk / out_g, out_gb / out_g, out_gz / out_g
            rows, k, b, z = rows[keep], k[keep], b[keep], z[keep]
            g, gk, gb, gz = g[keep], gk[keep], gb[keep], gz[keep]
            term, harm = term[keep], harm[keep]
    raise FloatingPointError("hypergeometric series did not converge")


def _tanh_sinh_nodes(step: float = 0.04, half_width: float = 3.3) -> tuple[FloatArray, FloatArray,
                                                                         FloatArray]:
    """Nodes ``log t``, ``log(1 - t)`` and weights of the tanh-sinh rule on (0, 1)."""
    u = np.arange(-half_width, half_width + step / 2, step)
    x = 0.5 * np.pi * np.sinh(u)
    log_t = -np.logaddexp(0.0, -2.0 * x)
    log_1mt = -np.logaddexp(0.0, 2.0 * x)
    w = step * np.pi * np.cosh(u) * np.exp(log_t + log_1mt)  # dt/du = π t(1-t) cosh u
    return log_t, log_1mt, w


_TS_LOG_T, _TS_LOG_1MT, _TS_W = _tanh_sinh_nodes()
_TS_LOG_W = np.log(_TS_W)
_QUAD_CHUNK = 512
"""Rows per block of the quadrature: a block's rows × nodes temporaries (0.7 MB) stay in the
CPU's cache."""


# over 60 lines, one piece: one integral and its three derivatives from the same nodes, as
# the docstring writes them
def _fallback(
    k: FloatArray, b: FloatArray, z: FloatArray, one_minus_z: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``log G`` and its log-derivatives by tanh-sinh quadrature of

        G = (1/k) ∫_0^1 f(t) dt,   f = (1 - z t^(1/k))^(-b)

    (substituting ``y = z t^(1/k)`` in ``z^-k ∫_0^z y^(k-1) (1-y)^(-b) dy``), with the
    parameter derivatives integrated on the same nodes (one evaluation of the integrand
    serves all four):

        ∂G/∂b = (1/k) ∫ f · (-log(1 - z t^(1/k))) dt,
        ∂G/∂k = -G/k + (1/k) ∫ f · b z t^(1/k) (-log t) / (k² (1 - z t^(1/k))) dt,

    and ``d/dz [z^k G] = z^(k-1) (1-z)^-b`` for ``∂G/∂z``. The base ``1 - z t^(1/k)`` is
    taken as ``(1-z) - z·expm1(log t / k)``, two positive terms: near ``z = 1`` and for large
    ``k`` (a fit wandering to large ``s`` and ``β``) the plain difference loses as many digits
    as ``1 - z`` has leading zeros. ``one_minus_z``, when the caller has it from its own
    terms (the Pareto/NBD's ``(min(α, β) + τ) / (max(α, β) + τ)``), is more accurate than
    ``1 - z``.
    """
    eps = 1.0 - z if one_minus_z is None else one_minus_z
    n_rows = k.shape[0]
    log_g = np.empty(n_rows)
    d_k = np.empty(n_rows)
    d_b = np.empty(n_rows)
    neg_log_t = -_TS_LOG_T[None, :]
    for lo in range(0, n_rows, _QUAD_CHUNK):
        hi = min(lo + _QUAD_CHUNK, n_rows)
        kk, bb, zz = k[lo:hi, None], b[lo:hi, None], z[lo:hi, None]
        q = np.expm1(_TS_LOG_T[None, :] / kk)  # t^(1/k) - 1, in (-1, 0]
        base = zz * q
        np.subtract(eps[lo:hi, None], base, out=base)  # 1 - z t^(1/k)
        log_base = np.log(base)
        terms = -bb * log_base
        terms += _TS_LOG_W[None, :]
        top = terms.max(axis=1, keepdims=True)
        terms -= top
        f = np.exp(terms, out=terms)  # w f / max(w f)
        total = f.sum(axis=1)
        log_g[lo:hi] = top[:, 0] + np.log(total) - np.log(kk[:, 0])
        d_b[lo:hi] = -np.einsum("ij,ij->i", f, log_base) / total
        # t^(1/k) (-log t) / (1 - z t^(1/k)), weighted by f
        q += 1.0
        q *= neg_log_t
        q /= base
        d_k[lo:hi] = (bb[:, 0] * zz[:, 0] / (kk[:, 0] * kk[:, 0])
                      * np.einsum("ij,ij->i", f, q) / total - 1.0 / kk[:, 0])
    # d/dz [z^k G] = z^(k-1) (1-z)^-b  =>  G'/G = ((1-z)^-b / G - k) / z
    d_z = (np.exp(-b * np.log(eps) - log_g) - k) / z
    return log_g, d_k, d_b, d_z
