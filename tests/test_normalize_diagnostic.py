"""Azure Monitor diagnostic-settings records -> the model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from detections.model import DirectoryAudit, RiskDetection, RiskyUser, SignIn
from detections.normalize import Skip, decode, normalize_record


def export_record(category: str = "SignInLogs", **props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": "si-1",
        "createdDateTime": "2026-11-02T09:00:00.1234567+00:00",
        "userPrincipalName": "alice@contoso.com",
        "userId": "u-alice",
        "appId": "app-1",
        "ipAddress": "203.0.113.10",
        "status": {"errorCode": 0},
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
    }
    properties.update(props)
    return {
        "time": "2026-11-02T09:00:05.0000000Z",
        "category": category,
        "operationName": "Sign-in activity",
        "resultType": "0",
        "callerIpAddress": "203.0.113.10",
        "tenantId": "t-1",
        "correlationId": "corr-1",
        "properties": properties,
    }


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("SignInLogs", "interactiveUser"),
        ("NonInteractiveUserSignInLogs", "nonInteractiveUser"),
        ("ServicePrincipalSignInLogs", "servicePrincipal"),
        ("MicrosoftServicePrincipalSignInLogs", "servicePrincipal"),
        ("ManagedIdentitySignInLogs", "managedIdentity"),
        ("ADFSSignInLogs", "adfs"),
    ],
)
def test_sign_in_category_comes_from_the_export_category(category: str, expected: str) -> None:
    event = normalize_record(export_record(category))
    assert isinstance(event, SignIn)
    assert event.category == expected
    assert event.tenant_id == "t-1"


def test_lower_case_top_level_keys_and_numeric_result_type() -> None:
    rec = export_record("ServicePrincipalSignInLogs", status={}, ipAddress=None)
    lowered = {k.lower(): v for k, v in rec.items()}
    lowered["resulttype"] = 7000215
    event = normalize_record(lowered)
    assert isinstance(event, SignIn)
    assert event.error_code == 7000215 and event.success is False
    assert event.ip_address == "203.0.113.10"  # callerIpAddress when properties has none
    assert event.tenant_id == "t-1"


def test_result_type_string_when_status_is_missing() -> None:
    rec = export_record(status=None)
    rec["resultType"] = "50053"
    event = normalize_record(rec)
    assert isinstance(event, SignIn) and event.error_code == 50053
    rec["resultType"] = "Success"
    assert normalize_record(rec) == normalize_record(export_record())


def test_non_numeric_result_type_is_skipped_naming_the_field() -> None:
    rec = export_record(status=None)
    rec["resultType"] = "kaput"
    result = normalize_record(rec, source="PT1H.json", line=7)
    assert isinstance(result, Skip)
    assert (result.where.line, result.where.field) == (7, "resultType")


def test_export_time_and_correlation_stand_in_when_properties_lack_them() -> None:
    event = normalize_record(export_record(id=None, createdDateTime=None))
    assert isinstance(event, SignIn)
    assert event.time.isoformat() == "2026-11-02T09:00:05+00:00"
    assert event.id.startswith("corr-1@")


def test_risk_events_and_risky_users() -> None:
    detection = export_record(
        "UserRiskEvents",
        riskEventType="leakedCredentials",
        riskLevel="High",
        activity="user",
        activityDateTime="8/22/2022 6:05:06 PM",
    )
    event = normalize_record(detection)
    assert isinstance(event, RiskDetection)
    assert (event.risk_event_type, event.risk_level, event.activity) == (
        "leakedCredentials",
        "high",
        "user",
    )
    risky = export_record("RiskyUsers", riskLastUpdatedDateTime="2022-09-09T9:59:27.958Z")
    event2 = normalize_record(risky)
    assert isinstance(event2, RiskyUser) and event2.id == "si-1"


def test_other_categories_are_skipped_with_their_category() -> None:
    rec = export_record("ProvisioningLogs")
    rec["operationName"] = "Process escrow"
    result = normalize_record(rec, source="provisioning.json", line=2)
    assert isinstance(result, Skip)
    assert result.where.field == "category"
    assert "ProvisioningLogs" in result.reason and "not a sign-in" in result.reason


def test_an_audit_record_without_an_activity_name_takes_the_operation_name() -> None:
    # AuditLogs is a directory audit (tests/test_normalize_audit.py has the shape itself).
    rec = export_record("AuditLogs")
    rec["operationName"] = "Add member to role"
    event = normalize_record(rec, source="audit.json", line=2)
    assert isinstance(event, DirectoryAudit)
    assert event.activity_display_name == "Add member to role"
    assert event.time.isoformat() == "2026-11-02T09:00:05+00:00"  # the record's time


def test_missing_properties_is_skipped() -> None:
    rec = export_record()
    del rec["properties"]
    result = normalize_record(rec)
    assert isinstance(result, Skip) and result.where.field == "properties"


def test_records_envelope_is_decoded_line_by_line_and_as_a_document() -> None:
    envelope = {"records": [export_record(), export_record("UserRiskEvents", riskEventType="x")]}
    one_line = list(decode("eh.json", [json.dumps(envelope) + "\n"] * 2))
    assert [type(e) for e in one_line] == [SignIn, RiskDetection, SignIn, RiskDetection]
    pretty = list(decode("PT1H.json", json.dumps(envelope, indent=1).splitlines(keepends=True)))
    assert [type(e) for e in pretty] == [SignIn, RiskDetection]


@pytest.mark.parametrize("spelling", [str.capitalize, str.upper])
def test_capitalised_top_level_keys_are_detected_by_auto(spelling: Any) -> None:
    # Some exporters write Time, Category, Properties (and TenantId, a Log Analytics
    # column name too): --format auto must read them as --format diagnostic does.
    rec = {spelling(k) if k != "tenantId" else "TenantId": v for k, v in export_record().items()}
    line = json.dumps(rec) + "\n"
    (auto,) = list(decode("caps.jsonl", [line]))
    (forced,) = list(decode("caps.jsonl", [line], fmt="diagnostic"))
    assert isinstance(auto, SignIn) and auto == forced
    assert auto.id == "si-1" and auto.category == "interactiveUser" and auto.tenant_id == "t-1"
