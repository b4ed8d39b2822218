"""Evidence bundles against Azurite: written create-only, read back and verified, never
rewritten; a new revision adds a bundle; a changed part is named."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from detections.model import Event
from detections.testing import T0, risk_detection, risky_user, sign_in
from service.response.bundles import EvidenceError, EvidenceStore, incident_inputs, needs_bundle
from service.response.raw import RawRecord
from tests.incident_support import incidents_of

pytestmark = pytest.mark.azurite
NOW = T0 + timedelta(hours=1)


@pytest.fixture
def container(storage_connection: str) -> ContainerClient:
    client = BlobServiceClient.from_connection_string(storage_connection)
    made = client.get_container_client("ev" + uuid.uuid4().hex[:12])
    made.create_container()
    return made


def risky_success(user: str = "alice") -> list[Event]:
    who = {"user_principal_name": f"{user}@contoso.com", "user_id": f"u-{user}"}
    return [
        sign_in(id=f"risky-{user}", time=T0, **who, risk_level_during_sign_in="high",
                risk_level_aggregated="high", risk_state="atRisk", risk_detail="none",
                authentication_requirement="singleFactorAuthentication"),
        risk_detection(id=f"det-{user}", time=T0, **who, risk_level="high"),
        risky_user(id=f"u-{user}", time=T0 + timedelta(minutes=10),
                   user_principal_name=f"{user}@contoso.com"),
    ]


def raw_of(events: list[Event]) -> dict[str, RawRecord]:
    # A record as Graph would send it: its own spacing, a non-ASCII name, a newline inside.
    return {e.event_id: RawRecord(
        event_id=e.event_id, source="graph:signIns",
        body=f'{{ "id" : "{e.event_id}",\n  "city": "Zürich" }}'.encode())
        for e in events}


def the_incident(events: list[Event]):
    incidents = [i for i in incidents_of(events) if i.principal == "alice@contoso.com"]
    assert incidents, "the factory events must open alice's incident"
    return incidents[-1]


def test_a_bundle_is_written_read_back_and_fetched_intact(
        container: ContainerClient, tmp_path: Path) -> None:
    events = risky_success()
    incident = the_incident(events)
    assert needs_bundle(incident, "medium")
    raw = raw_of(events)
    records, kept, missing = incident_inputs(incident, {e.event_id: e for e in events}, raw)
    assert {r.event_id for r in records} <= set(raw) and records
    assert missing == [i for i in missing if i not in raw]
    store = EvidenceStore(container)
    ref = store.write(incident, records, kept, NOW)

    assert ref.prefix == f"{incident.incident_id}/r{incident.revision:06d}/"
    assert store.verify(ref) == []
    assert store.latest(incident.incident_id) == ref
    manifest_blob = container.download_blob(f"{ref.prefix}manifest.json").readall()
    assert hashlib.sha256(manifest_blob).hexdigest() == ref.manifest_sha256

    fetched, problems = store.fetch(incident.incident_id, None, tmp_path)
    assert (fetched, problems) == (ref, [])
    manifest = json.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["incident_id"] == incident.incident_id
    assert manifest["revision"] == incident.revision
    assert manifest["raw_exact"] == {"exact": len(records), "canonical": 0}
    assert set(manifest["rule_versions"]) == {a.rule_id for a in incident.alerts}
    assert all(isinstance(v, int) for v in manifest["rule_versions"].values())
    data = (tmp_path / "raw-records.dat").read_bytes()
    for entry, record in zip(manifest["raw_records"], records, strict=True):
        assert data[entry["offset"]:entry["offset"] + entry["length"]] == record.body
    for role, file in (("raw", "raw-records.dat"), ("events", "events.json"),
                       ("incident", "incident.json")):
        body = (tmp_path / file).read_bytes()
        assert hashlib.sha256(body).hexdigest() == manifest["parts"][role]["sha256"]
    assert json.loads((tmp_path / "incident.json").read_bytes()) == incident.to_state()
    assert {e["event_id"] for e in json.loads((tmp_path / "events.json").read_bytes())} == {
        e.event_id for e in kept}


def test_writing_again_returns_the_bundle_and_never_rewrites_it(
        container: ContainerClient) -> None:
    events = risky_success()
    incident = the_incident(events)
    store = EvidenceStore(container)
    first = store.write(incident, list(raw_of(events).values()), events, NOW)
    names = sorted(b.name for b in container.list_blobs())
    etags = {b.name: b.etag for b in container.list_blobs()}
    # A retry an hour later with other raw records: the stored bundle stands, unchanged.
    again = store.write(incident, [], events[:1], NOW + timedelta(hours=1))
    assert again == first
    assert sorted(b.name for b in container.list_blobs()) == names
    assert {b.name: b.etag for b in container.list_blobs()} == etags


def test_a_new_revision_adds_a_bundle(container: ContainerClient, tmp_path: Path) -> None:
    events = risky_success()
    incident = the_incident(events)
    store = EvidenceStore(container)
    first = store.write(incident, [], events, NOW)
    later = replace(incident, revision=incident.revision + 1)
    second = store.write(later, [], events, NOW + timedelta(minutes=5))
    assert second.prefix != first.prefix
    assert store.latest(incident.incident_id) == second
    old, problems = store.fetch(incident.incident_id, first.revision, tmp_path)
    assert (old, problems) == (first, [])


def test_an_interrupted_attempt_leaves_a_part_a_retry_does_not_collide_with(
        container: ContainerClient) -> None:
    events = risky_success()
    incident = the_incident(events)
    prefix = f"{incident.incident_id}/r{incident.revision:06d}/"
    # What a crash after the first part and before the manifest leaves behind.
    container.upload_blob(f"{prefix}raw-records-0000000000000000.dat", b"half")
    ref = EvidenceStore(container).write(incident, list(raw_of(events).values()), events, NOW)
    assert EvidenceStore(container).verify(ref) == []


@pytest.mark.parametrize("role", ["raw-records", "events", "incident", "manifest"])
def test_a_changed_part_is_named(container: ContainerClient, tmp_path: Path, role: str) -> None:
    events = risky_success()
    incident = the_incident(events)
    store = EvidenceStore(container)
    ref = store.write(incident, list(raw_of(events).values()), events, NOW)
    name = next(b.name for b in container.list_blobs(name_starts_with=ref.prefix)
                if b.name.rsplit("/", 1)[1].startswith(role))
    # Azurite has no immutability policy: overwrite it as an attacker with the key could.
    original = container.download_blob(name).readall()
    metadata = container.get_blob_client(name).get_blob_properties().metadata
    container.upload_blob(name, original.replace(b"alice", b"mallory"), overwrite=True,
                          metadata=metadata)
    problems = store.verify(ref)
    file = {"raw-records": "raw-records.dat", "events": "events.json",
            "incident": "incident.json", "manifest": "manifest.json"}[role]
    assert problems and any(p.startswith(file) for p in problems), problems
    fetched, fetch_problems = store.fetch(incident.incident_id, None, tmp_path)
    assert (fetched, fetch_problems) == (ref, problems)
    assert (tmp_path / file).read_bytes() != original  # written for a person to look at
    with pytest.raises(EvidenceError, match="not intact"):
        store.write(incident, [], events, NOW)  # never a silent second bundle


def test_a_missing_bundle_and_a_bad_id_are_errors(container: ContainerClient,
                                                   tmp_path: Path) -> None:
    store = EvidenceStore(container)
    assert store.latest("0" * 32) is None
    with pytest.raises(EvidenceError, match="no evidence bundle"):
        store.fetch("0" * 32, None, tmp_path)
    with pytest.raises(EvidenceError, match="not an incident id"):
        store.latest("../other")


def test_a_missing_container_is_an_evidence_error(storage_connection: str) -> None:
    client = BlobServiceClient.from_connection_string(storage_connection)
    absent = client.get_container_client("absent" + uuid.uuid4().hex[:10])
    events = risky_success()
    with pytest.raises(EvidenceError, match="container does not exist"):
        EvidenceStore(absent).write(the_incident(events), [], events, NOW)


def test_low_incidents_need_no_bundle_at_the_default() -> None:
    incident = the_incident(risky_success())
    assert needs_bundle(replace(incident, verdict="low"), "low")
    assert not needs_bundle(replace(incident, verdict="low"), "medium")
    assert not needs_bundle(replace(incident, verdict="medium"), "high")
