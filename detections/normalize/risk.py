"""Graph ``riskDetection`` / ``servicePrincipalRiskDetection`` / ``riskyUser`` -> model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.model import RiskDetection, RiskyUser
from detections.normalize import fields as f
from detections.normalize import nested as n
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

    s = f.string
    risk_type = s(g("riskEventType"), "riskEventType", pre) or s(g("riskType"), "riskType", pre)
    if not risk_type:
        raise f.FieldError(pre + "riskEventType", "missing riskEventType")
    sp_id = s(g("servicePrincipalId"), "servicePrincipalId", pre)
    user_id = s(g("userId"), "userId", pre)
    activity = s(g("activity"), "activity", pre)
    if activity is None and sp_id and not user_id:
        activity = "servicePrincipal"
    return RiskDetection(
        id=event_id(p, outer, when),
        time=when,
        risk_event_type=risk_type,
        risk_level=f.level(g("riskLevel"), "riskLevel", pre),
        risk_state=f.risk_state(g("riskState"), "riskState", pre),
        risk_detail=s(g("riskDetail"), "riskDetail", pre),
        activity=activity,
        detection_timing_type=s(g("detectionTimingType"), "detectionTimingType", pre),
        source=s(g("source"), "source", pre),
        token_issuer_type=s(g("tokenIssuerType"), "tokenIssuerType", pre),
        request_id=s(g("requestId"), "requestId", pre),
        correlation_id=s(g("correlationId"), "correlationId", pre)
        or s(outer.correlation_id, "correlationId"),
        activity_time=activity_time,
        detected_time=detected_time,
        last_updated_time=last_updated,
        user_id=user_id,
        user_principal_name=s(g("userPrincipalName"), "userPrincipalName", pre),
        user_display_name=s(g("userDisplayName"), "userDisplayName", pre),
        service_principal_id=sp_id,
        service_principal_name=s(
            g("servicePrincipalDisplayName"), "servicePrincipalDisplayName", pre
        )
        or s(g("servicePrincipalName"), "servicePrincipalName", pre),
        app_id=s(g("appId"), "appId", pre),
        ip_address=s(g("ipAddress"), "ipAddress", pre) or s(outer.ip, "callerIpAddress"),
        location=n.location(g("location"), pre + "location"),
        additional_info=n.additional_info(g("additionalInfo"), pre + "additionalInfo"),
        tenant_id=outer.tenant_id
        or s(g("tenantId"), "tenantId", pre)
        or s(g("homeTenantId"), "homeTenantId", pre),
    )


def build_risky_user(p: Mapping[str, Any], outer: Outer = NO_OUTER) -> RiskyUser:
    g = p.get
    pre = outer.prefix
    when = own_or_outer_time(
        g("riskLastUpdatedDateTime"), "riskLastUpdatedDateTime", outer,
        "missing riskLastUpdatedDateTime",
    )
    s = f.string
    user_id = s(g("id"), "id", pre) or s(g("userId"), "userId", pre)
    if not user_id:
        raise f.FieldError(pre + "id", "missing the risky user's id")
    return RiskyUser(
        id=user_id,
        time=when,
        user_principal_name=s(g("userPrincipalName"), "userPrincipalName", pre),
        user_display_name=s(g("userDisplayName"), "userDisplayName", pre),
        risk_level=f.level(g("riskLevel"), "riskLevel", pre),
        risk_state=f.risk_state(g("riskState"), "riskState", pre),
        risk_detail=s(g("riskDetail"), "riskDetail", pre),
        is_deleted=f.boolean(g("isDeleted")),
        is_processing=f.boolean(g("isProcessing")),
        is_guest=f.boolean(g("isGuest")),
        tenant_id=outer.tenant_id or s(g("tenantId"), "tenantId", pre),
    )
