"""Risk detection types that need action at any risk level (seed 001).

"If anomalousToken appears at any risk level, investigate immediately — it's the
AiTM indicator. If leakedCredentials appears, those accounts need immediate
password rotation regardless of the risk level." The same holds for the other
types below. The context says whether the detection was real-time or offline and
what to do for its type.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from detections.helpers import detection_context
from detections.model import Event, RiskDetection, Severity
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, JsonValue, Rule, RuleTest
from detections.testing import risk_detection


class _Priority(NamedTuple):
    name: str  # Graph's spelling
    typical_timing: str  # seed 001's list; used only when detectionTimingType is missing
    meaning: str
    action: str


_TYPES = (
    _Priority(
        "anomalousToken",
        "realtime",
        "the token has unusual properties: the adversary-in-the-middle (AiTM) indicator",
        "Investigate immediately: revoke the user's sessions and refresh tokens, reset the "
        "password, and review the session's activity, new MFA methods and inbox rules.",
    ),
    _Priority(
        "attackerinTheMiddle",
        "realtime",
        "an adversary-in-the-middle (AiTM) phishing proxy relayed the authentication",
        "Investigate immediately: revoke sessions and refresh tokens, reset the password, "
        "and look for MFA methods, inbox rules and consents the attacker added.",
    ),
    _Priority(
        "tokenIssuerAnomaly",
        "realtime",
        "the token came from an unexpected identity provider: a possible federation trust "
        "attack (forged SAML tokens)",
        "Review federation and domain trust settings and recent changes to them in the audit "
        "log; check the token-signing certificates.",
    ),
    _Priority(
        "leakedCredentials",
        "offline",
        "the user's credentials appear in a breach source",
        "Rotate the password now, whatever the risk level: the credentials are exposed. "
        "Then review sign-ins since the leak.",
    ),
    _Priority(
        "maliciousIPAddress",
        "realtime",
        "the sign-in came from an IP address associated with malicious activity",
        "Check every sign-in from this IP address across the tenant; if it succeeded, treat "
        "the account as compromised and block the address.",
    ),
    _Priority(
        "authenticatorPhishing",
        "realtime",
        "Authenticator telemetry with an unfamiliar ASN, browser, device or GPS suggests "
        "social engineering during password + MFA sign-in",
        "Contact the user out of band, revoke sessions, reset the password and review the "
        "MFA methods registered to the account.",
    ),
    _Priority(
        "suspiciousInboxForwarding",
        "offline",
        "an inbox rule forwards email to an external address",
        "Remove the forwarding rule, find what was forwarded, and investigate the account as "
        "compromised.",
    ),
    _Priority(
        "mcasSuspiciousInboxManipulationRules",
        "offline",
        "Defender for Cloud Apps saw inbox rules that delete, move or forward mail",
        "Remove the suspicious inbox rules, find what they hid or forwarded, and investigate "
        "the account as compromised.",
    ),
)
# Matched case-insensitively: exports and Sentinel do not agree on the casing.
_BY_NAME = {p.name.lower(): p for p in _TYPES}

_TIMING_NOTE = {
    "realtime": "real-time: assessed during the sign-in, available to Conditional Access",
    "nearRealtime": "near real-time: assessed shortly after the sign-in",
    "offline": "offline: calculated after the fact (up to 48 h late); it could not influence "
    "Conditional Access on the sign-in that caused it, only the user's next sign-in",
}


def match(event: Event, ctx: Context) -> Finding | None:
    if not isinstance(event, RiskDetection) or not is_open_risk(event.risk_state):
        return None
    priority = _BY_NAME.get(event.risk_event_type.lower())
    if priority is None:
        return None
    timing = event.detection_timing_type or priority.typical_timing
    return Finding(
        title=f"Priority risk detection {priority.name} for {event.principal} "
        f"({event.risk_level or 'unknown'} level): act now",
        # An administrator's confirmation removes the doubt: critical.
        severity=Severity.CRITICAL if event.risk_state == "confirmedCompromised" else None,
        # Graph's spelling, so casing variants of one type share an alert.
        dedup_values=(event.principal, priority.name),
        context=_context(event, priority, timing),
    )


def _context(event: RiskDetection, priority: _Priority, timing: str) -> dict[str, JsonValue]:
    context = detection_context(event)
    # This rule reports the timing with its typical fallback (detection_timing, and whether
    # Graph reported it) instead of the raw detection_timing_type.
    del context["detection_timing_type"]
    return {
        **context,
        "meaning": priority.meaning,
        "action": priority.action,
        "risk_level_note": "hidden means unknown (no P2 licence), not none"
        if event.risk_level == "hidden"
        else None,
        "activity": event.activity,
        "detection_timing": timing,
        "detection_timing_reported": event.detection_timing_type is not None,
        "timing_note": _TIMING_NOTE.get(timing, f"unrecognised timing {timing!r}"),
        "detected_time": event.detected_time.isoformat() if event.detected_time else None,
    }


RULE = Rule(
    id="priority_risk_detection",
    version=1,
    title="Priority risk detection: act at any risk level",
    description=(
        "Risk detection types that need action whatever their risk level, including low and "
        "hidden: anomalousToken and attackerinTheMiddle (AiTM), tokenIssuerAnomaly, "
        "leakedCredentials, maliciousIPAddress, authenticatorPhishing, "
        "suspiciousInboxForwarding and mcasSuspiciousInboxManipulationRules, while their risk "
        "is open. The alert says whether the detection was real-time or offline and what to do."
    ),
    severity=Severity.HIGH,
    risk_score=80,
    mitre=("T1078.004", "T1557", "T1550.001", "T1606.002", "T1114.003", "T1564.008"),
    kinds=("riskDetection",),
    # One alert per user and detection type per day: a detection is re-delivered whenever its
    # state changes, and one AiTM session raises several; the action is per type.
    dedup_fields=("principal", "risk_event_type"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Follow the action in the alert context for the detection type; do not wait for the "
        "risk level to rise.",
        "Check the detection timing: an offline detection arrived late and no Conditional "
        "Access policy could have acted on the sign-in that caused it.",
        "Use the correlation and request ids to find the sign-in and the session.",
        "Review additionalInfo (user agent, risk reasons) and the user's audit and sign-in "
        "logs for follow-on activity.",
        "Review authentication material such as primary refresh tokens and OAuth tokens and "
        "revoke them if compromise is possible.",
    ),
    false_positives=(
        "Leaked credentials for a password the user already changed.",
        "A forwarding rule the user set up on purpose.",
        "A shared or carrier-grade NAT IP address flagged as malicious.",
    ),
    references=(
        "https://learn.microsoft.com/en-us/entra/id-protection/concept-identity-protection-risks",
        "https://www.volexity.com/blog/2025/04/22/phishing-for-codes-russian-threat-actors-"
        "target-microsoft-365-oauth-workflows/",
        "https://dirkjanm.io/phishing-for-microsoft-entra-primary-refresh-tokens/",
    ),
    known_gaps=(
        "Offline detections (leakedCredentials, inbox rules) arrive up to 48 hours late.",
        "When detectionTimingType is missing the timing is the type's typical one from seed 001; "
        "Microsoft documents some types (anomalousToken) as either real-time or offline.",
        "Other detection types are left to signin_risk_detection and user_risk_detection.",
    ),
    match=match,
    tests=(
        RuleTest(
            name="anomalous token at low level",
            event=risk_detection(risk_event_type="anomalousToken", risk_level="low"),
            expect=True,
            severity=Severity.HIGH,
            dedup=("alice@contoso.com", "anomalousToken"),
        ),
        RuleTest(
            name="AiTM at hidden level",
            event=risk_detection(risk_event_type="attackerinTheMiddle", risk_level="hidden"),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="leaked credentials offline user detection, other casing",
            event=risk_detection(
                risk_event_type="LeakedCredentials",
                activity="user",
                detection_timing_type="offline",
                risk_level="low",
            ),
            expect=True,
            dedup=("alice@contoso.com", "leakedCredentials"),
        ),
        RuleTest(
            name="confirmed compromised is critical",
            event=risk_detection(
                risk_event_type="maliciousIPAddress", risk_state="confirmedCompromised"
            ),
            expect=True,
            severity=Severity.CRITICAL,
        ),
        RuleTest(
            name="ordinary type",
            event=risk_detection(risk_event_type="unfamiliarFeatures", risk_level="high"),
            expect=False,
        ),
        RuleTest(
            name="dismissed",
            event=risk_detection(risk_event_type="anomalousToken", risk_state="dismissed"),
            expect=False,
        ),
        RuleTest(
            name="remediated",
            event=risk_detection(risk_event_type="leakedCredentials", risk_state="remediated"),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe",
            event=risk_detection(
                risk_event_type="suspiciousInboxForwarding", risk_state="confirmedSafe"
            ),
            expect=False,
        ),
    ),
)
