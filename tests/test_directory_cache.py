"""The privileged map cache in Table Storage (Azurite): a broken record never drops the map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables import TableServiceClient

from service.ingest.directory_cache import DirectoryCache
from service.state.tables import Tables
from tests.test_directory import assignment

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_a_malformed_assignment_is_skipped_and_reported(
    storage_connection: str, table_prefix: str
) -> None:
    cache = DirectoryCache(Tables(TableServiceClient.from_connection_string(storage_connection),
                                  table_prefix))
    pages: list[dict[str, Any]] = [{"value": [
        assignment(principalId={"not": "a string"}, principal={}),
        assignment(principalId="U-Alice", principal={"id": "u-alice"}),  # no UPN: limited read
    ]}]
    got = cache.get(NOW, lambda: pages)
    assert got.refreshed_at == NOW
    assert got.privileged.roles_of("u-alice", None) == ("Global Administrator",)
    assert got.error is not None
    assert "skipped 1 malformed role assignment(s)" in got.error
    assert "field 'value[0].principalId'" in got.error
    # The new map was stored: the next run within a day reads it without calling Graph.
    again = cache.get(NOW + timedelta(hours=1), lambda: [])
    assert again.privileged == got.privileged and again.error is None
