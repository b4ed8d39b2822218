"""Where the correlation history (``detections.correlation_history.History``) lives between runs.

The pipeline loads a ``History`` before running the rules over a batch and saves it
afterwards, through a ``HistoryStore``: ``InMemoryHistoryStore`` keeps it in the process
(tests, ``riskwatch run --once``), ``TableHistoryStore`` in Table Storage, read in bulk
and written in batches.

Table layout (one table, ``<prefix>history``):

* users: PartitionKey ``u`` + 2 hex digits of sha256(user key) (256 buckets),
  RowKey the full sha256 hex; one query per touched bucket loads every user of it.
* IP addresses: the same with ``i``; loaded for the batch's IPs and for the IPs in
  the tenant failure window (the distributed-spray check reads their successes).
* tenant: one row, PartitionKey ``t``, RowKey ``tenant``.

State is JSON split over properties ``d0``, ``d1`` ... (each under the 64 KiB
property limit). Writes are upserts (replace) of changed rows only, grouped by
partition into transactions of at most 100 operations and about 3 MB, so a run
over 10,000 sign-ins costs at most a few hundred requests, never 10,000 reads.
Concurrent runs are not merged: the last writer wins (the pipeline runs one
worker at a time).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from detections.correlation_history import History
from detections.history_records import UserState, WindowState
from detections.model import Event, SignIn
from detections.predicates import is_user_sign_in, user_key
from service.state.tables import MAX_BATCH, Operation, Tables, row_key_hash, submit

CHUNK_CHARS = 30_000  # ASCII JSON: one char is one UTF-16 unit, under the 32K limit
MAX_BATCH_BYTES = 3_000_000  # a transaction's payload must stay under 4 MiB
TENANT_PK, TENANT_RK = "t", "tenant"


def partition_of(scope: str, key: str) -> str:
    """``u3f`` / ``i3f``: the scope letter and the bucket (first byte of the hash)."""
    return scope + row_key_hash(key)[:2]


def pack(data: Mapping[str, Any]) -> dict[str, Any]:
    """JSON split into ``d0..dN`` properties (ASCII, so sizes are exact)."""
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


class InMemoryHistoryStore:
    """``HistoryStore`` in the process: the whole history stays loaded."""

    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()

    def load(self, events: Sequence[Event]) -> History:
        del events  # everything is already in memory
        return self.history

    def save(self, history: History) -> None:
        self.history = history


class TableHistoryStore:
    """``HistoryStore`` over Table Storage (see the module docstring for the layout)."""

    def __init__(self, tables: Tables, table: str = "history") -> None:
        self.client: TableClient = tables.table(table)

    def load(self, events: Sequence[Event]) -> History:
        users = {user_key(e) for e in events if isinstance(e, SignIn) and is_user_sign_in(e)}
        ips = {e.ip_address for e in events if isinstance(e, SignIn) and e.ip_address}
        tenant = self._load_tenant()
        ips |= {a.ip for a in tenant.failures if a.ip}
        return History(
            users={k: UserState.from_dict(v) for k, v in self._load_many("u", users).items()},
            ips={k: WindowState.from_dict(v) for k, v in self._load_many("i", ips).items()},
            tenant=tenant,
        )

    def save(self, history: History) -> None:
        rows = [
            self._row("u", k, history.users[k].to_dict())
            for k in history.dirty_users
            if k in history.users
        ]
        rows += [
            self._row("i", k, history.ips[k].to_dict())
            for k in history.dirty_ips
            if k in history.ips
        ]
        if history.tenant_dirty:
            rows.append(
                {"PartitionKey": TENANT_PK, "RowKey": TENANT_RK, **pack(history.tenant.to_dict())}
            )
        for batch in _batches(rows):
            submit(self.client, batch)
        history.dirty_users.clear()
        history.dirty_ips.clear()
        history.tenant_dirty = False

    def _row(self, scope: str, key: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "PartitionKey": partition_of(scope, key),
            "RowKey": row_key_hash(key),
            "key": key,
            **pack(data),
        }

    def _load_tenant(self) -> WindowState:
        try:
            entity = self.client.get_entity(TENANT_PK, TENANT_RK)
        except ResourceNotFoundError:
            return WindowState()
        return WindowState.from_dict(unpack(entity))

    def _load_many(self, scope: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """One query per bucket, whatever the number of keys in it."""
        wanted: dict[str, dict[str, str]] = {}
        for key in keys:
            wanted.setdefault(partition_of(scope, key), {})[row_key_hash(key)] = key
        found: dict[str, dict[str, Any]] = {}
        for partition, rows in sorted(wanted.items()):
            entities = self.client.query_entities(
                "PartitionKey eq @pk", parameters={"pk": partition}
            )
            for entity in entities:
                wanted_key = rows.get(str(entity["RowKey"]))
                if wanted_key is not None:
                    found[wanted_key] = unpack(entity)
        return found


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[Operation]]:
    """Upserts grouped by partition: at most 100 operations and ~3 MB per transaction."""
    by_partition: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_partition.setdefault(row["PartitionKey"], []).append(row)
    for partition_rows in by_partition.values():
        batch: list[Operation] = []
        size = 0
        for row in partition_rows:
            row_size = sum(len(str(v)) for v in row.values()) + 200
            if batch and (len(batch) >= MAX_BATCH or size + row_size > MAX_BATCH_BYTES):
                yield batch
                batch, size = [], 0
            batch.append(("upsert", row, {"mode": UpdateMode.REPLACE}))
            size += row_size
        if batch:
            yield batch
