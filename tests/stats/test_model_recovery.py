"""Parameter recovery on simulated customers: each model's simulator draws a large base,
the fit must land within 2 % of every true parameter (and within 4 standard errors).

The transaction models are simulated in continuous time and summarised to whole days, as
``summarize`` does with real orders (a million customers; identical rows compress). The
parameters give a well-identified dropout process (about one standard error ≤ 0.7 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from regulars.analytics.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
)

pytestmark = pytest.mark.slow

N = 1_000_000
CASES = [
    (BetaGeo, {"r": 0.8, "alpha": 40.0, "a": 2.0, "b": 3.0}),
    (ModifiedBetaGeo, {"r": 0.8, "alpha": 40.0, "a": 2.0, "b": 3.0}),
    (ParetoNBD, {"r": 0.8, "alpha": 40.0, "s": 2.0, "beta": 60.0}),
]


def assert_recovered(fitted, truth: dict[str, float]) -> None:
    for name, value in truth.items():
        estimate = fitted.params[name]
        assert abs(estimate / value - 1) < 0.02, (name, estimate, value)
        se = fitted.standard_errors[name]
        assert se is not None
        assert abs(estimate - value) < 4 * se, (name, estimate, value, se)


@pytest.mark.parametrize(("cls", "truth"), CASES, ids=[c.name for c, _ in CASES])
def test_transaction_model_recovers_its_simulated_parameters(cls, truth):
    ages = np.random.default_rng(20261122).integers(30, 1096, N).astype(np.float64)
    x, t_x, T = cls(params=truth).simulate(ages, seed=7)
    fitted = cls.fit(x, np.round(t_x), T)
    assert_recovered(fitted, truth)


def test_bg_bb_recovers_its_simulated_parameters():
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    x, t_x, n = BetaGeoBetaBinom(params=truth).simulate(N, 12, seed=3)
    assert_recovered(BetaGeoBetaBinom.fit(x, t_x, n), truth)


def test_gamma_gamma_recovers_its_simulated_parameters():
    truth = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    x = np.random.default_rng(4).integers(1, 10, N).astype(np.float64)
    spend = GammaGamma(params=truth).simulate(x, seed=5)
    assert_recovered(GammaGamma.fit(x, spend), truth)
