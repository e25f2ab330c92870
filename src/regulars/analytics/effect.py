"""Proof of effect: how much a treated group differs from a random control group, and how
sure we can be (issue 20, the playbooks' report).

Two comparisons, treated minus control, each with a confidence interval:

- a **difference of two proportions** (the goal rate) with Newcombe's hybrid score interval,
  method 10 of Newcombe (1998), "Interval estimation for the difference between independent
  proportions: comparison of eleven methods", Statistics in Medicine 17, 873-890: a Wilson
  score interval for each arm, combined by the square-and-add rule. It stays inside [-1, 1],
  behaves at 0 and n successes and with small arms, where the textbook Wald interval
  collapses to a point or overshoots; plus the relative uplift (treated / control - 1);
- a **difference of two means** (revenue per entrant, entrants with no order counting as 0)
  with Welch's t interval, which does not assume the arms share a variance: revenue is
  zero-inflated and skewed, and the control arm is a tenth of the size of the treated one,
  exactly where the pooled-variance interval is wrong. For arms of a few dozen entrants the
  t interval on skewed revenue is approximate; the report says the arms are small.

Both take sufficient statistics (counts; n, mean, variance), so the report can compute them
with SQL aggregates and never load a row per customer. An interval that cannot be computed
(an empty or too small arm, no variation at all) is ``None`` with a ``reason`` code, never a
division by zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped]

CONFIDENCE = 0.95
MIN_ARM = 5
"""The fewest entrants an arm needs before the report puts an interval on a difference: below
it the interval is so wide, and the normal and t approximations so rough, that a number would
mislead more than inform."""

# reasons an interval is not given
EMPTY_ARM = "empty_arm"
SMALL_ARM = "small_arm"
NO_VARIATION = "no_variation"


@dataclass(frozen=True)
class Difference:
    """``estimate`` = treated - control; ``low``/``high`` its interval at ``confidence`` (None
    with ``reason`` when not computable; ``estimate`` is None only when an arm is empty)."""

    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    reason: str | None = None
    relative: float | None = None
    """Proportions only: treated rate / control rate - 1 (None when the control rate is 0)."""

    @property
    def spans_zero(self) -> bool | None:
        """Whether the interval holds 0, i.e. the data cannot tell the effect from none."""
        if self.low is None or self.high is None:
            return None
        return self.low <= 0.0 <= self.high

    def negated(self) -> Difference:
        """The same comparison with the arms swapped (the relative uplift is not symmetric
        and is left out)."""
        return Difference(None if self.estimate is None else -self.estimate,
                          None if self.high is None else -self.high,
                          None if self.low is None else -self.low,
                          self.confidence, self.reason)


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, not {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2.0))


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion (no continuity correction; Newcombe's
    method 3). ``n`` must be positive."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, not {successes}/{n}")
    z = _z(confidence)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # the exact bounds at 0 and n successes, not a rounding error away from them
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def proportions(treated_successes: int, treated_n: int, control_successes: int,
                control_n: int, *, confidence: float = CONFIDENCE,
                min_arm: int = MIN_ARM) -> Difference:
    """Treated rate minus control rate with Newcombe's hybrid score interval (method 10)."""
    for s, n in ((treated_successes, treated_n), (control_successes, control_n)):
        if n < 0 or not 0 <= s <= max(n, 0):
            raise ValueError(f"need 0 <= successes <= n, not {s}/{n}")
    _z(confidence)
    if treated_n == 0 or control_n == 0:
        return Difference(None, None, None, confidence, EMPTY_ARM)
    p1 = treated_successes / treated_n
    p2 = control_successes / control_n
    estimate = p1 - p2
    relative = p1 / p2 - 1.0 if p2 > 0 else None
    if min(treated_n, control_n) < min_arm:
        return Difference(estimate, None, None, confidence, SMALL_ARM, relative)
    l1, u1 = wilson(treated_successes, treated_n, confidence)
    l2, u2 = wilson(control_successes, control_n, confidence)
    low = estimate - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = estimate + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Difference(estimate, low, high, confidence, None, relative)


@dataclass(frozen=True)
class Sample:
    """Sufficient statistics of one arm's values: count, mean, sample variance (n - 1)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Sample:
        n = len(values)
        if n == 0:
            return cls(0, 0.0, 0.0)
        mean = math.fsum(values) / n
        variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(n, mean, variance)

    @classmethod
    def from_sums(cls, n: int, total: float, squares: float) -> Sample:
        """From the count, the sum and the sum of squares (what SQL aggregates give). The
        variance is clamped at 0: the subtraction can go a rounding error below it."""
        if n <= 0:
            return cls(0, 0.0, 0.0)
        mean = total / n
        variance = max(0.0, (squares - n * mean * mean) / (n - 1)) if n > 1 else 0.0
        return cls(n, mean, variance)


def welch(treated: Sample, control: Sample, *, confidence: float = CONFIDENCE,
          min_arm: int = MIN_ARM) -> Difference:
    """Treated mean minus control mean with Welch's t interval (unequal variances,
    Welch-Satterthwaite degrees of freedom)."""
    _z(confidence)
    if treated.n == 0 or control.n == 0:
        return Difference(None, None, None, confidence, EMPTY_ARM)
    estimate = treated.mean - control.mean
    if min(treated.n, control.n) < max(min_arm, 2):
        return Difference(estimate, None, None, confidence, SMALL_ARM)
    a = treated.variance / treated.n
    b = control.variance / control.n
    se2 = a + b
    if se2 <= 0.0:
        return Difference(estimate, None, None, confidence, NO_VARIATION)
    # Welch-Satterthwaite on the arms' shares of the variance, which sum to 1: the textbook
    # se2² / (a²/(n1-1) + b²/(n2-1)) underflows to 0/0 for tiny variances
    sa, sb = a / se2, b / se2
    df = 1.0 / (sa * sa / (treated.n - 1) + sb * sb / (control.n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2.0, df)) * math.sqrt(se2)
    return Difference(estimate, estimate - half, estimate + half, confidence)
