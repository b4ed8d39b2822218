"""The Table-backed history against Azurite: bulk reads, bounded batches, restarts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient

from detections.correlation_history import History
from detections.model import Event
from detections.testing import T0, sign_in
from service.ingest.directory_cache import DirectoryCache
from service.state.history_store import TableHistoryStore, _batches, pack, unpack
from service.state.tables import MAX_BATCH, Tables
from tests.test_correlation_rules import alerts, attack_timeline, benign_timeline, run
from tests.test_enrich import RESPONSE

pytestmark = pytest.mark.azurite


class CountingTransport(RequestsTransport):  # type: ignore[misc]
    """The real HTTP transport, counting what it sends: (method, path kind)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: Counter[str] = Counter()

    def send(self, request: Any, **kwargs: Any) -> Any:
        path = request.url.split("?")[0]
        if path.endswith("$batch"):
            kind = "batch"
        elif "PartitionKey=" in path:
            kind = "point"  # GET Table(PartitionKey='..',RowKey='..')
        elif path.endswith("()"):
            kind = "query"
        else:
            kind = "other"
        self.sent[f"{request.method} {kind}"] += 1
        return super().send(request, **kwargs)


def make_store(connection: str, prefix: str) -> tuple[TableHistoryStore, CountingTransport]:
    transport = CountingTransport()
    service = TableServiceClient.from_connection_string(connection, transport=transport)
    return TableHistoryStore(Tables(service, prefix)), transport


def test_round_trip(storage_connection: str, table_prefix: str) -> None:
    store, _ = make_store(storage_connection, table_prefix)
    history = History()
    events = attack_timeline()
    history.observe_all(events)
    store.save(history)
    assert not history.dirty_users  # saved
    again, _ = make_store(storage_connection, table_prefix)
    loaded = again.load(events)
    assert loaded.to_dict()["users"] == history.to_dict()["users"]
    assert loaded.tenant.to_dict() == history.tenant.to_dict()
    assert loaded.to_dict()["ips"] == history.to_dict()["ips"]


def test_ten_thousand_sign_ins_cost_bucket_queries_not_point_reads(
    storage_connection: str, table_prefix: str
) -> None:
    events: list[Event] = [
        sign_in(id=f"e{i}", time=T0 + timedelta(seconds=i), user_id=f"u-{i % 2000}",
                user_principal_name=f"user{i % 2000}@contoso.com",
                ip_address=f"10.{i % 7}.{(i // 7) % 50}.1", session_id=f"s{i % 2000}",
                **({"success": False, "error_code": 50126} if i % 5 == 0 else {}))
        for i in range(10_000)
    ]
    store, transport = make_store(storage_connection, table_prefix)
    history = store.load(events)
    run(events, history)
    store.save(history)
    sent = dict(transport.sent)
    # 256 user buckets + at most 256 IP buckets (queries), one tenant read, table creation.
    assert sent.get("GET query", 0) <= 512
    assert sent.get("GET point", 0) == 1
    # Writes: one or more batches per touched bucket, never one request per user.
    assert 256 <= sent["POST batch"] <= 600
    total = sum(sent.values())
    assert total < 1200, sent
    # A second run reads the same state back in bulk.
    store2, transport2 = make_store(storage_connection, table_prefix)
    loaded = store2.load(events)
    assert len(loaded.users) == 2000
    assert sum(transport2.sent.values()) <= 1 + 512


def test_batches_stay_in_one_partition_and_under_100() -> None:
    rows = [{"PartitionKey": f"u{i % 3:02x}", "RowKey": str(i), **pack({"i": i})}
            for i in range(450)]
    batches = list(_batches(rows))
    assert all(len(b) <= MAX_BATCH for b in batches)
    assert all(len({op[1]["PartitionKey"] for op in b}) == 1 for b in batches)
    assert sum(len(b) for b in batches) == 450
    big = {"x": "y" * 100_000}
    assert unpack(pack(big)) == big and pack(big)["n"] == 4


def test_state_survives_a_restart(storage_connection: str, table_prefix: str) -> None:
    """A timeline split over two runs, state in Azurite, gives the alerts of one run."""
    events = sorted(attack_timeline() + benign_timeline(), key=lambda e: (e.time, e.event_id))
    expected = alerts(run(events))
    middle = len(events) // 2
    matches = []
    for part in (events[:middle], events[middle:]):
        store, _ = make_store(storage_connection, table_prefix)  # a fresh worker each run
        history = store.load(part)
        matches += run(part, history)
        store.save(history)
    assert alerts(matches) == expected
    assert {a["rule_id"] for a in expected} >= {"impossible_travel", "mfa_fatigue"}


def test_directory_cache_refreshes_daily(storage_connection: str, table_prefix: str) -> None:
    service = TableServiceClient.from_connection_string(storage_connection)
    cache = DirectoryCache(Tables(service, table_prefix))
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    calls: list[datetime] = []

    def fetch() -> list[dict[str, Any]]:
        calls.append(now)
        return [RESPONSE]

    first = cache.get(now, fetch)
    assert first.privileged.roles_of("u-alice", None)
    assert first.refreshed_at == now and len(calls) == 1
    cache.get(now + timedelta(hours=23), fetch)
    assert len(calls) == 1  # fresh: Graph not called

    def broken() -> list[Any]:
        raise ConnectionError("graph down")

    stale = cache.get(now + timedelta(days=2), broken)
    assert stale.error and "graph down" in stale.error
    assert stale.privileged.roles_of("u-alice", None)  # the old map still applies
    refreshed = cache.get(now + timedelta(days=2), fetch)
    assert refreshed.refreshed_at == now + timedelta(days=2) and len(calls) == 2


def test_a_full_tenant_window_with_hostile_keys_fits_one_entity() -> None:
    """Table Storage entities are at most 1 MiB, counted in UTF-16: attackers choose the
    UPNs of a spray, so the stored keys are capped and the windows bounded."""
    from detections.history_records import MAX_TENANT_ENTRIES, Attempt, insert

    history = History()
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    for n in range(3 * MAX_TENANT_ENTRIES):
        attempt = Attempt(time=t0 + timedelta(seconds=n), event_id=f"{n:08d}-" + "e" * 300,
                          user="x" * 400 + f"{n}@evil.example", ip=f"2001:db8::{n:x}",
                          code=50053, asn=64500, country="ZZ")
        for window in (history.tenant.failures, history.tenant.lockouts):
            insert(window, attempt, retention=timedelta(hours=26), cap=MAX_TENANT_ENTRIES)
    entity = pack(history.tenant.to_dict())
    utf16_bytes = sum(2 * len(v) for v in entity.values() if isinstance(v, str))
    assert len(history.tenant.failures) == MAX_TENANT_ENTRIES
    assert utf16_bytes < 1_000_000
