"""What Identity Protection's own lifecycle says about one detection: ONE table, nothing guessed.

The outcome is read from ``riskState`` and ``riskDetail`` together (Graph's riskDetail enum).
A dismissal is its own outcome, never a false positive: SOCs dismiss in bulk without looking
(seed 001). A risk remediated by a secure password change or a passed risk-based MFA prompt
is ``resolved_by_policy``: the policy worked, but nobody said whether the risk was real.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

Outcome: TypeAlias = Literal[
    "tp", "fp", "dismissed", "indeterminate", "resolved_by_policy", "open"
]
AnalystLabel: TypeAlias = Literal["tp", "fp", "indeterminate"]
OUTCOMES: tuple[Outcome, ...] = (
    "tp", "fp", "dismissed", "indeterminate", "resolved_by_policy", "open"
)
ANALYST_LABELS: tuple[AnalystLabel, ...] = ("tp", "fp", "indeterminate")

TRUE_POSITIVE_STATES = frozenset({"confirmedCompromised"})
TRUE_POSITIVE_DETAILS = frozenset({"adminConfirmedSigninCompromised"})
FALSE_POSITIVE_STATES = frozenset({"confirmedSafe"})
FALSE_POSITIVE_DETAILS = frozenset({"aiConfirmedSigninSafe", "adminConfirmedSigninSafe"})
DISMISSED_STATES = frozenset({"dismissed"})
DISMISSED_DETAILS = frozenset({"adminDismissedAllRiskForUser"})
# The user remediated under a risk policy: a secure password change or reset (an on-premises
# change counts when the tenant lets it reset risk), or MFA a risk-based policy asked for.
POLICY_DETAILS = frozenset({
    "userPerformedSecuredPasswordChange",
    "userPerformedSecuredPasswordReset",
    "userPassedMFADrivenByRiskBasedPolicy",
    "userChangedPasswordOnPremises",
})
OPEN_STATES = frozenset({"atRisk"})


def lifecycle_outcome(risk_state: str | None, risk_detail: str | None) -> Outcome:
    """The outcome of one detection (or risky sign-in) from its state and detail.

    Checked in this order, so a record carrying two signals gets the stronger one: a
    confirmation (either way) before a dismissal, a dismissal before a remediation.
    Anything else (``none``, ``hidden``, an admin's temporary password, a future enum
    member) is ``indeterminate``."""
    state, detail = risk_state or "", risk_detail or ""
    if state in TRUE_POSITIVE_STATES or detail in TRUE_POSITIVE_DETAILS:
        return "tp"
    if state in FALSE_POSITIVE_STATES or detail in FALSE_POSITIVE_DETAILS:
        return "fp"
    if state in DISMISSED_STATES or detail in DISMISSED_DETAILS:
        return "dismissed"
    if detail in POLICY_DETAILS:
        return "resolved_by_policy"
    if state in OPEN_STATES:
        return "open"
    return "indeterminate"


def combined_outcome(outcomes: list[Outcome]) -> Outcome:
    """One outcome for an alert built on several records: a verdict if they agree on one
    (tp and fp together is ``indeterminate``), else the most telling non-verdict."""
    found = set(outcomes)
    if "tp" in found and "fp" in found:
        return "indeterminate"
    order: tuple[Outcome, ...] = ("tp", "fp", "resolved_by_policy", "dismissed", "open")
    return next((outcome for outcome in order if outcome in found), "indeterminate")
