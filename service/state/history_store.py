"""Where the correlation history (``detections.correlation_history.History``) lives between runs.

The pipeline loads a ``History`` before running the rules over a batch and saves it
afterwards, through a ``HistoryStore``: ``InMemoryHistoryStore`` keeps it in the process
(tests, ``riskwatch run --once``), ``TableHistoryStore`` in Table Storage, read in bulk
and written in batches.

Table layout (one table, ``<prefix>history``; ``service.state.history_packs`` has the
details): many users, or IP addresses, share one entity, a zlib-compressed *pack* chosen by
the hash of the key, 2 x 48 packs in each of 8 partitions, and the tenant row beside them in
``h0``. A run reads the packs its keys live in (one query per partition, whatever the
number of keys), locks the packs whose bytes changed (one transaction per partition) and
writes them back (one or a few transactions per partition). So a five-minute window costs
a few dozen requests at 100,000 users, not one query per bucket and key; a small batch
(an Event Hubs one) reads only the packs of its keys, by RowKey. The old layout (one row a
key, partitions ``u..``/``i..``/``t``) is migrated once (``history_migrate``).

Several workers at once (Event Hubs partitions on several instances, the timer beside
them) keep one per-user state, with no last-writer-wins. Every write is conditional:
insert-if-absent for a row that did not exist at load, update-if-match (its ETag) for a
row that did. The order with the dedup claims (``service.run.pipeline``) is what makes
alerts judged on the state that is actually committed:

1. ``load``: the rows the batch needs, with their ETags;
2. the rules judge the batch on that snapshot (pure, in memory);
3. ``reserve``: each changed row is locked for this judgement, one conditional write
   per partition, in partition order (``lock`` = a token, ``lock_until`` = now + 5 min).
   A row another worker changed since step 1, or holds locked, fails the write: the
   locks taken are released and the pipeline goes back to step 1 (reload, judge again),
   after a short jittered wait. Nothing was claimed yet, so a discarded judgement
   leaves no alert behind;
4. the dedup claims and the outbox (as before): the judgement they come from is the
   only one that can commit these rows, because nobody else can write them now;
5. ``save``: the new state, conditional on the lock's ETag, which also clears the lock.

Why not save first and claim after? A crash between the two would leave the events
marked seen with their correlation alerts never claimed: the redelivered batch would
skip them (``History.seen``). Why not claim first and save after, retrying the save on a
conflict? The claims would then come from a judgement on a snapshot that another worker
had already replaced: a stale judgement can alert where the committed order would not
(impossible travel takes consecutive sign-ins) and the redo cannot take it back. With
the lock, a crash anywhere before step 5 leaves the committed state as it was (the
lock expires after 5 minutes), so the redelivered batch is judged again on it and the
ledger drops the matches already claimed; a crash during step 5 leaves some rows new
(their events' claims are all in, so skipping them is right) and others still at the
old state (judged again, as above).

Packs, not keys, carry the ETags and locks; keys do not conflict unless they are the
same. A pack another worker changed (or holds) at step 3 is read again: when none of the
keys this judgement loaded from it changed, the judgement's entries are put on top of the
new version and the lock is tried again (after waiting for a live lock to go); only a key
the judgement changed that moved means judging again. Two workers on different users of
one pack therefore never redo a judgement.

Hot keys are locked before judging instead (``load_locked``, which the pipeline calls): the
tenant window, which every batch with a credential failure changes, and the keys that made
this store judge again before (an office's NAT address, in the sign-ins of every batch).
The pack is locked first and read after, so the judgement reads the committed state and
nobody can change it before ``save``; other workers wait (bounded) instead of racing. Locks
are taken in one order (sorted packs, then partitions), so waits end; a wait that runs out
(a stopped worker's lock) leaves the key to step 3 as above.

Limits: keys the rules only read (an IP of the tenant's failure window that the batch
does not touch) are not locked, so a distributed-spray check may read one that another
worker is changing. A worker that holds a lock past its 5 minutes (it was stopped, not
slow: a batch takes seconds) loses it; its ``save`` then raises ``HistoryConflict`` and
the host retries the batch. No two versions of a key are ever merged: a conflict on a key
means judging again, so no field of ``UserState``/``WindowState`` can be forgotten by a
merge.
"""


from __future__ import annotations

import json
import random
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from azure.core import MatchConditions
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from detections.correlation_history import History, user_keys_of
from detections.errors import Where
from detections.failures import classify
from detections.history_records import UserState, WindowState
from detections.model import Event, SignIn
from service.state.history_migrate import migrate_legacy
from service.state.history_packs import (
    LAYOUT_ROW,
    TENANT_KEY,
    Entry,
    Pack,
    PackId,
    encode,
    place,
    scope_of,
    state_bytes,
    written_now,
)
from service.state.history_rows import (
    HistoryConflict as HistoryConflict,
)
from service.state.history_rows import (
    error_code,
    held_by_other,
    key_hash,
    lock_op,
    pack_of,
    write_ops,
)
from service.state.tables import MAX_BATCH, Operation, Tables

CHUNK_CHARS = 30_000  # ASCII JSON: one char is one UTF-16 unit, under the 32K limit
MAX_BATCH_BYTES = 2_500_000  # raw bytes: binary travels as base64, a transaction < 4 MiB
LOCK_FOR = timedelta(minutes=5)  # as the delivery lease: a stopped worker's lock expires
LOCK_WAITS = 40  # tries at a pack another worker holds for other keys (25-250 ms apart)
PRELOCK_WAITS = 300  # tries at a hot pack held by another judgement (10-100 ms apart)
MAX_HOT = 32  # keys remembered as hot (locked before judging)
SMALL_READ = 6  # packs a RowKey-range query reads (13 comparisons; the limit is 15)
RANGE_QUERIES = 4  # up to this many range queries a partition, then the whole partition
# Another worker moved first: the conditional write failed (as in service.state.dedup).
_CONFLICT_CODES = {"EntityAlreadyExists", "UpdateConditionNotSatisfied", "ResourceNotFound"}


def pack(data: Mapping[str, Any]) -> dict[str, Any]:
    """JSON split into ``d0..dN`` string properties (ASCII, so sizes are exact); the
    incident, label and directory rows use it (and the history's old layout did)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    chunks = [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    return {"n": len(chunks), **{f"d{i}": c for i, c in enumerate(chunks)}}


def unpack(entity: Mapping[str, Any]) -> dict[str, Any]:
    text = "".join(str(entity.get(f"d{i}", "")) for i in range(int(entity.get("n", 0))))
    value = json.loads(text) if text else {}
    if not isinstance(value, dict):
        raise ValueError("stored state is not a JSON object")
    return value


class HistoryStore(Protocol):
    def load(self, events: Sequence[Event]) -> History:
        """The history the rules need for ``events`` (a store may load only their users)."""
        ...

    def save(self, history: History) -> None: ...


@runtime_checkable
class SharedHistoryStore(HistoryStore, Protocol):
    """A store several workers write at once: changed rows are locked before the claims."""

    def reserve(self, history: History, now: datetime) -> bool:
        """Lock the rows ``history`` changed; False (nothing held) when one moved since load."""
        ...

    def release(self, history: History) -> None:
        """Give up the locks of a judgement that will not be saved (a failed batch)."""
        ...


@runtime_checkable
class TenantLockingStore(Protocol):
    """A shared store that locks the hot keys a batch will change before judging it."""

    def load_locked(self, events: Sequence[Event], now: datetime) -> History:
        """``load``, with the tenant window (and keys that were contended) locked first."""
        ...


class InMemoryHistoryStore:
    """``HistoryStore`` in the process: the whole history stays loaded."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()

    def load(self, events: Sequence[Event]) -> History:
        del events  # everything is already in memory
        return self.history

    def save(self, history: History) -> None:
        self.history = history


@dataclass(slots=True)
class _Snapshot:
    """What one ``load`` read: the packs, the bytes of every key the judgement loaded
    (None: absent), the locks held and the entries the judgement changed."""

    packs: dict[PackId, Pack] = field(default_factory=dict)
    read: dict[PackId, dict[str, bytes | None]] = field(default_factory=dict)
    held: dict[PackId, str] = field(default_factory=dict)  # pack -> ETag of our lock write
    changes: dict[PackId, dict[str, Entry]] | None = None
    token: str = ""


class TableHistoryStore:
    """``HistoryStore`` over Table Storage (see the module docstring for the layout and
    the concurrency protocol)."""

    def __init__(self, tables: Tables, table: str = "history",
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.client: TableClient = tables.table(table)
        self.clock = clock  # bounds the write time of an event dated ahead
        # history -> what its load read (weak: a judgement thrown away takes its snapshot)
        self._snapshots: weakref.WeakKeyDictionary[History, _Snapshot] = (
            weakref.WeakKeyDictionary())
        self.conflicts = 0  # reservations refused: another worker changed a key we changed
        self.rebased = 0  # packs read again and kept: other workers changed other keys
        self._layout_checked = False
        self.hot: dict[tuple[str, str], None] = {}  # (scope, key) that conflicted, oldest first

    def load(self, events: Sequence[Event]) -> History:
        return self._load(events, _Snapshot())

    def load_locked(self, events: Sequence[Event], now: datetime) -> History:
        """``load``, with the hot keys the batch will change locked before they are read:
        the tenant window (every credential failure changes it) and the keys that made
        this store judge again before (an office's NAT address). Waiting for another
        worker's judgement to finish with them costs less than judging again after it.
        A key that stays held (a stopped worker) is left to ``reserve``."""
        snapshot = _Snapshot(token=uuid.uuid4().hex)
        wanted: dict[PackId, set[str]] = {}
        if any(isinstance(e, SignIn) and classify(e) == "credential" for e in events):
            wanted[place("t", TENANT_KEY)] = {TENANT_KEY}
        if self.hot:
            keys = {("u", k) for e in events for k in user_keys_of(e)}
            keys |= {("i", e.ip_address) for e in events
                     if isinstance(e, SignIn) and e.ip_address}
            for scope, key in sorted(keys & set(self.hot)):
                wanted.setdefault(place(scope, key), set()).add(key)
        if wanted:
            self._ensure_layout()
            for pack_id in sorted(wanted):  # one order for every worker: no deadlock
                if not self._prelock(pack_id, wanted[pack_id], snapshot, now):
                    break
        return self._load(events, snapshot)

    def _prelock(self, pack_id: PackId, keys: set[str], snapshot: _Snapshot,
                 now: datetime) -> bool:
        change = {k: Entry(0, b"") for k in keys}
        for _ in range(PRELOCK_WAITS):
            stored = self._read([pack_id])[pack_id]
            if not held_by_other(stored, snapshot.token, now):
                op = lock_op(stored, change, snapshot.token, now + LOCK_FOR)
                try:
                    (result,) = self.client.submit_transaction([op])
                except TableTransactionError as exc:
                    if error_code(exc) not in _CONFLICT_CODES:
                        raise
                else:
                    snapshot.held[pack_id] = stored.etag = str(result["etag"])
                    stored.lock, stored.lock_until = snapshot.token, now + LOCK_FOR
                    snapshot.packs[pack_id] = stored  # read just before: current
                    return True
            time.sleep(random.uniform(0.01, 0.1))  # noqa: S311 - jitter, not crypto
        return False

    def _heat(self, pack_id: PackId, key: str) -> None:
        """Remember a key that made a judgement redo (the newest few): locked first next time."""
        self.hot.pop((scope_of(pack_id), key), None)
        self.hot[(scope_of(pack_id), key)] = None
        while len(self.hot) > MAX_HOT:
            del self.hot[next(iter(self.hot))]

    def _load(self, events: Sequence[Event], snapshot: _Snapshot) -> History:
        self._ensure_layout()
        # Every key a rule reads or a flag writes (a user's id and UPN keys): a key not
        # loaded would be written back holding only its new flags.
        users = {k for e in events for k in user_keys_of(e)}
        ips = {e.ip_address for e in events if isinstance(e, SignIn) and e.ip_address}
        tenant_id = place("t", TENANT_KEY)
        # The tenant row comes with the packs (it sits in h0), then the packs of its
        # failure window's addresses that the batch's keys did not bring (the distributed
        # spray reads their successes); packs locked before judging are read already.
        wanted = {place("u", k) for k in users} | {place("i", k) for k in ips} | {tenant_id}
        self._take(self._read(wanted - set(snapshot.packs)), snapshot)
        tenant_entry = self._remember(snapshot, tenant_id, TENANT_KEY)
        tenant = (WindowState.from_dict(json.loads(tenant_entry))
                  if tenant_entry is not None else WindowState())
        ips |= {a.ip for a in tenant.failures if a.ip}
        self._take(self._read({place("i", k) for k in ips} - set(snapshot.packs)), snapshot)
        found_users = {k: s for k in users if (s := self._remember(snapshot, place("u", k), k))}
        found_ips = {k: s for k in ips if (s := self._remember(snapshot, place("i", k), k))}
        history = History(
            users={k: UserState.from_dict(json.loads(s)) for k, s in found_users.items()},
            ips={k: WindowState.from_dict(json.loads(s)) for k, s in found_ips.items()},
            tenant=tenant,
        )
        self._snapshots[history] = snapshot
        return history

    def reserve(self, history: History, now: datetime) -> bool:
        """Step 3 of the protocol: lock every changed pack, partition by partition in order;
        False (and every lock taken released) when a key this judgement read moved."""
        snapshot = self._snapshot(history)
        snapshot.token = snapshot.token or uuid.uuid4().hex
        changes = snapshot.changes = self._changes(history, snapshot)
        until = now + LOCK_FOR
        for partition in sorted({p[0] for p in changes if p not in snapshot.held}):
            ids = sorted(p for p in changes if p[0] == partition and p not in snapshot.held)
            if not self._lock(ids, changes, snapshot, now, until):
                return self._refused(history)
        return True

    def release(self, history: History) -> None:
        snapshot = self._snapshots.pop(history, None)
        if snapshot is not None:
            self._unlock(snapshot)

    def save(self, history: History) -> None:
        """Step 5: the changed packs, each conditional on the ETag it was locked or loaded
        with (insert-if-absent for a pack never stored); ``HistoryConflict`` if one moved."""
        snapshot = self._snapshots.pop(history, None) or _Snapshot()
        changes = (snapshot.changes if snapshot.changes is not None
                   else self._changes(history, snapshot))
        unchanged = {p: e for p, e in snapshot.held.items() if p not in changes}
        if unchanged:  # locked before judging (the tenant), then left as it was
            self._unlock(_Snapshot(held=unchanged))
        for batch in self._save_batches(changes, snapshot):
            try:
                self.client.submit_transaction(batch)
            except TableTransactionError as exc:
                if error_code(exc) not in _CONFLICT_CODES:
                    raise
                where = Where(f"history partition {batch[0][1]['PartitionKey']}")
                raise HistoryConflict(where, "changed by another worker while held "
                                      f"({error_code(exc)}); the batch is judged again") from exc
        history.dirty_users.clear()
        history.dirty_ips.clear()
        history.tenant_dirty = False

    def stored(self, scope: str) -> dict[str, dict[str, Any]]:
        """Every stored state of a scope (``u`` users, ``i`` addresses): for tests and
        tools, it reads every pack."""
        rows = list(self.client.query_entities("PartitionKey ge 'h' and PartitionKey lt 'i'"))
        by_id = {(str(r["PartitionKey"]), str(r["RowKey"])): r for r in rows}
        out: dict[str, dict[str, Any]] = {}
        for partition, row in sorted(by_id):
            if row.startswith(scope) and "+" not in row:
                named = {k: v for (p, k), v in by_id.items() if p == partition}
                for key, entry in pack_of((partition, row), named).entries.items():
                    out[key] = json.loads(entry.state)
        return out

    # ---- reading ------------------------------------------------------------------------

    def _ensure_layout(self) -> None:
        """Once per store: migrate the old one-row-per-key layout if it was never done."""
        if self._layout_checked:
            return
        try:
            self.client.get_entity("h0", LAYOUT_ROW)
        except ResourceNotFoundError:
            migrate_legacy(self.client)
        self._layout_checked = True

    def _read(self, pack_ids: Iterable[PackId]) -> dict[PackId, Pack]:
        """The packs: a partition it needs many of in one query; a few (a small batch's) by
        RowKey ranges, six a query, so the bytes read stay those of its packs."""
        by_partition: dict[str, list[PackId]] = {}
        for pack_id in set(pack_ids):
            by_partition.setdefault(pack_id[0], []).append(pack_id)
        out: dict[PackId, Pack] = {}
        for partition, ids in sorted(by_partition.items()):
            ids.sort()
            groups = ([ids[i : i + SMALL_READ] for i in range(0, len(ids), SMALL_READ)]
                      if len(ids) <= SMALL_READ * RANGE_QUERIES else [ids])
            for group in groups:
                out.update(self._query(partition, group, whole=len(groups) == 1
                                       and len(ids) > SMALL_READ))
        return out

    def _query(self, partition: str, ids: list[PackId], *, whole: bool) -> dict[PackId, Pack]:
        query = "PartitionKey eq @pk"
        if not whole:
            # Our own row names (u07, i31, t): literal; "u07+1".. sort before "u07,".
            ranges = [f"(RowKey ge '{row}' and RowKey lt '{row},')" for _, row in ids]
            query += " and (" + " or ".join(ranges) + ")"
        for attempt in range(3):
            rows = {str(e["RowKey"]): e for e in
                    self.client.query_entities(query, parameters={"pk": partition})}
            try:
                return {pack_id: pack_of(pack_id, rows) for pack_id in ids}
            except HistoryConflict:  # a pack rewritten between two pages: read again
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, packs: Mapping[PackId, Pack], snapshot: _Snapshot) -> None:
        snapshot.packs.update(packs)

    def _remember(self, snapshot: _Snapshot, pack_id: PackId, key: str) -> bytes | None:
        """The stored bytes of ``key``, remembered as read by this judgement."""
        entry = snapshot.packs[pack_id].entries.get(key)
        state = entry.state if entry is not None else None
        snapshot.read.setdefault(pack_id, {})[key] = state
        return state

    def _snapshot(self, history: History) -> _Snapshot:
        snapshot = self._snapshots.get(history)
        if snapshot is None:  # a History this store did not load: its packs are read first
            snapshot = self._snapshots[history] = _Snapshot()
        return snapshot

    def _changes(self, history: History, snapshot: _Snapshot) -> dict[PackId, dict[str, Entry]]:
        """The entries whose serialized bytes differ from what the packs hold."""
        states: list[tuple[PackId, str, bytes]] = [
            (place("u", k), k, state_bytes(history.users[k].to_dict()))
            for k in sorted(history.dirty_users) if k in history.users]
        states += [(place("i", k), k, state_bytes(history.ips[k].to_dict()))
                   for k in sorted(history.dirty_ips) if k in history.ips]
        if history.tenant_dirty:
            states.append((place("t", TENANT_KEY), TENANT_KEY,
                           state_bytes(history.tenant.to_dict())))
        missing = {p for p, _, _ in states if p not in snapshot.packs}
        if missing:  # not loaded here: read, so the pack's other keys are kept
            self._take(self._read(missing), snapshot)
        # An event dated in the future must not make a pack drop its other keys as idle.
        newest = history.newest
        if newest is not None:
            newest = min(newest, self.clock() + timedelta(days=1))
        written = written_now(newest)
        changes: dict[PackId, dict[str, Entry]] = {}
        for pack_id, key, state in states:
            entries = snapshot.packs[pack_id].entries
            old = entries.get(key)
            if old is not None and old.state == state:
                continue
            snapshot.read.setdefault(pack_id, {}).setdefault(key, old.state if old else None)
            stamp = max(written, old.written if old else 0,
                        0 if written else max((e.written for e in entries.values()), default=0))
            changes.setdefault(pack_id, {})[key] = Entry(stamp, state)
        return changes

    # ---- locking --------------------------------------------------------------------------

    def _lock(self, ids: list[PackId], changes: Mapping[PackId, dict[str, Entry]],
              snapshot: _Snapshot, now: datetime, until: datetime) -> bool:
        """Lock the packs of one partition in one transaction. A pack that moved, or that
        another worker holds for other keys, is read again and the lock tried again."""
        for _ in range(LOCK_WAITS):
            packs = [snapshot.packs[p] for p in ids]
            held = [p for p in packs if held_by_other(p, snapshot.token, now)]
            if not held:
                ops = [lock_op(p, changes[p.pack_id], snapshot.token, until) for p in packs]
                try:
                    results = self.client.submit_transaction(ops)
                except TableTransactionError as exc:
                    if error_code(exc) not in _CONFLICT_CODES:
                        raise
                else:
                    for p, result in zip(packs, results, strict=True):
                        snapshot.held[p.pack_id] = str(result["etag"])
                    return True
            fresh = self._read(ids)
            for pack_id in ids:
                if self._moved_under(snapshot, fresh[pack_id], now):
                    return False
            snapshot.packs.update(fresh)
            self.rebased += 1
            if any(held_by_other(p, snapshot.token, now) for p in fresh.values()):
                time.sleep(random.uniform(0.025, 0.25))  # noqa: S311 - jitter, not crypto
        return False

    def _moved_under(self, snapshot: _Snapshot, fresh: Pack, now: datetime) -> bool:
        """A key this judgement changed moved since it was read, or the live lock holder is
        changing one. Keys it only read are not checked, as rows only read were not before
        packs (the module docstring's limits)."""
        changed = (snapshot.changes or {}).get(fresh.pack_id, {})
        read = {k: v for k, v in snapshot.read.get(fresh.pack_id, {}).items() if k in changed}
        for key, state in read.items():
            entry = fresh.entries.get(key)
            if (entry.state if entry is not None else None) != state:
                self._heat(fresh.pack_id, key)
                return True
        if held_by_other(fresh, snapshot.token, now):
            named = [k for k in read if fresh.lock_keys is None or key_hash(k) in fresh.lock_keys]
            for key in named:
                self._heat(fresh.pack_id, key)
            return bool(named)
        return False

    def _refused(self, history: History) -> bool:
        self.conflicts += 1
        self._unlock(self._snapshot(history))
        return False

    def _unlock(self, snapshot: _Snapshot) -> None:
        """Best effort: a lock that cannot be released simply expires."""
        for (partition, row_key), etag in sorted(snapshot.held.items()):
            patch = {"PartitionKey": partition, "RowKey": row_key, "lock": ""}
            try:
                self.client.update_entity(patch, mode=UpdateMode.MERGE, etag=etag,
                                          match_condition=MatchConditions.IfNotModified)
            except Exception:  # noqa: BLE001, S112 - it expires; the caller's outcome stands
                continue
        snapshot.held.clear()

    # ---- writing --------------------------------------------------------------------------

    def _save_batches(self, changes: Mapping[PackId, dict[str, Entry]],
                      snapshot: _Snapshot) -> Iterable[list[Operation]]:
        """Each changed pack's rows in one transaction with others of its partition (at most
        100 operations and ~2.5 MB), conditional on the ETag of its first row."""
        by_partition: dict[str, list[PackId]] = {}
        for pack_id in sorted(changes):
            by_partition.setdefault(pack_id[0], []).append(pack_id)
        for ids in by_partition.values():
            batch: list[Operation] = []
            size = 0
            for pack_id in ids:
                stored = snapshot.packs[pack_id]
                blob = encode({**stored.entries, **changes[pack_id]}, scope_of(pack_id))
                ops = write_ops(stored, blob, snapshot.held.get(pack_id))
                if batch and (len(batch) + len(ops) > MAX_BATCH
                              or size + len(blob) > MAX_BATCH_BYTES):
                    yield batch
                    batch, size = [], 0
                batch += ops
                size += len(blob)
            if batch:
                yield batch
