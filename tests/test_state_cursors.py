"""Cursors: conditional create and advance; a stale writer gets CursorConflict."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detections.testing import T0
from service.state.cursors import CursorConflict, CursorStore
from tests.support_sinks import make_tables

pytestmark = pytest.mark.azurite


@pytest.fixture
def cursors(storage_connection, table_prefix):
    return CursorStore(make_tables(storage_connection, table_prefix))


def test_save_load_and_advance(cursors):
    assert cursors.load("feed", "signIns") is None
    first = cursors.save("feed", "signIns", "2026-11-02T09:00:00Z", T0, expected=None)
    second = cursors.save("feed", "signIns", "2026-11-02T10:00:00Z", T0, expected=first)
    assert cursors.load("feed", "signIns").value == "2026-11-02T10:00:00Z"
    assert [c.name for c in cursors.list("feed")] == ["signIns"]
    assert second.etag != first.etag


def test_two_runs_advancing_from_the_same_version_conflict(cursors):
    start = cursors.save("feed", "riskDetections", "a", T0, expected=None)
    cursors.save("feed", "riskDetections", "b", T0 + timedelta(minutes=1), expected=start)
    with pytest.raises(CursorConflict):
        cursors.save("feed", "riskDetections", "c", T0 + timedelta(minutes=1), expected=start)
    with pytest.raises(CursorConflict):
        cursors.save("feed", "riskDetections", "d", T0, expected=None)
    assert cursors.load("feed", "riskDetections").value == "b"


def test_keys_with_forbidden_characters_are_refused(cursors):
    with pytest.raises(ValueError, match="invalid cursor key"):
        cursors.load("blob", "insights-logs/signinlogs/PT1H.json")
