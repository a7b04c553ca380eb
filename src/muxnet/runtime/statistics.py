"""Means over seeds with their confidence intervals, and the tests that compare two sets of runs.

Every "X beats Y" the project reports is a mean over seeds with a Student-t interval and a named test; these are
the one implementation of that arithmetic (SciPy's t quantile and tests underneath).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    """A mean and its two-sided Student-t confidence interval over ``n`` values (``low == high == mean`` when
    ``n == 1``: one value says nothing about its spread)."""

    mean: float
    low: float
    high: float
    n: int
    std: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def overlaps(self, other: Interval) -> bool:
        return self.low <= other.high and other.low <= self.high

    def to_dict(self) -> dict:
        return {"mean": self.mean, "low": self.low, "high": self.high, "n": self.n, "std": self.std}

    def format(self, digits: int = 2) -> str:
        if self.n < 2:
            return f"{self.mean:.{digits}f} (n=1)"
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """The mean of ``values`` and its ``confidence`` Student-t interval (sample std, ``n - 1`` degrees)."""
    from scipy import stats

    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("mean_interval: no values")
    mean = math.fsum(values) / n
    if n == 1:
        return Interval(mean, mean, mean, 1, 0.0)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n, std)


def welch_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test that ``a`` and ``b`` have the same mean (unequal variances; ``nan``
    when either side has fewer than two values or neither varies)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return math.nan
    return float(stats.ttest_ind(list(a), list(b), equal_var=False).pvalue)


__all__ = ["Interval", "mean_interval", "welch_test"]
