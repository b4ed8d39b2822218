"""``service.cli.scan_order``: the streaming window and the sort on disk give the judging order."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detections.model import Event
from detections.order import in_time_order
from detections.testing import T0, risk_detection, risky_user, sign_in
from service.cli.scan_order import OutOfOrder, sorted_on_disk, streamed


def minutes(*offsets: int) -> list[Event]:
    return [sign_in(id=f"si-{n}", time=T0 + timedelta(minutes=m)) for n, m in enumerate(offsets)]


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_input_out_of_order_within_the_window_streams() -> None:
    batch = minutes(2, 0, 1, 5, 3, 4, 8, 6, 7)
    assert list(streamed(batch, window=3)) == in_time_order(batch)


def test_input_out_of_order_beyond_the_window_is_refused() -> None:
    newest_first = minutes(9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
    with pytest.raises(OutOfOrder, match="comes after a later event"):
        list(streamed(newest_first, window=3))


def test_the_window_holds_at_most_its_size_and_tolerates_nine_tenths_of_it() -> None:
    """What is read but not yet judged never passes the window (a held sign-in is memory);
    an event late by less than 0.9 of it still streams, one late by the whole window not."""
    window, count = 100, 1000
    events = minutes(*range(count))
    read = judged = 0

    def reading(batch: list[Event]) -> Iterator[Event]:
        nonlocal read
        for event in batch:
            read += 1
            assert read - judged <= window + 1  # and the last one released, for its ties
            yield event

    for _ in streamed(reading(events), window):
        judged += 1
    assert judged == count
    late = [*events[:500], *events[589:600], *events[500:589], *events[600:]]  # 89 places
    assert list(streamed(late, window)) == events
    later = [*events[:500], *events[600:700], *events[500:600], *events[700:]]
    with pytest.raises(OutOfOrder):
        list(streamed(later, window))


def test_a_repeat_of_the_last_released_event_still_streams() -> None:
    # Same key as the event just released: untie still holds that run, so it is in order.
    first, *rest = minutes(0, 1, 2)
    twin = sign_in(id=first.event_id, time=first.time, ip_address="192.0.2.9")
    batch = [first, *rest[:1], twin, *rest[1:]]
    assert list(streamed(batch, window=1)) == in_time_order(batch)


def test_events_come_back_from_disk_whole() -> None:
    batch = [sign_in(risk_event_types=("unfamiliarFeatures",)), risky_user(),
             risk_detection(additional_info=(("userAgent", "curl/8"),))]  # fmt: skip
    back = list(sorted_on_disk(batch, 1))
    assert back == in_time_order(batch)
    assert [type(e) for e in back] == [type(e) for e in in_time_order(batch)]
    assert back[0] is not in_time_order(batch)[0]  # really read back, not the same objects


def test_runs_on_disk_are_merged_in_order_and_counted() -> None:
    batch = minutes(*range(50))[::-1]
    seen: list[int] = []
    assert list(sorted_on_disk(batch, 7, on_read=seen.append)) == in_time_order(batch)
    assert seen == [7, 14, 21, 28, 35, 42, 49, 50]


def test_the_temporary_file_is_closed_when_the_scan_stops_early() -> None:
    before = open_files()
    merged = sorted_on_disk(minutes(*range(40)), 5)
    next(merged)
    assert open_files() == before + 1
    merged.close()
    assert open_files() == before


def test_the_temporary_file_is_closed_when_reading_fails() -> None:
    def broken() -> Iterator[Event]:
        yield from minutes(3, 2, 1)
        raise OSError("disk gone")

    before = open_files()
    with pytest.raises(OSError, match="disk gone"):
        list(sorted_on_disk(broken(), 2))
    assert open_files() == before


# Few distinct times, ids and addresses, every kind: ties on every part of the key.
events = st.builds(
    lambda minute, n, ip: sign_in(id=f"e-{n}", time=T0 + timedelta(minutes=minute), ip_address=ip),
    st.integers(0, 4), st.integers(0, 4), st.sampled_from(["192.0.2.1", "192.0.2.2"]),
) | st.builds(
    lambda minute, n: risk_detection(id=f"e-{n}", time=T0 + timedelta(minutes=minute),
                                     additional_info=(("userAgent", f"agent {n}"),)),
    st.integers(0, 4), st.integers(0, 4),
) | st.builds(
    lambda minute, level: risky_user(time=T0 + timedelta(minutes=minute), risk_level=level),
    st.integers(0, 4), st.sampled_from(["low", "high"]),
)  # fmt: skip


@given(st.lists(events, max_size=40), st.integers(1, 9), st.randoms(use_true_random=False))
def test_a_sort_on_disk_of_any_permutation_is_the_judging_order(
    batch: list[Event], run_events: int, rnd: random.Random
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    assert list(sorted_on_disk(shuffled, run_events)) == in_time_order(batch)


@given(st.lists(events, max_size=40), st.integers(1, 9), st.randoms(use_true_random=False))
def test_the_window_gives_the_judging_order_or_refuses(
    batch: list[Event], window: int, rnd: random.Random
) -> None:
    shuffled = list(batch)
    rnd.shuffle(shuffled)
    try:
        assert list(streamed(shuffled, window)) == in_time_order(batch)
    except OutOfOrder:
        assert window < len(batch)  # a window as large as the input never refuses
    assert list(streamed(in_time_order(batch), window)) == in_time_order(batch)
