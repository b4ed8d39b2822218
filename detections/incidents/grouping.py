"""Which alerts join which incident, when an incident closes, and when a revision is due.

- The principal: ``account_lockouts`` and the distributed ``password_spray`` (alerts that
  span many addresses) belong to the tenant; a one-address spray (burst or low and slow) and
  ``disabled_account_probing`` to that address; a directory-audit alert about the change's
  initiator, when that is an application or service principal, to that ``app`` (nobody
  recorded: the tenant); every other alert to its user (the lower-cased UPN).
- Any new alert of a principal joins its open incident. An incident closes after
  ``quiet`` (``RISKWATCH_INCIDENT_QUIET_DAYS``, 7 by default) without alert activity,
  or when all the risk behind it is closed: a risky-user record of the principal says
  remediated, dismissed or confirmedSafe and every alert of the incident is Identity
  Protection risk (a credential attack is not closed by a risk state). A later alert
  opens a new incident.
- ``incident_id`` hashes only the principal type, the principal and the opening alert's
  ``alert_id``, so scan and the app give the same id for the same input.
- ``revision`` starts at 1 and grows when the verdict rises or a rule not yet in the
  incident joins; more of the same only updates counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from detections.alerts import Alert
from detections.audit import ACTOR, ACTOR_TYPE
from detections.enrich import BusinessHours
from detections.incidents.breakdown import BreakdownTally, breakdown_of
from detections.incidents.model import (
    VERDICT_RANK,
    AlertFacts,
    Evidence,
    Incident,
    PrincipalType,
    Related,
)
from detections.incidents.scoring import family_of, score_incident
from detections.incidents.timeline import MAX_KEPT, shown, thin
from detections.model import CLOSED_RISK_STATES, Event, RiskyUser
from detections.rule import JsonValue

QUIET_DAYS = 7
TENANT = "tenant"  # the principal of tenant-wide incidents (one deployment per tenant)
TENANT_RULES = frozenset({"account_lockouts", "riskwatch_overflow"})
AITM_TYPES = frozenset({"anomalousToken", "attackerinTheMiddle", "tokenIssuerAnomaly"})
MAX_USERS = 200  # users a many-user alert lists


# Rules whose alert is about one source address (their principal text is a count).
IP_RULES = frozenset({"disabled_account_probing"})
IP_SPRAY_FORMS = frozenset({"single_ip", "slow"})  # password_spray's one-address forms


def _ip_of(context: Mapping[str, JsonValue], *keys: str) -> str | None:
    """The first address under ``keys`` (a list's first item, or a text)."""
    for key in keys:
        value = context.get(key)
        if isinstance(value, list) and value and isinstance(value[0], str) and value[0]:
            return value[0]
        if isinstance(value, str) and value:
            return value
    return None


def _initiator(principal: str, context: Mapping[str, JsonValue]
               ) -> tuple[PrincipalType, str] | None:
    """An audit alert about its initiator (``audit_context``'s ``actor``) that is no user:
    an application or service principal is its own ``app`` principal (its name would
    otherwise pass for a UPN, and a response could act on it); nobody recorded, the tenant."""
    if context.get(ACTOR) != principal:
        return None
    kind = context.get(ACTOR_TYPE)
    if kind == "app":
        return "app", principal
    if kind == "unknown":
        return "tenant", TENANT
    return None


def principal_of(
    rule_id: str, principal: str, context: Mapping[str, JsonValue]
) -> tuple[PrincipalType, str]:
    """The principal an alert (or match) of ``rule_id`` belongs to."""
    if rule_id in TENANT_RULES:
        return "tenant", TENANT
    if rule_id == "password_spray":
        ip = _ip_of(context, "ip_addresses", "ip_address")
        if context.get("form") in IP_SPRAY_FORMS and ip is not None:
            return "ip", ip
        return "tenant", TENANT
    if rule_id in IP_RULES:
        ip = _ip_of(context, "ip_address")
        return ("ip", ip) if ip is not None else ("tenant", TENANT)
    return _initiator(principal, context) or ("user", principal.lower())


def incident_id_for(principal_type: str, principal: str, opening_alert_id: str) -> str:
    text = f"{principal_type}\n{principal}\n{opening_alert_id}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# A device code or first-party client phish is at least a medium incident on its own.
PHISHING_FLOW_RULES = frozenset({"device_code_phishing", "first_party_client_phishing"})


def signals_of(
    rule_id: str, context: Mapping[str, JsonValue], severity: str | None = None
) -> tuple[str, ...]:
    """The facts of an alert's context that scoring raises on (scoring.SIGNAL_POINTS).

    An alert's context is its opening match's; ``severity`` is the alert's as it stands.
    MFA fatigue is high exactly when an approval followed, which a later match of the same
    alert may have brought."""
    found: list[str] = []
    challenged = context.get("challenged_by_risk_policy")
    if rule_id == "high_risk_signin_succeeded" and challenged is False:
        found.append("unchallenged")
    if rule_id == "success_after_failures" or (
        rule_id == "mfa_fatigue"
        and (context.get("success_followed") is True or severity == "high")
    ):
        found.append("success_after_failures")
    risk_type = context.get("risk_event_type")
    if isinstance(risk_type, str) and risk_type in AITM_TYPES:
        found.append("aitm")
    if risk_type == "leakedCredentials":
        found.append("leaked")
    changed = context.get("changed")
    if rule_id == "session_multiple_ips" and isinstance(changed, list) and "country" in changed:
        found.append("token_replay")
    if rule_id in PHISHING_FLOW_RULES:
        found.append("phishing_flow")
    if rule_id == "spray_success":  # with its high severity: at least medium, lowered or not
        found.append("sprayed_password")
    return tuple(found)


def _texts(value: JsonValue) -> tuple[str, ...]:
    return tuple(str(v) for v in value[:MAX_USERS]) if isinstance(value, list) else ()


def facts_of(alert: Alert) -> AlertFacts:
    """What an incident keeps of ``alert``."""
    return AlertFacts(
        alert_id=alert.alert_id, rule_id=alert.rule_id, severity=alert.severity.value,
        first_seen=alert.first_seen, last_seen=alert.last_seen, count=alert.count,
        event_ids=tuple(alert.event_ids),
        signals=signals_of(alert.rule_id, alert.context, alert.severity.value),
        privileged_roles=_texts(alert.context.get("privileged_roles")),
        users=_texts(alert.context.get("users")),
    )


def quiet_since(last_seen: datetime, at: datetime, quiet: timedelta) -> bool:
    """True when ``at`` is more than ``quiet`` after the incident's last activity."""
    return at - last_seen > quiet


def joins(incident: Incident | None, at: datetime, quiet: timedelta) -> bool:
    """Whether activity at ``at`` joins ``incident`` (open, and not quiet for too long)."""
    return (incident is not None and incident.closed is None
            and not quiet_since(incident.last_seen, at, quiet))


def risk_closes(rule_ids: Sequence[str], principal: str, event: Event) -> bool:
    """A risky-user record that closes every risk behind an incident of these rules."""
    return (
        isinstance(event, RiskyUser)
        and event.risk_state in CLOSED_RISK_STATES
        and event.principal.lower() == principal
        and bool(rule_ids)
        and all(family_of(r) == "identity_protection" for r in rule_ids)
    )


def _merge(old: Sequence[AlertFacts], new: Sequence[AlertFacts]) -> tuple[AlertFacts, ...]:
    merged = {a.alert_id: a for a in old}
    merged.update({a.alert_id: a for a in new})  # a newer view of an alert replaces the old
    return tuple(sorted(merged.values(), key=lambda a: (a.first_seen, a.rule_id, a.alert_id)))


def assemble(
    previous: Incident | None,
    principal_type: PrincipalType,
    principal: str,
    alerts: Sequence[AlertFacts],
    evidence: Sequence[Evidence],
    *,
    tally: BreakdownTally | None = None,
    known_devices: Sequence[str] = (),
    related: Sequence[Related] = (),
) -> Incident:
    """The incident with ``alerts`` and its ``evidence`` (kept, bounded), scored; its
    revision continues ``previous`` (the same incident before these alerts)."""
    ordered = _merge((), alerts)
    breakdown = tally.freeze() if tally is not None else breakdown_of(tuple(evidence))
    kept = thin(evidence, MAX_KEPT)
    scored = score_incident(ordered, breakdown, kept, known_devices)
    if previous is None:
        incident_id, revision = incident_id_for(principal_type, principal, ordered[0].alert_id), 1
    else:
        rises = VERDICT_RANK[scored.verdict] > VERDICT_RANK[previous.verdict]
        new_rule = bool({a.rule_id for a in ordered} - set(previous.rules))
        incident_id = previous.incident_id
        revision = previous.revision + (1 if rises or new_rule else 0)
    return Incident(
        incident_id=incident_id, revision=revision, principal=principal,
        principal_type=principal_type, verdict=scored.verdict, score=scored.score,
        reasons=scored.reasons, alerts=ordered,
        first_seen=min(a.first_seen for a in ordered),
        last_seen=max(a.last_seen for a in ordered), privileged=scored.privileged,
        breakdown=breakdown, timeline=shown(kept), related=tuple(related), evidence=kept,
        known_devices=tuple(known_devices), closed=previous.closed if previous else None,
    )


def revise(
    previous: Incident,
    new_alerts: Sequence[AlertFacts],
    new_evidence: Sequence[Evidence] = (),
    hours: BusinessHours | None = None,
) -> Incident:
    """``previous`` with alerts (new, or newer views of its own) and evidence that arrived
    since: the counts are extended, not recounted. The caller passes each event once."""
    tally = BreakdownTally.of(previous.breakdown, hours).add_all(tuple(new_evidence))
    return assemble(
        previous, previous.principal_type, previous.principal,
        _merge(previous.alerts, new_alerts), (*previous.evidence, *new_evidence),
        tally=tally, known_devices=previous.known_devices, related=previous.related,
    )


def close(incident: Incident, why: str) -> Incident:
    return replace(incident, closed=why)
