"""The Table-backed history against Azurite: packed reads, bounded batches, restarts,
the old layout's migration and the locks of several workers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableServiceClient

from detections.correlation_history import History, user_keys_of
from detections.model import Event, SignIn
from detections.testing import T0, sign_in
from service.ingest.directory_cache import DirectoryCache
from service.state.history_packs import Entry, decode, encode, join_rows, place, split_rows
from service.state.history_store import TableHistoryStore, pack, unpack
from service.state.tables import Tables
from tests.test_correlation_rules import alerts, attack_timeline, benign_timeline, run
from tests.test_enrich import RESPONSE

pytestmark = pytest.mark.azurite


class CountingTransport(RequestsTransport):  # type: ignore[misc]
    """The real HTTP transport, counting what it sends: (method, path kind)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent: Counter[str] = Counter()
        self.received = 0  # response body bytes

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
        response = super().send(request, **kwargs)
        self.received += len(response.internal_response.content)
        return response


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


def ten_thousand() -> list[Event]:
    return [
        sign_in(id=f"e{i}", time=T0 + timedelta(seconds=i), user_id=f"u-{i % 2000}",
                user_principal_name=f"user{i % 2000}@contoso.com",
                ip_address=f"10.{i % 7}.{(i // 7) % 50}.1", session_id=f"s{i % 2000}",
                **({"success": False, "error_code": 50126} if i % 5 == 0 else {}))
        for i in range(10_000)
    ]


def test_ten_thousand_sign_ins_cost_a_query_and_a_transaction_per_partition(
    storage_connection: str, table_prefix: str
) -> None:
    events = ten_thousand()
    store, transport = make_store(storage_connection, table_prefix)
    history = store.load(events)
    run(events, history)
    store.save(history)
    sent = dict(transport.sent)
    # A new table: the search for old-layout rows (none), the tenant row, then one query
    # per partition (8).
    assert sent.get("GET query", 0) <= 2 + 8, sent
    assert sent.get("GET point", 0) == 1  # the layout row (absent: nothing to migrate)
    # Writes: one transaction per partition here (each under 100 operations and 2.5 MB).
    assert sent["POST batch"] <= 8 + 1, sent
    # A second run reads the same state back with as few requests.
    store2, transport2 = make_store(storage_connection, table_prefix)
    loaded = store2.load(events)
    assert len(loaded.users) == 2000  # the UPN keys hold only flags: none here
    assert loaded.to_dict() == history.to_dict()
    assert sum(transport2.sent.values()) <= 3 + 8  # table check, layout, tenant, partitions


def test_a_small_batch_reads_only_its_packs_by_row_key(
    storage_connection: str, table_prefix: str
) -> None:
    """An Event Hubs batch of a few users reads their packs, not whole partitions."""
    events = [e for e in ten_thousand() if isinstance(e, SignIn) and e.success]
    store, _ = make_store(storage_connection, table_prefix)
    history = store.load(events)
    run(events, history)
    store.save(history)
    whole = make_store(storage_connection, table_prefix)
    whole[0].load(events)
    few = [e for e in events if e.user_id in {"u-1", "u-2"}][:4]
    store2, transport2 = make_store(storage_connection, table_prefix)
    loaded = store2.load(few)
    assert set(loaded.users) == {"u-1", "u-2"}
    packs = {place("u", k) for e in few for k in user_keys_of(e)}
    packs |= {place("i", e.ip_address) for e in few if isinstance(e, SignIn) and e.ip_address}
    partitions = {p for p, _ in packs}
    # the table check, the layout row, the tenant row, one query per partition of its keys
    assert sum(transport2.sent.values()) <= 3 + len(partitions)
    assert transport2.received * 20 < whole[1].received  # a few packs, not the partitions


def test_packs_split_over_rows_and_drop_idle_entries() -> None:
    state = b'{"x":"' + b"y" * 10 + b'"}'
    day = 86_400 * 10**6
    entries = {f"10.0.{n // 256}.{n % 256}": Entry(n * 1000, state) for n in range(5000)}
    entries["203.0.113.9"] = Entry(-4 * day, state)  # idle for four days: dropped
    kept = decode(encode(entries, "i"))
    assert "203.0.113.9" not in kept and len(kept) == 5000
    assert kept["10.0.1.1"].state == state
    import os

    noise = os.urandom(2_000_000)  # incompressible: needs three rows of 14 x 64,000 bytes
    rows = split_rows(noise)
    assert len(rows) == 3 and rows[0]["more"] == 2
    assert all(r["n"] <= 14 and all(len(r[f"d{i}"]) <= 64_000 for i in range(r["n"]))
               for r in rows)
    assert join_rows(rows) == noise
    big = {"x": "y" * 100_000}
    assert unpack(pack(big)) == big and pack(big)["n"] == 4


def test_the_old_layout_is_migrated_once(storage_connection: str, table_prefix: str) -> None:
    """A tenant upgrading keeps its history: rows of the one-row-per-key layout are
    packed on the first load, then never read again."""
    from service.state.tables import row_key_hash

    events = sorted(attack_timeline() + benign_timeline(), key=lambda e: (e.time, e.event_id))
    history = History()
    history.observe_all(events)
    service = TableServiceClient.from_connection_string(storage_connection)
    table = Tables(service, table_prefix).table("history")
    for scope, states in (("u", history.users), ("i", history.ips)):
        for key, state in states.items():
            table.create_entity({"PartitionKey": scope + row_key_hash(key)[:2],
                                 "RowKey": row_key_hash(key), "key": key,
                                 **pack(state.to_dict())})
    table.create_entity({"PartitionKey": "t", "RowKey": "tenant",
                         **pack(history.tenant.to_dict())})
    store, _ = make_store(storage_connection, table_prefix)
    loaded = store.load(events)
    assert loaded.to_dict() == history.to_dict()
    again, transport = make_store(storage_connection, table_prefix)
    assert again.load(events).to_dict() == history.to_dict()
    # The layout row is there: no second search of old rows, no writes; the packs are
    # read by RowKey ranges (a few packs a partition here: up to 4 queries each).
    assert transport.sent["GET point"] == 1 and "POST batch" not in transport.sent
    assert transport.sent["GET query"] <= 8 * 4


def test_two_workers_on_other_users_of_one_pack_do_not_judge_again(
    storage_connection: str, table_prefix: str
) -> None:
    """Packs carry the locks, keys the conflicts: a pack another worker changed or holds
    is read again and kept when none of this judgement's keys moved."""
    now = T0 + timedelta(hours=1)
    pack_of = {}
    for n in range(2000):
        pack_of.setdefault(place("u", f"u-p{n}"), []).append(n)
    a_user, b_user = next(v for v in pack_of.values() if len(v) >= 2)[:2]
    a = [sign_in(id="a1", time=T0, user_id=f"u-p{a_user}", user_principal_name=None,
                 ip_address="192.0.2.1")]
    b = [sign_in(id="b1", time=T0, user_id=f"u-p{b_user}", user_principal_name=None,
                 ip_address="192.0.2.2")]
    store_a, _ = make_store(storage_connection, table_prefix)
    store_b, _ = make_store(storage_connection, table_prefix)
    seen_a, seen_b = store_a.load(a), store_b.load(b)
    run(a, seen_a)
    run(b, seen_b)
    assert store_a.reserve(seen_a, now)  # creates the pack, locked for a's key
    store_a.save(seen_a)
    assert store_b.reserve(seen_b, now)  # the pack moved, b's key did not: kept
    store_b.save(seen_b)
    assert store_b.conflicts == 0 and store_b.rebased >= 1
    final = store_a.load(a + b)
    assert set(final.users[f"u-p{a_user}"].seen) == {"a1"}
    assert set(final.users[f"u-p{b_user}"].seen) == {"b1"}


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
    """Table Storage entities are at most 1 MiB: attackers choose the UPNs of a spray, so
    the stored keys are capped and the windows bounded; the tenant row, compressed, stays
    one entity (a pack past a row would continue in rows of its own)."""
    from detections.history_records import MAX_TENANT_ENTRIES, Attempt, insert
    from service.state.history_packs import state_bytes

    history = History()
    t0 = datetime(2026, 11, 2, tzinfo=UTC)
    windows = (history.tenant.own_failures(), history.tenant.own_lockouts())
    for n in range(3 * MAX_TENANT_ENTRIES):
        attempt = Attempt(time=t0 + timedelta(seconds=n), event_id=f"{n:08d}-" + "e" * 300,
                          user="x" * 400 + f"{n}@evil.example", ip=f"2001:db8::{n:x}",
                          code=50053, asn=64500, country="ZZ")
        for window in windows:
            insert(window, attempt, retention=timedelta(hours=26), cap=MAX_TENANT_ENTRIES)
    assert len(history.tenant.failures) == MAX_TENANT_ENTRIES
    state = state_bytes(history.tenant.to_dict())
    rows = split_rows(encode({"tenant": Entry(0, state)}, "t"))
    assert len(rows) == 1
    assert sum(len(rows[0][f"d{i}"]) for i in range(rows[0]["n"])) < 1_000_000


def test_flags_round_trip_and_never_overwrite_a_user_row(
    storage_connection: str, table_prefix: str
) -> None:
    """Run 1 keeps Alice's sign-ins; run 2 sees only a risk detection on her (its alert
    flags her under id and UPN); run 3 reads both the sign-ins and the flag back."""
    from detections.correlation import recent_flag
    from detections.engine import Engine
    from detections.registry import load_rules
    from detections.rule import Context
    from detections.testing import risk_detection

    first: list[Event] = [sign_in(id=f"ok{i}", time=T0 + timedelta(hours=i)) for i in range(3)]
    store, _ = make_store(storage_connection, table_prefix)
    history = store.load(first)
    run(first, history)
    store.save(history)
    successes = [s.event_id for s in history.users["u-alice"].successes]

    second: list[Event] = [risk_detection(id="rd-7", time=T0 + timedelta(hours=5),
                                          risk_level="high")]
    store, _ = make_store(storage_connection, table_prefix)
    engine = Engine(load_rules(), history=store.load(second))
    matches, failures = engine.evaluate(second[0])
    assert matches and failures == []
    store.save(engine.history)

    later = sign_in(id="later", time=T0 + timedelta(hours=6))
    store, _ = make_store(storage_connection, table_prefix)
    loaded = store.load([later])
    assert [s.event_id for s in loaded.users["u-alice"].successes] == successes
    ctx = Context(history=loaded, params={})
    for key in ("u-alice", "alice@contoso.com"):
        flag = recent_flag(ctx, key, later.time, timedelta(days=7))
        assert flag is not None and flag.source_event == "rd-7" and flag.kind == "alert"
    assert loaded.users["u-alice"].flags == engine.history.users["u-alice"].flags


def test_history_writes_are_conditional_and_locked_for_a_judgement(
    storage_connection: str, table_prefix: str
) -> None:
    """Two workers load the same user; the first to lock wins, the other is refused (and
    must judge again), a stale save raises, and a stopped worker's lock expires."""
    from service.state.history_store import LOCK_FOR, HistoryConflict

    now = T0 + timedelta(hours=1)
    first: list[Event] = [sign_in(id="a1", time=T0)]
    store_a, _ = make_store(storage_connection, table_prefix)
    store_b, _ = make_store(storage_connection, table_prefix)
    seen_a, seen_b = store_a.load(first), store_b.load(first)
    run(first, seen_a)
    run([sign_in(id="b1", time=T0 + timedelta(minutes=1))], seen_b)
    assert store_a.reserve(seen_a, now)  # a new row: inserted as a locked placeholder
    assert not store_b.reserve(seen_b, now)  # insert-if-absent: b must reload
    store_a.save(seen_a)
    with pytest.raises(HistoryConflict):
        store_b.save(seen_b)  # its snapshot is stale: nothing is overwritten
    again = store_b.load(first)
    assert set(again.users["u-alice"].seen) == {"a1"}
    run([sign_in(id="b1", time=T0 + timedelta(minutes=1))], again)
    assert store_b.reserve(again, now)
    # A third worker meets b's live lock: refused; once the lock expired (b stopped), it wins.
    store_c, _ = make_store(storage_connection, table_prefix)
    held = store_c.load(first)
    run([sign_in(id="c1", time=T0 + timedelta(minutes=2))], held)
    assert not store_c.reserve(held, now)
    later = store_c.load(first)
    run([sign_in(id="c1", time=T0 + timedelta(minutes=2))], later)
    assert store_c.reserve(later, now + LOCK_FOR + timedelta(seconds=1))
    store_c.save(later)
    with pytest.raises(HistoryConflict):
        store_b.save(again)  # b's lock was broken after it expired
    final = store_a.load(first)
    assert set(final.users["u-alice"].seen) == {"a1", "c1"}  # b's judgement redone elsewhere
    assert store_b.conflicts == 1 and store_c.conflicts == 1


def test_a_batch_with_a_credential_failure_waits_for_the_tenant_window(
    storage_connection: str, table_prefix: str
) -> None:
    """Every credential failure changes the tenant window: a second worker waits for the
    first one's judgement to be saved, then judges on it, instead of judging twice."""
    import threading

    now = T0 + timedelta(hours=1)
    fail = {"success": False, "error_code": 50126}
    a = [sign_in(id="fa", time=T0, user_id="u-a", user_principal_name=None,
                 ip_address="192.0.2.1", **fail)]
    b = [sign_in(id="fb", time=T0 + timedelta(seconds=1), user_id="u-b",
                 user_principal_name=None, ip_address="192.0.2.2", **fail)]
    store_a, _ = make_store(storage_connection, table_prefix)
    store_b, _ = make_store(storage_connection, table_prefix)
    held = store_a.load_locked(a, now)
    run(a, held)
    loaded: list[History] = []
    waiting = threading.Thread(target=lambda: loaded.append(store_b.load_locked(b, now)))
    waiting.start()
    waiting.join(timeout=1.0)
    assert waiting.is_alive()  # held by a's judgement
    assert store_a.reserve(held, now)
    store_a.save(held)
    waiting.join(timeout=30)
    (seen_b,) = loaded
    assert [f.event_id for f in seen_b.tenant.failures] == ["fa"]  # judged after a's save
    run(b, seen_b)
    assert store_b.reserve(seen_b, now)
    store_b.save(seen_b)
    final = store_a.load(a + b)
    assert [f.event_id for f in final.tenant.failures] == ["fa", "fb"]
    assert store_a.conflicts == store_b.conflicts == 0


def test_a_pack_larger_than_a_row_is_written_and_read_whole(
    storage_connection: str, table_prefix: str
) -> None:
    """A pack past 14 x 64,000 bytes continues in rows of its own, in its transaction;
    shrinking again deletes them."""
    import os

    from service.state.history_rows import write_ops as _write_ops

    store, _ = make_store(storage_connection, table_prefix)
    pack_id = place("i", "192.0.2.1")
    noise = {f"k{n}": Entry(n, os.urandom(600).hex().encode()) for n in range(1500)}
    stored = store._read([pack_id])[pack_id]
    store.client.submit_transaction(_write_ops(stored, encode(noise, "i"), None))
    again = store._read([pack_id])[pack_id]
    assert again.rows >= 2 and again.entries == noise
    small = {"k1": noise["k1"]}
    store.client.submit_transaction(_write_ops(again, encode(small, "i"), None))
    rows = list(store.client.query_entities(f"PartitionKey eq '{pack_id[0]}'"))
    assert [r["RowKey"] for r in rows] == [pack_id[1]]
    assert store._read([pack_id])[pack_id].entries == small


def test_an_event_dated_far_ahead_does_not_prune_its_pack(
    storage_connection: str, table_prefix: str
) -> None:
    """Entries idle past retention go when their pack is rewritten, relative to the pack's
    newest write; a sign-in dated decades ahead counts as written today, so it cannot make
    the keys beside it look idle."""
    by_pack: dict[Any, list[int]] = {}
    for n in range(3000):
        by_pack.setdefault(place("i", f"10.9.{n // 256}.{n % 256}"), []).append(n)
    first, second = next(v for v in by_pack.values() if len(v) >= 2)[:2]
    ip_a, ip_b = (f"10.9.{n // 256}.{n % 256}" for n in (first, second))
    old = [sign_in(id="old", time=T0, ip_address=ip_a)]
    service = TableServiceClient.from_connection_string(storage_connection)
    store = TableHistoryStore(Tables(service, table_prefix), clock=lambda: T0)
    history = store.load(old)
    run(old, history)
    store.save(history)
    ahead = [sign_in(id="ahead", time=datetime(2099, 1, 1, tzinfo=UTC), user_id="u-bob",
                     user_principal_name="bob@contoso.com", ip_address=ip_b)]
    history = store.load(ahead)
    run(ahead, history)
    store.save(history)
    assert ip_a in store.load(old).ips
