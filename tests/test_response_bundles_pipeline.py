"""Evidence bundles in the deployed pipeline (RISKWATCH_NOTIFY=incidents), against Azurite and
a loopback receiver: written after the incident revision is stored and before its
notification, once per revision at or above the minimum verdict, through crashes."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from detections.model import Event, Severity
from detections.testing import T0
from service.delivery.webhook import WebhookSink
from service.response.bundles import EvidenceStore
from service.response.raw import RawRecord
from service.run.incidents import RECOVERED_NOTE
from service.run.pipeline import Pipeline
from service.state.incidents import INCIDENT_SCHEMA
from tests.support_sinks import Receiver, make_tables, receiver
from tests.test_run_pipeline_incidents import (
    InjectedCrash,
    carrier_hop,
    crash_at,
    risky_success,
)

pytestmark = pytest.mark.azurite
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def container(storage_connection: str) -> ContainerClient:
    made = BlobServiceClient.from_connection_string(storage_connection).get_container_client(
        "ev" + uuid.uuid4().hex[:12])
    made.create_container()
    return made


def raw_of(events: list[Event]) -> dict[str, RawRecord]:
    return {e.event_id: RawRecord(event_id=e.event_id, source="graph:signIns",
                                  body=json.dumps({"id": e.event_id, "note": "as sent"},
                                                  indent=2).encode())
            for e in events}


def pipeline(connection: str, prefix: str, url: str, container: ContainerClient,
             **options) -> Pipeline:
    sink = WebhookSink(url, min_severity=Severity.LOW)
    return Pipeline(make_tables(connection, prefix), [sink], notify="incidents",
                    evidence=EvidenceStore(container), **options)


def manifests(container: ContainerClient) -> list[dict]:
    return [json.loads(container.download_blob(b.name).readall())
            for b in container.list_blobs() if b.name.endswith("/manifest.json")]


def posts(rx: Receiver) -> list[dict]:
    return [b for b in rx.bodies() if b.get("schema") == INCIDENT_SCHEMA]


def test_a_high_incident_gets_one_bundle_of_its_raw_records_before_it_is_told(
        storage_connection, table_prefix, container) -> None:
    events = risky_success()
    seen: dict[str, tuple[int, int]] = {}

    def hook(point: str) -> None:  # what exists at each step: bundles, notifications sent
        if point in ("after_incident", "after_evidence", "after_incident_outbox"):
            seen[point] = (len(manifests(container)), len(posts(rx)))

    with receiver() as rx:
        run = pipeline(storage_connection, table_prefix, rx.url, container, hook=hook)
        report = run.judge(events, NOW, raw_of(events))
        run.deliver(NOW)
        told = posts(rx)
    assert seen == {"after_incident": (0, 0), "after_evidence": (1, 0),
                    "after_incident_outbox": (1, 0)}
    assert (report.notifications, report.evidence_bundles, report.evidence_failures) == (1, 1, [])
    (manifest,) = manifests(container)
    (body,) = told
    assert manifest["incident_id"] == body["incident"]["incident_id"]
    assert manifest["revision"] == 1 and manifest["verdict"] == "high"
    assert {r["event_id"] for r in manifest["raw_records"]} == {e.event_id for e in events}
    assert manifest["raw_exact"] == {"exact": len(events), "canonical": 0}
    assert manifest["events_without_raw"] == [] and manifest["note"] is None


def test_a_crash_after_the_bundle_tells_the_revision_once_and_keeps_one_bundle(
        storage_connection, table_prefix, container) -> None:
    events = risky_success()
    with receiver() as rx:
        crashing = pipeline(storage_connection, table_prefix, rx.url, container,
                            hook=crash_at("after_evidence"))
        with pytest.raises(InjectedCrash):
            crashing.judge(events, NOW, raw_of(events))
        blobs = sorted(b.name for b in container.list_blobs())
        pipeline(storage_connection, table_prefix, rx.url, container).deliver(NOW)
        assert len(posts(rx)) == 1
    assert sorted(b.name for b in container.list_blobs()) == blobs  # found, not rewritten
    (manifest,) = manifests(container)
    assert len(manifest["raw_records"]) == len(events)


def test_a_crash_before_the_bundle_writes_it_on_recovery_saying_the_raw_is_gone(
        storage_connection, table_prefix, container) -> None:
    events = risky_success()
    with receiver() as rx:
        crashing = pipeline(storage_connection, table_prefix, rx.url, container,
                            hook=crash_at("after_incident"))
        with pytest.raises(InjectedCrash):
            crashing.judge(events, NOW, raw_of(events))
        assert manifests(container) == []
        pipeline(storage_connection, table_prefix, rx.url, container).deliver(NOW)
        assert len(posts(rx)) == 1
    (manifest,) = manifests(container)
    assert manifest["raw_records"] == [] and manifest["note"] == RECOVERED_NOTE
    assert set(manifest["events_without_raw"]) == {e.event_id for e in events}


@pytest.mark.parametrize(("min_verdict", "revisions"), [("medium", [2]), ("low", [1, 2])])
def test_each_revision_at_the_minimum_verdict_adds_a_bundle(
        storage_connection, table_prefix, container, min_verdict, revisions) -> None:
    with receiver() as rx:
        hop = carrier_hop()
        pipeline(storage_connection, table_prefix, rx.url, container,
                 evidence_min_verdict=min_verdict).judge(hop, NOW, raw_of(hop))
        risky = risky_success(at=timedelta(minutes=-30))
        pipeline(storage_connection, table_prefix, rx.url, container,
                 evidence_min_verdict=min_verdict).judge(risky, NOW, raw_of(risky))
    found = sorted((m["revision"], m["verdict"]) for m in manifests(container))
    assert [r for r, _ in found] == revisions
    assert found[-1] == (2, "high")


def test_a_failing_evidence_store_is_reported_and_the_incident_still_told(
        storage_connection, table_prefix) -> None:
    absent = BlobServiceClient.from_connection_string(storage_connection).get_container_client(
        "absent" + uuid.uuid4().hex[:10])  # never created
    events = risky_success()
    with receiver() as rx:
        run = pipeline(storage_connection, table_prefix, rx.url, absent)
        report = run.judge(events, NOW, raw_of(events))
        run.deliver(NOW)
        assert len(posts(rx)) == 1
    assert report.evidence_bundles == 0
    (why,) = report.evidence_failures
    assert "evidence container does not exist" in why
