"""Events, and the records the correlation history kept, as compact incident evidence.

Text fields keep what the input said (attacker-controlled text is data; every output
format escapes it). Sign-in results use the one errorCode table (detections.failures).
"""

from __future__ import annotations

from sys import intern

from detections.correlation_history import device_of
from detections.failures import FailureClass, classify, classify_code
from detections.history_records import Attempt, SuccessSeen
from detections.incidents.model import Evidence
from detections.model import DirectoryAudit, Event, RiskDetection, RiskyUser, SignIn
from detections.predicates import is_active_level, user_key

RESULT_OF_FAILURE: dict[FailureClass, str] = {
    "none": "success",
    "credential": "credential_failure",
    "mfa": "mfa_failure",
    "interrupt": "interrupt",
    "consent": "consent",
    "policy": "policy_block",
    "other": "other",
}
RESULT_TEXT = {
    "success": "successful sign-in",
    "credential_failure": "failed sign-in (credentials)",
    "mfa_failure": "failed sign-in (MFA)",
    "interrupt": "interrupted sign-in",
    "consent": "sign-in needing consent",
    "policy_block": "sign-in blocked by policy",
    "other": "failed sign-in",
}
SECURE_PASSWORD_CHANGE = "userPerformedSecuredPasswordChange"  # noqa: S105 - a riskDetail


def principal_key(event: Event) -> str:
    """The key a user's incident follows: the lower-cased UPN (alerts name users by it)."""
    return event.principal.lower()


def _risk_of(event: SignIn) -> str | None:
    for level in (event.risk_level_during_sign_in, event.risk_level_aggregated):
        if is_active_level(level):
            return level
    return None


def _sign_in(event: SignIn, alerted: bool) -> Evidence:
    result = RESULT_OF_FAILURE[classify(event)]
    code = f" ({event.error_code})" if event.error_code else ""
    app = f" to {event.app_display_name}" if event.app_display_name else ""
    risk = _risk_of(event)
    at_risk = f" at {risk} risk" if risk else ""
    return Evidence(
        time=event.time, kind="signin", event_id=event.id,
        # Interned: an incident's ordinary sign-ins share a handful of summaries.
        summary=intern(f"{RESULT_TEXT[result]}{code}{app}{at_risk}"),
        user=event.principal, ip=event.ip_address, asn=event.autonomous_system_number,
        country=event.location.country, city=event.location.city, device=device_of(event),
        os=event.device.os, browser=event.device.browser, app=event.app_display_name,
        result=result, risk=risk, risk_detail=event.risk_detail, alerted=alerted,
    )


def _detection(event: RiskDetection, alerted: bool) -> Evidence:
    return Evidence(
        time=event.time, kind="detection", event_id=event.id,
        summary=f"{event.risk_event_type} detection, {event.risk_level or 'no'} level, "
        f"{event.risk_state or 'state unknown'}",
        user=event.principal, ip=event.ip_address, country=event.location.country,
        city=event.location.city, result=event.risk_state, risk=event.risk_level,
        risk_detail=event.risk_detail, alerted=alerted,
    )


def _risky_user(event: RiskyUser, alerted: bool) -> Evidence:
    detail = f" ({event.risk_detail})" if event.risk_detail and event.risk_detail != "none" else ""
    return Evidence(
        time=event.time, kind="risky_user", event_id=event.event_id,
        summary=f"user risk {event.risk_level or 'unknown'}, {event.risk_state or 'unknown'}"
        f"{detail}",
        user=event.principal, result=event.risk_state, risk=event.risk_level,
        risk_detail=event.risk_detail, alerted=alerted,
    )


def _audit(event: DirectoryAudit, alerted: bool) -> Evidence:
    # "User registered security info for bob@... by alice@...": what changed, for whom, by whom.
    target = next((t.user_principal_name or t.display_name for t in event.targets
                   if t.user_principal_name or t.display_name), None)
    on = f" on {target}" if target and target.lower() != event.principal.lower() else ""
    result = "" if event.succeeded else f" ({event.result or 'result unknown'})"
    return Evidence(
        time=event.time, kind="audit", event_id=event.id,
        summary=f"{event.activity_display_name}{on} by {event.principal}{result}",
        user=event.principal, ip=event.ip_address, app=event.logged_by_service,
        result=event.result, alerted=alerted,
    )


def evidence_of(event: Event, *, alerted: bool = False) -> Evidence:
    """``event`` as evidence; ``alerted`` when an alert of the incident fired on it."""
    if isinstance(event, SignIn):
        return _sign_in(event, alerted)
    if isinstance(event, RiskDetection):
        return _detection(event, alerted)
    if isinstance(event, DirectoryAudit):
        return _audit(event, alerted)
    return _risky_user(event, alerted)


def from_success(record: SuccessSeen, user: str | None) -> Evidence:
    """A successful interactive sign-in the correlation history kept (fewer fields)."""
    return Evidence(
        time=record.time, kind="signin", event_id=record.event_id,
        summary="successful sign-in (from the correlation history)", user=user,
        ip=record.ip, country=record.country, city=record.city, device=record.device,
        result="success", risk="flagged" if record.risky else None,
    )


def from_attempt(record: Attempt) -> Evidence:
    """A failure or accepted password the correlation history kept (fewer fields)."""
    result = RESULT_OF_FAILURE[classify_code(record.code)]
    code = f" ({record.code})" if record.code else ""
    return Evidence(
        time=record.time, kind="signin", event_id=record.event_id,
        summary=f"{RESULT_TEXT[result]}{code} (from the correlation history)",
        user=record.user, ip=record.ip, asn=record.asn, country=record.country, result=result,
    )


def user_key_of(event: Event) -> str:
    """The correlation history's key of the event's user (object id, else UPN)."""
    if isinstance(event, SignIn):
        return user_key(event)
    return (event.user_id or event.principal).lower()

