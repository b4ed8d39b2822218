"""Directory audits from every shape (Graph JSON, the export's AuditLogs, Log Analytics rows)
-> DirectoryAudit, with hostile values skipped naming their field and sizes bounded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detections.model import MAX_AUDIT_TARGETS, MAX_AUDIT_VALUE, DirectoryAudit
from detections.normalize import Skip, decode, normalize_record
from tests.strategies import strings

WHEN = "2026-11-02T09:00:00.1234567Z"


def graph_audit(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "Directory_1", "category": "RoleManagement", "correlationId": "corr-1",
        "result": "success", "resultReason": "", "activityDisplayName": "Add member to role",
        "activityDateTime": WHEN, "loggedByService": "Core Directory", "operationType": "Assign",
        "initiatedBy": {"app": None, "user": {"id": "u-admin", "displayName": None,
                                              "userPrincipalName": "admin@contoso.com",
                                              "ipAddress": "198.51.100.7"}},
        "targetResources": [{
            "id": "u-bob", "displayName": "Bob", "type": "User",
            "userPrincipalName": "bob@contoso.com",
            "modifiedProperties": [
                {"displayName": "Role.DisplayName", "oldValue": None,
                 "newValue": '"Global Administrator"'},
            ],
        }],
        "additionalDetails": [{"key": "UserType", "value": "Member"}],
    }
    record.update(overrides)
    return record


def export_audit(**props: Any) -> dict[str, Any]:
    return {"time": "2026-11-02T09:00:05Z", "category": "AuditLogs", "tenantId": "t-1",
            "operationName": "Add member to role", "resultSignature": "None",
            "correlationId": "corr-1", "properties": graph_audit(**props)}


def test_a_graph_audit_keeps_its_fields() -> None:
    event = normalize_record(graph_audit())
    assert isinstance(event, DirectoryAudit)
    assert event.time == datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert (event.id, event.category, event.operation_type, event.result) == (
        "Directory_1", "RoleManagement", "Assign", "success")
    assert event.result_reason is None  # "" means absent, as everywhere
    assert event.principal == "admin@contoso.com" and event.user_id == "u-admin"
    assert event.ip_address == "198.51.100.7"
    (bob,) = event.targets_of("user")
    assert (bob.id, bob.user_principal_name, bob.display_name) == ("u-bob", "bob@contoso.com",
                                                                    "Bob")
    role = bob.property("role.displayname")
    assert role is not None and role.new_value == '"Global Administrator"'
    assert role.old_value is None and not role.truncated
    assert event.detail("usertype") == "Member"


def test_an_app_initiated_audit_names_the_app() -> None:
    app = {"appId": "01fc33a7-78ba-4d2f-a4b7-768e336e890e", "displayName": "MS-PIM",
           "servicePrincipalId": "sp-pim", "servicePrincipalName": None}
    event = normalize_record(graph_audit(initiatedBy={"user": None, "app": app}))
    assert isinstance(event, DirectoryAudit)
    assert event.principal == "MS-PIM" and not event.initiated_by.is_user
    assert event.initiated_by.app_id == app["appId"]


def test_pages_and_shapes_are_told_apart_by_decode() -> None:
    page = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/"
            "directoryAudits", "value": [graph_audit(), graph_audit(id="Directory_2")]}
    events = list(decode("audits.json", [json.dumps(page)]))
    assert [type(e) for e in events] == [DirectoryAudit, DirectoryAudit]
    typed = graph_audit(**{"@odata.type": "#microsoft.graph.directoryAudit"})
    lines = [json.dumps(typed), json.dumps(export_audit())]
    kinds = [type(e) for e in decode("mixed.jsonl", lines)]
    assert kinds == [DirectoryAudit, DirectoryAudit]


def test_an_export_record_takes_the_tenant_and_wrapper_values() -> None:
    event = normalize_record(export_audit(tenantId=None, correlationId=None))
    assert isinstance(event, DirectoryAudit)
    assert event.tenant_id == "t-1" and event.correlation_id == "corr-1"
    (event2,) = decode("PT1H.json", [json.dumps({"records": [export_audit()]})])
    assert isinstance(event2, DirectoryAudit) and event2.id == "Directory_1"


def test_a_log_analytics_audit_row_reads_its_json_text_columns() -> None:
    raw = graph_audit()
    row = {
        "TimeGenerated": "2026-11-02T09:00:06Z", "Type": "AuditLogs", "Id": raw["id"],
        "OperationName": "Add member to role", "ActivityDisplayName": raw["activityDisplayName"],
        "ActivityDateTime": WHEN, "Category": "RoleManagement", "Result": "success",
        "LoggedByService": "Core Directory", "AADOperationType": "Assign",
        "InitiatedBy": json.dumps(raw["initiatedBy"]),
        "TargetResources": json.dumps(raw["targetResources"]),
        "AdditionalDetails": json.dumps(raw["additionalDetails"]), "TenantId": "t-1",
    }
    event = normalize_record(row)
    assert isinstance(event, DirectoryAudit)
    assert event.operation_type == "Assign" and event.principal == "admin@contoso.com"
    assert event.targets[0].user_principal_name == "bob@contoso.com"
    assert event.tenant_id == "t-1"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"activityDateTime": "yesterday"}, "activityDateTime"),
        ({"activityDisplayName": {"a": 1}}, "activityDisplayName"),
        ({"initiatedBy": ["a list"]}, "initiatedBy"),
        ({"initiatedBy": {"user": {"userPrincipalName": 5.5j}}}, None),
        ({"initiatedBy": {"user": {"userPrincipalName": {"x": 1}}}},
         "initiatedBy.user.userPrincipalName"),
        ({"targetResources": {"not": "a list"}}, "targetResources"),
        ({"targetResources": [{"type": ["User"]}]}, "targetResources[0].type"),
        ({"targetResources": [{"modifiedProperties": [{"displayName": "x",
                                                        "newValue": True}]}]},
         "targetResources[0].modifiedProperties[0].newValue"),
        ({"additionalDetails": [{"key": "k", "value": {"deep": 1}}]}, "additionalDetails[0].value"),
        ({"activityDisplayName": None, "operationName": None}, "activityDisplayName"),
    ],
)
def test_hostile_values_are_skips_naming_the_field(overrides: dict[str, Any],
                                                   field: str | None) -> None:
    result = normalize_record(graph_audit(**overrides), source="audits.json", line=3)
    assert isinstance(result, Skip), result
    assert result.where.line == 3
    if field is not None:
        assert result.where.field == field, result


def test_the_export_names_the_field_inside_properties() -> None:
    result = normalize_record(export_audit(result=["success"]), source="PT1H.json", line=9)
    assert isinstance(result, Skip) and result.where.field == "properties.result"


def test_sizes_are_bounded_and_cut_values_are_marked() -> None:
    huge = "x" * (MAX_AUDIT_VALUE * 3)
    target = {"type": "Policy", "id": "p", "displayName": huge,
              "modifiedProperties": [{"displayName": "ConditionalAccessPolicy",
                                      "oldValue": huge, "newValue": "{}"}] * 80}
    event = normalize_record(graph_audit(targetResources=[target] * 100))
    assert isinstance(event, DirectoryAudit)
    assert len(event.targets) == MAX_AUDIT_TARGETS
    first = event.targets[0]
    assert len(first.display_name or "") == MAX_AUDIT_VALUE
    assert len(first.modified_properties) == 50
    prop = first.modified_properties[0]
    assert prop.truncated and len(prop.old_value or "") == MAX_AUDIT_VALUE
    assert prop.new_value == "{}"


def test_a_parsed_value_in_a_reexport_is_kept_as_json_text() -> None:
    props = [{"displayName": "ConditionalAccessPolicy", "oldValue": {"state": "enabled"},
              "newValue": None}]
    event = normalize_record(graph_audit(targetResources=[{"type": "Policy",
                                                           "modifiedProperties": props}]))
    assert isinstance(event, DirectoryAudit)
    assert json.loads(event.targets[0].modified_properties[0].old_value or "") == {
        "state": "enabled"}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | strings(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings(max_size=8), inner,
                                                                max_size=3),
    max_leaves=12,
)
_FIELDS = ("activityDisplayName", "activityDateTime", "initiatedBy", "targetResources",
           "additionalDetails", "result", "category", "correlationId", "id")


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_JSON, shape=st.sampled_from(["graph", "export"]))
def test_any_value_in_any_field_is_an_event_or_a_skip(field: str, value: Any, shape: str) -> None:
    record = graph_audit(**{field: value})
    if shape == "export":
        record = {"category": "AuditLogs", "time": "2026-11-02T09:00:05Z", "properties": record}
    result = normalize_record(record, source="fuzz.json", line=1)
    assert isinstance(result, DirectoryAudit | Skip)
    if isinstance(result, DirectoryAudit):
        json.dumps(result.activity_display_name)  # text, encodable
        assert all(len(t.modified_properties) <= 50 for t in result.targets)
