"""The packed seen-id set answers exactly as the ``dict[str, datetime]`` it replaced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detections.history_records import EVENT_RETENTION, MAX_SEEN_IDS, UserState
from detections.history_seen import SeenIds, id_text, packed_id

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_guid_is_packed_and_comes_back_as_the_same_text() -> None:
    text = str(uuid.UUID(int=0x0123456789ABCDEF0123456789ABCDEF))
    raw = packed_id(text)
    assert raw is not None and len(raw) == 16
    assert id_text(raw) == text


def test_anything_else_keeps_its_text() -> None:
    for text in ("corr-1@2026-11-02T09:00:00+00:00", "ABCDEF01-2345-6789-ABCD-EF0123456789",
                 "0123456789ab-cdef-0123-4567-89abcdef0123", "", "si-1"):
        assert packed_id(text) is None
    seen = SeenIds()
    assert seen.add("si-1", T0) and "si-1" in seen and not seen.add("si-1", T0)


def test_a_match_across_two_entries_is_not_a_seen_id() -> None:
    seen = SeenIds()
    first, second = uuid.UUID(int=1), uuid.UUID(int=2)
    seen.add(str(first), T0)
    seen.add(str(second), T0)
    # 16 bytes that straddle the first entry's time and the second id (the layout is under test).
    packed = bytes(seen._packed)[8:]  # after the newest time
    straddling = packed[20:36]
    assert str(uuid.UUID(bytes=straddling)) not in seen
    assert str(first) in seen and str(second) in seen


def _old_trim(seen: dict[str, datetime]) -> dict[str, datetime]:
    # The dict-based trim the packed set replaced (history_records before issue 16).
    newest = max(seen.values())
    kept = sorted(((t, i) for i, t in seen.items() if t >= newest - EVENT_RETENTION),
                  reverse=True)[:MAX_SEEN_IDS]
    return {i: t for t, i in sorted(kept)}


ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=8))
minutes = st.integers(min_value=0, max_value=3 * 24 * 60)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(ids, minutes), max_size=60))
def test_the_same_answers_and_the_same_stored_form_as_the_dict(
    events: list[tuple[str, int]],
) -> None:
    state = UserState()
    reference: dict[str, datetime] = {}
    for event_id, minute in events:
        time = T0 + timedelta(minutes=minute)
        newest = max(reference.values(), default=None)
        expected = event_id in reference or (newest is not None
                                             and time < newest - EVENT_RETENTION)
        assert state.already_seen(event_id, time) == expected
        added = event_id not in reference
        if added:
            reference[event_id] = time
        assert state.mark_seen(event_id, time) == added
    assert state.seen == reference
    stored = state.to_dict()["seen"]
    trimmed = _old_trim(reference) if reference else {}
    assert stored == [[i, t.isoformat()] for i, t in trimmed.items()]
    again = UserState.from_dict({"seen": stored})
    assert again.seen == trimmed
    assert again.to_dict()["seen"] == stored
