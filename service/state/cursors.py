"""Named cursors (feed watermarks, export blob offsets) with optimistic concurrency.

``save`` is conditional on the version that was loaded: a create when there was
none, an ETag-conditional replace otherwise. Two overlapping runs therefore
cannot both advance a cursor from the same starting point; the loser gets
``CursorConflict`` and must reload.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.data.tables import UpdateMode

from detections.errors import RiskwatchError
from service.state.tables import Tables, cap_text

TABLE = "cursors"
_KEY_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f]")


class CursorConflict(RiskwatchError):
    """Another run moved the cursor since it was loaded."""


@dataclass(frozen=True, slots=True)
class Cursor:
    group: str  # e.g. "feed" or "blob"
    name: str
    value: str
    updated_at: datetime
    etag: str


def _check_key(text: str) -> str:
    if not text or _KEY_FORBIDDEN.search(text) or len(text) > 512:
        raise ValueError(f"invalid cursor key {text[:80]!r}: no / \\ # ? or control characters")
    return text


class CursorStore:
    def __init__(self, tables: Tables) -> None:
        self.table = tables.table(TABLE)

    def load(self, group: str, name: str) -> Cursor | None:
        try:
            row = self.table.get_entity(_check_key(group), _check_key(name))
        except ResourceNotFoundError:
            return None
        return Cursor(group, name, row["value"], row["updated_at"], str(row.metadata["etag"]))

    def list(self, group: str) -> Iterator[Cursor]:
        rows = self.table.query_entities("PartitionKey eq @g", parameters={"g": _check_key(group)})
        for row in rows:
            etag = str(row.metadata["etag"])
            yield Cursor(group, row["RowKey"], row["value"], row["updated_at"], etag)

    def save(
        self, group: str, name: str, value: str, now: datetime, expected: Cursor | None
    ) -> Cursor:
        """Store ``value`` if the cursor is still ``expected`` (None: it must not exist)."""
        entity = {
            "PartitionKey": _check_key(group),
            "RowKey": _check_key(name),
            "value": cap_text(value, 30_000, marker=""),
            "updated_at": now,
        }
        try:
            if expected is None:
                self.table.create_entity(entity)
            else:
                self.table.update_entity(
                    entity,
                    mode=UpdateMode.REPLACE,
                    etag=expected.etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as exc:
            raise CursorConflict(f"cursor {group}/{name} was moved by another run") from exc
        saved = self.load(group, name)
        if saved is None:  # deleted between our write and read
            raise CursorConflict(f"cursor {group}/{name} vanished")
        return saved

    def delete(self, cursor: Cursor) -> None:
        try:
            self.table.delete_entity(
                cursor.group,
                cursor.name,
                etag=cursor.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as exc:
            raise CursorConflict(f"cursor {cursor.group}/{cursor.name} changed") from exc
