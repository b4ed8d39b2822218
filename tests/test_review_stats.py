"""The Wilson interval against a reference value and its defining equation."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detections.review.stats import Z95, precision, wilson_interval


def test_eight_of_ten_matches_the_statsmodels_reference():
    # statsmodels.stats.proportion.proportion_confint(8, 10, method="wilson")
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=5e-5)
    assert high == pytest.approx(0.9433, abs=5e-5)


def test_no_sample_has_no_precision():
    assert wilson_interval(0, 0) is None
    assert precision(0, 0) == (None, None, None)


def test_the_edges_stay_inside_zero_and_one():
    assert wilson_interval(0, 5)[0] == 0.0
    assert wilson_interval(5, 5)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_each_bound_solves_the_wilson_equation(case):
    # The Wilson bounds are the p where the observed share is exactly z standard errors away:
    # (k/n - p)^2 = z^2 p (1 - p) / n.
    k, n = case
    for p in wilson_interval(k, n):
        assert (k / n - p) ** 2 == pytest.approx(Z95**2 * p * (1 - p) / n, abs=1e-9)
    low, high = wilson_interval(k, n)
    assert low <= k / n <= high
    assert not math.isnan(low + high)
