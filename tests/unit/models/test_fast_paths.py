"""The speed-ups of the fitting machinery give the same answers as the plain versions.

- ``compress``/``factorize`` code whole-number columns by counting and one integer sort key;
  other columns go through ``np.unique``/``np.lexsort``. Both give the same rows.
- ``_loglik_sum`` (weighted totals, block by block) equals ``Σ w·_loglik``.
- A fit on many distinct rows starts from a fit on a subsample and takes fixed-Hessian Newton
  steps; it lands on the same optimum as a cold L-BFGS-B start.
"""

# T is the customer's age, as in every paper and in lifetimes' API

from __future__ import annotations

import numpy as np
import pytest

from regulars.analytics.models import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD
from regulars.analytics.models import _transactions as transactions
from regulars.analytics.models._compress import compress, factorize

TRANSACTION = [BetaGeo, ModifiedBetaGeo, ParetoNBD]


def _reference_compress(columns, weights):
    stacked = np.column_stack(columns)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    w = np.bincount(inverse, weights=weights, minlength=uniq.shape[0])
    return tuple(uniq[:, j] for j in range(uniq.shape[1])), w, inverse


@pytest.mark.parametrize("kind", ["whole", "fractional", "huge", "sparse"])
def test_compress_matches_a_plain_unique_of_the_rows(kind):
    rng = np.random.default_rng(7)
    n = 5000
    x = rng.integers(0, 6, n).astype(float)
    t_x = rng.integers(0, 40, n).astype(float)
    T = t_x + rng.integers(0, 30, n)
    if kind == "fractional":
        t_x = t_x / 7.0
        T = T / 7.0
    elif kind == "huge":
        T = T + 2.0**40  # whole numbers too large for counting: falls back to np.unique
    elif kind == "sparse":
        # codes spanning more than 63 bits together: falls back to np.lexsort
        x = x * 800_000.0
        t_x = t_x * 80_000.0
        T = t_x + rng.integers(0, 30, n) * 30_000.0
    w = rng.random(n)
    (ux, ut, uT), uw, inverse = compress((x, t_x, T), w)
    (rx, rt, rT), rw, rinv = _reference_compress((x, t_x, T), w)
    np.testing.assert_array_equal(ux, rx)
    np.testing.assert_array_equal(ut, rt)
    np.testing.assert_array_equal(uT, rT)
    np.testing.assert_allclose(uw, rw, rtol=1e-12)
    np.testing.assert_array_equal(inverse, rinv)
    np.testing.assert_array_equal(ux[inverse], x)
    np.testing.assert_array_equal(uT[inverse], T)
    for weights in (w, np.ones(n)):  # unit weights and no inverse: the keys alone are sorted
        (vx, vt, vT), vw, _ = compress((x, t_x, T), weights, inverse=False)
        np.testing.assert_array_equal(vx, rx)
        np.testing.assert_array_equal(vt, rt)
        np.testing.assert_array_equal(vT, rT)
        np.testing.assert_allclose(vw, np.bincount(rinv, weights=weights), rtol=1e-12)


@pytest.mark.parametrize("values", [
    np.array([3.0, 0.0, 3.0, 7.0, 1.0]),
    np.array([0.5, 0.25, 0.5, 2.0]),
    np.array([-1.0, 2.0, -1.0]),
    np.array([]),
])
def test_factorize_matches_np_unique(values):
    uniq, index = factorize(values)
    ref_uniq, ref_index = np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(uniq, ref_uniq)
    np.testing.assert_array_equal(index, ref_index.reshape(-1))


@pytest.mark.parametrize("cls", TRANSACTION)
@pytest.mark.parametrize("theta", [[0.8, 40.0, 2.0, 60.0], [0.8, 60.0, 0.7, 30.0],
                                   [0.5, 5.0, 0.9, 3.0]])
def test_summed_loglik_equals_the_weighted_rows(cls, theta):
    # more rows than one block, so the block loop is exercised
    truth = cls(params=dict(zip(cls.param_names, [0.8, 40.0, 2.0, 60.0 if cls is ParetoNBD
                                                   else 3.0], strict=True)))
    ages = np.random.default_rng(3).integers(30, 400, 120_000).astype(float)
    x, t_x, T = truth.simulate(ages, seed=4)
    (ux, ut, uT), w, _ = compress((x, np.round(t_x), T), np.ones(x.shape[0]))
    data = cls._prepare(ux, ut, uT)
    th = np.array(theta)
    ll, grad = cls._loglik(th, data)
    total, total_grad = cls._loglik_sum(th, data, w)
    assert total == pytest.approx(float(w @ ll), rel=1e-12)
    np.testing.assert_allclose(total_grad, w @ grad, rtol=1e-9, atol=1e-9 * np.abs(w @ grad).max())


@pytest.mark.parametrize("cls", [BetaGeo, ParetoNBD])
def test_the_warm_started_fit_finds_the_cold_fits_optimum(cls, monkeypatch):
    truth = {"r": 0.8, "alpha": 40.0, "a": 2.0, "b": 3.0} if cls is BetaGeo else {
        "r": 0.8, "alpha": 40.0, "s": 2.0, "beta": 60.0}
    ages = np.random.default_rng(5).integers(30, 700, 60_000).astype(float)
    x, t_x, T = cls(params=truth).simulate(ages, seed=6)
    t_x = np.round(t_x)
    monkeypatch.setattr(transactions, "_WARM_START_ROWS", 5_000)
    warm = cls.fit(x, t_x, T)
    monkeypatch.setattr(transactions, "_WARM_START_ROWS", 10**9)
    cold = cls.fit(x, t_x, T)
    assert warm.log_likelihood == pytest.approx(cold.log_likelihood, rel=1e-12, abs=1e-6)
    for k in cls.param_names:
        assert warm.params[k] == pytest.approx(cold.params[k], rel=1e-6)
        assert warm.standard_errors[k] == pytest.approx(cold.standard_errors[k], rel=1e-3)


def test_gamma_gamma_summed_loglik_equals_the_weighted_rows():
    spend = GammaGamma(params={"p": 6.25, "q": 3.74, "gamma": 15.44})
    x = np.random.default_rng(8).integers(1, 30, 80_000).astype(float)
    m = spend.simulate(x, seed=9)
    w = np.random.default_rng(10).random(x.shape[0])
    xu, xi = factorize(x)
    theta = np.array([5.0, 3.0, 20.0])
    ll, grad = GammaGamma._loglik(theta, (x, m))
    total, total_grad = GammaGamma._loglik_sum(theta, (x, m, xu, xi), w)
    assert total == pytest.approx(float(w @ ll), rel=1e-12)
    np.testing.assert_allclose(total_grad, w @ grad, rtol=1e-9)


@pytest.mark.parametrize("cls", [BetaGeo, ModifiedBetaGeo])
@pytest.mark.parametrize("theta", [[0.7, 30.0, 1.5, 2.5], [2.0, 5.0, 0.5, 8.0]])
def test_analytic_hessian_equals_differences_of_the_gradient(cls, theta):
    truth = cls(params={"r": 0.8, "alpha": 40.0, "a": 2.0, "b": 3.0})
    ages = np.random.default_rng(11).integers(30, 400, 50_000).astype(float)
    x, t_x, T = truth.simulate(ages, seed=12)
    (ux, ut, uT), _, _ = compress((x, np.round(t_x), T), np.ones(x.shape[0]))
    w = np.random.default_rng(13).random(ux.shape[0])
    data = cls._prepare(ux, ut, uT)
    th = np.array(theta)
    total, grad, hess = cls._loglik_hess(th, data, w)
    assert (total, list(grad)) == (pytest.approx(cls._loglik_sum(th, data, w)[0], rel=1e-14),
                                   list(cls._loglik_sum(th, data, w)[1]))
    numeric = np.empty((4, 4))
    for j in range(4):
        h = 1e-6 * th[j]
        up, down = th.copy(), th.copy()
        up[j] += h
        down[j] -= h
        numeric[:, j] = (cls._loglik_sum(up, data, w)[1] - cls._loglik_sum(down, data, w)[1]) / (
            2 * h)
    np.testing.assert_allclose(hess, hess.T, rtol=0, atol=0)
    np.testing.assert_allclose(hess, numeric, rtol=1e-6, atol=1e-7 * np.abs(numeric).max())
