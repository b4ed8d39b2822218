"""Graph ``riskDetection`` / ``servicePrincipalRiskDetection`` / ``riskyUser`` -> model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.model import RiskDetection, RiskyUser
from detections.normalize import fields as f
from detections.normalize.signin import NO_OUTER, Outer, event_id, own_or_outer_time


def build_risk_detection(p: Mapping[str, Any], outer: Outer = NO_OUTER) -> RiskDetection:
    g = p.get
    pre = outer.prefix
    activity_time = f.optional_time(g("activityDateTime"), pre + "activityDateTime")
    detected_time = f.optional_time(g("detectedDateTime"), pre + "detectedDateTime")
    last_updated = f.optional_time(g("lastUpdatedDateTime"), pre + "lastUpdatedDateTime")
    # When it happened, else when it was seen, else when the export says.
    when = activity_time or detected_time or last_updated
    if when is None:
        if not outer.time:
            raise f.FieldError(pre + "activityDateTime", "missing detection time")
        when = f.time(outer.time, outer.time_field)

    risk_type = g("riskEventType") or g("riskType")
    if not risk_type:
        raise f.FieldError(pre + "riskEventType", "missing riskEventType")
    sp_id = f.text(g("servicePrincipalId"))
    activity = f.text(g("activity"))
    if activity is None and sp_id and not g("userId"):
        activity = "servicePrincipal"
    return RiskDetection(
        id=event_id(p, outer, when),
        time=when,
        risk_event_type=str(risk_type),
        risk_level=f.level(g("riskLevel")),
        risk_state=f.risk_state(g("riskState")),
        risk_detail=f.text(g("riskDetail")),
        activity=activity,
        detection_timing_type=f.text(g("detectionTimingType")),
        source=f.text(g("source")),
        token_issuer_type=f.text(g("tokenIssuerType")),
        request_id=f.text(g("requestId")),
        correlation_id=f.text(g("correlationId") or outer.correlation_id),
        activity_time=activity_time,
        detected_time=detected_time,
        last_updated_time=last_updated,
        user_id=f.text(g("userId")),
        user_principal_name=f.text(g("userPrincipalName")),
        user_display_name=f.text(g("userDisplayName")),
        service_principal_id=sp_id,
        service_principal_name=f.text(
            g("servicePrincipalDisplayName") or g("servicePrincipalName")
        ),
        app_id=f.text(g("appId")),
        ip_address=f.text(g("ipAddress") or outer.ip),
        location=f.location(g("location"), pre + "location"),
        additional_info=f.additional_info(g("additionalInfo")),
        tenant_id=outer.tenant_id or f.text(g("tenantId") or g("homeTenantId")),
    )


def build_risky_user(p: Mapping[str, Any], outer: Outer = NO_OUTER) -> RiskyUser:
    g = p.get
    pre = outer.prefix
    when = own_or_outer_time(
        g("riskLastUpdatedDateTime"), "riskLastUpdatedDateTime", outer,
        "missing riskLastUpdatedDateTime",
    )
    user_id = g("id") or g("userId")
    if not user_id:
        raise f.FieldError(pre + "id", "missing the risky user's id")
    return RiskyUser(
        id=str(user_id),
        time=when,
        user_principal_name=f.text(g("userPrincipalName")),
        user_display_name=f.text(g("userDisplayName")),
        risk_level=f.level(g("riskLevel")),
        risk_state=f.risk_state(g("riskState")),
        risk_detail=f.text(g("riskDetail")),
        is_deleted=f.boolean(g("isDeleted")),
        is_processing=f.boolean(g("isProcessing")),
        is_guest=f.boolean(g("isGuest")),
        tenant_id=outer.tenant_id or f.text(g("tenantId")),
    )
