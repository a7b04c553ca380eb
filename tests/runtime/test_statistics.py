"""The one implementation of "mean and 95% interval over seeds" and of Welch's test, against hand arithmetic."""

import math

import pytest

from muxnet.runtime.statistics import mean_interval, welch_test


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
