"""The packed Table layout of the correlation history: where a key lives, and the bytes of a pack.

Many users (or IP addresses) share one entity, a *pack*: PartitionKey ``h0`` .. ``h7``
(``PARTITIONS``), RowKey ``u00`` .. ``u47`` for users and ``i00`` .. ``i47`` for addresses
(``PACKS`` per scope per partition), chosen by sha256 of the key. One partition holds at
most 2 x 48 packs and the tenant row, so locking or saving every changed pack of a
partition is one transaction (at most 100 operations).

A pack's value is zlib of its entries, one line each: the key (JSON), the time it was last
written (microseconds) and its state (compact JSON of ``to_dict``), tab-separated. The bytes
go in binary properties ``d0`` .. ``dN`` (64,000 bytes each, 14 a row); a pack larger than
a row continues in rows ``<row>+1``, ``<row>+2`` of the same partition, written in the same
transaction. Entries idle past everything a rule reads (``RETENTION``) are dropped when their
pack is rewritten, so packs do not grow with every address ever seen.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detections.history_marks import APP_RETENTION, FLAG_RETENTION, SLOW_RETENTION
from detections.history_records import COUNTRY_RETENTION, EVENT_RETENTION
from detections.history_seen import micros

PARTITIONS = 8
PACKS = 48  # per scope and partition: 2 x 48 packs + the tenant row fit one transaction
PROPERTY_BYTES = 64_000  # under the 64 KiB binary property limit
ROW_PROPERTIES = 14  # 896,000 bytes a row, under the 1 MiB entity limit
TENANT_ROW = "t"  # in partition h0, beside its packs: its lock and save join theirs
TENANT_KEY = "tenant"
LAYOUT_ROW = "layout"  # in h0: present once the old one-row-per-key layout was migrated
# Nothing a rule reads is older than this before the newest write of the pack.
RETENTION = {
    "u": max(COUNTRY_RETENTION, FLAG_RETENTION, APP_RETENTION, EVENT_RETENTION),
    "i": SLOW_RETENTION,
    "t": SLOW_RETENTION,
}
PackId = tuple[str, str]  # (PartitionKey, RowKey of the pack's first row)


def place(scope: str, key: str) -> PackId:
    """The pack of ``key`` in ``scope`` (``u`` user, ``i`` IP address, ``t`` tenant)."""
    if scope == "t":
        return ("h0", TENANT_ROW)
    digest = int(hashlib.sha256(f"{scope}:{key}".encode()).hexdigest()[:12], 16)
    return (f"h{digest % PARTITIONS}", f"{scope}{(digest // PARTITIONS) % PACKS:02d}")


def scope_of(pack: PackId) -> str:
    return pack[1][0]


@dataclass
class Entry:
    written: int  # microseconds: the newest event time when the entry was last written
    state: bytes  # compact JSON of the scope's ``to_dict``


@dataclass
class Pack:
    """One pack as loaded: its entries, the ETag of its first row (None: absent) and lock."""

    pack_id: PackId
    entries: dict[str, Entry] = field(default_factory=dict)
    etag: str | None = None
    rows: int = 0  # rows it was stored in (continuation rows are deleted when it shrinks)
    lock: str = ""
    lock_until: datetime | None = None
    lock_keys: frozenset[str] | None = frozenset()  # hashes of the keys the holder changes


def state_bytes(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def encode(entries: Mapping[str, Entry], scope: str) -> bytes:
    """The pack's zlib bytes, without the entries idle past the scope's retention."""
    if not entries:
        return b""
    horizon = max(e.written for e in entries.values()) - micros_of(RETENTION[scope])
    lines = [b"%s\t%d\t%s" % (json.dumps(k, ensure_ascii=True).encode("ascii"), e.written,
                              e.state)
             for k, e in sorted(entries.items()) if e.written >= horizon]
    return zlib.compress(b"\n".join(lines), 6)


def decode(blob: bytes) -> dict[str, Entry]:
    if not blob:
        return {}
    entries: dict[str, Entry] = {}
    for line in zlib.decompress(blob).split(b"\n"):
        key, written, state = line.split(b"\t", 2)
        entries[json.loads(key)] = Entry(int(written), state)
    return entries


def micros_of(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def written_now(newest: datetime | None) -> int:
    return micros(newest) if newest is not None else 0


def row_keys(pack: PackId, rows: int) -> list[str]:
    return [pack[1]] + [f"{pack[1]}+{n}" for n in range(1, rows)]


def split_rows(blob: bytes) -> list[dict[str, Any]]:
    """The properties of each row of a pack (the first row first); always one row at least."""
    chunks = [blob[i : i + PROPERTY_BYTES] for i in range(0, len(blob), PROPERTY_BYTES)]
    rows = [chunks[i : i + ROW_PROPERTIES] for i in range(0, len(chunks), ROW_PROPERTIES)]
    out = [{"n": len(r), **{f"d{i}": c for i, c in enumerate(r)}} for r in rows or [[]]]
    out[0]["more"] = len(out) - 1
    out[0]["v"] = 2
    return out


def join_rows(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(bytes(row[f"d{i}"]) for row in rows for i in range(int(row.get("n", 0))))


def legacy_scope(partition: str) -> str | None:
    """The scope of a row of the old layout (``u3f``, ``i3f``, ``t``), else None."""
    if partition == "t":
        return "t"
    if len(partition) == 3 and partition[0] in "ui":
        return partition[0]
    return None
