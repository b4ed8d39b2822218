"""The one order events are judged in, whatever order they arrived in.

Correlation rules depend on order (a success *after* failures), so every batch
is judged oldest first. Events at the same moment are ordered by their id and
kind, and events that agree on all three (a record read twice, a risky user
updated twice in one second) by their content: never by input position, so a
sorted, a shuffled and a reversed copy of the same input give the same alerts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from detections.model import Event

OrderKey = tuple[datetime, str, str]


def order_key(event: Event) -> OrderKey:
    """Time, id, kind: cheap, and total for all but exact repeats."""
    return (event.time, event.event_id, event.kind)


def untie(events: Iterable[Event]) -> Iterator[Event]:
    """``events`` (already in ``order_key`` order) with each run of equal keys in content order.

    A run is held until an event with a larger key arrives, so a caller that
    feeds events lazily may still add to the run it is holding.
    """
    run: list[Event] = []
    run_key: OrderKey | None = None
    for event in events:
        key = order_key(event)
        if key != run_key:
            yield from _by_content(run)
            run, run_key = [], key
        run.append(event)
    yield from _by_content(run)


def in_time_order(events: Iterable[Event]) -> list[Event]:
    """A batch in judging order (the deployed app's batches and ``riskwatch scan`` agree)."""
    return list(untie(sorted(events, key=order_key)))


def _by_content(run: list[Event]) -> list[Event]:
    # Ties are rare, so the repr (every field, deterministic) is only built for them.
    # Two events with the same repr are equal, and their order cannot matter.
    return run if len(run) < 2 else sorted(run, key=repr)
