"""The Functions app through app.get_functions(), with real azure.functions objects."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient
from azure.functions.timer import TimerRequest

import function_app
from service.functions import triggers
from tests.graph_server import GraphRecords, GraphServer

pytestmark = pytest.mark.azurite

SUBJECT = (
    "/blobServices/default/containers/insights-logs-signinlogs/blobs/"
    "tenantId=6a1b5c2e-0000-4000-8000-000000000001/y=2026/m=11/d=02/h=09/m=00/PT1H.json"
)


# get_functions() indexes the app and refuses to run twice (duplicate names): once here.
FUNCTIONS = {f.get_function_name(): f for f in function_app.app.get_functions()}


def functions() -> dict:
    return FUNCTIONS


def user_function(name: str):
    return functions()[name].get_user_function()


@pytest.fixture
def app_settings(monkeypatch, storage_connection, table_prefix):
    with GraphServer() as graph:
        monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
        monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)
        monkeypatch.setenv("RISKWATCH_GRAPH_BASE_URL", graph.base_url)
        monkeypatch.setenv("RISKWATCH_GRAPH_AUTH", "none")
        monkeypatch.setenv("RISKWATCH_FEEDS", "riskDetections")
        monkeypatch.setattr(triggers, "_job", None)
        monkeypatch.setattr(triggers, "_tables", None)
        yield graph
        triggers._job = None
        triggers._tables = None


def table_rows(storage_connection: str, name: str) -> list[dict]:
    service = TableServiceClient.from_connection_string(storage_connection)
    return list(service.get_table_client(name).list_entities())


def test_the_app_registers_three_functions_with_their_bindings():
    found = functions()
    assert {"poll", "review", "export_blob_created", "rescan_requested"} <= set(found)
    (review,) = found["review"].get_dict_repr()["bindings"]
    # Hourly in UTC (Flex Consumption's timers); the code picks the tick after REVIEW_AT.
    assert (review["type"], review["schedule"]) == ("timerTrigger", "0 5 * * * *")
    (timer,) = found["poll"].get_dict_repr()["bindings"]
    assert timer["type"] == "timerTrigger"
    assert timer["schedule"] == "%RISKWATCH_SCHEDULE%"
    assert timer["runOnStartup"] is False
    for name in ("export_blob_created", "rescan_requested"):
        (binding,) = found[name].get_dict_repr()["bindings"]
        assert binding["type"] == "eventGridTrigger"


def test_blob_created_registers_the_blob_once(app_settings, storage_connection, table_prefix):
    handler = user_function("export_blob_created")
    event = func.EventGridEvent(
        id="evt-1", data={"api": "PutBlob", "url": "https://x.blob.core.windows.net/..."},
        topic="/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a",
        subject=SUBJECT, event_type="Microsoft.Storage.BlobCreated",
        event_time=datetime(2026, 11, 2, 9, 0, 5, tzinfo=UTC), data_version="",
    )
    handler(event)
    handler(event)  # Event Grid delivers at least once
    rows = table_rows(storage_connection, f"{table_prefix}blobcursors")
    assert len(rows) == 1
    assert rows[0]["PartitionKey"] == "insights-logs-signinlogs"


def test_unknown_or_malformed_events_are_logged_and_not_retried(app_settings, caplog):
    handler = user_function("export_blob_created")
    caplog.set_level(logging.WARNING, logger="riskwatch")
    handler(func.EventGridEvent(
        id="evt-2", data={}, topic="t", subject="/blobServices/default/containers/other/blobs/x",
        event_type="Microsoft.Storage.BlobCreated", event_time=None, data_version="",
    ))
    handler(func.EventGridEvent(
        id="evt-3", data={}, topic="t", subject="s", event_type="Something.Else",
        event_time=None, data_version="",
    ))
    rescan = user_function("rescan_requested")
    rescan(func.CloudEvent(id="ce-1", source="/riskwatch", type="riskwatch.rescan.requested",
                           specversion="1.0", data={"from": "yesterday"}))
    messages = [r.getMessage() for r in caplog.records]
    assert any("evt-2" in m for m in messages)
    assert any("evt-3" in m and "unsupported" in m for m in messages)
    assert any("ce-1" in m for m in messages)


def test_a_rescan_request_is_stored_and_done_by_the_next_timer_run(
    app_settings, storage_connection, table_prefix, peer_corpus, caplog
):
    graph = app_settings
    now = datetime.now(UTC)
    graph.data["/v1.0/identityProtection/riskDetections"] = [
        GraphRecords(peer_corpus).risk_detection(1, now - timedelta(days=5))
    ]
    rescan = user_function("rescan_requested")
    rescan(func.CloudEvent(
        id="ce-2", source="/riskwatch", type="riskwatch.rescan.requested", specversion="1.0",
        data={"from": (now - timedelta(days=6)).isoformat(),
              "to": (now - timedelta(days=4)).isoformat()},
    ))
    pending = [r for r in table_rows(storage_connection, f"{table_prefix}cursors")
               if r["PartitionKey"] == "rescan"]
    assert [r["RowKey"] for r in pending] == ["ce-2"]

    caplog.set_level(logging.INFO, logger="riskwatch")
    user_function("poll")(TimerRequest(past_due=True))
    summaries = [r.getMessage() for r in caplog.records if "riskwatch run:" in r.getMessage()]
    assert len(summaries) == 1
    assert "past_due=true" in summaries[0]
    # The 5-day-old detection is outside the 48 h look-back: only the rescan read it.
    starts = [r.query["$filter"] for r in graph.requests_to(
        "/v1.0/identityProtection/riskDetections")]
    assert len(starts) == 2
    assert "rescan=1" in summaries[0] and "riskDetections=0" in summaries[0]
    assert "alerts_raised=1" in summaries[0]  # signin_risk_detection on the old detection
    left = [r for r in table_rows(storage_connection, f"{table_prefix}cursors")
            if r["PartitionKey"] == "rescan"]
    assert left == []


def test_a_broken_sink_setting_does_not_stop_blob_registration(
    app_settings, monkeypatch, storage_connection, table_prefix
):
    """The Event Grid handler needs storage only; the timer reports the bad setting."""
    monkeypatch.setenv("RISKWATCH_TEAMS_WEBHOOK_URL", "@Microsoft.KeyVault(SecretUri=https://kv/x)")
    handler = user_function("export_blob_created")
    handler(func.EventGridEvent(
        id="evt-9", data={}, topic="t", subject=SUBJECT,
        event_type="Microsoft.Storage.BlobCreated", event_time=None, data_version="",
    ))
    assert len(table_rows(storage_connection, f"{table_prefix}blobcursors")) == 1
    from detections.errors import RiskwatchError

    with pytest.raises(RiskwatchError, match="RISKWATCH_TEAMS_WEBHOOK_URL"):
        user_function("poll")(TimerRequest(past_due=False))
