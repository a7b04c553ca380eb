"""The one implementation of "mean and 95% interval over seeds" and of Welch's test, against hand arithmetic."""

import math

import pytest

from muxnet.runtime.statistics import holm_adjusted, mean_interval, paired_test, welch_test


def test_interval_of_three_values_by_hand():
    # mean 2, sample std 1, t(0.975, 2) = 4.302653, half-width 4.302653 / sqrt(3) = 2.484138
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval.mean == pytest.approx(2.0) and interval.std == pytest.approx(1.0) and interval.n == 3
    assert interval.low == pytest.approx(2.0 - 2.484138, abs=1e-5)
    assert interval.high == pytest.approx(2.0 + 2.484138, abs=1e-5)
    assert interval.format() == "2.00 [-0.48, 4.48]"


def test_one_value_has_no_interval_and_none_is_refused():
    interval = mean_interval([97.5])
    assert (interval.low, interval.high, interval.n) == (97.5, 97.5, 1) and interval.format() == "97.50 (n=1)"
    with pytest.raises(ValueError, match="no values"):
        mean_interval([])


def test_overlap_and_welch():
    a, b = mean_interval([90.0, 90.5, 91.0]), mean_interval([93.0, 93.4, 93.8])
    assert not a.overlaps(b) and a.overlaps(mean_interval([90.8, 91.2, 91.6]))
    assert welch_test([90.0, 90.5, 91.0], [93.0, 93.4, 93.8]) < 0.01
    assert welch_test([1.0, 2.0, 3.0], [1.5, 2.5, 2.0]) > 0.5
    assert math.isnan(welch_test([1.0], [2.0, 3.0]))


def test_paired_test_against_a_hand_computed_case():
    # differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt 3) = 3.464 on 2 df; two-sided p = 1 - t / sqrt(t^2 + 2)
    t = 2 * math.sqrt(3)
    assert paired_test([11.0, 12.0, 13.0], [10.0, 10.0, 10.0]) == pytest.approx(1 - t / math.sqrt(t * t + 2))
    # a shared seed effect: Welch sees noise, the pairs see a steady gain of 0.35-0.8 points
    search, baseline = [95.45, 95.30, 95.30, 94.10], [94.75, 94.95, 94.95, 93.30]
    assert welch_test(search, baseline) > 0.2 and paired_test(search, baseline) < 0.05
    assert math.isnan(paired_test([1.0], [2.0]))
    with pytest.raises(ValueError, match="needs pairs"):
        paired_test([1.0, 2.0], [1.0])


def test_holm_adjustment_against_a_hand_computed_case():
    # sorted 0.01, 0.03, 0.04, 0.5 of m = 4: x4 = 0.04, x3 = 0.09, x2 = 0.08 -> kept at 0.09, x1 = 0.5
    adjusted = holm_adjusted([0.01, 0.04, math.nan, 0.03, 0.5])
    assert adjusted[0] == pytest.approx(0.04) and adjusted[1] == pytest.approx(0.09)
    assert adjusted[3] == pytest.approx(0.09) and adjusted[4] == pytest.approx(0.5) and math.isnan(adjusted[2])
    assert holm_adjusted([0.2, 0.3]) == [0.4, 0.4] and holm_adjusted([]) == []
