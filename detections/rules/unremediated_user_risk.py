"""A clean sign-in by an account that is still at high risk (seed 001).

``riskLevelAggregated == "high"`` while ``riskLevelDuringSignIn == "none"``: this
sign-in is not risky itself, but the user's risk from an earlier event was
never remediated. User risk persists until a secure password change or an
administrator closes it, so the account still needs action.
"""

from __future__ import annotations

from datetime import timedelta

from detections.helpers import signed_in, where, who
from detections.model import Event, Severity, SignIn
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import sign_in


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn):
        return None
    # "hidden" during sign-in is unknown, not none: that case is not this pattern.
    if event.risk_level_aggregated != "high" or event.risk_level_during_sign_in != "none":
        return None
    if not is_open_risk(event.risk_state):
        return None
    succeeded = signed_in(event)
    return Finding(
        title=f"{event.principal} signed in while still at high user risk"
        if succeeded
        else f"Sign-in attempt by {event.principal} while still at high user risk",
        # A success means no user-risk policy stopped the at-risk account; a failure may be
        # that policy (or anything else) working.
        severity=Severity.HIGH if succeeded else Severity.MEDIUM,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "risk_level_aggregated": event.risk_level_aggregated,
            "risk_level_during_sign_in": event.risk_level_during_sign_in,
            "risk_state": event.risk_state,
            "risk_detail": event.risk_detail,
            "succeeded": succeeded,
            "error_code": event.error_code,
            "conditional_access_status": event.conditional_access_status,
            "app_display_name": event.app_display_name,
            "category": event.category,
            "correlation_id": event.correlation_id,
            "why": "the current sign-in is clean, but the account's risk from an earlier event "
            "was never remediated",
        },
    )


RULE = Rule(
    id="unremediated_user_risk",
    version=1,
    title="Account still at high user risk",
    description=(
        "A sign-in whose aggregated user risk is high while its own sign-in risk is none: the "
        "account carries an unresolved compromise from a prior event (seed 001). High when the "
        "sign-in succeeded (no user-risk policy stopped it), medium when it failed."
    ),
    severity=Severity.HIGH,
    risk_score=60,
    mitre=("T1078.004",),
    kinds=("signIn",),
    # The account's risk is a standing state repeated on every sign-in until remediated:
    # one alert per principal per day, not one per sign-in.
    dedup_fields=("principal",),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Open the user in Risky users and read the risk history: which detection raised the "
        "user risk, and when.",
        "Decide whether the earlier detection was a true compromise; review the sign-ins and "
        "audit events since then (new MFA methods, inbox rules, consents).",
        "Remediate: secure password change, revoke sessions, or dismiss the risk if the "
        "investigation shows it was safe. Unremediated risk never clears by itself.",
        "If the sign-in succeeded, check why no user-risk Conditional Access policy applied.",
    ),
    false_positives=(
        "Accounts whose earlier detection was benign but never dismissed: the backlog of "
        "unreviewed risky users (seed 001). Dismiss them to close the alert's cause.",
    ),
    references=(
        "https://learn.microsoft.com/en-us/entra/id-protection/howto-identity-protection-remediate-unblock",
        "https://learn.microsoft.com/en-us/entra/id-protection/"
        "howto-identity-protection-configure-risk-policies",
    ),
    known_gaps=(
        "Only aggregated high: medium standing user risk is left to risk_level_passthrough.",
        "A hidden aggregated or during-sign-in level (no P2 licence) never matches.",
    ),
    match=match,
    tests=(
        RuleTest(
            name="clean success at high user risk",
            event=sign_in(risk_level_aggregated="high", risk_state="atRisk"),
            expect=True,
            severity=Severity.HIGH,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="failed attempt at high user risk is medium",
            event=sign_in(
                risk_level_aggregated="high", risk_state="atRisk", success=False, error_code=530032
            ),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="confirmed compromised fires",
            event=sign_in(risk_level_aggregated="high", risk_state="confirmedCompromised"),
            expect=True,
        ),
        RuleTest(
            name="risky sign-in itself",
            event=sign_in(
                risk_level_aggregated="high",
                risk_level_during_sign_in="high",
                risk_state="atRisk",
            ),
            expect=False,
        ),
        RuleTest(
            name="hidden during sign-in",
            event=sign_in(
                risk_level_aggregated="high",
                risk_level_during_sign_in="hidden",
                risk_state="atRisk",
            ),
            expect=False,
        ),
        RuleTest(
            name="aggregated medium",
            event=sign_in(risk_level_aggregated="medium", risk_state="atRisk"),
            expect=False,
        ),
        RuleTest(
            name="dismissed",
            event=sign_in(risk_level_aggregated="high", risk_state="dismissed"),
            expect=False,
        ),
        RuleTest(
            name="remediated",
            event=sign_in(risk_level_aggregated="high", risk_state="remediated"),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe",
            event=sign_in(risk_level_aggregated="high", risk_state="confirmedSafe"),
            expect=False,
        ),
    ),
)
