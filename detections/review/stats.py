"""Precision with a 95 % Wilson score interval (the interval statsmodels' proportion_confint
gives with method="wilson"): honest at small n and never outside 0..1."""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile
DIGITS = 4


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The interval for ``successes`` of ``n``; None when n is 0 (nothing to estimate)."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, not {successes}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # At 0 or n the bound is exactly 0 or 1; floating point would land a hair inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def precision(tp: int, fp: int) -> tuple[float | None, float | None, float | None]:
    """tp / (tp + fp) and its interval, rounded for the report; all None when tp + fp is 0."""
    n = tp + fp
    interval = wilson_interval(tp, n)
    if interval is None:
        return None, None, None
    return round(tp / n, DIGITS), round(interval[0], DIGITS), round(interval[1], DIGITS)
