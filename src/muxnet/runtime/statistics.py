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


def paired_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the paired t-test that ``a[i] - b[i]`` has mean zero (``nan`` with fewer than two
    pairs).

    For two arms trained with the same seeds: a seed's data order is shared, and when it moves every arm alike
    (a bad order costs every network a point) pairing removes that from the comparison, where Welch's test counts
    it as noise."""
    from scipy import stats

    if len(a) != len(b):
        raise ValueError(f"paired_test needs pairs, got {len(a)} and {len(b)} values")
    if len(a) < 2:
        return math.nan
    return float(stats.ttest_rel(list(a), list(b)).pvalue)


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of a family of p-values, in their order (``nan`` entries stay ``nan`` and do not
    count as tests).

    A benchmark that tests several arms on several targets makes a family of tests, and one small p among twelve is
    expected by chance; an adjusted p below 0.05 keeps the chance of any false claim in the family under 5%. Holm's
    is uniformly at least as powerful as Bonferroni's and needs no assumption about how the tests depend: the k-th
    smallest of m p-values is multiplied by ``m - k + 1``, kept non-decreasing along that order, and capped at 1."""
    finite = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(finite):
        running = max(running, min(1.0, (len(finite) - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Contrast:
    """``sum_i c_i mean_i`` over independent groups, with Welch's two-sided interval and p-value (``low``, ``high``,
    ``df`` and ``p`` are None when a group has fewer than two values: there is no spread to test against)."""

    value: float
    low: float | None
    high: float | None
    df: float | None
    p: float | None

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "df": self.df, "p": self.p}

    def format(self, digits: int = 2) -> str:
        if self.low is None:
            return f"{self.value:+.{digits}f} (no interval: one value)"
        return (f"{self.value:+.{digits}f} (95% interval {self.low:+.{digits}f} to {self.high:+.{digits}f}, "
                f"p={self.p:.3g})")


def welch_contrast(groups: Sequence[tuple[float, Sequence[float]]], confidence: float = 0.95) -> Contrast:
    """``sum_i c_i mean_i`` over independent groups ``(c_i, values_i)`` with Welch's interval and test.

    The standard error is ``sqrt(sum c_i^2 s_i^2 / n_i)`` and the degrees of freedom Welch-Satterthwaite's,
    ``se^4 / sum((c_i^2 s_i^2 / n_i)^2 / (n_i - 1))``; weights (1, -1) give Welch's two-sample test of ``a - b``
    (:func:`welch_difference`), four groups a difference of differences (a gain at one setting against the gain
    at another). Groups that do not vary give a zero standard error: the interval is the point, ``p`` 0 for a
    nonzero contrast (1 for zero).
    """
    from scipy import stats

    parts = []
    for weight, values in groups:
        values = [float(v) for v in values]
        n = len(values)
        if n == 0:
            raise ValueError("welch_contrast: a group has no values")
        mean = math.fsum(values) / n
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.nan
        parts.append((float(weight), mean, var, n))
    value = math.fsum(c * mean for c, mean, _, _ in parts)
    if any(n < 2 for *_, n in parts):
        return Contrast(value, None, None, None, None)
    terms = [c * c * var / n for c, _, var, n in parts]
    se2 = math.fsum(terms)
    if se2 == 0:
        return Contrast(value, value, value, math.inf, 0.0 if value != 0 else 1.0)
    df = se2 ** 2 / math.fsum(t * t / (n - 1) for t, (*_, n) in zip(terms, parts))
    se = math.sqrt(se2)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return Contrast(value, value - half, value + half, df, float(2 * stats.t.sf(abs(value) / se, df)))


def welch_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Contrast:
    """``mean(a) - mean(b)`` with Welch's interval and two-sided p-value."""
    return welch_contrast([(1.0, a), (-1.0, b)], confidence)


__all__ = ["Contrast", "Interval", "holm_adjusted", "mean_interval", "paired_test", "welch_contrast",
           "welch_difference", "welch_test"]
