"""The verdict: a deterministic score from 0 to 100 with the reasons that produced it.

1. Each alert is worth its severity's points (``SEVERITY_POINTS``). Alerts of one signal
   family count with diminishing returns: the strongest in full, the next half, the next
   a quarter ..., and a family gives at most ``FAMILY_CAP``.
2. Independent families agreeing count more: every family adds its own points, plus
   ``AGREEMENT_POINTS`` for each family beyond the first.
3. Specific evidence raises (``SIGNAL_POINTS``) or lowers (``LOWER_POINTS``) the score.
4. The score is clamped to 0-100; ``verdict_of`` applies the cut-offs. A privileged
   account is at least ``high`` whatever the evidence (seed 002).
The README's "Incidents" section documents every number here; a test keeps them equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from detections.incidents.evidence import SECURE_PASSWORD_CHANGE
from detections.incidents.model import AlertFacts, Breakdown, Evidence, Reason, Verdict

SEVERITY_POINTS = {"informational": 5, "low": 15, "medium": 25, "high": 40, "critical": 50}
FAMILY_CAP = 60
AGREEMENT_POINTS = 10
MEDIUM_FROM, HIGH_FROM = 35, 65  # cut-offs: low 0-34, medium 35-64, high 65-100
PRIVILEGED_FLOOR = HIGH_FROM

FAMILIES = {
    "identity_protection": ("Identity Protection risk", (
        "signin_risk_detection", "risk_level_passthrough", "high_risk_signin_succeeded",
        "user_risk_detection", "unremediated_user_risk", "priority_risk_detection")),
    "credential_attack": ("credential attack", (
        "brute_force", "password_spray", "account_lockouts", "success_after_failures",
        "mfa_fatigue", "disabled_account_probing", "spray_success")),
    # How the token was obtained: a phished flow or a password alone (issue 20).
    "sign_in_technique": ("sign-in technique", (
        "device_code_phishing", "first_party_client_phishing", "legacy_auth_no_mfa")),
    "location_anomaly": ("location anomaly", ("impossible_travel", "unfamiliar_country")),
    "session_anomaly": ("session anomaly", ("session_multiple_ips",)),
    # What a taken account does next (directory audits): an independent family, so a risky
    # sign-in followed by a new MFA method agrees across two families.
    "account_persistence": ("account persistence", (
        "mfa_method_change_after_risk", "app_credential_after_risk",
        "role_assigned_outside_pim", "ca_policy_mfa_removed")),
}
FAMILY_OF = {rule: family for family, (_, rules) in FAMILIES.items() for rule in rules}
# Sigma rules (``sigma:<id>``, loaded at run time) are one family worth at most a medium alert,
# and never count as agreement: most restate a built-in rule's signal (README, Sigma rules).
SIGMA_FAMILY = "Sigma rules"  # not in FAMILIES (its rules are loaded at run time): its name
SIGMA_FAMILY_CAP = 25

# Signals an alert carries (grouping.signals_of reads them from the alert's context).
SIGNAL_POINTS = {"unchallenged": 20, "success_after_failures": 25, "aitm": 25,
                 "token_replay": 25, "leaked": 20, "phishing_flow": 15, "sprayed_password": 20}
SIGNAL_TEXT = {
    "unchallenged": "a high-risk sign-in succeeded without any challenge",
    "success_after_failures": "a sign-in succeeded after repeated failures",
    "aitm": "an adversary-in-the-middle or token anomaly detection (act at any level)",
    "token_replay": "one session was used from another country and network (token replay)",
    "leaked": "the user's credentials were found leaked",
    "phishing_flow": "tokens came through a flow phishing kits use (device code, a developer "
                     "client new to the user)",
    "sprayed_password": "a password sprayed from the address worked for the user",
}
LOWER_POINTS = {"carrier_routing": 20, "known_device": 10, "secure_password_change": 25,
                "consent_or_interrupts": 10}
MAX_REASON_IDS = 20


@dataclass(frozen=True, slots=True)
class Scored:
    score: int
    verdict: Verdict
    reasons: tuple[Reason, ...]
    privileged: bool


def verdict_of(score: int) -> Verdict:
    if score >= HIGH_FROM:
        return "high"
    return "medium" if score >= MEDIUM_FROM else "low"


def family_of(rule_id: str) -> str:
    if rule_id.startswith("sigma:"):
        return SIGMA_FAMILY
    return FAMILY_OF.get(rule_id, rule_id)  # an unknown rule is a family of its own


def _ids(*groups: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for g in groups for i in g))[:MAX_REASON_IDS]


def _family_reasons(alerts: Sequence[AlertFacts]) -> list[Reason]:
    by_family: dict[str, list[AlertFacts]] = {}
    for alert in alerts:
        by_family.setdefault(family_of(alert.rule_id), []).append(alert)
    reasons = []
    for family, members in sorted(by_family.items()):
        ranked = sorted(members, key=lambda a: (-SEVERITY_POINTS.get(a.severity, 0), a.rule_id,
                                                a.alert_id))
        parts = [SEVERITY_POINTS.get(a.severity, 0) >> i for i, a in enumerate(ranked)]
        points = min(SIGMA_FAMILY_CAP if family == SIGMA_FAMILY else FAMILY_CAP, sum(parts))
        name = FAMILIES.get(family, (family, ()))[0]
        listed = ", ".join(f"{a.rule_id} ({a.severity})" for a in ranked[:5])
        more = f" and {len(ranked) - 5} more" if len(ranked) > 5 else ""
        text = f"{name}: {listed}{more}"
        if len(ranked) > 1:
            text += " (several alerts of one family count with diminishing returns)"
        reasons.append(Reason(text=text, effect="raises", rule_id=ranked[0].rule_id,
                              event_ids=_ids(*(a.event_ids for a in ranked)), points=points))
    agreeing = sorted(f for f in by_family if f != SIGMA_FAMILY)
    if len(agreeing) > 1:
        names = ", ".join(FAMILIES.get(f, (f, ()))[0] for f in agreeing)
        reasons.append(Reason(
            text=f"{len(agreeing)} independent signal families agree: {names}",
            effect="raises", rule_id=None, event_ids=(),
            points=AGREEMENT_POINTS * (len(agreeing) - 1)))
    return reasons


def _signal_reasons(alerts: Sequence[AlertFacts]) -> list[Reason]:
    reasons = []
    for signal, points in SIGNAL_POINTS.items():
        carriers = [a for a in alerts if signal in a.signals]
        if carriers:
            reasons.append(Reason(text=SIGNAL_TEXT[signal], effect="raises",
                                  rule_id=carriers[0].rule_id,
                                  event_ids=_ids(*(a.event_ids for a in carriers)),
                                  points=points))
    return reasons


def _carrier_routing(alerts: Sequence[AlertFacts], breakdown: Breakdown) -> Reason | None:
    """Cities of one country are usually carrier or ISP routing, not travel (seed 002)."""
    placed = [a for a in alerts if family_of(a.rule_id) in {"location_anomaly", "session_anomaly"}]
    if not placed or any(a.rule_id == "unfamiliar_country" for a in alerts):
        return None
    if len(breakdown.countries) != 1 or len(breakdown.countries[0][1]) < 2:
        return None
    country, cities, _ = breakdown.countries[0]
    return Reason(
        text=f"every sign-in is in one country ({country}, {len(cities)} cities): "
        "consistent with ISP or mobile carrier routing",
        effect="lowers", rule_id=placed[0].rule_id, event_ids=_ids(*(a.event_ids for a in placed)),
        points=-LOWER_POINTS["carrier_routing"])


def _known_device(evidence: Sequence[Evidence], known: Sequence[str]) -> Reason | None:
    alerted = [e for e in evidence if e.alerted and e.kind == "signin" and e.device]
    if not alerted or any(e.device not in known for e in alerted):
        return None
    return Reason(
        text="the alerted sign-ins came from a device the user signed in with before",
        effect="lowers", rule_id=None, event_ids=_ids([e.event_id or "" for e in alerted]),
        points=-LOWER_POINTS["known_device"])


def _secure_password_change(evidence: Sequence[Evidence]) -> Reason | None:
    changed = [e for e in evidence if e.risk_detail == SECURE_PASSWORD_CHANGE]
    if not changed:
        return None
    return Reason(
        text="the risk was remediated by a secure password change",
        effect="lowers", rule_id=None, event_ids=_ids([e.event_id or "" for e in changed]),
        points=-LOWER_POINTS["secure_password_change"])


def _consent_or_interrupts(evidence: Sequence[Evidence], breakdown: Breakdown) -> Reason | None:
    """The alerted sign-ins never got past a consent error (65001) or an interrupt (an MFA
    or device prompt), and nothing guessed a credential: not an attack that got in."""
    alerted = [e for e in evidence if e.alerted and e.kind == "signin"]
    counted = breakdown.signin_count("credential_failure") + breakdown.signin_count("mfa_failure")
    if not alerted or counted or any(e.result not in {"consent", "interrupt"} for e in alerted):
        return None
    return Reason(
        text=f"the alerted sign-ins ({len(alerted)}) stopped at consent errors or interrupts, "
        "and no credential was guessed", effect="lowers", rule_id=None,
        event_ids=_ids([e.event_id or "" for e in alerted]),
        points=-LOWER_POINTS["consent_or_interrupts"])


def score_incident(
    alerts: Sequence[AlertFacts],
    breakdown: Breakdown,
    evidence: Sequence[Evidence],
    known_devices: Sequence[str] = (),
) -> Scored:
    """The score, verdict and reasons of an incident with these alerts and evidence
    (the same whatever order the alerts come in)."""
    alerts = sorted(alerts, key=lambda a: (a.first_seen, a.rule_id, a.alert_id))
    raises = _family_reasons(alerts) + _signal_reasons(alerts)
    lowers = [r for r in (
        _carrier_routing(alerts, breakdown), _known_device(evidence, known_devices),
        _secure_password_change(evidence), _consent_or_interrupts(evidence, breakdown),
    ) if r is not None]
    score = max(0, min(100, sum(r.points for r in (*raises, *lowers))))
    roles = sorted({role for a in alerts for role in a.privileged_roles})
    if roles:
        lift = max(0, PRIVILEGED_FLOOR - score)
        raises.append(Reason(
            text=f"privileged account ({', '.join(roles[:3])}): any anomaly is at least high",
            effect="raises", rule_id=None,
            event_ids=_ids(*(a.event_ids for a in alerts if a.privileged_roles)), points=lift))
        score += lift
    ordered = sorted(raises, key=lambda r: (-r.points, r.text)) + sorted(
        lowers, key=lambda r: (r.points, r.text))
    return Scored(score=score, verdict=verdict_of(score), reasons=tuple(ordered),
                  privileged=bool(roles))
