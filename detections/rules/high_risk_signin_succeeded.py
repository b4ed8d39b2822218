"""High-risk sign-in that succeeded: the first triage query of seed 001.

``ResultType == 0 and RiskLevelDuringSignIn == "high"``, with the risk still open.
riskDetail says what happened: ``none`` means no risk policy challenged the
sign-in (critical), ``userPassedMFADrivenByRiskBasedPolicy`` means the control
worked but the user must still be confirmed (high).
"""

from __future__ import annotations

from datetime import timedelta

from detections.helpers import RISK_DETAIL_MEANING, signed_in, where, who
from detections.model import Event, Severity, SignIn
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import sign_in

_UNCHALLENGED = "none"
_PASSED_MFA = "userPassedMFADrivenByRiskBasedPolicy"


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn) or not signed_in(event):
        return None
    if event.risk_level_during_sign_in != "high":
        return None
    # Entra records a passed risk-based MFA challenge as riskState "remediated": seed 001
    # still wants it triaged (was it the real user?). Other closed states stay quiet.
    passed_mfa = event.risk_state == "remediated" and event.risk_detail == _PASSED_MFA
    if not is_open_risk(event.risk_state) and not passed_mfa:
        return None
    detail = event.risk_detail
    # A missing or hidden detail is unknown, not "none": high, not critical.
    severity = Severity.CRITICAL if detail == _UNCHALLENGED else Severity.HIGH
    meaning = RISK_DETAIL_MEANING.get(detail or "", "riskDetail missing or not recognised")
    return Finding(
        title=f"High-risk sign-in succeeded for {event.principal} "
        f"({'not challenged' if detail == _UNCHALLENGED else detail or 'detail unknown'})",
        severity=severity,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "app_display_name": event.app_display_name,
            "resource_display_name": event.resource_display_name,
            "risk_detail": detail,
            "risk_detail_meaning": meaning,
            "challenged_by_risk_policy": detail == "userPassedMFADrivenByRiskBasedPolicy",
            "conditional_access_status": event.conditional_access_status,
            "risk_event_types": list(event.risk_event_types),
            "risk_level_aggregated": event.risk_level_aggregated,
            "risk_state": event.risk_state,
            "authentication_requirement": event.authentication_requirement,
            "category": event.category,
            "correlation_id": event.correlation_id,
            "session_id": event.session_id,
        },
    )


RULE = Rule(
    id="high_risk_signin_succeeded",
    version=1,
    title="High-risk sign-in succeeded",
    description=(
        "A sign-in Identity Protection rated high risk in real time still succeeded. "
        "Critical when riskDetail is none (no risk-based policy challenged it, the most "
        "dangerous outcome), high when the user passed MFA driven by a risk-based policy or "
        "another open detail applies. Every result requires investigation (seed 001)."
    ),
    # 80 sits in both the high and the critical band: findings are high or critical.
    severity=Severity.HIGH,
    risk_score=80,
    mitre=("T1078.004",),
    kinds=("signIn",),
    # One alert per principal and source IP for an hour (Panther's HighRiskSignIn uses 60
    # minutes): token refreshes of one session roll up; a second attacker IP opens its own.
    dedup_fields=("principal", "ip_address"),
    dedup_window=timedelta(minutes=60),
    investigation=(
        "Read riskDetail: 'none' means the sign-in was not challenged at all; "
        "'userPassedMFADrivenByRiskBasedPolicy' means the user passed MFA, which may have been "
        "the legitimate user proving their identity.",
        "Check conditionalAccessStatus to see whether any Conditional Access policy evaluated.",
        "Read riskEventTypes to learn why the sign-in was rated high (anomalousToken is the "
        "AiTM indicator).",
        "Review the app, IP address and location against the user's usual activity, and "
        "contact the user out of band.",
        "If compromise is likely: revoke sessions and refresh tokens, reset the password, "
        "require phishing-resistant MFA, and confirm the sign-in compromised in the portal.",
        "Close the enforcement gap: deploy a risk-based Conditional Access policy for "
        "high sign-in risk.",
    ),
    false_positives=(
        "The legitimate user travelling, on a VPN or a new device, who then passed the "
        "risk-based MFA challenge (severity high, not critical).",
        "unfamiliarFeatures at high risk in tenants where users travel often; measure the "
        "true-positive rate before enforcing (seed 001).",
    ),
    references=(
        "https://learn.microsoft.com/en-us/entra/id-protection/concept-identity-protection-risks",
        "https://learn.microsoft.com/en-us/entra/id-protection/"
        "howto-identity-protection-configure-risk-policies",
    ),
    known_gaps=(
        "Only riskLevelDuringSignIn high: a high aggregated user risk on a clean sign-in is "
        "unremediated_user_risk, medium levels are risk_level_passthrough.",
        "A hidden level (no P2 licence) never matches.",
        "A missing or hidden riskDetail gives high, not critical: the rule cannot tell whether "
        "a policy challenged the sign-in.",
    ),
    match=match,
    tests=(
        RuleTest(
            name="unchallenged high-risk success is critical",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="atRisk",
                risk_detail="none",
                risk_event_types=("anomalousToken",),
            ),
            expect=True,
            severity=Severity.CRITICAL,
            dedup=("alice@contoso.com", "203.0.113.10"),
        ),
        RuleTest(
            name="passed risk-based MFA is high",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="atRisk",
                risk_detail="userPassedMFADrivenByRiskBasedPolicy",
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="passed risk-based MFA, recorded as remediated, is high",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="remediated",
                risk_detail="userPassedMFADrivenByRiskBasedPolicy",
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="missing detail is high",
            event=sign_in(risk_level_during_sign_in="high", risk_state="atRisk", risk_detail=None),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="failed sign-in",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="atRisk",
                success=False,
                error_code=53003,
            ),
            expect=False,
        ),
        RuleTest(
            name="medium risk",
            event=sign_in(risk_level_during_sign_in="medium", risk_state="atRisk"),
            expect=False,
        ),
        RuleTest(
            name="only aggregated high",
            event=sign_in(risk_level_aggregated="high", risk_state="atRisk"),
            expect=False,
        ),
        RuleTest(
            name="hidden level",
            event=sign_in(risk_level_during_sign_in="hidden", risk_state="atRisk"),
            expect=False,
        ),
        RuleTest(
            name="dismissed",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="dismissed",
                risk_detail="adminDismissedAllRiskForUser",
            ),
            expect=False,
        ),
        RuleTest(
            name="remediated",
            event=sign_in(
                risk_level_during_sign_in="high",
                risk_state="remediated",
                risk_detail="userPerformedSecuredPasswordChange",
            ),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe",
            event=sign_in(risk_level_during_sign_in="high", risk_state="confirmedSafe"),
            expect=False,
        ),
    ),
)
