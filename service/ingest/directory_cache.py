"""The privileged-principal map, cached in Table Storage and refreshed daily.

The caller passes the time and a function that fetches the Graph response pages
(``roleManagement/directory/roleAssignments?$expand=principal,roleDefinition``);
when the cache is younger than a day, Graph is not called at all. When a refresh
fails and an older copy exists, the older copy is used and the error is returned
so the caller can log it: a Graph outage must not turn privileged alerts into
ordinary ones. A malformed role assignment is skipped (and reported the same way);
the others still make the new map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from detections.directory import PrivilegedMap, parse_role_assignments
from detections.errors import InputError
from service.state.history_store import pack, unpack
from service.state.tables import Tables

REFRESH_EVERY = timedelta(days=1)
_PK, _RK = "directory", "privileged"


@dataclass(frozen=True, slots=True)
class CachedDirectory:
    privileged: PrivilegedMap
    refreshed_at: datetime | None  # None: never fetched (empty map)
    error: str | None = None  # why the last refresh failed, or what it skipped


class DirectoryCache:
    def __init__(self, tables: Tables, table: str = "directory") -> None:
        self.client = tables.table(table)

    def load(self) -> CachedDirectory | None:
        try:
            entity = self.client.get_entity(_PK, _RK)
        except ResourceNotFoundError:
            return None
        refreshed = entity.get("refreshed_at")
        return CachedDirectory(
            PrivilegedMap.from_dict(unpack(entity)),
            refreshed if isinstance(refreshed, datetime) else None,
        )

    def store(
        self, pages: Iterable[Any], now: datetime, skipped: list[InputError] | None = None
    ) -> PrivilegedMap:
        """Parse Graph's response pages and cache the map with ``now`` as refreshed-at;
        malformed assignments go to ``skipped`` (raised when it is None)."""
        privileged = parse_role_assignments(pages, source="Graph roleAssignments", skipped=skipped)
        self.client.upsert_entity(
            {
                "PartitionKey": _PK,
                "RowKey": _RK,
                "refreshed_at": now,
                "principals": len(privileged),
                **pack(privileged.to_dict()),
            }
        )
        return privileged

    def get(
        self,
        now: datetime,
        fetch: Callable[[], Iterable[Any]],
        max_age: timedelta = REFRESH_EVERY,
    ) -> CachedDirectory:
        """The cached map, refreshed through ``fetch`` when older than ``max_age``."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        cached = self.load()
        if cached is not None and cached.refreshed_at and now - cached.refreshed_at < max_age:
            return cached
        skipped: list[InputError] = []
        try:
            privileged = self.store(fetch(), now, skipped)
        except Exception as exc:  # noqa: BLE001 - keep the old map, report why
            old = cached or CachedDirectory(PrivilegedMap(), None)
            return CachedDirectory(old.privileged, old.refreshed_at, f"{type(exc).__name__}: {exc}")
        if skipped:
            note = f"skipped {len(skipped)} malformed role assignment(s), first: {skipped[0]}"
            return CachedDirectory(privileged, now, note)
        return CachedDirectory(privileged, now)
