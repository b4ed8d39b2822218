"""Serialisation: one sign-in attempt -> a Graph signIn object (beta fields included) and
the same properties wrapped as an Azure Monitor diagnostic-settings record.

The field names and value vocabularies are those of the Graph docs example response and the
Elastic integration's export samples (../shared/peer-corpus).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from synth.geo import City
from synth.tenant import App, Device

# Real AADSTS codes and the failure reasons Entra writes for them.
FAILURE_REASONS: dict[int, str] = {
    0: "Other.",
    50126: "Error validating credentials due to invalid username or password.",
    50034: "The user account does not exist in the directory. To sign into this application, "
    "the account must be added to the directory.",
    50053: "The account is locked, you've tried to sign in too many times with an incorrect "
    "user ID or password.",
    500121: "Authentication failed during strong authentication request.",
    50074: "Strong Authentication is required.",
    50076: "Due to a configuration change made by your administrator, or because you moved to a "
    "new location, you must use multi-factor authentication to access the resource.",
    50140: "This error occurred due to 'Keep me signed in' interrupt when the user was signing-in.",
    50058: "Session information is not sufficient for single-sign-on.",
    65001: "The user or administrator has not consented to use the application. Send an "
    "interactive authorization request for this user and resource.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not "
    "allow token issuance.",
    70043: "The refresh token has expired or is invalid due to sign-in frequency checks by "
    "conditional access.",
}
TENANT_ID = "7d2c5a4e-3b1f-4c8e-9a6d-5f0e1b2c3d4e"


def iso(t: float) -> str:
    """Graph's timestamp form: UTC, seven fractional digits, ``Z``."""
    moment = datetime.fromtimestamp(round(t, 3), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


@dataclass(slots=True, kw_only=True)
class Attempt:
    """One sign-in attempt, as the generator thinks of it before serialising."""

    id: str
    t: float
    correlation_id: str
    user_id: str
    upn: str
    display_name: str
    app: App
    ip: str
    asn: int
    city: City
    device: Device
    session_id: str
    interactive: bool = True
    error: int = 0
    user_agent: str | None = None  # None: the device's own
    risk_during: str = "none"
    risk_aggregated: str = "none"
    risk_state: str = "none"
    risk_detail: str = "none"
    risk_types: tuple[str, ...] = ()
    ca_status: str = "notApplied"
    mfa: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # story-specific overrides


def location(city: City) -> dict[str, Any]:
    return {
        "city": city.name,
        "state": city.state,
        "countryOrRegion": city.country,
        "geoCoordinates": {"altitude": None, "latitude": city.lat, "longitude": city.lon},
    }


def graph_signin(a: Attempt) -> dict[str, Any]:
    profile = a.device.profile
    failed = a.error != 0
    record: dict[str, Any] = {
        "id": a.id,
        "createdDateTime": iso(a.t),
        "userDisplayName": a.display_name,
        "userPrincipalName": a.upn,
        "userId": a.user_id,
        "userType": "member",
        "appId": a.app.app_id,
        "appDisplayName": a.app.name,
        "ipAddress": a.ip,
        "autonomousSystemNumber": a.asn,
        "clientAppUsed": a.app.client,
        "userAgent": a.user_agent if a.user_agent is not None else profile.user_agent,
        "correlationId": a.correlation_id,
        "sessionId": a.session_id,
        "conditionalAccessStatus": a.ca_status,
        "isInteractive": a.interactive,
        "signInEventTypes": ["interactiveUser" if a.interactive else "nonInteractiveUser"],
        "authenticationRequirement": (
            "multiFactorAuthentication" if a.mfa else "singleFactorAuthentication"
        ),
        "tokenIssuerType": "AzureAD",
        "riskDetail": a.risk_detail,
        "riskLevelAggregated": a.risk_aggregated,
        "riskLevelDuringSignIn": a.risk_during,
        "riskState": a.risk_state,
        "riskEventTypes": list(a.risk_types),
        "riskEventTypes_v2": list(a.risk_types),
        "resourceDisplayName": a.app.resource,
        "resourceId": a.app.resource_id,
        "resourceTenantId": TENANT_ID,
        "homeTenantId": TENANT_ID,
        "status": {
            "errorCode": a.error,
            "failureReason": FAILURE_REASONS.get(a.error, "Other.") if failed else None,
            "additionalDetails": None,
        },
        "deviceDetail": {
            "deviceId": a.device.device_id,
            "displayName": a.device.display_name,
            "operatingSystem": profile.os,
            "browser": profile.browser,
            "isCompliant": a.device.is_compliant,
            "isManaged": a.device.is_managed,
            "trustType": profile.trust_type if a.device.device_id else None,
        },
        "location": location(a.city),
    }
    record.update(a.extra)
    return record


def graph_detection(**values: Any) -> dict[str, Any]:
    """A riskDetection with Graph's key order; ``values`` holds them by their Graph names."""
    keys = ("id", "requestId", "correlationId", "riskEventType", "riskState", "riskLevel",
            "riskDetail", "source", "detectionTimingType", "activity", "tokenIssuerType",
            "ipAddress", "location", "activityDateTime", "detectedDateTime",
            "lastUpdatedDateTime", "userId", "userDisplayName", "userPrincipalName",
            "additionalInfo")  # fmt: skip
    return {key: values.get(key) for key in keys}


def graph_risky_user(**values: Any) -> dict[str, Any]:
    keys = ("id", "isDeleted", "isProcessing", "riskLastUpdatedDateTime", "riskLevel",
            "riskState", "riskDetail", "userDisplayName", "userPrincipalName")  # fmt: skip
    return {key: values.get(key) for key in keys}


CATEGORY = {
    "signIn": "SignInLogs",
    "nonInteractiveSignIn": "NonInteractiveUserSignInLogs",
    "riskDetection": "UserRiskEvents",
    "riskyUser": "RiskyUsers",
    "directoryAudit": "AuditLogs",
}
_OPERATION = {
    "SignInLogs": "Sign-in activity",
    "NonInteractiveUserSignInLogs": "Sign-in activity",
    "UserRiskEvents": "User Risk Detection",
    "RiskyUsers": "Risky user",
}


def category_of(kind: str, record: dict[str, Any]) -> str:
    if kind == "signIn" and not record.get("isInteractive"):
        return CATEGORY["nonInteractiveSignIn"]
    return CATEGORY[kind]


def diagnostic(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The export record (PT1H.json line / Event Hub message) carrying ``record``."""
    category = category_of(kind, record)
    out: dict[str, Any] = {
        "time": _export_time(kind, record),
        "resourceId": f"/tenants/{TENANT_ID}/providers/Microsoft.aadiam",
        "operationName": _OPERATION.get(category),
        "operationVersion": "1.0",
        "category": category,
        "tenantId": TENANT_ID,
    }
    if kind == "signIn":
        code = record["status"]["errorCode"]
        out["resultType"] = str(code)
        out["resultSignature"] = "None"
        if code:
            out["resultDescription"] = record["status"]["failureReason"]
        out["callerIpAddress"] = record["ipAddress"]
        out["correlationId"] = record["correlationId"]
        out["location"] = record["location"]["countryOrRegion"]
    elif kind == "riskDetection":
        out["resultSignature"] = "None"
        out["callerIpAddress"] = record.get("ipAddress")
        out["correlationId"] = record["id"]
    elif kind == "directoryAudit":  # the operation is the activity itself
        out["operationName"] = record["activityDisplayName"]
        out["resultSignature"] = "None"
        out["callerIpAddress"] = ((record["initiatedBy"] or {}).get("user") or {}).get("ipAddress")
        out["correlationId"] = record["correlationId"]
    else:
        out["resultSignature"] = "None"
        out["correlationId"] = record["id"]
    out["durationMs"] = 0
    out["identity"] = record.get("userDisplayName")
    out["Level"] = 4
    out["properties"] = record
    return out


def _export_time(kind: str, record: dict[str, Any]) -> str:
    if kind == "signIn":
        return str(record["createdDateTime"])
    if kind == "riskDetection":
        return str(record["lastUpdatedDateTime"])
    if kind == "directoryAudit":
        return str(record["activityDateTime"])
    return str(record["riskLastUpdatedDateTime"])


def dumps(record: dict[str, Any]) -> str:
    """Compact, key order kept, non-ASCII kept: byte-identical for identical input."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def detection_for(
    a: Attempt,
    detection_id: str,
    *,
    risk_type: str,
    level: str,
    state: str,
    detail: str,
    timing: str = "realtime",
    detected_after: float = 0.0,
    updated_after: float = 0.0,
) -> dict[str, Any]:
    """The sign-in riskDetection Identity Protection writes for attempt ``a``."""
    info = json.dumps([{"Key": "userAgent", "Value": a.user_agent or a.device.profile.user_agent}])
    return graph_detection(
        id=detection_id,
        requestId=a.id,
        correlationId=a.correlation_id,
        riskEventType=risk_type,
        riskState=state,
        riskLevel=level,
        riskDetail=detail,
        source="IdentityProtection",
        detectionTimingType=timing,
        activity="signin",
        tokenIssuerType="AzureAD",
        ipAddress=a.ip,
        location=location(a.city),
        activityDateTime=iso(a.t),
        detectedDateTime=iso(a.t + detected_after),
        lastUpdatedDateTime=iso(a.t + detected_after + updated_after),
        userId=a.user_id,
        userDisplayName=a.display_name,
        userPrincipalName=a.upn,
        additionalInfo=info,
    )
