"""Identity Protection's lifecycle as review outcomes: riskState and riskDetail together."""

from __future__ import annotations

import pytest

from detections.review.outcomes import combined_outcome, lifecycle_outcome


@pytest.mark.parametrize(("state", "detail", "expected"), [
    ("confirmedCompromised", "adminConfirmedUserCompromised", "tp"),
    ("remediated", "adminConfirmedSigninCompromised", "tp"),
    ("confirmedSafe", "none", "fp"),
    ("remediated", "aiConfirmedSigninSafe", "fp"),
    ("remediated", "adminConfirmedSigninSafe", "fp"),
    ("dismissed", "none", "dismissed"),
    ("dismissed", "adminDismissedAllRiskForUser", "dismissed"),
    ("remediated", "adminDismissedAllRiskForUser", "dismissed"),  # a dismissal, never fp
    ("remediated", "userPerformedSecuredPasswordChange", "resolved_by_policy"),
    ("remediated", "userPerformedSecuredPasswordReset", "resolved_by_policy"),
    ("remediated", "userPassedMFADrivenByRiskBasedPolicy", "resolved_by_policy"),
    ("atRisk", "none", "open"),
    ("atRisk", None, "open"),
    ("remediated", "adminGeneratedTemporaryPassword", "indeterminate"),
    ("none", "none", "indeterminate"),
    ("unknownFutureValue", "hidden", "indeterminate"),
    (None, None, "indeterminate"),
])
def test_each_state_and_detail(state, detail, expected):
    assert lifecycle_outcome(state, detail) == expected


def test_an_alert_on_records_that_disagree_is_not_guessed():
    assert combined_outcome(["tp", "fp"]) == "indeterminate"
    assert combined_outcome(["tp", "open"]) == "tp"
    assert combined_outcome(["dismissed", "resolved_by_policy"]) == "resolved_by_policy"
    assert combined_outcome([]) == "indeterminate"
