"""Panther's "Azure RiskLevel Passthrough" (seed 004).

A sign-in whose riskLevelAggregated or riskLevelDuringSignIn is low, medium or
high, checked in that order (the first active one wins and sets the severity),
and whose riskState is present and not closed. Unlike Panther, confirmedSafe
counts as closed, as in Elastic's rule (seed 000).
"""

from __future__ import annotations

from datetime import timedelta

from detections.helpers import level_severity, where, who
from detections.model import Event, Severity, SignIn
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import sign_in


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, SignIn):
        return None
    # No riskState at all: the tenant has no Identity Protection data for it (Panther's
    # "Missing RiskState" case).
    if event.risk_state is None or not is_open_risk(event.risk_state):
        return None
    # Aggregated (the user's risk) before during-sign-in, as Panther checks them; a hidden
    # level is unknown: never a match by itself.
    level = event.risk_level_aggregated
    severity = level_severity(level)
    if severity is not None:
        return _finding(event, "riskLevelAggregated", level or "", severity)
    level = event.risk_level_during_sign_in
    severity = level_severity(level)
    if severity is not None:
        return _finding(event, "riskLevelDuringSignIn", level or "", severity)
    return None


def _finding(event: SignIn, graph_name: str, level: str, severity: Severity) -> Finding:
    return Finding(
        title=f"Risk-ranked sign-in activity ({level}) for {event.principal}",
        severity=severity,
        context={
            **who(event),
            **where(event.location, event.ip_address),
            "risk_level": level,
            "risk_level_source": graph_name,
            "risk_level_aggregated": event.risk_level_aggregated,
            "risk_level_during_sign_in": event.risk_level_during_sign_in,
            "risk_state": event.risk_state,
            "risk_detail": event.risk_detail,
            "risk_event_types": list(event.risk_event_types),
            "category": event.category,
            "service_principal_name": event.service_principal_name,
            "app_display_name": event.app_display_name,
            "success": event.success,
            "error_code": event.error_code,
            "conditional_access_status": event.conditional_access_status,
            "correlation_id": event.correlation_id,
        },
    )


RULE = Rule(
    id="risk_level_passthrough",
    version=1,
    title="Sign-in with an active Identity Protection risk level",
    description=(
        "Passes through every sign-in (user or service principal, successful or not) whose "
        "aggregated user risk or sign-in risk is low, medium or high while its risk is still "
        "open; the alert's severity is the risk level found (aggregated first). Divergence from "
        "Panther's Azure.Audit.RiskLevelPassthrough: riskState confirmedSafe is treated as closed "
        "(Panther only excludes dismissed and remediated), as Elastic does."
    ),
    severity=Severity.MEDIUM,
    risk_score=47,
    mitre=("T1078.004", "T1110"),
    kinds=("signIn",),
    # Panther's dedup: one alert per principal for 40 minutes; a later, higher level in the
    # window raises the open alert's severity instead of opening a new one.
    dedup_fields=("principal",),
    dedup_window=timedelta(minutes=40),
    investigation=(
        "Read which level matched (risk_level_source): an aggregated level is the user's "
        "standing risk from earlier events, a during-sign-in level is about this sign-in.",
        "Check riskEventTypes and riskDetail to see why Identity Protection flagged it and "
        "what was done about it.",
        "Check whether the sign-in succeeded and which Conditional Access status it got.",
        "Review the principal's other sign-ins from the same IP address and location.",
        "Respond with Microsoft's risk feedback guidance: confirm compromised or safe in the "
        "portal so the model learns, and remediate (password reset, session revocation).",
    ),
    false_positives=(
        "Low-risk unfamiliarFeatures detections from travel, VPNs and new devices are the "
        "commonest noise (seed 001); the severity stays low for them.",
        "Risk levels come only with Entra ID P2; tenants without it see hidden levels and "
        "this rule stays silent.",
    ),
    references=(
        "https://learn.microsoft.com/en-us/entra/id-protection/"
        "howto-identity-protection-configure-risk-policies",
        "https://learn.microsoft.com/en-us/azure/active-directory/identity-protection/"
        "howto-identity-protection-risk-feedback",
        "https://github.com/panther-labs/panther-analysis/blob/main/rules/azure_signin_rules/"
        "azure_risklevel_passthrough.yml",
    ),
    known_gaps=(
        "Diverges from Panther on purpose: riskState confirmedSafe does not alert.",
        "A sign-in without riskState (no P2 data) never alerts, whatever its levels.",
        "A hidden level is unknown, not none: it never matches by itself, so a tenant without "
        "P2 gets no alerts from this rule.",
        "Aggregated wins: a high sign-in risk on a user whose aggregated level is low is "
        "reported as low (Panther's order); high_risk_signin_succeeded covers that case.",
    ),
    match=match,
    tests=(
        RuleTest(
            name="aggregated low fires low",
            event=sign_in(risk_level_aggregated="low", risk_state="atRisk"),
            expect=True,
            severity=Severity.LOW,
            dedup=("alice@contoso.com",),
        ),
        RuleTest(
            name="during sign-in high fires high",
            event=sign_in(risk_level_during_sign_in="high", risk_state="atRisk"),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="aggregated wins over during sign-in",
            event=sign_in(
                risk_level_aggregated="medium",
                risk_level_during_sign_in="high",
                risk_state="atRisk",
            ),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="failed service principal sign-in with risk fires",
            event=sign_in(
                category="servicePrincipal",
                user_principal_name=None,
                user_id=None,
                service_principal_name="some-service-principal",
                success=False,
                error_code=7000215,
                risk_level_during_sign_in="high",
                risk_state="none",
            ),
            expect=True,
            severity=Severity.HIGH,
            dedup=("some-service-principal",),
        ),
        RuleTest(name="no risk", event=sign_in(), expect=False),
        RuleTest(
            name="hidden levels",
            event=sign_in(
                risk_level_aggregated="hidden",
                risk_level_during_sign_in="hidden",
                risk_state="atRisk",
            ),
            expect=False,
        ),
        RuleTest(
            name="missing risk state",
            event=sign_in(risk_level_during_sign_in="high", risk_state=None),
            expect=False,
        ),
        RuleTest(
            name="dismissed",
            event=sign_in(risk_level_during_sign_in="high", risk_state="dismissed"),
            expect=False,
        ),
        RuleTest(
            name="remediated",
            event=sign_in(risk_level_aggregated="medium", risk_state="remediated"),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe (diverges from Panther)",
            event=sign_in(risk_level_during_sign_in="low", risk_state="confirmedSafe"),
            expect=False,
        ),
    ),
)
