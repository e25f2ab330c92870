"""The statistics of the playbooks' proof of effect (regulars.analytics.effect)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from regulars.analytics.effect import (
    EMPTY_ARM,
    NO_VARIATION,
    SMALL_ARM,
    Sample,
    proportions,
    welch,
    wilson,
)

# Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10 (the hybrid score
# interval), 95 %: (a) 56/70 - 48/80, (b) 9/10 - 3/10, (d) 5/56 - 0/29, (e) 0/10 - 0/20,
# (f) 0/10 - 0/10, (g) 10/10 - 0/20, (h) 10/10 - 0/10. Note (a)'s lower bound is +0.0524:
# the difference 0.2 is significant at 5 %.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_method_10_matches_the_paper(counts: tuple[int, int, int, int],
                                              published: tuple[float, float]) -> None:
    d = proportions(*counts, min_arm=1)
    assert d.low == pytest.approx(published[0], abs=5e-5)
    assert d.high == pytest.approx(published[1], abs=5e-5)
    assert d.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])


def test_wilson_by_hand() -> None:
    # 8/20 at z = 1.959964: centre (0.4 + z²/40) / (1 + z²/20) = 0.416113,
    # half z·sqrt(0.4·0.6/20 + z²/1600) / (1 + z²/20) = 0.197306
    low, high = wilson(8, 20)
    assert low == pytest.approx(0.218807, abs=1e-6)
    assert high == pytest.approx(0.613418, abs=1e-6)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0


def test_twenty_treated_eight_goals_against_five_control_one_goal() -> None:
    # the report's integration example: 0.40 - 0.20 = +0.20; Wilson 8/20 = (0.218807,
    # 0.613418), 1/5 = (0.036224, 0.624465); low = 0.2 - sqrt(0.181193² + 0.424465²)
    # = -0.26152, high = 0.2 + sqrt(0.213418² + 0.163776²) = 0.46902
    d = proportions(8, 20, 1, 5)
    assert d.estimate == pytest.approx(0.20)
    assert d.relative == pytest.approx(1.0)
    assert d.low == pytest.approx(-0.26152, abs=2e-5)
    assert d.high == pytest.approx(0.46902, abs=2e-5)
    assert d.spans_zero is True


def test_empty_and_small_arms_give_no_interval() -> None:
    empty = proportions(3, 10, 0, 0)
    assert (empty.estimate, empty.low, empty.high, empty.reason) == (None, None, None,
                                                                     EMPTY_ARM)
    small = proportions(3, 10, 1, 4)
    assert small.estimate == pytest.approx(0.05) and small.low is None
    assert small.reason == SMALL_ARM
    assert proportions(3, 10, 0, 5).relative is None  # no control goals: no ratio
    assert welch(Sample.of([1.0, 2.0]), Sample.of([])).reason == EMPTY_ARM
    assert welch(Sample.of([1.0] * 9), Sample.of([3.0] * 4)).reason == SMALL_ARM


def test_no_variation_is_said_not_divided_by() -> None:
    d = welch(Sample.of([0.0] * 10), Sample.of([0.0] * 6))
    assert d.estimate == 0.0 and d.low is None and d.reason == NO_VARIATION


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        proportions(11, 10, 0, 5)
    with pytest.raises(ValueError):
        proportions(1, 10, 0, 5, confidence=1.0)


def test_welch_by_hand() -> None:
    # treated 0,0,10,20,30: mean 12, var 170; control 0,0,0,0,5: mean 1, var 5
    # se² = 34 + 1 = 35; df = 35² / (34²/4 + 1²/4) = 1225 / 289.25 = 4.2351
    d = welch(Sample.of([0, 0, 10, 20, 30]), Sample.of([0, 0, 0, 0, 5]))
    t = stats.t.ppf(0.975, 1225 / 289.25)
    assert d.estimate == pytest.approx(11.0)
    assert d.low == pytest.approx(11.0 - t * math.sqrt(35), rel=1e-9)
    assert d.high == pytest.approx(11.0 + t * math.sqrt(35), rel=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_welch_matches_scipy(seed: int, confidence: float) -> None:
    rng = np.random.default_rng(seed)
    # zero-inflated revenue: most entrants order nothing
    treated = np.where(rng.random(200) < 0.3, rng.gamma(2.0, 60.0, 200), 0.0)
    control = np.where(rng.random(23) < 0.2, rng.gamma(2.0, 60.0, 23), 0.0)
    ci = stats.ttest_ind(treated, control, equal_var=False).confidence_interval(confidence)
    d = welch(Sample.of(list(treated)), Sample.of(list(control)), confidence=confidence)
    assert d.low == pytest.approx(ci.low, rel=1e-9)
    assert d.high == pytest.approx(ci.high, rel=1e-9)
    summed = welch(Sample.from_sums(len(treated), float(treated.sum()),
                                    float((treated ** 2).sum())),
                   Sample.from_sums(len(control), float(control.sum()),
                                    float((control ** 2).sum())), confidence=confidence)
    assert summed.low == pytest.approx(ci.low, rel=1e-7)
    assert summed.high == pytest.approx(ci.high, rel=1e-7)


arm = st.integers(min_value=1, max_value=400).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n)))


@given(arm, arm, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_newcombe_holds_its_estimate_and_is_antisymmetric(
        a: tuple[int, int], b: tuple[int, int], confidence: float) -> None:
    d = proportions(*a, *b, confidence=confidence, min_arm=1)
    assert d.low is not None and d.high is not None and d.estimate is not None
    assert -1.0 - 1e-12 <= d.low <= d.estimate <= d.high <= 1.0 + 1e-12
    swapped = proportions(*b, *a, confidence=confidence, min_arm=1)
    assert swapped.low == pytest.approx(-d.high, abs=1e-12)
    assert swapped.high == pytest.approx(-d.low, abs=1e-12)
    assert swapped.estimate == pytest.approx(-d.estimate, abs=1e-12)


money = st.lists(st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e5)),
                 min_size=2, max_size=60)


@given(money, money)
def test_welch_holds_its_estimate_and_is_antisymmetric(t: list[float],
                                                       c: list[float]) -> None:
    d = welch(Sample.of(t), Sample.of(c), min_arm=2)
    assert d.estimate is not None
    if d.low is None:
        assert d.reason == NO_VARIATION
        return
    assert d.high is not None
    assert d.low <= d.estimate <= d.high
    swapped = welch(Sample.of(c), Sample.of(t), min_arm=2)
    assert swapped.low == pytest.approx(-d.high, rel=1e-9, abs=1e-9)
    assert swapped.high == pytest.approx(-d.low, rel=1e-9, abs=1e-9)
    assert d.negated().low == -d.high
