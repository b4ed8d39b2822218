"""Graph ``signIn`` object (v1.0 and beta) -> SignIn.

The diagnostic export's ``properties`` and a renamed Log Analytics row are the
same object, so every format ends here; what only the wrapper knows (export
category, top-level time, caller IP, resultType) comes in as an ``Outer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from detections.model import NO_DEVICE, NO_LOCATION, Device, SignIn, SignInCategory
from detections.normalize import authdetail as a
from detections.normalize import fields as f
from detections.normalize import nested as n
from detections.normalize.construct import fast_constructor
from detections.normalize.netlocation import network_location
from detections.normalize.texts import TextFields

_EVENT_TYPE_CATEGORY: dict[str, SignInCategory] = {
    "interactiveUser": "interactiveUser",
    "nonInteractiveUser": "nonInteractiveUser",
    "servicePrincipal": "servicePrincipal",
    "managedIdentity": "managedIdentity",
}
_INTERACTIVE_BY_CATEGORY: dict[str, bool] = {
    "interactiveUser": True,
    "nonInteractiveUser": False,
    "servicePrincipal": False,
    "managedIdentity": False,
}


@dataclass(slots=True)  # not frozen: one per export record, and frozen init is slow
class Outer:
    """What a wrapper (export record, Log Analytics row) knows beside the object itself."""

    prefix: str = ""  # path of the object in the record, for Skip messages
    category: SignInCategory | None = None
    time: object = None
    time_field: str = "time"
    ip: object = None
    result: object = None
    result_field: str = "resultType"
    tenant_id: str | None = None
    correlation_id: object = None


NO_OUTER = Outer()


def own_or_outer_time(raw: object, field: str, outer: Outer, missing: str) -> datetime:
    """The object's own time field, else the wrapper's time, else a Skip naming the field."""
    if raw:
        return f.time(raw, outer.prefix + field)
    if outer.time:
        return f.time(outer.time, outer.time_field)
    raise f.FieldError(outer.prefix + field, missing)


_sign_in = fast_constructor(SignIn)
_new_device = fast_constructor(Device)
# Model attribute -> the Graph field it is read from (for the Skip message).
_SIGN_IN_TEXTS = TextFields(
    {
        "id": "id",
        "correlation_id": "correlationId",
        "user_principal_name": "userPrincipalName",
        "user_id": "userId",
        "user_display_name": "userDisplayName",
        "service_principal_name": "servicePrincipalName",
        "service_principal_id": "servicePrincipalId",
        "app_id": "appId",
        "app_display_name": "appDisplayName",
        "resource_display_name": "resourceDisplayName",
        "ip_address": "ipAddress",
        "failure_reason": "status.failureReason",
        "risk_detail": "riskDetail",
        "conditional_access_status": "conditionalAccessStatus",
        "authentication_requirement": "authenticationRequirement",
        "session_id": "sessionId",
        "user_agent": "userAgent",
        "client_app_used": "clientAppUsed",
        "tenant_id": "tenantId",
        "authentication_protocol": "authenticationProtocol",
        "original_transfer_method": "originalTransferMethod",
        "incoming_token_type": "incomingTokenType",
        "user_type": "userType",
        "location.city": "location.city",
        "location.state": "location.state",
        "location.country": "location.countryOrRegion",
        "device.device_id": "deviceDetail.deviceId",
        "device.display_name": "deviceDetail.displayName",
        "device.os": "deviceDetail.operatingSystem",
        "device.browser": "deviceDetail.browser",
        "device.trust_type": "deviceDetail.trustType",
    }
)


def event_id(p: Mapping[str, Any], outer: Outer, when: datetime) -> str:
    """The record's id; exports without one fall back to correlationId@time."""
    rid = p.get("id")
    rid = f.string(rid, "id", outer.prefix) if rid else f.string(
        p.get("originalRequestId"), "originalRequestId", outer.prefix
    )
    if rid:
        return rid
    corr = f.string(p.get("correlationId"), "correlationId", outer.prefix) or f.string(
        outer.correlation_id, "correlationId"
    )
    if corr:
        return f"{corr}@{when.isoformat()}"
    raise f.FieldError(outer.prefix + "id", "missing id (and no correlationId to stand in)")


def build_sign_in(p: Mapping[str, Any], outer: Outer = NO_OUTER) -> SignIn:
    # The per-record hot path: plain gets ("" -> None), every text field checked at once.
    g = p.get
    c = f.common  # texts that repeat across records: one shared object each
    pre = outer.prefix
    when = own_or_outer_time(g("createdDateTime"), "createdDateTime", outer, "missing sign-in time")

    status = g("status")
    if type(status) is not dict:
        status = n.obj(status, pre + "status")
    code: object = status.get("errorCode") if status else None
    if type(code) is int and -f.MAX_ERROR_CODE < code < f.MAX_ERROR_CODE:
        error_code = code
    elif code is not None and code != "":
        error_code = f.error_code(code, pre + "status.errorCode")
    elif outer.result is not None and outer.result != "":
        error_code = f.error_code(outer.result, outer.result_field)
    else:
        error_code = 0  # Graph always sends status; a bare record is read as success

    category = outer.category or _category(p)
    interactive = g("isInteractive")
    if type(interactive) is not bool:
        interactive = f.boolean(interactive)
        if interactive is None:
            interactive = _INTERACTIVE_BY_CATEGORY.get(category)

    risk_types = g("riskEventTypes_v2") or g("riskEventTypes") or ()
    if risk_types:
        risk_types = n.str_list(risk_types, pre + "riskEventTypes")

    device = g("deviceDetail")
    location = g("location")
    networks = g("networkLocationDetails")
    trusted, named = (
        network_location(networks, pre + "networkLocationDetails") if networks else (None, ())
    )
    return _SIGN_IN_TEXTS.checked(
        _sign_in(
            id=event_id(p, outer, when),
            time=when,
            category=category,
            correlation_id=g("correlationId") or f.string(outer.correlation_id, "correlationId"),
            user_principal_name=g("userPrincipalName") or None,
            user_id=g("userId") or None,
            user_display_name=g("userDisplayName") or None,
            service_principal_name=g("servicePrincipalName") or None,
            service_principal_id=g("servicePrincipalId") or None,
            app_id=c(g("appId")),
            app_display_name=c(g("appDisplayName")),
            resource_display_name=c(g("resourceDisplayName")),
            ip_address=g("ipAddress") or f.string(outer.ip, "callerIpAddress"),
            autonomous_system_number=f.asn(g("autonomousSystemNumber")),
            location=n.location(location, pre + "location", checked=False)
            if location
            else NO_LOCATION,
            device=_device(device, pre + "deviceDetail") if device else NO_DEVICE,
            error_code=error_code,
            failure_reason=c(status.get("failureReason")) if status else None,
            success=error_code == 0,
            interactive=interactive,
            risk_level_during_sign_in=f.level(
                g("riskLevelDuringSignIn"), "riskLevelDuringSignIn", pre
            ),
            risk_level_aggregated=f.level(g("riskLevelAggregated"), "riskLevelAggregated", pre),
            risk_state=f.risk_state(g("riskState"), "riskState", pre),
            risk_detail=c(g("riskDetail")),
            risk_event_types=risk_types,
            conditional_access_status=c(g("conditionalAccessStatus")),
            authentication_requirement=c(g("authenticationRequirement")),
            session_id=g("sessionId") or None,
            user_agent=c(g("userAgent")),
            client_app_used=c(g("clientAppUsed")),
            tenant_id=outer.tenant_id or c(g("tenantId") or g("homeTenantId")),
            authentication_protocol=c(g("authenticationProtocol")),
            original_transfer_method=c(g("originalTransferMethod")),
            incoming_token_type=c(g("incomingTokenType")),
            # Log Analytics names the resource's app id ResourceIdentity (its ResourceId
            # is the log's Azure path); Graph and the export's properties say resourceId.
            resource_id=a.resource_app_id(g("resourceIdentity") or g("resourceId"),
                                          pre + "resourceId"),
            conditional_access_audiences=a.audiences(
                g("conditionalAccessAudiences"), pre + "conditionalAccessAudiences"
            ),
            authentication_methods=a.methods(
                g("authenticationDetails"), pre + "authenticationDetails"
            ),
            user_type=c(g("userType")),
            trusted_location=trusted,
            named_networks=named,
        ),
        pre,
    )


def _category(p: Mapping[str, Any]) -> SignInCategory:
    """Graph beta's signInEventTypes, else isInteractive, else the principal type."""
    types = p.get("signInEventTypes")
    if types:
        for t in types if type(types) is list else n.str_list(types, "signInEventTypes"):
            category = _EVENT_TYPE_CATEGORY.get(t) if type(t) is str else None
            if category:
                return category
    interactive = f.boolean(p.get("isInteractive"))
    if interactive is False:
        return "nonInteractiveUser"
    if interactive is None and p.get("servicePrincipalId") and not p.get("userId"):
        return "servicePrincipal"
    return "interactiveUser"


def _device(value: object, field: str) -> Device:
    d = value if type(value) is dict else n.obj(value, field)
    if not d:
        return NO_DEVICE
    g = d.get
    c = f.common
    # Text fields unchecked here: build_sign_in checks them with its own (one pass).
    return _new_device(
        device_id=g("deviceId") or None,
        display_name=c(g("displayName")),
        os=c(g("operatingSystem")),
        browser=c(g("browser")),
        is_compliant=f.boolean(g("isCompliant")),
        is_managed=f.boolean(g("isManaged")),
        trust_type=c(g("trustType")),
    )
