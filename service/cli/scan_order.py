"""Putting a scan's events in judging order (``detections.order``) without holding them all.

Two ways, tried in this order by ``service.cli.scan``:

- ``streamed``: at most N events are held, read N/10 at a time, each chunk sorted and
  merged with those held; the oldest go on once N are held. Input in time order, or out
  of order by less than 0.9 N events, is judged as it is read at almost no cost. An
  event older than one already released
  means the input is not in order: ``OutOfOrder`` is raised, and the scan starts
  again with
- ``sorted_on_disk``: an external merge sort. Runs of N events are sorted and
  pickled to one anonymous temporary file, then merged with ``heapq.merge``;
  memory holds one run while spilling and a few events per run while merging.
  Newest-first exports (as Graph returns them), shuffled input and several files
  whose time ranges overlap take this way.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import operator
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from detections.errors import RiskwatchError
from detections.model import (
    AuditActor,
    AuditTarget,
    Device,
    DirectoryAudit,
    Event,
    Location,
    ModifiedProperty,
    RiskDetection,
    RiskyUser,
    SignIn,
)
from detections.order import OrderKey, SortedBatch, order_key, sorted_batch, untie, untie_sorted

# Events per pickled batch in a run: what merging holds per run (a few hundred kB).
SPILL_BATCH = 100


class OutOfOrder(RiskwatchError):
    """The input is out of order by more than the window: sort it on disk instead."""


def streamed(events: Iterable[Event], window: int) -> Iterator[Event]:
    """``events`` in judging order, ``window`` held at once (two for a window of one);
    ``OutOfOrder`` when an event comes ``window - window // 10`` places or more after a
    later one."""
    chunk_size = max(1, window // 10)
    return untie_sorted(_windowed(events, max(1, window - chunk_size), chunk_size))


def _windowed(events: Iterable[Event], kept: int, chunk_size: int) -> Iterator[SortedBatch]:
    """Sorted batches; ``kept`` events stay held after each release (the tolerance)."""
    # Sorted chunks rather than a heap: for input in order, a chunk costs one key and one
    # comparison per event, and is passed on whole; a heap (a dozen comparisons and two
    # tuples per event) made the whole scan about 20 % slower. Small chunks merged into
    # what is held, rather than two halves: the same tolerance with fewer events held (a
    # held event is a decoded sign-in, about 1.5 kB, and the holes it leaves when freed).
    iterator = iter(events)
    pending: list[Event] = []
    pending_keys: list[OrderKey] = []
    released: OrderKey | None = None  # the largest key passed on
    while chunk := list(itertools.islice(iterator, chunk_size)):
        keys, chunk = sorted_batch(chunk)
        if released is not None and keys[0] < released:
            raise OutOfOrder(f"{chunk[0].kind} {chunk[0].event_id} comes after a later event")
        if pending and keys[0] < pending_keys[-1]:
            # Two sorted runs: timsort merges them in one pass.
            pending_keys, pending = sorted_batch(pending + chunk)
        else:
            pending += chunk
            pending_keys += keys
        if len(pending) >= kept + chunk_size:
            # An event equal to ``released`` may still come: untie_sorted() holds that run.
            out = len(pending) - kept
            released = pending_keys[out - 1]
            yield pending_keys[:out], pending[:out]
            del pending[:out], pending_keys[:out]
    if pending:
        yield pending_keys, pending


def sorted_on_disk(
    events: Iterable[Event], run_events: int, *, on_read: Callable[[int], None] | None = None
) -> Iterator[Event]:
    """Every event of ``events`` in judging order, sorted in runs spilled to a temporary file.

    The file is anonymous (unlinked at creation) and closed when this generator
    ends or is closed, so it never outlives the scan, even on an error.
    ``on_read(n)`` is called after each run with the events read so far.
    """
    with tempfile.TemporaryFile(prefix="riskwatch-scan-") as spill:
        runs = _spill_runs(events, max(1, run_events), spill, on_read)
        readers = [_read_run(spill, start, batches) for start, batches in runs]
        yield from untie(heapq.merge(*readers, key=order_key))


def _spill_runs(
    events: Iterable[Event],
    run_events: int,
    spill: IO[bytes],
    on_read: Callable[[int], None] | None,
) -> list[tuple[int, int]]:
    """Write sorted runs; returns each run's (offset, number of batches)."""
    runs: list[tuple[int, int]] = []
    iterator = iter(events)
    read = 0
    while run := list(itertools.islice(iterator, run_events)):
        read += len(run)
        run.sort(key=order_key)
        start = spill.tell()
        for at in range(0, len(run), SPILL_BATCH):
            _pickler(spill).dump(run[at : at + SPILL_BATCH])
        runs.append((start, -(-len(run) // SPILL_BATCH)))
        if on_read is not None:
            on_read(read)
    return runs


def _read_run(spill: IO[bytes], start: int, batches: int) -> Iterator[Event]:
    # Runs share one file handle, so each batch read seeks to where its run left off.
    position = start
    for _ in range(batches):
        spill.seek(position)
        batch: list[Event] = pickle.load(spill)  # noqa: S301 - our own file, written above
        position = spill.tell()
        yield from batch


# Pickling the model's frozen, slotted dataclasses field by field through dataclasses'
# own __getstate__/__setstate__ doubled a sorted scan's time; these take the field
# values in one C call and set the slots directly (no validation is skipped: the
# values were a valid event when written).
_SPILLED = (SignIn, RiskDetection, RiskyUser, Location, Device, DirectoryAudit, AuditActor,
            AuditTarget, ModifiedProperty)
_FIELDS = {cls: [f.name for f in dataclasses.fields(cls)] for cls in _SPILLED}
_GETTERS = {cls: operator.attrgetter(*names) for cls, names in _FIELDS.items()}
_SETTERS = {cls: [getattr(cls, name).__set__ for name in names] for cls, names in _FIELDS.items()}


def _rebuild(cls: type[Any], values: tuple[Any, ...]) -> Any:
    built = object.__new__(cls)
    for set_slot, value in zip(_SETTERS[cls], values, strict=True):
        set_slot(built, value)
    return built


Reduced = tuple[Callable[..., Any], tuple[Any, ...]]


def _reducer(cls: type[Any]) -> Callable[[Any], Reduced]:
    values = _GETTERS[cls]
    return lambda obj: (_rebuild, (cls, values(obj)))


_DISPATCH: dict[type, Callable[[Any], Reduced]] = {cls: _reducer(cls) for cls in _SPILLED}


def _pickler(spill: IO[bytes]) -> pickle.Pickler:
    pickler = pickle.Pickler(spill, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH  # this pickler only: the process's copyreg is untouched
    return pickler
