"""Rows of the packed history: a pack read from its rows, the lock written on its first
row, and the operations that write it back (``service.state.history_store`` uses them)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.data.tables import TableTransactionError, UpdateMode

from detections.errors import RiskwatchError, Where
from service.state.history_packs import Entry, Pack, PackId, decode, join_rows, row_keys, split_rows
from service.state.tables import Operation

MAX_LOCK_KEYS = 3_000  # key hashes a lock names; more: it claims the whole pack


class HistoryConflict(RiskwatchError):
    """A history row changed under a worker that held it: the batch must be judged again."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]


def pack_of(pack_id: PackId, rows: Mapping[str, Any]) -> Pack:
    head = rows.get(pack_id[1])
    if head is None:
        return Pack(pack_id)
    keys = row_keys(pack_id, 1 + int(head.get("more", 0)))
    stored = [rows[k] for k in keys if k in rows]
    if len(stored) != len(keys) or any(r.get("g") != head.get("g") for r in stored):
        raise HistoryConflict(Where(f"history pack {pack_id[0]}/{pack_id[1]}"),
                              "its rows are of two versions (rewritten while read)")
    lock_keys = str(head.get("lock_keys", ""))
    return Pack(pack_id, entries=decode(join_rows(stored)), etag=head.metadata["etag"],
                rows=len(keys), lock=str(head.get("lock", "")),
                lock_until=head.get("lock_until"),
                lock_keys=None if lock_keys == "*" else frozenset(lock_keys.split(",")))


def held_by_other(pack: Pack, token: str, now: datetime) -> bool:
    return bool(pack.lock) and pack.lock != token and (
        pack.lock_until is not None and pack.lock_until > now)


def lock_op(pack: Pack, changed: Mapping[str, Entry], token: str,
             until: datetime) -> Operation:
    names = sorted(key_hash(k) for k in changed)
    entity = {"PartitionKey": pack.pack_id[0], "RowKey": pack.pack_id[1], "lock": token,
              "lock_until": until,
              "lock_keys": ",".join(names) if len(names) <= MAX_LOCK_KEYS else "*"}
    if pack.etag is None:  # absent at load: a placeholder, so a second creator conflicts
        return ("create", {**entity, "n": 0, "more": 0})
    return ("update", entity, {"mode": UpdateMode.MERGE, "etag": pack.etag,
                               "match_condition": MatchConditions.IfNotModified})


def write_ops(stored: Pack, blob: bytes, held: str | None) -> list[Operation]:
    """The pack's rows: the first replaced if its ETag still matches (which also clears the
    lock) or created when it never existed; continuation rows with it, stale ones deleted."""
    partition, row = stored.pack_id
    rows = split_rows(blob)
    if len(rows) > 1:  # a version on every row: a reader between pages sees a mix
        version = uuid.uuid4().hex[:12]
        for r in rows:
            r["g"] = version
    keys = row_keys(stored.pack_id, len(rows))
    head = {"PartitionKey": partition, "RowKey": row, **rows[0]}
    etag = held or stored.etag
    ops: list[Operation] = [
        ("create", head) if etag is None else
        ("update", head, {"mode": UpdateMode.REPLACE, "etag": etag,
                          "match_condition": MatchConditions.IfNotModified})]
    ops += [("upsert", {"PartitionKey": partition, "RowKey": k, **r}, {"mode": UpdateMode.REPLACE})
            for k, r in zip(keys[1:], rows[1:], strict=True)]
    ops += [("delete", {"PartitionKey": partition, "RowKey": k})
            for k in row_keys(stored.pack_id, stored.rows)[len(rows):]]
    return ops


def error_code(exc: TableTransactionError) -> str:
    return str(getattr(exc, "error_code", ""))
