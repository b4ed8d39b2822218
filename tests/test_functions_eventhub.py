"""The Event Hubs trigger with real EventHubEvent batches, Azurite and a loopback webhook:
poisoned input is skipped by name, a redelivered batch sends nothing twice, and eight
worker processes on overlapping users raise the alerts one worker raises."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from detections.testing import T0
from service.functions import triggers
from tests.eventhub_support import envelope, hub_events, sign_in_record
from tests.receivers import Receiver

pytestmark = pytest.mark.azurite
ROOT = Path(__file__).resolve().parent.parent
PARTITIONS = 8
Message = tuple[int, bytes]


def app_env(connection: str, prefix: str, webhook: str) -> dict[str, str]:
    return {"RISKWATCH_STORAGE": connection, "RISKWATCH_TABLE_PREFIX": prefix,
            "RISKWATCH_NOTIFY": "alerts", "RISKWATCH_WEBHOOK_URL": webhook,
            "RISKWATCH_WEBHOOK_MIN_SEVERITY": "low"}


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


@pytest.fixture
def configured(monkeypatch, storage_connection, table_prefix, webhook) -> Iterator[None]:
    for name, value in app_env(storage_connection, table_prefix, webhook.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(triggers, "_job", None)
    yield
    triggers._job = None


def alert_ids(rx: Receiver) -> list[str]:
    return [r.header("Idempotency-Key") or "" for r in rx.requests if r.body]


def summaries(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("riskwatch run")]


def registered(env: dict[str, str]) -> dict[str, Any]:
    """The app as the host indexes it, in a fresh interpreter with ``env`` as app settings."""
    code = ("import json, function_app; print(json.dumps({f.get_function_name(): "
            "{**json.loads(f.get_function_json()), 'retry': f.get_settings_dict('retry_policy')}"
            " for f in function_app.app.get_functions()}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RISKWATCH_EVENTHUB")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_trigger_is_indexed_only_when_a_hub_and_connection_are_set() -> None:
    assert "eventhub_records" not in registered({})
    assert "eventhub_records" not in registered({"RISKWATCH_EVENTHUB_NAME": "entra"})
    functions = registered({
        "RISKWATCH_EVENTHUB_NAME": "entra",
        "RISKWATCH_EVENTHUB__fullyQualifiedNamespace": "evhns-rw-test.servicebus.windows.net",
        "RISKWATCH_EVENTHUB_CONSUMER_GROUP": "riskwatch",
    })
    spec = functions["eventhub_records"]
    (binding,) = spec["bindings"]
    assert binding["type"] == "eventHubTrigger" and binding["cardinality"].lower() == "many"
    assert binding["connection"] == "RISKWATCH_EVENTHUB"  # __fullyQualifiedNamespace, __clientId
    assert binding["eventHubName"] == "%RISKWATCH_EVENTHUB_NAME%"
    assert binding["consumerGroup"] == "%RISKWATCH_EVENTHUB_CONSUMER_GROUP%"
    retry = spec["retry"]  # a failed batch is retried, not checkpointed past
    assert retry["strategy"] == "exponential_backoff" and retry["max_retry_count"] == "-1"
    assert {"poll", "export_blob_created", "rescan_requested"} <= set(functions)


def risky_success(event_id: str, user: str, time: datetime) -> dict[str, Any]:
    return sign_in_record(event_id, time, user, riskLevelDuringSignIn="high",
                          riskLevelAggregated="high", riskState="atRisk", riskDetail="none",
                          riskEventTypes_v2=["unfamiliarFeatures"])


def test_a_poisoned_body_or_record_is_named_and_the_rest_delivered(
    configured, webhook, caplog
) -> None:
    broken = sign_in_record("broken", T0, "bob")
    broken["properties"]["status"] = "not an object"
    batch = hub_events("3", [
        (100, b'{"records": [ {"time": '),  # cut short
        (101, envelope(risky_success("risky-1", "alice", T0), broken)),
        (102, envelope(risky_success("risky-2", "carol", T0 + timedelta(minutes=1)))),
    ])
    with caplog.at_level(logging.INFO, logger="riskwatch"):
        triggers.eventhub_records(batch)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "eventhub partition 3 sequence 100 offset 102400: body is not JSON" in logged
    assert "eventhub partition 3 sequence 101 offset 103424 record 1" in logged
    (summary,) = summaries(caplog)
    assert "events[eventhub=2] skipped=2" in summary and "eventhub_partition=3" in summary
    principals = {r.json()["alert"]["principal"] for r in webhook.requests if r.body}
    assert principals == {"alice@contoso.com", "carol@contoso.com"}  # bob's record: skipped


def burst(user: str, first_seq: int) -> list[Message]:
    """Twelve failed passwords (brute_force) and a risky success, three records a message."""
    records = [sign_in_record(f"{user}-f{i}", T0 + timedelta(seconds=15 * i), user,
                              errorCode=50126) for i in range(12)]
    records.append(risky_success(f"{user}-risky", user, T0 + timedelta(minutes=4)))
    return [(first_seq + n, envelope(*records[i : i + 3]))
            for n, i in enumerate(range(0, len(records), 3))]


def test_a_redelivered_batch_sends_nothing_twice(configured, webhook, caplog) -> None:
    batch = burst("dave", 1)
    with caplog.at_level(logging.INFO, logger="riskwatch"):
        triggers.eventhub_records(hub_events("0", batch))
        first = alert_ids(webhook)
        # The host redelivers from the last checkpoint (an instance died before it was written).
        triggers.eventhub_records(hub_events("0", batch))
    rules = {r.json()["alert"]["rule_id"] for r in webhook.requests if r.body}
    assert {"brute_force", "high_risk_signin_succeeded"} <= rules
    assert alert_ids(webhook) == first  # nothing posted again
    assert len(first) == len(set(first)) == len(rules)
    again = summaries(caplog)[1]
    assert "alerts_raised=0" in again and "delivered=0" in again


# ---- eight workers against one -------------------------------------------------------------

def tenant_timeline() -> list[dict[str, Any]]:
    """Ordinary sign-ins of 40 users and attacks whose evidence spans partitions: two brute
    forces, a password spray from one IP, smart lockouts across the tenant, risky successes.
    Every attack sits well inside its rule's window, so which event crosses a threshold does
    not change how many matches an alert counts: one worker and eight must agree."""
    records = [sign_in_record(f"ok-{u}-{k}", T0 + timedelta(minutes=8 * k, seconds=u), f"user{u}")
               for u in range(40) for k in range(6)]
    for victim in ("bf1", "bf2"):
        records += [sign_in_record(f"{victim}-f{i}", T0 + timedelta(minutes=5, seconds=15 * i),
                                   victim, errorCode=50126, ipAddress="203.0.113.50")
                    for i in range(12)]
    records += [sign_in_record(f"spray-{i}", T0 + timedelta(minutes=10, seconds=30 * i),
                               f"sprayed{i}", errorCode=50126, ipAddress="203.0.113.99")
                for i in range(14)]
    records += [sign_in_record(f"lock-{i}", T0 + timedelta(minutes=20, seconds=40 * i),
                               f"locked{i % 12}", errorCode=50053, ipAddress=f"192.0.2.{i + 1}",
                               autonomousSystemNumber=64500)
                for i in range(24)]
    records += [risky_success(f"risky-{i}", f"user{i}", T0 + timedelta(minutes=30 + i))
                for i in range(3)]
    return sorted(records, key=lambda r: (r["time"], r["properties"]["id"]))


def partitioned(records: list[dict[str, Any]]) -> list[list[list[Message]]]:
    """Round-robin over the partitions (a user's sign-ins land on several), time order kept
    within each; three records a message, four messages a batch."""
    per: list[list[dict[str, Any]]] = [[] for _ in range(PARTITIONS)]
    for i, record in enumerate(records):
        per[i % PARTITIONS].append(record)
    out = []
    for records_of in per:
        messages = [(n, envelope(*records_of[i : i + 3]))
                    for n, i in enumerate(range(0, len(records_of), 3))]
        out.append([messages[i : i + 4] for i in range(0, len(messages), 4)])
    return out


CONFLICTS = re.compile(r"history_conflicts=(\d+)")


def run_partitions(env: dict[str, str], work: list[tuple[str, list[Message]]]) -> int:
    """What one Functions instance does: the trigger, batch after batch; its conflicts."""
    os.environ.update(env)
    triggers._job = None
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("riskwatch")
    handler = Lines()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for partition, messages in work:
            triggers.eventhub_records(hub_events(partition, messages))
    finally:
        logger.removeHandler(handler)
    return sum(int(m.group(1)) for line in lines if (m := CONFLICTS.search(line)))


def _instance(env: dict[str, str], work: list[tuple[str, list[Message]]], barrier: Any,
              results: Any) -> None:
    barrier.wait()
    try:
        results.put(("ok", run_partitions(env, work)))
    except BaseException as exc:  # noqa: BLE001 - reported to the test process
        results.put(("error", repr(exc)))


def claims(connection: str, prefix: str) -> list[tuple[str, str, int]]:
    table = TableServiceClient.from_connection_string(connection).get_table_client(
        f"{prefix}dedup")
    return sorted((c["PartitionKey"], c["dedup_key"], int(c["count"]))
                  for c in table.query_entities("kind eq 'claim'"))


def seen_ids(connection: str, prefix: str) -> dict[str, set[str]]:
    from service.state.history_store import TableHistoryStore
    from service.state.tables import Tables

    service = TableServiceClient.from_connection_string(connection)
    users = TableHistoryStore(Tables(service, prefix)).stored("u")
    return {key: {i for i, _ in state.get("seen", [])} for key, state in users.items()}


def test_eight_workers_on_overlapping_users_raise_the_alerts_of_one(
    storage_connection, table_prefix, monkeypatch
) -> None:
    monkeypatch.setattr(triggers, "_job", None)
    for name in list(os.environ):
        if name.startswith("RISKWATCH_"):
            monkeypatch.delenv(name)
    partitions = partitioned(tenant_timeline())
    rounds = max(len(p) for p in partitions)
    # One instance owning every partition: their batches interleaved, each in order.
    single = [(str(p), partitions[p][r]) for r in range(rounds)
              for p in range(PARTITIONS) if r < len(partitions[p])]
    with Receiver() as one_rx, Receiver() as many_rx:
        one_prefix, many_prefix = f"{table_prefix}a", f"{table_prefix}b"
        one_env = app_env(storage_connection, one_prefix, one_rx.url)
        for name, value in one_env.items():
            monkeypatch.setenv(name, value)
        assert run_partitions(one_env, single) == 0  # nobody to conflict with
        ctx = multiprocessing.get_context("spawn")
        barrier, results = ctx.Barrier(PARTITIONS), ctx.Queue()
        many_env = app_env(storage_connection, many_prefix, many_rx.url)
        workers = [ctx.Process(target=_instance, args=(
            many_env, [(str(p), batch) for batch in partitions[p]], barrier, results))
            for p in range(PARTITIONS)]
        for w in workers:
            w.start()
        outcomes = [results.get(timeout=600) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert [kind for kind, _ in outcomes] == ["ok"] * PARTITIONS, outcomes
        conflicts = sum(int(n) for _, n in outcomes)
        one_alerts, many_alerts = alert_ids(one_rx), alert_ids(many_rx)
    expected = claims(storage_connection, one_prefix)
    assert {rule for rule, _, _ in expected} >= {
        "brute_force", "password_spray", "account_lockouts", "high_risk_signin_succeeded"}
    assert claims(storage_connection, many_prefix) == expected
    assert len(many_alerts) == len(set(many_alerts)) == len(one_alerts) == len(expected)
    # No worker overwrote another's observations: every sign-in is in its user's history.
    seen = seen_ids(storage_connection, many_prefix)
    assert seen == seen_ids(storage_connection, one_prefix)
    assert sum(len(ids) for ids in seen.values()) == len(tenant_timeline())
    print(f"\n8 workers: {conflicts} history conflicts (judgements redone) "
          f"over {sum(len(p) for p in partitions)} batches")
