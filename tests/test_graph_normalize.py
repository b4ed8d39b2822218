"""Round trip: Graph pages from the loopback server -> detections.normalize -> the model.

Also export-blob lines through the same normalizer, so the raw shapes this layer hands
over are the ones the rule module reads.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from detections.model import RiskDetection, RiskyUser, SignIn
from detections.normalize import Skip, normalize_record
from service.export import BlobCursorStore, ExportTailer, registration_for
from service.graph import FEEDS, GraphClient, make_token_provider
from tests.graph_server import GraphRecords, GraphServer, SimulatedClock, risky_user

T0 = datetime(2024, 6, 20, 5, 0, tzinfo=UTC)


def normalized(client: GraphClient, feed: str) -> list:
    return [
        normalize_record(raw, source=page.url, line=i, fmt="graph", kind=FEEDS[feed].kind)
        for page in client.read(feed, start=T0)
        for i, raw in enumerate(page.records, start=1)
    ]


def test_graph_pages_normalize_into_the_model(peer_corpus):
    clock = SimulatedClock()
    records = GraphRecords(peer_corpus)
    with GraphServer(clock.time) as server:
        server.data["/v1.0/identityProtection/riskDetections"].append(
            records.risk_detection(1, T0 + timedelta(minutes=5))
        )
        server.data["/v1.0/identityProtection/riskyUsers"].append(risky_user(1, T0))
        server.data["/v1.0/auditLogs/signIns"].append(records.sign_in(1, T0))
        server.data["/beta/auditLogs/signIns"].append(records.sign_in(2, T0, "nonInteractiveUser"))
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
    assert detections[0].detected_time == T0 + timedelta(minutes=5)
    assert isinstance(user, RiskyUser) and user.user_principal_name == "user1@contoso.com"
    assert isinstance(sign_in, SignIn) and sign_in.category == "interactiveUser"
    assert isinstance(quiet, SignIn) and quiet.category == "nonInteractiveUser"
    assert isinstance(detections[1], Skip)  # a broken record is skipped, never the page
    assert "riskDetections" in detections[1].where.source


@pytest.mark.azurite
def test_export_lines_normalize_with_their_blob_and_line(peer_corpus, storage_connection,
                                                         table_prefix):
    sign_in = GraphRecords(peer_corpus).sign_in(7, T0)
    line = {"time": sign_in["createdDateTime"], "category": "SignInLogs",
            "operationName": "Sign-in activity", "properties": sign_in}
    blobs = BlobServiceClient.from_connection_string(storage_connection)
    with contextlib.suppress(ResourceExistsError):
        blobs.create_container("insights-logs-signinlogs")
    name = f"tenantId={uuid.uuid4()}/y=2024/m=06/d=20/h=05/m=00/PT1H.json"
    client = blobs.get_blob_client("insights-logs-signinlogs", name)
    client.create_append_blob()
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

    ExportTailer(blobs, store).tail(handle, T0 + timedelta(minutes=30))
    assert isinstance(events[0], SignIn) and events[0].id == sign_in["id"]
    assert events[1].startswith(f"insights-logs-signinlogs/{name}:2: ")
