"""Predictions agree with lifetimes 0.11.3 on the same data and parameters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from regulars.analytics.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
)

from .conftest import rfm

lifetimes = pytest.importorskip("lifetimes")

PAIRS = [
    (BetaGeo, "BetaGeoFitter", ["r", "alpha", "a", "b"]),
    (ModifiedBetaGeo, "ModifiedBetaGeoFitter", ["r", "alpha", "a", "b"]),
    (ParetoNBD, "ParetoNBDFitter", ["r", "alpha", "s", "beta"]),
]


def reference(name: str, params: dict[str, float], index: list[str]):
    fitter = getattr(lifetimes, name)()
    fitter.params_ = pd.Series([params[k] for k in params], index=index)
    return fitter


@pytest.mark.parametrize(("cls", "name", "index"), PAIRS)
def test_p_alive_and_expected_purchases_match_lifetimes(cls, name, index, cdnow_summary):
    x, t_x, T = rfm(cdnow_summary)
    ours = cls.fit(x, t_x, T, time_unit="week")
    ref = reference(name, ours.params, index)
    np.testing.assert_allclose(ours.p_alive(x, t_x, T),
                               ref.conditional_probability_alive(x, t_x, T), rtol=1e-6)
    for horizon in (1.0, 10.0, 52.0):
        np.testing.assert_allclose(
            ours.expected_purchases(horizon, x, t_x, T),
            ref.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
            rtol=1e-6)


def lifetimes_nll(fitter_class, params: list[float], x, t_x, T) -> float:
    """lifetimes' own negative log-likelihood (no penalty) at *params*, in weeks."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    raw = np.asarray(params, dtype=float)
    # Pareto/NBD's takes the parameters themselves; BG/NBD's and MBG/NBD's their logs.
    arg = raw if fitter_class is lifetimes.ParetoNBDFitter else np.log(raw)
    return float(fitter_class._negative_log_likelihood(arg, x, t_x, T, np.ones_like(x), 0.0))


@pytest.mark.parametrize(("cls", "name", "index"), PAIRS)
def test_fitted_parameters_match_lifetimes_fit(cls, name, index, cdnow_summary):
    """Our fit is at least as good as lifetimes' by lifetimes' own likelihood, and close to it.

    lifetimes' Pareto/NBD starts Nelder-Mead from a random point (``np.random.normal(1,
    0.05)``) and stops at its tolerance 1e-6, so its answer moves from run to run: ``s`` was
    0.606196 in one run and 0.606386 in a CI run, against our 0.606214, with lifetimes'
    negative log-likelihood up to 1.5e-5 worse than ours (9594.973930). The likelihood is
    that flat along s and beta, so the parameters are compared at 1e-3 and the likelihood
    decides which fit is better.
    """
    x, t_x, T = rfm(cdnow_summary)
    ours = cls.fit(x, t_x, T, time_unit="week")
    fitter_class = getattr(lifetimes, name)
    theirs = fitter_class().fit(x, t_x, T).params_
    ours_nll = lifetimes_nll(fitter_class, list(ours.params.values()), x, t_x, T)
    theirs_nll = lifetimes_nll(fitter_class, theirs.tolist(), x, t_x, T)
    assert ours_nll <= theirs_nll + 1e-9 * abs(theirs_nll)
    for ours_value, their_value in zip(ours.params.values(), theirs.to_numpy(), strict=True):
        assert ours_value == pytest.approx(their_value, rel=1e-3)


def test_bg_bb_predictions_match_lifetimes(donations):
    ours = BetaGeoBetaBinom.fit(donations.frequency, donations.recency, donations.periods,
                                weights=donations.weights)
    ref = lifetimes.BetaGeoBetaBinomFitter()
    ref.params_ = pd.Series(ours.params)
    x, t_x, n = (donations[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    for m in (0, 1, 3):
        np.testing.assert_allclose(ours.p_alive(x, t_x, n, horizon=m),
                                   ref.conditional_probability_alive(m, x, t_x, n), rtol=1e-6)
    for horizon in (1, 5):
        np.testing.assert_allclose(
            ours.expected_purchases(horizon, x, t_x, n),
            ref.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, n),
            rtol=1e-6)


def test_gamma_gamma_expected_value_matches_lifetimes():
    summary = pd.read_csv(
        lifetimes.__path__[0] + "/datasets/cdnow_customers_summary_with_transactions.csv")
    rep = summary[summary.x > 0]
    ours = GammaGamma.fit(rep.x, rep.zbar)
    ref = lifetimes.GammaGammaFitter().fit(rep.x, rep.zbar)
    for k, v in ours.params.items():
        assert v == pytest.approx(ref.params_["v" if k == "gamma" else k], rel=1e-4)
    ref.params_ = pd.Series({"p": ours.params["p"], "q": ours.params["q"],
                             "v": ours.params["gamma"]})
    np.testing.assert_allclose(
        ours.expected_order_value(rep.x, rep.zbar),
        ref.conditional_expected_average_profit(rep.x, rep.zbar), rtol=1e-9)
