"""Window arithmetic the failure rules share, tolerant of events that arrive late.

In a time-sorted run the history holds nothing later than the event being judged,
so the busiest window is simply ``[t - span, t]``. When an event arrives late
(a later run, a delayed export), windows that start before it and end after it
are considered too, so the burst it completes is still found.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from operator import attrgetter

from detections.history_records import T

_event_id = attrgetter("event_id")
_time = attrgetter("time")


def _order(x: T) -> tuple[datetime, str]:
    return (x.time, x.event_id)


def with_event(window: Sequence[T], item: T) -> list[T]:
    """``window`` plus ``item`` in (time, id) order, without counting it twice."""
    # Hot path (every failure rule, every event): the id scan in C, no sort when ``item``
    # is the newest (the common case in time order); the result is the same either way.
    if item.event_id in map(_event_id, window):
        return list(window)
    merged = [*window, item]
    if len(merged) > 1 and _order(merged[-2]) >= _order(item):
        merged.sort(key=_order)
    return merged


def between(window: Sequence[T], start: datetime, end: datetime) -> list[T]:
    """Entries with ``start <= time <= end`` (window sorted by time)."""
    # Binary search on the entries themselves: no list of every time per call.
    low = bisect.bisect_left(window, start, key=_time)
    return list(window[low : bisect.bisect_right(window, end, lo=low, key=_time)])


def busiest(
    window: Sequence[T],
    at: datetime,
    span: timedelta,
    key: Callable[[T], object] | None = None,
) -> list[T]:
    """The entries of the window of length ``span`` containing ``at`` with the most
    distinct ``key`` values (most entries when ``key`` is None)."""

    def score(items: list[T]) -> tuple[int, int]:
        distinct = len({key(x) for x in items}) if key else len(items)
        return (distinct, len(items))

    best = between(window, at - span, at)
    if not window or window[-1].time <= at:
        return best  # nothing later than ``at``: the trailing window is the only one
    for start in {x.time for x in between(window, at - span, at)}:
        candidate = between(window, start, start + span)
        if score(candidate) > score(best):
            best = candidate
    return best


def first_last(items: Sequence[T]) -> tuple[str, str]:
    return items[0].time.isoformat(), items[-1].time.isoformat()
