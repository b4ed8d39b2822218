"""Small event factories with overrides, for inline rule cases and tests.

A case states only the fields it is about: ``sign_in(risk_state="dismissed")``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from detections.model import (
    AuditActor,
    AuditTarget,
    Device,
    DirectoryAudit,
    Location,
    ModifiedProperty,
    RiskDetection,
    RiskyUser,
    SignIn,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC

SEATTLE = Location(
    city="Seattle", state="Washington", country="US", latitude=47.61, longitude=-122.33
)
LAPTOP = Device(
    device_id="dev-1", os="Windows 11", browser="Edge 130", is_compliant=True, is_managed=True
)

_SIGN_IN = SignIn(
    id="si-1",
    time=T0,
    category="interactiveUser",
    correlation_id="corr-1",
    user_principal_name="alice@contoso.com",
    user_id="u-alice",
    user_display_name="Alice",
    app_id="app-1",
    app_display_name="Office 365",
    resource_display_name="Office 365 Exchange Online",
    ip_address="203.0.113.10",
    location=SEATTLE,
    device=LAPTOP,
    error_code=0,
    success=True,
    interactive=True,
    risk_level_during_sign_in="none",
    risk_level_aggregated="none",
    risk_state="none",
    risk_detail="none",
    conditional_access_status="success",
    authentication_requirement="multiFactorAuthentication",
    session_id="sess-1",
    user_agent="Mozilla/5.0",
)

_DETECTION = RiskDetection(
    id="rd-1",
    time=T0,
    risk_event_type="unfamiliarFeatures",
    risk_level="medium",
    risk_state="atRisk",
    risk_detail="none",
    activity="signin",
    detection_timing_type="realtime",
    source="IdentityProtection",
    token_issuer_type="AzureAD",  # noqa: S106 - an issuer name, not a password
    request_id="req-1",
    correlation_id="corr-1",
    activity_time=T0,
    detected_time=T0,
    last_updated_time=T0,
    user_id="u-alice",
    user_principal_name="alice@contoso.com",
    user_display_name="Alice",
    ip_address="203.0.113.10",
    location=SEATTLE,
)

_RISKY_USER = RiskyUser(
    id="u-alice",
    time=T0,
    user_principal_name="alice@contoso.com",
    user_display_name="Alice",
    risk_level="high",
    risk_state="atRisk",
    risk_detail="none",
    is_deleted=False,
    is_processing=False,
)


def sign_in(**overrides: Any) -> SignIn:
    return replace(_SIGN_IN, **overrides)


def risk_detection(**overrides: Any) -> RiskDetection:
    return replace(_DETECTION, **overrides)


def risky_user(**overrides: Any) -> RiskyUser:
    return replace(_RISKY_USER, **overrides)


def series(
    n: int,
    *,
    prefix: str,
    start: datetime = T0,
    step: timedelta = timedelta(seconds=30),
    per_user: bool = False,
    **overrides: Any,
) -> tuple[SignIn, ...]:
    """``n`` sign-ins ``step`` apart from ``start``: timelines for inline cases.
    ``per_user`` gives each its own user (a spray); otherwise all are Alice's."""
    out = []
    for i in range(n):
        who: dict[str, Any] = (
            {"user_id": f"u-{prefix}{i}", "user_principal_name": f"{prefix}{i}@contoso.com"}
            if per_user
            else {}
        )
        out.append(sign_in(id=f"{prefix}{i}", time=start + i * step, **who, **overrides))
    return tuple(out)


# Directory audits: Alice acting on herself unless a case says otherwise.
ALICE_ACTOR = AuditActor(user_principal_name="alice@contoso.com", user_id="u-alice",
                         ip_address="203.0.113.10")
_AUDIT = DirectoryAudit(
    id="da-1",
    time=T0,
    activity_display_name="User registered security info",
    category="UserManagement",
    operation_type="Add",
    result="success",
    result_reason="User registered Authenticator App with Notification and Code",
    logged_by_service="Authentication Methods",
    initiated_by=ALICE_ACTOR,
    targets=(AuditTarget(type="User", id="u-alice", user_principal_name="alice@contoso.com",
                         display_name="Alice"),),
    correlation_id="corr-da-1",
)


def directory_audit(**overrides: Any) -> DirectoryAudit:
    return replace(_AUDIT, **overrides)


def user_actor(upn: str, user_id: str | None = None, ip: str = "198.51.100.7") -> AuditActor:
    return AuditActor(user_principal_name=upn, user_id=user_id, ip_address=ip)


def app_actor(name: str, app_id: str | None = None) -> AuditActor:
    return AuditActor(app_display_name=name, app_id=app_id, service_principal_id=f"sp-{name}")


def user_target(upn: str, user_id: str | None = None) -> AuditTarget:
    return AuditTarget(type="User", id=user_id, user_principal_name=upn)


def target(kind: str, name: str, target_id: str | None = None,
           **changed: tuple[str | None, str | None]) -> AuditTarget:
    """A non-user target; ``changed`` gives modified properties as (old, new) JSON text."""
    props = tuple(ModifiedProperty(name=k, old_value=old, new_value=new)
                  for k, (old, new) in changed.items())
    return AuditTarget(type=kind, id=target_id or f"{kind.lower()}-{name}", display_name=name,
                       modified_properties=props)
