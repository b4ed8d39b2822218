"""Shared predicates for rules, so each rule file stays a few lines of logic."""

from __future__ import annotations

from detections.model import (
    Event,
    Location,
    RiskDetection,
    Severity,
    SignIn,
)
from detections.rule import JsonValue

# riskDetail values explained for the analyst (seed 001).
RISK_DETAIL_MEANING = {
    "none": "no risk policy challenged this sign-in: it succeeded without any additional challenge",
    "userPassedMFADrivenByRiskBasedPolicy": (
        "the user was challenged by a risk-based policy and completed MFA: the control worked, "
        "but confirm it was the real user"
    ),
    "aiConfirmedSigninSafe": "Identity Protection later judged the sign-in safe",
    "adminConfirmedSigninCompromised": "an administrator confirmed the sign-in was malicious",
    "adminDismissedAllRiskForUser": "an administrator dismissed the user's risk",
    "userPerformedSecuredPasswordChange": (
        "the user resolved the risk with a secure password change"
    ),
    "hidden": "the detail is hidden (the tenant lacks an Entra ID P2 licence)",
}


def where(location: Location, ip_address: str | None) -> dict[str, str | float | None]:
    """The ``where`` part of an alert context: IP, city, state, country, coordinates."""
    return {
        "ip_address": ip_address,
        "city": location.city,
        "state": location.state,
        "country": location.country,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }


def who(event: Event) -> dict[str, str | None]:
    """The ``who`` part of an alert context."""
    return {
        "principal": event.principal,
        "user_id": getattr(event, "user_id", None),
        "display_name": getattr(event, "user_display_name", None),
    }


# An active risk level read as an alert severity (Panther's passthrough does the same).
LEVEL_SEVERITY = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}


def level_severity(level: str | None) -> Severity | None:
    """The severity of an active risk level; None for none, hidden or missing."""
    return LEVEL_SEVERITY.get(level or "")


def signed_in(sign_in: SignIn) -> bool:
    """A successful sign-in: result success and error code 0 (KQL ``ResultType == 0``)."""
    return sign_in.success and sign_in.error_code == 0


def detection_context(event: RiskDetection) -> dict[str, JsonValue]:
    """Who, where and the risk fields of a risk detection: what every detection alert shows."""
    return {
        **who(event),
        **where(event.location, event.ip_address),
        "risk_event_type": event.risk_event_type,
        "risk_level": event.risk_level,
        "risk_state": event.risk_state,
        "risk_detail": event.risk_detail,
        "detection_timing_type": event.detection_timing_type,
        "correlation_id": event.correlation_id,
        "request_id": event.request_id,
        "additional_info": dict(event.additional_info),
    }
