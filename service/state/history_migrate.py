"""One-time move of the correlation history from the old layout to packs.

The old layout kept one row a key: partitions ``u`` / ``i`` + two hex digits, RowKey the
sha256 of the key, the key in ``key`` and the state as JSON in ``d0..dN``; the tenant in
``t`` / ``tenant``. The first store that finds no ``h0`` / ``layout`` row reads every old
row (one paged query), writes the packs they make, each created only if absent (another
worker migrating at the same moment makes the same packs: its conflict is ignored), and
then the ``layout`` row. The old rows are left as they were, never read again; a tenant
upgrading keeps its history.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableClient, TableTransactionError

from service.state.history_packs import (
    LAYOUT_ROW,
    TENANT_KEY,
    Entry,
    PackId,
    encode,
    legacy_scope,
    place,
    row_keys,
    scope_of,
    split_rows,
    state_bytes,
)

# The old partitions sort between these: "i00".."iff", "t", "u00".."uff"; packs are "h..".
_LEGACY = "PartitionKey ge 'i' and PartitionKey lt 'v'"


def migrate_legacy(client: TableClient) -> int:
    """Pack every old-layout row; returns how many were moved (0: nothing to move)."""
    packs: dict[PackId, dict[str, Entry]] = {}
    moved = 0
    for row in client.query_entities(_LEGACY):
        scope = legacy_scope(str(row["PartitionKey"]))
        if scope is None:
            continue
        key = TENANT_KEY if scope == "t" else str(row.get("key", ""))
        if not key:
            continue
        data = _legacy_state(row)
        packs.setdefault(place(scope, key), {})[key] = Entry(_newest(data), state_bytes(data))
        moved += 1
    for pack_id, entries in sorted(packs.items()):
        rows = split_rows(encode(entries, scope_of(pack_id)))
        ops = [("create", {"PartitionKey": pack_id[0], "RowKey": k, **r})
               for k, r in zip(row_keys(pack_id, len(rows)), rows, strict=True)]
        try:
            client.submit_transaction(ops)
        except TableTransactionError:
            continue  # another worker created it first (same rows) or wrote it since
    with contextlib.suppress(ResourceExistsError):  # another worker finished first
        client.create_entity({"PartitionKey": "h0", "RowKey": LAYOUT_ROW, "v": 2,
                              "migrated": moved})
    return moved


def _legacy_state(row: Mapping[str, Any]) -> dict[str, Any]:
    text = "".join(str(row.get(f"d{i}", "")) for i in range(int(row.get("n", 0))))
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {}


def _newest(data: Mapping[str, Any]) -> int:
    """The newest time in a state (microseconds), so pruning treats it as written then."""
    from detections.history_records import stored_time
    from detections.history_seen import micros

    newest = 0

    def walk(value: Any) -> None:
        nonlocal newest
        if isinstance(value, str) and len(value) >= 25 and value[4] == "-" and "T" in value:
            try:
                newest = max(newest, micros(stored_time(value)))
            except ValueError:
                return
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(data)
    return newest
