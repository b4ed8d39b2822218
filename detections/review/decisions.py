"""The decision table seed 001 asks for: is a risk-based Conditional Access policy supported
by this tenant's data, per risk level?

- high → block: supported when precision (tp / (tp + fp)) is 0.80 or more, the seed's
  figure ("80%+ true positive"), with the 95 % interval shown beside it;
- medium and low → require MFA: a false positive costs a prompt, not a block, so it is
  supported when most labelled detections are real (precision 0.50 or more); the
  false-positive rate and the extra MFA prompts a month it implies are shown either way;
- fewer than 20 labelled (tp + fp) detections at a level: ``supported`` is null, "not
  enough data".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.review.stats import DIGITS, precision

MIN_SAMPLE = 20
BLOCK_PRECISION = 0.80  # seed 001
MFA_PRECISION = 0.50
POLICIES = (("high", "block", BLOCK_PRECISION), ("medium", "require MFA", MFA_PRECISION),
            ("low", "require MFA", MFA_PRECISION))
DAYS_PER_MONTH = 30


def decisions(by_level: Mapping[str, Mapping[str, int]], days: float) -> list[dict[str, Any]]:
    """One decision per level from that level's outcome counts over ``days`` days."""
    return [_decision(level, policy, bar, by_level.get(level, {}), days)
            for level, policy, bar in POLICIES]


def _decision(
    level: str, policy: str, bar: float, counts: Mapping[str, int], days: float
) -> dict[str, Any]:
    tp, fp = counts.get("tp", 0), counts.get("fp", 0)
    n = tp + fp
    value, low, high = precision(tp, fp)
    fp_rate = round(fp / n, DIGITS) if n else None
    prompts = None
    if policy == "require MFA" and n and days > 0:
        # Every detection at this level would prompt; the labelled share that was false
        # stands for all of them (dismissed, open and unlabelled ones included).
        total = sum(counts.values())
        prompts = round(total * (fp / n) * DAYS_PER_MONTH / days, 1)
    result: dict[str, Any] = {"level": level, "policy": policy, "supported": None,
                              "precision": value, "ci_low": low, "ci_high": high, "n": n,
                              "fp_rate": fp_rate, "extra_mfa_prompts_per_month": prompts}
    if n < MIN_SAMPLE or value is None:
        result["why"] = (f"not enough data: {n} {level}-risk detections labelled true or false "
                         f"positive in the assessment window; {MIN_SAMPLE} are needed")
        return result
    result["supported"] = value >= bar
    interval = f"precision {value:.2f} (95% interval {low:.2f}-{high:.2f}, n={n})"
    if policy == "block":
        result["why"] = (
            f"{interval}: at or above {bar:.2f}, blocking {level}-risk sign-ins would "
            "correctly block most attacks with few disruptions" if value >= bar else
            f"{interval}: below {bar:.2f}, blocking would stop too many legitimate sign-ins; "
            "require MFA or a secure password change instead")
        if value >= bar and low is not None and low < bar:
            result["why"] += f"; the interval reaches below {bar:.2f}, more labels would firm it up"
    else:
        share = f"{fp / n:.0%} false positives, about {prompts:g} extra MFA prompts a month"
        result["why"] = (
            f"{interval}; {share} for legitimate users: annoying, not blocking" if value >= bar
            else f"{interval}; {share}: most prompts would hit legitimate users, a trade-off "
            "to decide with this data, not assumptions")
    return result
