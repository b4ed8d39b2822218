"""Graph v1.0/beta objects -> SignIn, RiskDetection, RiskyUser (detections/normalize/graph.py).

Field by field from small Graph objects, then round trips: Graph pages from the loopback
server, and export-blob lines through the same normalizer, so the raw shapes the I/O
layer hands over are the ones this module reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from detections.model import RiskDetection, RiskyUser, SignIn
from detections.normalize import Skip, decode, normalize_record
from service.ingest.export import BlobCursorStore, ExportTailer, registration_for
from service.ingest.graph.auth import make_token_provider
from service.ingest.graph.client import GraphClient
from service.ingest.graph.feeds import FEEDS
from tests.export_support import new_export_blob
from tests.graph_server import GraphRecords, GraphServer, SimulatedClock, risky_user


def graph_sign_in(**overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": "si-1",
        "createdDateTime": "2026-11-02T09:00:00Z",
        "userPrincipalName": "alice@contoso.com",
        "userId": "u-alice",
        "appId": "app-1",
        "appDisplayName": "Office 365",
        "ipAddress": "203.0.113.10",
        "correlationId": "corr-1",
        "isInteractive": True,
        "riskLevelDuringSignIn": "none",
        "riskLevelAggregated": "none",
        "riskState": "none",
        "riskDetail": "none",
        "riskEventTypes": [],
        "status": {"errorCode": 0, "failureReason": None},
        "location": {
            "city": "Seattle",
            "state": "Washington",
            "countryOrRegion": "US",
            "geoCoordinates": {"latitude": 47.61, "longitude": -122.33},
        },
        "deviceDetail": {"operatingSystem": "Windows 11", "browser": "Edge", "isCompliant": True},
    }
    rec.update(overrides)
    return rec


def graph_risk_detection(**overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": "rd-1",
        "requestId": "req-1",
        "riskEventType": "anomalousToken",
        "riskLevel": "high",
        "riskState": "atRisk",
        "riskDetail": "none",
        "activity": "signin",
        "detectionTimingType": "offline",
        "activityDateTime": "2026-11-02T08:00:00Z",
        "detectedDateTime": "2026-11-02T09:00:00Z",
        "userId": "u-alice",
        "userPrincipalName": "alice@contoso.com",
        "ipAddress": "198.51.100.7",
        "additionalInfo": json.dumps([{"Key": "userAgent", "Value": "curl/8"}]),
    }
    rec.update(overrides)
    return rec


def graph_risky_user(**overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": "u-alice",
        "userPrincipalName": "alice@contoso.com",
        "riskLastUpdatedDateTime": "2026-11-02T09:00:00Z",
        "riskLevel": "high",
        "riskState": "atRisk",
        "riskDetail": "none",
        "isDeleted": False,
        "isProcessing": False,
    }
    rec.update(overrides)
    return rec


def test_sign_in_fields() -> None:
    event = normalize_record(graph_sign_in())
    assert isinstance(event, SignIn)
    assert event.id == "si-1"
    assert event.time == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert event.principal == "alice@contoso.com"
    assert event.success and event.error_code == 0
    assert event.category == "interactiveUser" and event.interactive is True
    assert event.location.city == "Seattle" and event.location.has_coordinates
    assert event.device.os == "Windows 11" and event.device.is_compliant is True


def test_failed_sign_in_keeps_error_code_and_reason() -> None:
    event = normalize_record(
        graph_sign_in(status={"errorCode": 50126, "failureReason": "Invalid username or password"})
    )
    assert isinstance(event, SignIn)
    assert event.error_code == 50126 and event.success is False
    assert event.failure_reason == "Invalid username or password"


def test_risk_levels_lower_cased_hidden_kept_and_state_spelled_like_graph() -> None:
    event = normalize_record(
        graph_sign_in(
            riskLevelDuringSignIn="High", riskLevelAggregated="hidden", riskState="ATRISK"
        )
    )
    assert isinstance(event, SignIn)
    assert event.risk_level_during_sign_in == "high"
    assert event.risk_level_aggregated == "hidden"
    assert event.risk_state == "atRisk"


def test_beta_sign_in_event_types_and_risk_event_types_v2() -> None:
    event = normalize_record(
        graph_sign_in(
            isInteractive=None,
            signInEventTypes=["nonInteractiveUser"],
            riskEventTypes=["unlikelyTravel"],
            riskEventTypes_v2=["unlikelyTravel", "anomalousToken"],
        )
    )
    assert isinstance(event, SignIn)
    assert event.category == "nonInteractiveUser"
    assert event.interactive is False
    assert event.risk_event_types == ("unlikelyTravel", "anomalousToken")


def test_service_principal_sign_in_category_from_fields() -> None:
    rec = graph_sign_in(
        userId=None,
        userPrincipalName=None,
        isInteractive=None,
        servicePrincipalId="sp-1",
        servicePrincipalName="deploy-bot",
    )
    event = normalize_record(rec)
    assert isinstance(event, SignIn)
    assert event.category == "servicePrincipal"
    assert event.principal == "deploy-bot"


def test_zero_coordinates_without_country_are_no_coordinates() -> None:
    event = normalize_record(
        graph_sign_in(
            location={
                "city": "",
                "countryOrRegion": "",
                "geoCoordinates": {"latitude": 0, "longitude": 0},
            }
        )
    )
    assert isinstance(event, SignIn)
    assert event.location.has_coordinates is False
    assert event.location.country is None


def test_risk_detection_with_additional_info() -> None:
    event = normalize_record(graph_risk_detection())
    assert isinstance(event, RiskDetection)
    assert event.risk_event_type == "anomalousToken"
    assert event.time == datetime(2026, 11, 2, 8, tzinfo=UTC)  # activity, not detection
    assert event.detected_time == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert event.info("useragent") == "curl/8"


def test_additional_info_that_is_not_key_value_json_is_kept_raw() -> None:
    event = normalize_record(graph_risk_detection(additionalInfo="not json"))
    assert isinstance(event, RiskDetection)
    assert event.additional_info == (("raw", "not json"),)


def test_service_principal_risk_detection_by_odata_type() -> None:
    rec = graph_risk_detection(
        userId=None,
        userPrincipalName=None,
        activity=None,
        servicePrincipalId="sp-1",
        servicePrincipalDisplayName="deploy-bot",
        appId="app-9",
        **{"@odata.type": "#microsoft.graph.servicePrincipalRiskDetection"},
    )
    event = normalize_record(rec)
    assert isinstance(event, RiskDetection)
    assert event.activity == "servicePrincipal"
    assert event.principal == "deploy-bot"
    assert event.app_id == "app-9"


def test_risky_user() -> None:
    event = normalize_record(graph_risky_user(riskState="ConfirmedCompromised"))
    assert isinstance(event, RiskyUser)
    assert event.risk_state == "confirmedCompromised"
    assert event.is_deleted is False
    assert event.time == datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_page_context_names_the_kind_of_its_records() -> None:
    # A riskyUser page: the records alone carry no @odata.type.
    page = {
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#identityProtection/riskyUsers",
        "value": [graph_risky_user(), graph_risky_user(id="u-bob")],
    }
    events = list(decode("page.json", json.dumps(page, indent=2).splitlines(keepends=True)))
    assert [type(e) for e in events] == [RiskyUser, RiskyUser]
    assert [e.id for e in events] == ["u-alice", "u-bob"]


def test_texts_that_repeat_across_records_are_one_object_each() -> None:
    # A scan holds thousands of decoded sign-ins to put them in order: an app's name or a
    # city is kept once, whatever number of records carry it (json.loads makes each anew).
    shared = {"resourceId": "00000003-0000-0000-c000-000000000000", "userAgent": "Mozilla/5.0"}
    a, b = (normalize_record(json.loads(json.dumps(graph_sign_in(id=i, **shared))))
            for i in ("a", "b"))  # fmt: skip
    assert isinstance(a, SignIn) and isinstance(b, SignIn)
    for read in (lambda e: e.app_display_name, lambda e: e.location.city,
                 lambda e: e.device.os, lambda e: e.resource_id, lambda e: e.user_agent):
        assert read(a) is not None and read(a) is read(b)
    assert a.id is not b.id and a.id != b.id
    empty = normalize_record(graph_sign_in(appDisplayName="", location={"city": ""}))
    assert isinstance(empty, SignIn) and empty.app_display_name is None
    assert empty.location.city is None


def test_a_shared_text_field_with_a_non_text_value_is_skipped_naming_it() -> None:
    for raw, field in ((graph_sign_in(appDisplayName=["x"]), "appDisplayName"),
                       (graph_sign_in(location={"city": {"a": 1}}), "location.city"),
                       (graph_sign_in(deviceDetail={"browser": True}), "deviceDetail.browser")):
        result = normalize_record(raw)
        assert isinstance(result, Skip) and result.where.field == field, result


def test_unknown_odata_type_is_skipped_naming_the_field() -> None:
    result = normalize_record(graph_sign_in(**{"@odata.type": "#microsoft.graph.user"}))
    assert isinstance(result, Skip)
    assert result.where.field == "@odata.type"


def test_missing_id_and_time_are_skipped_naming_the_field() -> None:
    no_id = normalize_record(graph_sign_in(id=None, correlationId=None), source="s.json", line=3)
    assert isinstance(no_id, Skip)
    assert (no_id.where.source, no_id.where.line, no_id.where.field) == ("s.json", 3, "id")
    no_time = normalize_record(graph_sign_in(createdDateTime=None))
    assert isinstance(no_time, Skip) and no_time.where.field == "createdDateTime"


def test_bad_error_code_and_bad_time_are_skipped_naming_the_field() -> None:
    bad_code = normalize_record(graph_sign_in(status={"errorCode": "fifty"}))
    assert isinstance(bad_code, Skip) and bad_code.where.field == "status.errorCode"
    assert "fifty" in bad_code.reason
    bad_time = normalize_record(graph_sign_in(createdDateTime="last tuesday"))
    assert isinstance(bad_time, Skip) and bad_time.where.field == "createdDateTime"
    assert "last tuesday" in bad_time.reason


def test_wrongly_typed_nested_value_is_skipped_not_raised() -> None:
    result = normalize_record(graph_sign_in(deviceDetail=["not", "an", "object"]))
    assert isinstance(result, Skip)
    assert result.where.field == "deviceDetail"


# Round trips from the I/O layer.
ROUND_TRIP_T0 = datetime(2024, 6, 20, 5, 0, tzinfo=UTC)


def normalized(client: GraphClient, feed: str) -> list:
    return [
        normalize_record(raw, source=page.url, line=i, fmt="graph", kind=FEEDS[feed].kind)
        for page in client.read(feed, start=ROUND_TRIP_T0)
        for i, raw in enumerate(page.records, start=1)
    ]


def test_graph_pages_normalize_into_the_model(peer_corpus):
    clock = SimulatedClock()
    records = GraphRecords(peer_corpus)
    with GraphServer(clock.time) as server:
        server.data["/v1.0/identityProtection/riskDetections"].append(
            records.risk_detection(1, ROUND_TRIP_T0 + timedelta(minutes=5))
        )
        server.data["/v1.0/identityProtection/riskyUsers"].append(risky_user(1, ROUND_TRIP_T0))
        server.data["/v1.0/auditLogs/signIns"].append(records.sign_in(1, ROUND_TRIP_T0))
        server.data["/beta/auditLogs/signIns"].append(
            records.sign_in(2, ROUND_TRIP_T0, "nonInteractiveUser")
        )
        server.data["/v1.0/identityProtection/riskDetections"].append(
            {"id": "broken", "detectedDateTime": "2024-06-20T05:09:00Z", "riskLevel": ["x"]}
        )
        client = GraphClient(server.base_url, make_token_provider("none", server.base_url),
                             clock=clock.time, sleep=clock.sleep)
        detections = normalized(client, "riskDetections")
        [user] = normalized(client, "riskyUsers")
        [sign_in] = normalized(client, "signIns")
        [quiet] = normalized(client, "nonInteractiveSignIns")

    assert isinstance(detections[0], RiskDetection)
    assert detections[0].id == "det-00001" and detections[0].risk_state == "atRisk"
    assert detections[0].detected_time == ROUND_TRIP_T0 + timedelta(minutes=5)
    assert isinstance(user, RiskyUser) and user.user_principal_name == "user1@contoso.com"
    assert isinstance(sign_in, SignIn) and sign_in.category == "interactiveUser"
    assert isinstance(quiet, SignIn) and quiet.category == "nonInteractiveUser"
    assert isinstance(detections[1], Skip)  # a broken record is skipped, never the page
    assert "riskDetections" in detections[1].where.source


@pytest.mark.azurite
def test_export_lines_normalize_with_their_blob_and_line(peer_corpus, storage_connection,
                                                         table_prefix):
    sign_in = GraphRecords(peer_corpus).sign_in(7, ROUND_TRIP_T0)
    line = {"time": sign_in["createdDateTime"], "category": "SignInLogs",
            "operationName": "Sign-in activity", "properties": sign_in}
    name, client = new_export_blob(storage_connection, "y=2024/m=06/d=20/h=05")
    blobs = BlobServiceClient.from_connection_string(storage_connection)
    client.append_block(json.dumps(line).encode() + b"\n" + b"{not json}\n")
    store = BlobCursorStore.create(
        TableServiceClient.from_connection_string(storage_connection), table_prefix
    )
    store.register(registration_for("insights-logs-signinlogs", name))
    events: list = []

    def handle(chunk):
        for ln in chunk.lines:
            try:
                raw = json.loads(ln.text)
            except ValueError as exc:
                events.append(f"{ln.where}: {exc.msg}")
                continue
            events.append(normalize_record(raw, source=ln.where, line=ln.number))

    ExportTailer(blobs, store).tail(handle, ROUND_TRIP_T0 + timedelta(minutes=30))
    assert isinstance(events[0], SignIn) and events[0].id == sign_in["id"]
    assert events[1].startswith(f"insights-logs-signinlogs/{name}:2: ")
