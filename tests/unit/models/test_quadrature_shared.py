"""The Pareto/NBD's quadrature fallback shares the integrand's costly part between the values
of ``b`` it needs (the value and the ``b`` derivative): the results keep every bit."""

from __future__ import annotations

import numpy as np

from regulars.analytics.models import _special as sp


def _one_b(k: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The quadrature for one ``b``, as it was written before the sharing."""
    out = np.empty(k.shape[0])
    for lo in range(0, k.shape[0], 4096):
        kk, bb, zz = k[lo:lo + 4096, None], b[lo:lo + 4096, None], z[lo:lo + 4096, None]
        log_f = -bb * np.log1p(-zz * np.exp(sp._TS_LOG_T[None, :] / kk))
        terms = log_f + sp._TS_LOG_W[None, :]
        top = terms.max(axis=1, keepdims=True)
        out[lo:lo + 4096] = (top[:, 0] + np.log(np.exp(terms - top).sum(axis=1))
                             - np.log(kk[:, 0]))
    return out


def test_the_fallback_gives_the_bits_of_five_separate_quadratures():
    rng = np.random.default_rng(7)
    n = 9000  # more than two of the quadrature's chunks
    k = rng.uniform(0.5, 60.0, n)
    b = np.minimum(rng.uniform(0.5, 40.0, n), k + 0.9)
    z = rng.uniform(0.9, 0.99999, n)
    log_g, d_k, d_b, d_z = sp._fallback(k, b, z)
    hk, hb = 1e-5 * np.maximum(k, 1.0), 1e-5 * np.maximum(b, 1.0)
    expected_g = _one_b(k, b, z)
    assert np.array_equal(log_g, expected_g)
    assert np.array_equal(d_k, (_one_b(k + hk, b, z) - _one_b(k - hk, b, z)) / (2 * hk))
    assert np.array_equal(d_b, (_one_b(k, b + hb, z) - _one_b(k, b - hb, z)) / (2 * hb))
    assert np.array_equal(d_z, (np.exp(-b * np.log1p(-z) - expected_g) - k) / z)
