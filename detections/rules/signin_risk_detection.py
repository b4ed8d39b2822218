"""Elastic's "Entra ID Protection - Risk Detection - Sign-in Risk" (seed 000).

A sign-in risk detection that nobody has closed: riskState is not remediated,
dismissed or confirmedSafe.
"""

from __future__ import annotations

from datetime import timedelta

from detections.helpers import detection_context
from detections.model import Event, RiskDetection, Severity
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import risk_detection


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, RiskDetection) or event.activity != "signin":
        return None
    if not is_open_risk(event.risk_state):
        return None
    return Finding(
        title=f"Sign-in risk {event.risk_event_type} ({event.risk_level or 'unknown'}) "
        f"for {event.principal}",
        context=detection_context(event),
    )


RULE = Rule(
    id="signin_risk_detection",
    version=1,
    title="Entra ID Protection sign-in risk detection",
    description=(
        "Identity Protection raised a sign-in risk detection (anonymized IP, unlikely travel, "
        "password spray and more) that has not been remediated, dismissed or confirmed safe."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1078.004", "T1110.003", "T1556", "T1071"),
    kinds=("riskDetection",),
    dedup_fields=("principal", "risk_event_type", "correlation_id"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Review the risk event type to understand what was detected.",
        "Check the risk level to judge the severity of the detection.",
        "Read the risk detail for context on what happened to the risk.",
        "Use the correlation id to find the sign-in and related events.",
        "Review additionalInfo (user agent, risk reasons) for more context.",
        "Check the detection timing: offline detections arrive late (up to 48 h), "
        "real-time ones were assessed during the sign-in.",
        "Triage the user with their audit and sign-in logs to see whether the account is "
        "compromised or the behaviour is expected.",
    ),
    false_positives=(
        "Users on VPNs or Tor (anonymized IP addresses) when that is expected.",
        "Frequent travellers triggering unlikely-travel detections.",
        "Users who recently changed their password may trigger password-spray detections.",
    ),
    references=(
        "https://www.elastic.co/docs/reference/security/prebuilt-rules/rules/integrations/azure/"
        "initial_access_entra_id_protection_sign_in_risk_detected",
        "https://learn.microsoft.com/en-us/entra/id-protection/concept-identity-protection-risks",
    ),
    known_gaps=("Offline detections surface up to 48 hours after the sign-in.",),
    match=match,
    tests=(
        RuleTest(
            name="open sign-in risk fires",
            event=risk_detection(),
            expect=True,
            severity=Severity.HIGH,
            dedup=("alice@contoso.com", "unfamiliarFeatures", "corr-1"),
        ),
        RuleTest(name="dismissed", event=risk_detection(risk_state="dismissed"), expect=False),
        RuleTest(name="remediated", event=risk_detection(risk_state="remediated"), expect=False),
        RuleTest(
            name="confirmed safe", event=risk_detection(risk_state="confirmedSafe"), expect=False
        ),
        RuleTest(
            name="confirmed compromised fires",
            event=risk_detection(risk_state="confirmedCompromised"),
            expect=True,
        ),
        RuleTest(name="user activity", event=risk_detection(activity="user"), expect=False),
    ),
)
