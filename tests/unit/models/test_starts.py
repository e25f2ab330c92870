"""A likelihood with more than one peak: the fit must not stop at the lower one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from regulars.analytics.models import ModifiedBetaGeo

# frequency, recency and T (days) of the 1,921 cards of the demo business as generated up to
# commit 5eddefb (DemoSpec(customers=2000, seed=42), as of 2025-12-31 23:59), whose MBG/NBD
# likelihood has two peaks; the demo has since become a shop where most buyers buy once, and
# its likelihood has one
TWO_PEAKS = Path(__file__).with_name("two_peaks_rfm.csv")


@pytest.fixture(scope="module")
def demo_summary():
    data = np.loadtxt(TWO_PEAKS, delimiter=",", skiprows=1)
    return SimpleNamespace(frequency=data[:, 0], recency=data[:, 1], T=data[:, 2])


def test_mbg_nbd_finds_the_higher_of_its_two_peaks(demo_summary):
    s = demo_summary
    fitted = ModifiedBetaGeo.fit(s.frequency, s.recency, s.T)
    # from the usual start alone (r = 1, alpha = time per repeat order, a = 1, b = 3) the fit
    # stopped at a = 0.35, b = 59; the other peak is about 23 log-likelihood units higher
    usual = dict(zip(ModifiedBetaGeo.param_names,
                     ModifiedBetaGeo._initial(s.frequency, s.T, s.frequency * 0 + 1.0),
                     strict=True))
    lower = ModifiedBetaGeo.fit(s.frequency, s.recency, s.T, initial=usual)
    assert lower.params["b"] > 10
    assert fitted.log_likelihood > lower.log_likelihood + 10
    assert fitted.params["a"] < 0.1 and fitted.params["b"] < 1
