"""A likelihood with more than one peak: the fit must not stop at the lower one."""

from __future__ import annotations

from datetime import datetime

import pyarrow.compute as pc
import pytest

from regulars.analytics.models import ModifiedBetaGeo
from regulars.analytics.models.summary import summarize
from regulars.analytics.synthetic import DemoSpec, generate_business


@pytest.fixture(scope="module")
def demo_summary():
    orders = generate_business(DemoSpec(customers=2000, seed=42))["orders"]
    return summarize(orders["customer_id"], orders["ordered_at"],
                     pc.fill_null(orders["amount"], 0.0), as_of=datetime(2025, 12, 31, 23, 59))


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
