"""Table clients with the app's prefix, created on first use, and safe batching.

Table Storage limits that the service (and Azurite, less gracefully) enforce:
a transaction holds at most 100 operations, all in one partition; a string
property holds at most 64 KiB (32K UTF-16 code units); an entity at most 1 MiB.
Azurite answers a 101-operation batch with a malformed response, so the limit
is enforced here, client-side.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

MAX_BATCH = 100
MAX_STRING_UNITS = 32_000  # UTF-16 code units, a margin under the 64 KiB property limit
TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")

Operation = tuple[Any, ...]  # ("create" | "update" | "upsert" | "delete", entity[, kwargs])


def merge_if_unchanged(
    table: TableClient, row: Mapping[str, Any], patch: Mapping[str, Any]
) -> bool:
    """Merge ``patch`` into ``row`` only if nobody changed it since it was read (its ETag);
    False when another worker did (or deleted it): re-read and decide again."""
    entity = {"PartitionKey": row["PartitionKey"], "RowKey": row["RowKey"], **patch}
    try:
        table.update_entity(
            entity, mode=UpdateMode.MERGE, etag=row.metadata["etag"],  # type: ignore[attr-defined]
            match_condition=MatchConditions.IfNotModified,
        )
    except (ResourceModifiedError, ResourceNotFoundError):
        return False
    return True


def row_key_hash(text: str) -> str:
    """SHA-256 hex of ``text``: a RowKey of fixed length whatever the text holds (a user
    key, an event id, a blob path may contain ``/ \\ # ?``, which keys must not)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Tables:
    """Hands out ``TableClient``s for ``<prefix><name>``, creating each table once."""

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self.service = service
        self.prefix = prefix
        self._clients: dict[str, TableClient] = {}
        self._lock = threading.Lock()

    def table(self, name: str) -> TableClient:
        full = f"{self.prefix}{name}"
        with self._lock:
            client = self._clients.get(full)
            if client is not None:
                return client
            if not TABLE_NAME.match(full):
                raise ValueError(f"invalid table name {full!r}: letters and digits, 3-63")
            with contextlib.suppress(ResourceExistsError):  # another worker made it
                self.service.create_table(full)
            client = self.service.get_table_client(full)
            self._clients[full] = client
            return client


def plan_batches(operations: Iterable[Operation]) -> Iterator[list[Operation]]:
    """Group ``operations`` by PartitionKey into batches of at most ``MAX_BATCH``."""
    by_partition: dict[str, list[Operation]] = {}
    for op in operations:
        by_partition.setdefault(str(op[1]["PartitionKey"]), []).append(op)
    for ops in by_partition.values():
        for start in range(0, len(ops), MAX_BATCH):
            yield ops[start : start + MAX_BATCH]


def submit(client: TableClient, batch: Sequence[Operation]) -> None:
    """Submit one transaction after checking the limits Azurite does not check cleanly."""
    if not batch:
        return
    if len(batch) > MAX_BATCH:
        raise ValueError(f"a transaction holds at most {MAX_BATCH} operations, not {len(batch)}")
    partitions = {op[1]["PartitionKey"] for op in batch}
    if len(partitions) != 1:
        raise ValueError("a transaction must stay in one partition")
    client.submit_transaction(list(batch))


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def cap_text(text: str, limit: int = MAX_STRING_UNITS, marker: str = " [truncated]") -> str:
    """``text`` cut to ``limit`` UTF-16 units, ending in ``marker`` when cut."""
    if utf16_units(text) <= limit:
        return text
    budget = limit - utf16_units(marker)
    out: list[str] = []
    used = 0
    for char in text:
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > budget:
            break
        out.append(char)
        used += size
    return "".join(out) + marker


def query(client: TableClient, flt: str, **params: Any) -> Iterator[Mapping[str, Any]]:
    """Entities matching an OData filter; paging is handled by the SDK."""
    return iter(client.query_entities(flt, parameters=params or None))
