"""The interval arithmetic behind an ablation's table and verdicts: a member's mean top-1 over seeds with its
Student-t interval, and a difference of members (or of differences) with Welch's interval and test.

Why Welch and not a paired test: two members trained with the same seed share the data order but not their
initial weights (different architectures draw different numbers), so a seed does not pair their errors; the runs
are independent samples with possibly different spreads, which is what Welch's test assumes. A difference of
differences (the gain at one width against the gain at another) is the same test on a linear contrast of four
independent means, with the Welch-Satterthwaite degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _mean_var(values: Sequence[float]) -> tuple[float, float, int]:
    n = len(values)
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else math.nan
    return mean, var, n


@dataclass(frozen=True)
class Estimate:
    """A mean (or a contrast of means), its two-sided 95% interval and, for a contrast, the p-value of Welch's
    test that it is 0. With fewer than two runs on a side there is no spread: ``low``/``high``/``p`` are None."""

    value: float
    low: float | None
    high: float | None
    df: float | None = None
    p: float | None = None

    def to_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "df": self.df, "p": self.p}

    def interval_text(self, digits: int = 2) -> str:
        if self.low is None:
            return "no interval: one seed"
        return f"95% interval {self.low:+.{digits}f} to {self.high:+.{digits}f}"


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    """Mean of ``values`` with its Student-t interval ``mean +- t(n-1) s / sqrt(n)`` (sample std ``s``)."""
    from scipy import stats

    if not values:
        raise ValueError("mean_interval: no values")
    mean, var, n = _mean_var([float(v) for v in values])
    if n < 2:
        return Estimate(mean, None, None)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * math.sqrt(var / n)
    return Estimate(mean, mean - half, mean + half, float(n - 1))


def contrast(groups: Sequence[tuple[float, Sequence[float]]], confidence: float = 0.95) -> Estimate:
    """``sum_i c_i mean_i`` over independent groups ``(c_i, values_i)``, with Welch's interval and test.

    The standard error is ``sqrt(sum c_i^2 s_i^2 / n_i)``; the degrees of freedom are Welch-Satterthwaite's,
    ``se^4 / sum((c_i^2 s_i^2 / n_i)^2 / (n_i - 1))``. Two groups with weights (1, -1) are Welch's two-sample
    test of ``a - b``. Groups that do not vary at all give a zero standard error: the interval is the point,
    and ``p`` is 0 for a nonzero contrast (1 for zero).
    """
    from scipy import stats

    parts = [(float(c), *_mean_var([float(v) for v in values])) for c, values in groups]
    value = math.fsum(c * mean for c, mean, _, _ in parts)
    if any(n < 2 for *_, n in parts):
        return Estimate(value, None, None)
    terms = [c * c * var / n for c, _, var, n in parts]
    se2 = math.fsum(terms)
    if se2 == 0:
        return Estimate(value, value, value, math.inf, 0.0 if value != 0 else 1.0)
    df = se2 ** 2 / math.fsum(t * t / (n - 1) for t, (*_, n) in zip(terms, parts))
    se = math.sqrt(se2)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p = float(2 * stats.t.sf(abs(value) / se, df))
    return Estimate(value, value - half, value + half, df, p)


def difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> Estimate:
    """``mean(a) - mean(b)`` with Welch's interval and two-sided p-value."""
    return contrast([(1.0, a), (-1.0, b)], confidence)


__all__ = ["Estimate", "contrast", "difference", "mean_interval"]
