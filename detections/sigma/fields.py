"""What a Sigma field name means on a canonical event: one getter per field and service.

Sigma rules name fields as their source spells them: Log Analytics columns (``ResultType``,
``AuthenticationRequirement``), export property paths (``properties.message``) and Graph
names (``riskEventType``). Each is looked up case-insensitively (SigmaHQ writes both
``ResultDescription`` and ``Resultdescription``) and mapped onto one canonical field here,
so a rule matches Graph, export and Log Analytics records alike: they are all normalized
into the same events first.

A getter returns the field's value(s): a scalar, or a tuple for a field that has many
(every target of an audit record). ``None`` or an empty tuple is a missing field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, Literal, TypeAlias, cast

from detections.model import DirectoryAudit, Event, SignIn

Service: TypeAlias = Literal["riskdetection", "signinlogs", "auditlogs"]
FieldValue: TypeAlias = str | int | float | bool | tuple[str | None, ...] | None
Getter: TypeAlias = Callable[[Event], FieldValue]

# The canonical kind each supported logsource service reads.
KIND_OF_SERVICE: Mapping[Service, Literal["riskDetection", "signIn", "directoryAudit"]] = {
    "riskdetection": "riskDetection",
    "signinlogs": "signIn",
    "auditlogs": "directoryAudit",
}

# Graph's authenticationProtocol as the portal and the export's message show it (SigmaHQ's
# device-code and ROPC rules select ``properties.message: Device Code`` / ``ROPC``).
PROTOCOL_DISPLAY = {
    "deviceCode": "Device Code", "ropc": "ROPC", "oAuth2": "OAuth 2.0", "saml20": "SAML 2.0",
    "wsFederation": "WS-Federation", "authenticationTransfer": "Authentication transfer",
    "nativeAuth": "Native auth", "implicitAccessTokenAndGetResponseMode": "Implicit",
    "none": "None",
}


def _a(path: str) -> Getter:
    """An attribute (dotted: ``device.trust_type``), read at C speed: the hot path."""
    return cast(Getter, attrgetter(path))


def _fn(get: Callable[[Any], FieldValue]) -> Getter:
    """A computed field; only events of the rule's kind reach it (the engine's dispatch)."""
    return cast(Getter, get)


def _sign_in_status(e: SignIn) -> FieldValue:
    # Log Analytics' Status is an object; SigmaHQ compares it with 'Success' or looks for the
    # failure's words in it: the outcome, then the failure reason.
    return "Success" if e.success else ("Failure", e.failure_reason)


def _protocol(e: SignIn) -> FieldValue:
    raw = e.authentication_protocol
    return None if raw is None else (PROTOCOL_DISPLAY.get(raw, raw), raw)


SIGN_IN: dict[str, tuple[Getter, tuple[str, ...]]] = {
    # canonical name: (getter, the Sigma names that mean it, lower-cased)
    "signIn.error_code": (_a("error_code"), ("resulttype", "status.errorcode",
                                                         "errorcode")),
    "signIn.status": (_fn(_sign_in_status), ("status",)),
    "signIn.failure_reason": (_a("failure_reason"), (
        "resultdescription", "status.failurereason", "failurereason")),
    "signIn.user_agent": (_a("user_agent"), ("useragent",)),
    "signIn.resource_display_name": (_a("resource_display_name"),
                                     ("resourcedisplayname",)),
    "signIn.resource_id": (_a("resource_id"), ("resourceid",)),
    "signIn.conditional_access_status": (_a("conditional_access_status"),
                                         ("conditionalaccessstatus",)),
    "signIn.authentication_requirement": (_a("authentication_requirement"),
                                          ("authenticationrequirement",)),
    "signIn.authentication_protocol": (_fn(_protocol), ("authenticationprotocol",
                                                        "properties.message")),
    "signIn.risk_state": (_a("risk_state"), ("riskstate",)),
    "signIn.risk_detail": (_a("risk_detail"), ("riskdetail",)),
    "signIn.risk_level_during_sign_in": (_a("risk_level_during_sign_in"),
                                         ("risklevelduringsignin",)),
    "signIn.risk_level_aggregated": (_a("risk_level_aggregated"),
                                     ("risklevelaggregated",)),
    "signIn.risk_event_types": (_a("risk_event_types"),
                                ("riskeventtypes", "riskeventtypes_v2")),
    "signIn.client_app_used": (_a("client_app_used"), ("clientappused", "clientapp")),
    "signIn.app_display_name": (_a("app_display_name"), ("appdisplayname",)),
    "signIn.app_id": (_a("app_id"), ("appid",)),
    "signIn.user_principal_name": (_a("user_principal_name"),
                                   ("userprincipalname",)),
    "signIn.user_id": (_a("user_id"), ("userid",)),
    "signIn.user_display_name": (_a("user_display_name"), ("userdisplayname",)),
    "signIn.user_type": (_a("user_type"), ("usertype",)),
    "signIn.service_principal_name": (_a("service_principal_name"),
                                      ("serviceprincipalname",)),
    "signIn.ip_address": (_a("ip_address"), ("ipaddress",)),
    "signIn.autonomous_system_number": (_a("autonomous_system_number"),
                                        ("autonomoussystemnumber",)),
    "signIn.location.city": (_a("location.city"), ("locationdetails.city",)),
    "signIn.location.state": (_a("location.state"), ("locationdetails.state",)),
    "signIn.location.country": (_a("location.country"), (
        "locationdetails.countryorregion", "location")),
    "signIn.device.device_id": (_a("device.device_id"), ("devicedetail.deviceid",)),
    "signIn.device.display_name": (_a("device.display_name"),
                                   ("devicedetail.displayname",)),
    "signIn.device.os": (_a("device.os"), ("devicedetail.operatingsystem",)),
    "signIn.device.browser": (_a("device.browser"), ("devicedetail.browser",)),
    "signIn.device.is_compliant": (_a("device.is_compliant"),
                                   ("devicedetail.iscompliant",)),
    "signIn.device.is_managed": (_a("device.is_managed"), ("devicedetail.ismanaged",)),
    "signIn.device.trust_type": (_a("device.trust_type"), ("devicedetail.trusttype",)),
    "signIn.interactive": (_a("interactive"), ("isinteractive",)),
    "signIn.original_transfer_method": (_a("original_transfer_method"),
                                        ("originaltransfermethod",)),
    "signIn.incoming_token_type": (_a("incoming_token_type"), ("incomingtokentype",)),
    "signIn.session_id": (_a("session_id"), ("sessionid",)),
    "signIn.correlation_id": (_a("correlation_id"), ("correlationid",)),
    "signIn.tenant_id": (_a("tenant_id"), ("tenantid",)),
    "signIn.authentication_methods": (_a("authentication_methods"),
                                      ("authenticationdetails.authenticationmethod",)),
}

RISK_DETECTION: dict[str, tuple[Getter, tuple[str, ...]]] = {
    "riskDetection.risk_event_type": (_a("risk_event_type"), ("riskeventtype",)),
    "riskDetection.risk_level": (_a("risk_level"), ("risklevel",)),
    "riskDetection.risk_state": (_a("risk_state"), ("riskstate",)),
    "riskDetection.risk_detail": (_a("risk_detail"), ("riskdetail",)),
    "riskDetection.activity": (_a("activity"), ("activity",)),
    "riskDetection.detection_timing_type": (_a("detection_timing_type"),
                                            ("detectiontimingtype",)),
    "riskDetection.source": (_a("source"), ("source",)),
    "riskDetection.token_issuer_type": (_a("token_issuer_type"),
                                        ("tokenissuertype",)),
    "riskDetection.request_id": (_a("request_id"), ("requestid",)),
    "riskDetection.correlation_id": (_a("correlation_id"), ("correlationid",)),
    "riskDetection.user_id": (_a("user_id"), ("userid",)),
    "riskDetection.user_principal_name": (_a("user_principal_name"),
                                          ("userprincipalname",)),
    "riskDetection.user_display_name": (_a("user_display_name"),
                                        ("userdisplayname",)),
    "riskDetection.ip_address": (_a("ip_address"), ("ipaddress",)),
    "riskDetection.location.city": (_a("location.city"), ("location.city",)),
    "riskDetection.location.country": (_a("location.country"),
                                       ("location.countryorregion",)),
    "riskDetection.tenant_id": (_a("tenant_id"), ("tenantid",)),
}


def _fragment(name: str | None, old: str | None, new: str | None) -> str:
    # A modified property as the export's message quotes it (SigmaHQ's guest-to-member rule).
    return (f'"displayName":{json.dumps(name)},"oldValue":{json.dumps(old)},'
            f'"newValue":{json.dumps(new)}')


def _message(e: DirectoryAudit) -> FieldValue:
    """The operation name (AuditLogs have no ``properties.message``), then each modified
    property as a ``"displayName":..,"oldValue":..,"newValue":..`` fragment."""
    props = tuple(_fragment(p.name, p.old_value, p.new_value)
                  for t in e.targets for p in t.modified_properties)
    return (e.activity_display_name, *props)


def _target_texts(e: DirectoryAudit) -> FieldValue:
    out: list[str | None] = []
    for t in e.targets:
        out += [t.type, t.id, t.user_principal_name, t.display_name]
        for p in t.modified_properties:
            out += [p.name, p.old_value, p.new_value]
    return tuple(out)


def _modified(e: DirectoryAudit, part: Literal["name", "old", "new", "all"]) -> FieldValue:
    out: list[str | None] = []
    for t in e.targets:
        for p in t.modified_properties:
            if part in ("name", "all"):
                out.append(p.name)
            if part in ("old", "all"):
                out.append(p.old_value)
            if part in ("new", "all"):
                out.append(p.new_value)
    return tuple(out)


def _property_new_value(e: DirectoryAudit, name: str) -> FieldValue:
    """A modified property's new value, its JSON string quotes removed ('"False"' → False)."""
    for t in e.targets:
        p = t.property(name)
        if p is not None and p.new_value is not None:
            try:
                decoded = json.loads(p.new_value)
            except ValueError:
                return p.new_value
            return decoded if isinstance(decoded, str) else p.new_value
    return None


def _actor_texts(e: DirectoryAudit) -> FieldValue:
    a = e.initiated_by
    return (a.user_principal_name, a.user_id, a.app_display_name, a.service_principal_name)


AUDIT: dict[str, tuple[Getter, tuple[str, ...]]] = {
    "directoryAudit.activity": (_a("activity_display_name"), (
        "activitydisplayname", "operationname", "activity", "activitytype")),
    "directoryAudit.message": (_fn(_message), ("properties.message",)),
    "directoryAudit.category": (_a("category"), ("category",)),
    "directoryAudit.operation_type": (_a("operation_type"), ("operationtype",)),
    "directoryAudit.result": (_a("result"), ("properties.result", "result")),
    # Log Analytics' Status holds the result; SigmaHQ's TAP rule puts the reason there.
    "directoryAudit.status": (_fn(lambda e: (e.result, e.result_reason)), ("status",)),
    "directoryAudit.result_reason": (_a("result_reason"), (
        "resultreason", "failure_status_reason", "statusreason")),
    "directoryAudit.logged_by_service": (_a("logged_by_service"),
                                         ("loggedbyservice",)),
    "directoryAudit.initiated_by": (_fn(_actor_texts), ("initiatedby",)),
    "directoryAudit.initiated_by.upn": (_a("initiated_by.user_principal_name"), (
        "initiatedby.user.userprincipalname",)),
    "directoryAudit.initiated_by.ip": (_a("initiated_by.ip_address"), (
        "initiatedby.user.ipaddress",)),
    "directoryAudit.initiated_by.app": (_a("initiated_by.app_display_name"), (
        "initiatedby.app.displayname",)),
    "directoryAudit.targets": (_fn(_target_texts), (
        "targetresources", "properties.targetresources", "target")),
    "directoryAudit.targets.type": (_fn(lambda e: tuple(t.type for t in e.targets)), (
        "targetresources.type", "properties.targetresources.type")),
    "directoryAudit.targets.display_name": (
        _fn(lambda e: tuple(t.display_name for t in e.targets)),
        ("targetresources.displayname",)),
    "directoryAudit.targets.upn": (
        _fn(lambda e: tuple(t.user_principal_name for t in e.targets)),
        ("targetresources.userprincipalname",)),
    "directoryAudit.targets.modified": (_fn(lambda e: _modified(e, "all")), (
        "targetresources.modifiedproperties",)),
    "directoryAudit.targets.modified.name": (_fn(lambda e: _modified(e, "name")), (
        "targetresources.modifiedproperties.displayname",)),
    "directoryAudit.targets.modified.old": (_fn(lambda e: _modified(e, "old")), (
        "targetresources.modifiedproperties.oldvalue",)),
    "directoryAudit.targets.modified.new": (_fn(lambda e: _modified(e, "new")), (
        "targetresources.modifiedproperties.newvalue",)),
    "directoryAudit.consent_is_admin": (
        _fn(lambda e: _property_new_value(e, "ConsentContext.IsAdminConsent")),
        ("consentcontext.isadminconsent",)),
    "directoryAudit.additional_info": (_fn(lambda e: e.detail("additionalInfo")), (
        "additionaldetails.additionalinfo",)),
    "directoryAudit.additional_details": (
        _fn(lambda e: tuple(v for _, v in e.additional_details)), ("additionaldetails",)),
    "directoryAudit.correlation_id": (_a("correlation_id"), ("correlationid",)),
    "directoryAudit.tenant_id": (_a("tenant_id"), ("tenantid",)),
}

TABLES: Mapping[Service, dict[str, tuple[Getter, tuple[str, ...]]]] = {
    "signinlogs": SIGN_IN, "riskdetection": RISK_DETECTION, "auditlogs": AUDIT,
}
# Sigma name (lower-cased) → canonical name, per service: the processing pipeline's mapping.
SIGMA_NAMES: Mapping[Service, dict[str, str]] = {
    service: {alias: canonical for canonical, (_, aliases) in table.items() for alias in aliases}
    for service, table in TABLES.items()
}
GETTERS: dict[str, Getter] = {
    canonical: getter for table in TABLES.values() for canonical, (getter, _) in table.items()
}

# Fields SigmaHQ's Entra rules use that Riskwatch cannot map, and why (the rule is listed as
# unsupported with this reason rather than silently never matching).
UNMAPPED: Mapping[tuple[Service, str], str] = {
    ("signinlogs", "networklocationdetails"):
        "NetworkLocationDetails is kept as a trusted-location flag and names, not the "
        "column's JSON text the rule compares ('[]'); its DeviceDetail.deviceId '' never "
        "matches a missing id either",
    ("signinlogs", "activitydetails"):
        "ActivityDetails is not a column of SigninLogs nor a Graph signIn property",
    ("signinlogs", "username"):
        "Username is not a SigninLogs column (UserPrincipalName is)",
}
