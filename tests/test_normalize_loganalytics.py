"""Log Analytics / Sentinel rows (JSON and the portal's CSV export) -> the model."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

from detections.model import RiskDetection, RiskyUser, SignIn
from detections.normalize import Skip, decode, normalize_record


def signin_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "TimeGenerated": "2026-11-02T09:00:05Z",
        "Type": "SigninLogs",
        "TenantId": "t-1",
        "Id": "si-1",
        "CreatedDateTime": "2026-11-02T09:00:00Z",
        "UserPrincipalName": "alice@contoso.com",
        "UserId": "u-alice",
        "AppDisplayName": "Office 365",
        "IPAddress": "203.0.113.10",
        "Location": "US",
        "LocationDetails": {
            "city": "Seattle",
            "state": "Washington",
            "countryOrRegion": "US",
            "geoCoordinates": {"latitude": 47.61, "longitude": -122.33},
        },
        "DeviceDetail": {"operatingSystem": "Windows 11", "isManaged": True},
        "Status": {"errorCode": 0},
        "ResultType": "0",
        "IsInteractive": True,
        "RiskLevelDuringSignIn": "high",
        "RiskLevelAggregated": "medium",
        "RiskState": "atRisk",
        "RiskDetail": "none",
        "RiskEventTypes_V2": '["unfamiliarFeatures","anonymizedIPAddress"]',
        "ConditionalAccessStatus": "success",
    }
    row.update(overrides)
    return row


def to_csv(rows: list[dict[str, Any]]) -> list[str]:
    """The portal's export: "[UTC]" on time columns, nested values as JSON text."""
    out = io.StringIO()
    columns = list(rows[0])
    writer = csv.writer(out)
    writer.writerow([f"{c} [UTC]" if c.endswith(("Generated", "DateTime")) else c for c in columns])
    for row in rows:
        writer.writerow(
            [json.dumps(v) if isinstance(v, dict | list | bool) else v for v in row.values()]
        )
    return out.getvalue().splitlines(keepends=True)


def test_sign_in_row_with_objects() -> None:
    event = normalize_record(signin_row())
    assert isinstance(event, SignIn)
    assert event.principal == "alice@contoso.com"
    assert event.ip_address == "203.0.113.10"
    assert event.location.city == "Seattle" and event.location.country == "US"
    assert event.device.is_managed is True
    assert event.risk_level_during_sign_in == "high"
    assert event.risk_event_types == ("unfamiliarFeatures", "anonymizedIPAddress")
    assert event.tenant_id == "t-1"
    assert event.category == "interactiveUser"


def test_nested_columns_as_json_strings() -> None:
    row = signin_row(
        Type="AADNonInteractiveUserSignInLogs",
        IsInteractive="false",
        LocationDetails=json.dumps(signin_row()["LocationDetails"]),
        DeviceDetail='{"operatingSystem": "iOS"}',
        Status='{"errorCode": 50126, "failureReason": "Invalid username or password"}',
    )
    event = normalize_record(row)
    assert isinstance(event, SignIn)
    assert event.category == "nonInteractiveUser" and event.interactive is False
    assert event.location.latitude == 47.61
    assert event.device.os == "iOS"
    assert event.error_code == 50126 and not event.success


def test_broken_json_column_is_skipped_naming_the_column() -> None:
    result = normalize_record(signin_row(Status="{errorCode: 0"), source="x.json", line=4)
    assert isinstance(result, Skip)
    assert result.where.field == "Status"


def test_bad_result_type_is_skipped_naming_the_column() -> None:
    result = normalize_record(signin_row(Status="", ResultType="oops"))
    assert isinstance(result, Skip) and result.where.field == "ResultType"


def test_risk_event_and_risky_user_rows() -> None:
    detection = normalize_record(
        {
            "TimeGenerated": "2026-11-02T09:00:05Z",
            "Type": "AADUserRiskEvents",
            "Id": "rd-1",
            "RiskEventType": "leakedCredentials",
            "RiskLevel": "high",
            "RiskState": "atRisk",
            "Activity": "user",
            "IpAddress": "198.51.100.7",
            "Location": {"city": "Oslo", "countryOrRegion": "NO"},
            "DetectedDateTime": "2026-11-02T08:00:00Z",
            "UserPrincipalName": "alice@contoso.com",
            "AdditionalInfo": [{"Key": "alertUrl", "Value": "https://x"}],
        }
    )
    assert isinstance(detection, RiskDetection)
    assert detection.ip_address == "198.51.100.7"
    assert detection.location.city == "Oslo"
    assert detection.time == datetime(2026, 11, 2, 8, tzinfo=UTC)
    assert detection.info("alertUrl") == "https://x"
    risky = normalize_record(
        {
            "TimeGenerated": "2026-11-02T09:00:05Z",
            "Type": "AADRiskyUsers",
            "Id": "u-alice",
            "RiskLastUpdatedDateTime": "2026-11-02T07:00:00Z",
            "RiskLevel": "medium",
            "RiskState": "atRisk",
            "IsDeleted": "False",
        }
    )
    assert isinstance(risky, RiskyUser)
    assert risky.is_deleted is False and risky.risk_level == "medium"


def test_other_tables_are_skipped_naming_the_type_column() -> None:
    result = normalize_record({"TimeGenerated": "2026-11-02T09:00:05Z",
                               "Type": "AADProvisioningLogs"})
    assert isinstance(result, Skip) and result.where.field == "Type"


def test_an_audit_row_without_its_activity_is_skipped_naming_the_field() -> None:
    # AuditLogs rows are directory audits (tests/test_normalize_audit.py reads a whole one).
    result = normalize_record({"TimeGenerated": "2026-11-02T09:00:05Z", "Type": "AuditLogs"})
    assert isinstance(result, Skip) and result.where.field == "activityDisplayName"


def test_csv_export_with_utc_headers_streams_rows() -> None:
    rows = [signin_row(), signin_row(Id="si-2", IPAddress="198.51.100.7")]
    events = list(decode("export.csv", to_csv(rows)))
    assert [type(e) for e in events] == [SignIn, SignIn]
    first, second = events
    assert isinstance(first, SignIn) and isinstance(second, SignIn)
    assert first.time == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert first.location.city == "Seattle" and first.device.is_managed is True
    assert first.interactive is True
    assert first.risk_event_types == ("unfamiliarFeatures", "anonymizedIPAddress")
    assert second.id == "si-2" and second.ip_address == "198.51.100.7"


def test_csv_row_with_wrong_column_count_is_skipped_with_its_line() -> None:
    lines = to_csv([signin_row(), signin_row(Id="si-3")])
    lines.insert(2, "just,three,cells\n")
    events = list(decode("export.csv", lines))
    skips = [e for e in events if isinstance(e, Skip)]
    assert len(skips) == 1 and skips[0].where.line == 3
    assert [e.id for e in events if isinstance(e, SignIn)] == ["si-1", "si-3"]


def test_csv_bad_time_is_skipped_naming_the_column() -> None:
    lines = to_csv([signin_row(CreatedDateTime="soon")])
    (result,) = list(decode("export.csv", lines))
    assert isinstance(result, Skip)
    assert (result.where.line, result.where.field) == (2, "CreatedDateTime")


def test_query_api_tables_response() -> None:
    row = signin_row()
    doc = {
        "tables": [
            {
                "name": "PrimaryResult",
                "columns": [{"name": k, "type": "string"} for k in row],
                "rows": [list(row.values())],
            }
        ]
    }
    (event,) = list(decode("query.json", [json.dumps(doc)]))
    assert isinstance(event, SignIn) and event.id == "si-1"


def test_csv_portal_time_with_a_comma_is_read() -> None:
    # The Log Analytics portal writes TimeGenerated [UTC] as "5/25/2023, 4:32:49.469 AM".
    row = signin_row(TimeGenerated="5/25/2023, 4:32:49.469 AM", CreatedDateTime="")
    (event,) = list(decode("portal.csv", to_csv([row])))
    assert isinstance(event, SignIn)
    assert event.time == datetime(2023, 5, 25, 4, 32, 49, 469000, tzinfo=UTC)
    afternoon = signin_row(TimeGenerated="5/25/2023, 4:32:49.469 PM", CreatedDateTime="")
    (later,) = list(decode("portal.csv", to_csv([afternoon])))
    assert isinstance(later, SignIn) and later.time.hour == 16


def test_query_api_shape_problems_name_their_path_and_keep_the_good_rows() -> None:
    good = signin_row()
    columns = [{"name": c} for c in good]
    values = [json.dumps(v) if isinstance(v, dict) else v for v in good.values()]
    response = {"tables": [
        {"name": "PrimaryResult", "columns": columns,
         "rows": [values, values[:-1], "not a row", [*values[:3], "si-2", *values[4:]]]},
        {"name": "Broken", "columns": columns, "rows": {"a": 1}},
        7,
    ]}  # fmt: skip
    events = list(decode("query.json", [json.dumps(response)]))
    assert [e.id for e in events if isinstance(e, SignIn)] == ["si-1", "si-2"]
    skips = {e.where.field: e.reason for e in events if isinstance(e, Skip)}
    short = f"row has {len(values) - 1} values, the table has {len(values)} columns"
    assert skips == {
        "tables[0].rows[1]": short,
        "tables[0].rows[2]": "expected a list, got text",
        "tables[1].rows": "expected a list, got an object",
        "tables[2]": "expected a table object, got a number",
    }
    (not_a_list,) = list(decode("query.json", ['{"tables": {"name": "x"}}']))
    assert isinstance(not_a_list, Skip) and not_a_list.where.field == "tables"
