"""User risk: the sibling of signin_risk_detection (seed 000) for the account itself.

Two inputs say a user is at risk: a risk detection with activity ``user``
(leaked credentials, suspicious inbox forwarding ...) whose riskState is open,
and a risky-user record in state atRisk or confirmedCompromised at medium or
high. Severity follows the risk level; a confirmed compromise is at least high.
"""

from __future__ import annotations

from datetime import timedelta

from detections.helpers import detection_context, level_severity, who
from detections.model import AT_RISK_STATES, Event, RiskDetection, RiskyUser, Severity
from detections.predicates import is_open_risk
from detections.rule import Context, Finding, Rule, RuleTest
from detections.testing import risk_detection, risky_user

_RISKY_USER_LEVELS = frozenset({"medium", "high"})


def match(event: Event, ctx: Context) -> Finding | None:
    if isinstance(event, RiskDetection):
        return _detection(event)
    if isinstance(event, RiskyUser):
        return _risky_user(event)
    return None


def _severity(level: str | None, state: str | None) -> Severity:
    # hidden or missing is unknown, never "none": medium until someone looks.
    severity = level_severity(level) or Severity.MEDIUM
    if state == "confirmedCompromised":
        severity = severity.at_least(Severity.HIGH)
    return severity


def _detection(event: RiskDetection) -> Finding | None:
    if event.activity != "user" or not is_open_risk(event.risk_state):
        return None
    return Finding(
        title=f"User risk {event.risk_event_type} ({event.risk_level or 'unknown'}) "
        f"for {event.principal}",
        severity=_severity(event.risk_level, event.risk_state),
        # One alert per user, detection type and level: a second type is its own story.
        dedup_values=(
            event.principal,
            event.risk_level or "",
            event.risk_state or "",
            event.risk_event_type,
        ),
        context={"source": "riskDetection", **detection_context(event)},
    )


def _risky_user(event: RiskyUser) -> Finding | None:
    if event.risk_state not in AT_RISK_STATES or event.risk_level not in _RISKY_USER_LEVELS:
        return None
    return Finding(
        title=f"Risky user {event.principal}: {event.risk_state} ({event.risk_level})",
        severity=_severity(event.risk_level, event.risk_state),
        context={
            **who(event),
            "source": "riskyUser",
            "risk_level": event.risk_level,
            "risk_state": event.risk_state,
            "risk_detail": event.risk_detail,
            "risk_last_updated": event.time.isoformat(),
            "is_deleted": event.is_deleted,
            "is_processing": event.is_processing,
            "is_guest": event.is_guest,
        },
    )


RULE = Rule(
    id="user_risk_detection",
    version=1,
    title="Entra ID Protection user risk",
    description=(
        "Identity Protection says an account may be compromised: a user-risk detection "
        "(activity user, e.g. leaked credentials or suspicious inbox forwarding) that is not "
        "remediated, dismissed or confirmed safe, or a risky user at medium or high risk in "
        "state atRisk or confirmedCompromised. Severity follows the risk level."
    ),
    severity=Severity.HIGH,
    risk_score=73,
    mitre=("T1078.004", "T1114.003"),
    kinds=("riskDetection", "riskyUser"),
    # Risky users are re-read on every poll: one alert per user, level and state for a day;
    # an escalation (medium to high, atRisk to confirmedCompromised) opens a new alert.
    # Detections add their type to the key (see _detection).
    dedup_fields=("principal", "risk_level", "risk_state"),
    dedup_window=timedelta(hours=24),
    investigation=(
        "Read the risk event type (or the risky user's history) to learn what raised the "
        "user risk.",
        "Check the risk level and riskDetail, and whether an administrator already confirmed "
        "the compromise.",
        "Check the detection timing: offline detections (leaked credentials, inbox rules) "
        "arrive up to 48 hours late.",
        "Triage the user with their audit and sign-in logs since the detection: new MFA "
        "methods, inbox rules, app consents, sign-ins from new places.",
        "If compromised: reset the password, revoke sessions and tokens, and review "
        "authentication material such as primary refresh tokens.",
        "User risk persists until remediated or dismissed: close it in the portal once done.",
    ),
    false_positives=(
        "Leaked-credential matches for passwords the user already changed.",
        "Inbox forwarding rules the user created on purpose to an external address.",
        "Users who recently changed their password may trigger password-spray detections.",
    ),
    references=(
        "https://learn.microsoft.com/en-us/entra/id-protection/concept-identity-protection-risks",
        "https://learn.microsoft.com/en-us/entra/id-protection/howto-identity-protection-investigate-risk",
        "https://learn.microsoft.com/en-us/azure/active-directory/identity-protection/"
        "howto-identity-protection-risk-feedback",
    ),
    known_gaps=(
        "Offline user detections surface up to 48 hours after the activity.",
        "Risky users at low or hidden level (no P2 licence) are not alerted; detections with a "
        "hidden level are, at medium.",
        "A risky user record says nothing about why: pair it with the user's detections.",
    ),
    match=match,
    tests=(
        RuleTest(
            name="open user detection fires at its level",
            event=risk_detection(activity="user", risk_event_type="leakedCredentials"),
            expect=True,
            severity=Severity.MEDIUM,
            dedup=("alice@contoso.com", "medium", "atRisk", "leakedCredentials"),
        ),
        RuleTest(
            name="high user detection is high",
            event=risk_detection(
                activity="user", risk_event_type="suspiciousInboxForwarding", risk_level="high"
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="hidden level detection is medium",
            event=risk_detection(activity="user", risk_level="hidden"),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="confirmed compromised detection is at least high",
            event=risk_detection(
                activity="user", risk_level="low", risk_state="confirmedCompromised"
            ),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(
            name="risky user high",
            event=risky_user(),
            expect=True,
            severity=Severity.HIGH,
            dedup=("alice@contoso.com", "high", "atRisk"),
        ),
        RuleTest(
            name="risky user medium",
            event=risky_user(risk_level="medium"),
            expect=True,
            severity=Severity.MEDIUM,
        ),
        RuleTest(
            name="confirmed compromised risky user is high",
            event=risky_user(risk_level="medium", risk_state="confirmedCompromised"),
            expect=True,
            severity=Severity.HIGH,
        ),
        RuleTest(name="sign-in activity", event=risk_detection(), expect=False),
        RuleTest(name="risky user low", event=risky_user(risk_level="low"), expect=False),
        RuleTest(name="risky user hidden", event=risky_user(risk_level="hidden"), expect=False),
        RuleTest(
            name="dismissed detection",
            event=risk_detection(activity="user", risk_state="dismissed"),
            expect=False,
        ),
        RuleTest(
            name="remediated detection",
            event=risk_detection(activity="user", risk_state="remediated"),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe detection",
            event=risk_detection(activity="user", risk_state="confirmedSafe"),
            expect=False,
        ),
        RuleTest(
            name="dismissed risky user",
            event=risky_user(risk_state="dismissed", risk_detail="adminDismissedAllRiskForUser"),
            expect=False,
        ),
        RuleTest(
            name="remediated risky user",
            event=risky_user(
                risk_state="remediated", risk_detail="userPerformedSecuredPasswordChange"
            ),
            expect=False,
        ),
        RuleTest(
            name="confirmed safe risky user",
            event=risky_user(risk_state="confirmedSafe"),
            expect=False,
        ),
    ),
)
