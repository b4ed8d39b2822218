"""Windows of remembered sign-ins packed as columns: a time, an id and shared details.

A window kept one frozen record per remembered sign-in (``SuccessSeen``, ``Attempt``):
about 250 bytes each with the id's string and the datetime, for every sign-in of the last 6
to 26 hours of the whole tenant. Packed, an entry is three 64-bit numbers in one array
(microseconds since the epoch, and the 16 bytes of the id: Graph ids are GUIDs) and a
reference to a tuple of the record's other fields, shared with a recent entry that has the
same ones (a user signing in again from one place on one device): about 40 bytes.

Readers see what they saw: a window is a read-only sequence of records, each built when
read; ``between`` searches the times without building any outside the range. The history
writes through ``add``, which orders and trims exactly as ``history_records.insert`` does.
An id that is not a lower-case GUID, or a time that is not UTC, is kept as given in the
entry's details (``exact``), so every record reads back equal and printed the same.
"""

from __future__ import annotations

import bisect
import struct
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from operator import is_
from typing import Any, Generic, TypeVar, overload

from detections.history_seen import from_micros, id_text, micros, packed_id

T = TypeVar("T")
# The fields of an entry after its time and id; the first is ``exact``: None, or the
# (event id, time) kept as given when packing them would not read back the same.
Detail = tuple[Any, ...]
# (microseconds, the id's two halves, exact): what ``stamp`` makes of a time and an id.
Stamp = tuple[int, int, int, "tuple[str, datetime] | None"]

_STRIDE = 3  # numbers per entry
_HALVES = struct.Struct("=qq")  # the id's 16 bytes as two numbers of the array
_SHARED_SCAN = 8  # recent entries whose details a new entry may share


def stamp(time: datetime, event_id: str) -> Stamp:
    """The packed time and id of an entry (``exact`` when they would not read back)."""
    raw = packed_id(event_id)
    if raw is None or time.tzinfo is not UTC:
        return (micros(time), 0, 0, (event_id, time))
    high, low = _HALVES.unpack(raw)
    return (micros(time), high, low, None)


_SPANS: dict[timedelta, int] = {}  # the few retentions there are, in microseconds


def span_micros(span: timedelta) -> int:
    found = _SPANS.get(span)
    if found is None:
        found = _SPANS[span] = span // timedelta(microseconds=1)
    return found


class _Columns(Generic[T]):
    """Entries in one array of numbers and a tuple of details; runs of them sorted by
    (time, id). Concrete windows say how an entry becomes a record (``_build``). Both are
    rebuilt at their exact size on every write: a window is small, and an array or a list
    grown in place keeps room for several more entries, in every one of a million."""

    __slots__ = ("_details", "_numbers")

    def __init__(self) -> None:
        self._numbers = array("q")
        self._details: tuple[Detail, ...] = ()

    def _build(self, time: datetime, event_id: str, detail: Detail) -> T:
        raise NotImplementedError

    def _record(self, i: int) -> T:
        detail = self._details[i]
        exact = detail[0]
        if exact is not None:
            return self._build(exact[1], exact[0], detail)
        n, at = self._numbers, _STRIDE * i
        return self._build(from_micros(n[at]), id_text(_HALVES.pack(n[at + 1], n[at + 2])),
                           detail)

    def _id(self, i: int) -> str:
        exact = self._details[i][0]
        if exact is not None:
            return str(exact[0])
        n, at = self._numbers, _STRIDE * i
        return id_text(_HALVES.pack(n[at + 1], n[at + 2]))

    def _writable(self) -> None:
        if _EMPTY.get(type(self)) is self:
            raise TypeError("the shared empty window is read-only")

    def _insert(self, lo: int, hi: int, entry: Stamp, detail: Detail, retention: int,
                cap: int) -> int:
        """Insert into the sorted run [lo, hi) unless there already; then drop what is older
        than ``retention`` (microseconds) before the run's newest, and the oldest past
        ``cap``. The run's new length, or -1 when the entry was there already."""
        n, details = self._numbers, self._details
        time, high, low, exact = entry
        at = hi
        if hi > lo and n[_STRIDE * (hi - 1)] >= time:  # not simply the newest (rare)
            key = (time, exact[0] if exact is not None else id_text(_HALVES.pack(high, low)))
            if n[_STRIDE * (hi - 1)] > time or self._id(hi - 1) >= key[1]:
                keys = [(n[_STRIDE * i], self._id(i)) for i in range(lo, hi)]
                found = bisect.bisect_left(keys, key)
                if found < len(keys) and keys[found] == key:
                    return -1  # the same event seen again (poll overlap): count it once
                at = lo + found
        shared = self._shared(detail, lo, at)
        if at == hi:
            # The run's newest: what is dropped is known before, so the run is rebuilt once.
            horizon = time - retention
            drop = 0
            if hi > lo and n[_STRIDE * lo] < horizon:
                drop = bisect.bisect_left(n[_STRIDE * lo : _STRIDE * hi : _STRIDE], horizon)
            drop = max(drop, hi + 1 - lo - cap)
            start = lo + drop
            self._numbers = (n[: _STRIDE * lo] + n[_STRIDE * start : _STRIDE * hi]
                             + array("q", (time, high, low)) + n[_STRIDE * hi :])
            self._details = (*details[:lo], *details[start:hi], shared, *details[hi:])
            return hi + 1 - start
        n = n[: _STRIDE * at] + array("q", (time, high, low)) + n[_STRIDE * at :]
        details = (*details[:at], shared, *details[at:])
        hi += 1
        horizon = n[_STRIDE * (hi - 1)] - retention
        drop = 0
        if n[_STRIDE * lo] < horizon:
            drop = bisect.bisect_left(n[_STRIDE * lo : _STRIDE * hi : _STRIDE], horizon)
        drop = max(drop, hi - lo - cap)
        if drop > 0:
            n = n[: _STRIDE * lo] + n[_STRIDE * (lo + drop) :]
            details = details[:lo] + details[lo + drop :]
            hi -= drop
        self._numbers, self._details = n, details
        return hi - lo

    def _shared(self, detail: Detail, lo: int, at: int) -> Detail:
        # Identical objects only (the history interns what it keeps), so a shared tuple
        # reads back exactly as the one it replaces, never a 1 for a True or 1.0.
        if detail[0] is not None:
            return detail  # an entry of its own
        details = self._details
        for i in range(at - 1, max(lo, at - _SHARED_SCAN) - 1, -1):  # the latest first
            found = details[i]
            if found == detail:
                return found if all(map(is_, found, detail)) else detail
        return detail

    def _last_micros(self, hi: int) -> int:
        return self._numbers[_STRIDE * (hi - 1)]


class Columns(_Columns[T], Sequence[T]):
    """One window: a read-only sequence of records sorted by (time, id)."""

    __slots__ = ()

    def fields(self, record: T) -> tuple[Any, ...]:
        """A record's fields after its time and id (the details, without ``exact``)."""
        raise NotImplementedError

    @classmethod
    def empty(cls: type[_W]) -> _W:
        """The one shared empty window of this kind: read-only, for states that never
        wrote one (most users never fail, most addresses never succeed)."""
        found = _EMPTY.get(cls)
        if found is None:
            found = _EMPTY[cls] = cls()
        return found

    @classmethod
    def of(cls: type[_W], records: Iterable[T]) -> _W:
        """A window of ``records`` as given (a stored window, written in order)."""
        window = cls()
        numbers: list[int] = []
        details: list[Detail] = []
        for record in records:
            entry = stamp(record.time, record.event_id)  # type: ignore[attr-defined]
            numbers += (entry[0], entry[1], entry[2])
            details.append((entry[3], *window.fields(record)))
        window._numbers, window._details = array("q", numbers), tuple(details)
        return window

    def add(self, entry: Stamp, detail: Detail, *, retention: timedelta, cap: int) -> bool:
        """Insert in (time, id) order unless already there; trim by age and length.
        ``detail``: ``(entry[3], *fields)``; one tuple given to several windows is kept once."""
        self._writable()
        length = self._insert(0, len(self._details), entry, detail, span_micros(retention), cap)
        return length >= 0

    def add_record(self, record: T, *, retention: timedelta, cap: int) -> bool:
        entry = stamp(record.time, record.event_id)  # type: ignore[attr-defined]
        return self.add(entry, (entry[3], *self.fields(record)), retention=retention, cap=cap)

    def between(self, start: datetime, end: datetime) -> list[T]:
        """The records with ``start <= time <= end``, building only those."""
        times = self._numbers[::_STRIDE]
        low = bisect.bisect_left(times, micros(start))
        high = bisect.bisect_right(times, micros(end), lo=low)
        return [self._record(i) for i in range(low, high)]

    def first_time(self) -> datetime | None:
        return self._time(0) if self._details else None

    def last_time(self) -> datetime | None:
        return self._time(len(self._details) - 1) if self._details else None

    def _time(self, i: int) -> datetime:
        exact = self._details[i][0]
        return exact[1] if exact is not None else from_micros(self._numbers[_STRIDE * i])

    def column(self, index: int) -> list[Any]:
        """One field of every entry, in order (``fields`` numbering), building no record."""
        return [d[index + 1] for d in self._details]

    def column_between(self, index: int, start: datetime, end: datetime) -> list[Any]:
        """One field of the entries with ``start <= time <= end`` (``between``'s), building
        no record: a spray's office-NAT question reads the users of many addresses."""
        times = self._numbers[::_STRIDE]
        low = bisect.bisect_left(times, micros(start))
        high = bisect.bisect_right(times, micros(end), lo=low)
        return [d[index + 1] for d in self._details[low:high]]

    def __len__(self) -> int:
        return len(self._details)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return [self._record(i) for i in range(len(self._details))[index]]
        return self._record(range(len(self._details))[index])

    def __iter__(self) -> Iterator[T]:
        for i in range(len(self._details)):
            yield self._record(i)

    def __reversed__(self) -> Iterator[T]:
        for i in reversed(range(len(self._details))):
            yield self._record(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Columns | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if _EMPTY.get(type(self)) is self:
            return (type(self).empty, ())  # a copy or a pickle is the shared one again
        return (_rebuilt, (type(self), self._numbers, self._details))


_W = TypeVar("_W", bound=Columns[Any])
_C = TypeVar("_C", bound=_Columns[Any])
_EMPTY: dict[type, Any] = {}  # the shared empty window of each kind


def _rebuilt(cls: type[_C], numbers: array[int], details: tuple[Detail, ...]) -> _C:
    window = cls()
    window._numbers, window._details = array("q", numbers), tuple(details)
    return window


class Blocks(_Columns[T], Mapping[str, Columns[T]]):
    """Windows by key (a user's sessions) in one set of columns. Each key's entries are one
    sorted run after a header entry (its length, and the key's 16 bytes when it is a GUID,
    else the key in the header's details); the runs in the order their keys first came, as
    a dict's. Reading a key gives a copy of its window (``window``); ``see`` writes one."""

    __slots__ = ()

    def window(self) -> Columns[T]:
        """An empty window of the kind the runs are."""
        raise NotImplementedError

    @classmethod
    def empty(cls: type[_B]) -> _B:
        found = _EMPTY.get(cls)
        if found is None:
            found = _EMPTY[cls] = cls()
        return found

    @classmethod
    def of(cls: type[_B], windows: Mapping[str, Iterable[T]]) -> _B:
        blocks = cls()
        for key, records in windows.items():
            window = blocks.window().of(records)
            if window:  # an empty window reads as an absent one
                blocks._head(key, len(window))
                blocks._numbers += window._numbers
                blocks._details += window._details
        blocks._numbers = array("q", blocks._numbers)  # at its exact size
        return blocks

    def _head(self, key: str, count: int) -> int:
        """Append the header of a run for ``key``; its index."""
        raw = packed_id(key)
        high, low = _HALVES.unpack(raw) if raw is not None else (0, 0)
        self._numbers = self._numbers + array("q", (count, high, low))
        self._details = (*self._details, _PACKED_KEY if raw is not None else (key,))
        return len(self._details) - 1

    def _heads(self) -> list[int]:
        """The index of every header, in order."""
        n, heads, at, end = self._numbers, [], 0, len(self._details)
        while at < end:
            heads.append(at)
            at += 1 + n[_STRIDE * at]
        return heads

    def _find(self, key: str) -> int:
        """The index of ``key``'s header, else -1."""
        raw = packed_id(key)
        n, details, at, end = self._numbers, self._details, 0, len(self._details)
        if raw is None:
            wanted = (key,)
            while at < end:
                if details[at] == wanted:
                    return at
                at += 1 + n[_STRIDE * at]
            return -1
        high, low = _HALVES.unpack(raw)
        while at < end:
            i = _STRIDE * at
            if n[i + 1] == high and n[i + 2] == low and details[at] is _PACKED_KEY:
                return at
            at += 1 + n[i]
        return -1

    def _key(self, h: int) -> str:
        head = self._details[h]
        if head is _PACKED_KEY:
            n = self._numbers
            return id_text(_HALVES.pack(n[_STRIDE * h + 1], n[_STRIDE * h + 2]))
        return str(head[0])

    def see(self, key: str, entry: Stamp, detail: Detail, *, retention: timedelta, cap: int,
            max_keys: int) -> None:
        """Insert into ``key``'s window as ``Columns.add`` does; then forget the windows idle
        for ``retention`` before the newest, and the least recent past ``max_keys``."""
        self._writable()
        h = self._find(key)
        if h < 0:
            h = self._head(key, 0)
        span = span_micros(retention)
        length = self._insert(h + 1, h + 1 + self._numbers[_STRIDE * h], entry, detail, span,
                              cap)
        n = self._numbers  # rebuilt by the insert
        if length >= 0:
            n[_STRIDE * h] = length
        heads = self._heads()
        lasts = [n[_STRIDE * (h + n[_STRIDE * h])] for h in heads]  # each run's last time
        horizon = max(lasts) - span
        if min(lasts) >= horizon and len(lasts) <= max_keys:
            return  # nothing idle, nothing past the cap: the common case
        for i in reversed(range(len(heads))):
            if lasts[i] < horizon:
                self._drop(heads[i])
                del heads[i], lasts[i]
        while len(lasts) > max_keys:
            i = lasts.index(min(lasts))  # the first of the least recent
            self._drop(self._heads()[i])
            del lasts[i]

    def _drop(self, h: int) -> None:
        n, end = self._numbers, h + 1 + self._numbers[_STRIDE * h]
        self._numbers = n[: _STRIDE * h] + n[_STRIDE * end :]
        self._details = self._details[:h] + self._details[end:]

    def __getitem__(self, key: str) -> Columns[T]:
        window: Columns[T] | None = self.get(key)
        if window is None:
            raise KeyError(key)
        return window

    def get(self, key: str, default: Any = None) -> Any:
        """``key``'s window (a copy), else ``default``; no exception for an absent key (the
        first sign-in of every session asks for one)."""
        if not self._details:
            return default
        h = self._find(key)
        if h < 0:
            return default
        end = h + 1 + self._numbers[_STRIDE * h]
        window = self.window()
        window._numbers = self._numbers[_STRIDE * (h + 1) : _STRIDE * end]
        window._details = self._details[h + 1 : end]
        return window

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._find(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter([self._key(h) for h in self._heads()])

    def __len__(self) -> int:
        return len(self._heads())

    # A mapping's equality (equal items), not the windows' (equal records) it inherits first.
    __eq__ = Mapping.__eq__
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if _EMPTY.get(type(self)) is self:
            return (type(self).empty, ())
        return (_rebuilt, (type(self), self._numbers, self._details))


_B = TypeVar("_B", bound=Blocks[Any])
_PACKED_KEY: Detail = ()  # the details of a header whose key is packed in its numbers
