"""Event Hubs messages -> one batch: the export's normalizer, and skips that say where."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from detections.model import SignIn
from detections.normalize import decode_json_line
from detections.testing import T0
from service.ingest.eventhub import hub_batch, hub_records, partition_of
from service.ingest.sources import SourceReport
from tests.eventhub_support import envelope, hub_events, sign_in_record


def test_every_sign_in_category_of_an_envelope_becomes_an_event() -> None:
    records = [sign_in_record(f"e{i}", T0 + timedelta(minutes=i), "alice", category=category)
               for i, category in enumerate(("SignInLogs", "NonInteractiveUserSignInLogs",
                                             "ServicePrincipalSignInLogs",
                                             "ManagedIdentitySignInLogs"))]
    events = hub_events("2", [(10, envelope(*records[:2])), (11, envelope(*records[2:]))])
    report = SourceReport()
    batch = hub_batch(events, report)
    assert [e.event_id for e in batch.events] == ["e0", "e1", "e2", "e3"]
    assert all(isinstance(e, SignIn) for e in batch.events)
    categories = [e.category for e in batch.events if isinstance(e, SignIn)]
    assert categories == ["interactiveUser", "nonInteractiveUser", "servicePrincipal",
                          "managedIdentity"]
    assert batch.commits == ()  # the host checkpoints, not us
    assert report.events == {"eventhub": 4} and report.skipped == 0
    assert partition_of(events[0]) == "2"


def test_a_poisoned_body_and_record_are_skipped_by_name_and_the_rest_kept(caplog) -> None:
    good = sign_in_record("ok-1", T0, "alice")
    broken = sign_in_record("bad-1", T0, "bob", createdDateTime="not a time")
    del broken["time"]
    events = hub_events("5", [
        (41, b"{not json"),
        (42, envelope(good, broken, sign_in_record("ok-2", T0, "carol"))),
        (43, b"\xff\xfe binary"),
        (44, envelope({"category": "AzureActivity", "properties": {"x": 1}})),
    ])
    report = SourceReport()
    with caplog.at_level(logging.WARNING, logger="riskwatch.sources"):
        batch = hub_batch(events, report)
    assert [e.event_id for e in batch.events] == ["ok-1", "ok-2"]
    assert report.skipped == 4
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "eventhub partition 5 sequence 41 offset 41984: body is not JSON" in logged
    assert "eventhub partition 5 sequence 42 offset 43008 record 1" in logged
    assert "eventhub partition 5 sequence 43 offset 44032: body is not UTF-8" in logged
    assert "eventhub partition 5 sequence 44 offset 45056 record 0" in logged


def test_the_same_records_give_the_same_events_as_the_export_blob_lines() -> None:
    record = sign_in_record("same-1", T0, "dave", errorCode=50126)
    from_blob = list(decode_json_line("blob", 1, json.dumps(record), fmt="diagnostic"))
    (from_hub,) = hub_records(hub_events("0", [(1, envelope(record))])[0])
    assert from_blob == [from_hub]


def test_a_bare_record_without_envelope_is_still_normalized() -> None:
    (item,) = hub_records(hub_events("1", [(7, b'{"x": 1}')])[0])
    assert not isinstance(item, SignIn)  # a Skip: not a sign-in, risk or risky-user record
    assert "eventhub partition 1 sequence 7" in str(item)
