"""The interval arithmetic against hand-computed cases (t quantiles from a printed table)."""

import math

import pytest
from scipy import stats

from muxnet.ablation.statistics import contrast, difference, mean_interval


def test_mean_interval_of_four_values_by_hand():
    # mean 2.5, s = sqrt(5/3), se = s / 2, t(0.975, 3) = 3.182446 (table value)
    est = mean_interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert est.value == 2.5 and est.df == 3
    assert est.low == pytest.approx(2.5 - half, abs=1e-5) and est.high == pytest.approx(2.5 + half, abs=1e-5)
    assert (round(est.low, 3), round(est.high, 3)) == (0.446, 4.554)


def test_welch_difference_by_hand():
    # a: mean 2, var 1; b: mean 6, var 4; se^2 = 1/3 + 4/3 = 5/3; df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17
    a, b = [1.0, 2.0, 3.0], [4.0, 6.0, 8.0]
    est = difference(a, b)
    assert est.value == -4.0
    assert est.df == pytest.approx(50 / 17, rel=1e-12)
    half = stats.t.ppf(0.975, 50 / 17) * math.sqrt(5 / 3)
    assert (est.low, est.high) == pytest.approx((-4 - half, -4 + half), rel=1e-12)
    assert 3.18 < half / math.sqrt(5 / 3) < 4.31  # between the table's t(0.975, 3) and t(0.975, 2)
    welch = stats.ttest_ind(a, b, equal_var=False)  # SciPy's own Welch test, an independent implementation
    assert est.p == pytest.approx(welch.pvalue, rel=1e-9)


def test_a_difference_of_differences_adds_the_four_variances():
    # (2 - 6) - (10 - 11): value -3; se^2 = 1/3 + 4/3 + 1/3 + 1/3 = 7/3
    groups = [(1.0, [1.0, 2.0, 3.0]), (-1.0, [4.0, 6.0, 8.0]), (-1.0, [9.0, 10.0, 11.0]), (1.0, [10.0, 11.0, 12.0])]
    est = contrast(groups)
    assert est.value == -3.0
    df = (7 / 3) ** 2 / ((1 / 3) ** 2 / 2 * 3 + (4 / 3) ** 2 / 2)
    assert est.df == pytest.approx(df, rel=1e-12)
    assert est.high - est.low == pytest.approx(2 * stats.t.ppf(0.975, df) * math.sqrt(7 / 3), rel=1e-12)


def test_one_seed_gives_no_interval_and_constant_runs_a_point():
    assert mean_interval([71.0]).low is None
    assert difference([71.0], [70.0, 72.0]).low is None
    same = difference([70.0, 70.0], [69.0, 69.0])
    assert (same.value, same.low, same.high, same.p) == (1.0, 1.0, 1.0, 0.0)
