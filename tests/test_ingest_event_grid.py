"""Event Grid inputs: BlobCreated registrations, rescan requests, clear rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from service.ingest.event_grid import (
    BLOB_CREATED,
    RESCAN_REQUESTED,
    Rejection,
    RescanRequest,
    parse_cloud_event,
    parse_event_grid_event,
)
from service.ingest.export import BlobRegistration

TENANT = "tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47"
BLOB = f"{TENANT}/y=2024/m=06/d=20/h=05/m=00/PT1H.json"
SUBJECT = f"/blobServices/default/containers/insights-logs-signinlogs/blobs/{BLOB}"
NOW = datetime(2024, 6, 21, tzinfo=UTC)
OBJECT_ID = "0b9b3ee1-31a8-4f85-b5b4-3b0e8e0f0f10"


def blob_created_data(container="insights-logs-signinlogs", blob=BLOB) -> dict:
    # The documented Microsoft.Storage.BlobCreated data, for an append blob.
    return {
        "api": "PutBlob", "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760",
        "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
        "eTag": "0x8D4BCC2E4835CD0", "contentType": "application/json",
        "contentLength": 0, "blobType": "AppendBlob",
        "url": f"https://exportacct.blob.core.windows.net/{container}/{blob}",
        "sequencer": "00000000000004420000000000028963",
    }


def test_blob_created_for_an_export_container_registers_the_hour_blob():
    parsed = parse_event_grid_event("e1", BLOB_CREATED, SUBJECT, blob_created_data())
    assert parsed == BlobRegistration(
        "insights-logs-signinlogs", BLOB, datetime(2024, 6, 20, 5, tzinfo=UTC), "exportacct"
    )
    as_text = parse_event_grid_event("e1", BLOB_CREATED, SUBJECT, json.dumps(blob_created_data()))
    assert as_text == parsed


def test_blob_created_elsewhere_is_ignored_with_a_reason():
    other = SUBJECT.replace("insights-logs-signinlogs", "insights-logs-provisioninglogs")
    parsed = parse_event_grid_event("e2", BLOB_CREATED, other, blob_created_data())
    assert isinstance(parsed, Rejection)
    assert "'insights-logs-provisioninglogs' is not an Entra export container" in parsed.reason


def test_blob_created_for_the_audit_logs_registers_the_hour_blob():
    audit = SUBJECT.replace("insights-logs-signinlogs", "insights-logs-auditlogs")
    parsed = parse_event_grid_event("e3", BLOB_CREATED, audit, blob_created_data())
    assert parsed == BlobRegistration(
        "insights-logs-auditlogs", BLOB, datetime(2024, 6, 20, 5, tzinfo=UTC), "exportacct"
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("/containers/x", "is not a blob path"),
        (SUBJECT.replace("h=05", "h=25"), "invalid hour"),
        (SUBJECT.replace("/y=2024", ""), "no y=/m=/d=/h= hour"),
        ("", "is not a blob path"),
    ],
)
def test_malformed_blob_events_are_rejected(subject, expected):
    parsed = parse_event_grid_event("e3", BLOB_CREATED, subject, {})
    assert isinstance(parsed, Rejection) and expected in parsed.reason


def test_rescan_cloud_event_is_validated():
    parsed = parse_cloud_event(
        "c1", RESCAN_REQUESTED,
        {"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00+02:00",
         "users": ["Alice@Contoso.com", OBJECT_ID, "alice@contoso.com"]},
        now=NOW,
    )
    assert parsed == RescanRequest(
        "c1", datetime(2024, 6, 19, tzinfo=UTC), datetime(2024, 6, 19, 22, tzinfo=UTC),
        ("alice@contoso.com", OBJECT_ID),
    )
    everyone = parse_cloud_event(
        "c2", RESCAN_REQUESTED, '{"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00Z"}'
    )
    assert isinstance(everyone, RescanRequest) and everyone.users == ()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("{not json", "data is not a JSON object"),
        ([1, 2], "data is not a JSON object"),
        ({"to": "2024-06-20T00:00:00Z"}, "field 'from' is missing"),
        ({"from": "2024-06-19T00:00:00", "to": "2024-06-20T00:00:00Z"}, "with a zone"),
        ({"from": "yesterday Z", "to": "2024-06-20T00:00:00Z"}, "not a valid ISO 8601"),
        ({"from": "2024-06-20T00:00:00Z", "to": "2024-06-19T00:00:00Z"}, "before 'to'"),
        ({"from": "2024-01-01T00:00:00Z", "to": "2024-06-19T00:00:00Z"}, "longer than 30 days"),
        ({"from": "2024-06-22T00:00:00Z", "to": "2024-06-23T00:00:00Z"}, "in the future"),
        ({"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00Z", "users": "bob"},
         "list of strings"),
        ({"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00Z",
          "users": ["bob smith\n"]}, "invalid user value"),
        ({"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00Z",
          "users": [f"u{i}" for i in range(101)]}, "at most 100 users"),
        ({"from": "2024-06-19T00:00:00Z", "to": "2024-06-20T00:00:00Z", "drop": 1},
         "unknown field(s) drop"),
    ],
)
def test_malformed_rescans_are_rejected_with_every_problem_named(data, expected):
    parsed = parse_cloud_event("c3", RESCAN_REQUESTED, data, now=NOW)
    assert isinstance(parsed, Rejection)
    assert expected in parsed.reason
    assert parsed.event_type == RESCAN_REQUESTED


def test_several_problems_are_listed_together():
    parsed = parse_cloud_event("c4", RESCAN_REQUESTED, {"users": 3})
    assert isinstance(parsed, Rejection)
    assert parsed.reason.split("; ") == [
        "field 'from' is missing",
        "field 'to' is missing",
        "field 'users' must be a list of strings",
    ]


def test_unknown_event_types_are_rejected_not_raised():
    weird = "Microsoft.Storage.BlobDeleted\x1b[31m" + "x" * 200
    parsed = parse_event_grid_event("e9", weird, SUBJECT, {})
    assert isinstance(parsed, Rejection) and parsed.reason == "unsupported event type"
    assert "\x1b" not in parsed.event_type and len(parsed.event_type) <= 81
    cloud = parse_cloud_event("c9", "riskwatch.other", {})
    assert isinstance(cloud, Rejection) and cloud.reason == "unsupported CloudEvents type"
