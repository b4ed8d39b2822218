"""The sign-in ids a user's history has seen, packed: 16 bytes of id and 8 of time each.

Every sign-in of the retention window is remembered, so a re-read event (poll overlap)
is judged only once. A million of them as a ``dict[str, datetime]`` cost about 180 bytes
each (the id's string, its datetime, the dict slot); packed they cost 24. Graph ids are
lower-case GUIDs, kept as their 16 bytes (their byte order is their text order); any
other id (``correlationId@time`` fallbacks, hand-written records) keeps its text in a
small side map. Times are microseconds since the epoch, exact for aware datetimes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_ID = 16  # bytes of a packed id
_TIME = struct.Struct("<q")  # microseconds after it
_ENTRY = _ID + _TIME.size
_HEAD = _TIME.size  # the newest time, first in the buffer
_EXACT_UP_TO = 2048  # bytes: a smaller buffer is rebuilt at its exact size on every add


def micros(time: datetime) -> int:
    """``time`` (aware) as whole microseconds since the epoch (exact)."""
    return (time - EPOCH) // _MICRO


def from_micros(value: int) -> datetime:
    return EPOCH + _MICRO * value  # exact, and quicker than building a timedelta of it


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The ids asked lately: one event's id and session id are asked for several times over (the
# rules, the seen ids, the windows), interleaved. Bounded: cleared when full.
_RECENT: dict[str, bytes | None] = {}
_RECENT_MAX = 64


def packed_id(text: str) -> bytes | None:
    """The 16 bytes of a canonical lower-case GUID, else None (kept as text)."""
    try:
        return _RECENT[text]
    except KeyError:
        pass
    raw = bytes.fromhex(text.replace("-", "")) if _GUID.fullmatch(text) else None
    if len(_RECENT) >= _RECENT_MAX:
        _RECENT.clear()
    _RECENT[text] = raw
    return raw


def id_text(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class SeenIds:
    """A set of sign-in ids with the time of each, and the newest time seen."""

    __slots__ = ("_others", "_packed")

    def __init__(self) -> None:
        # The newest time (once there is one), then packed GUIDs and their times, _ENTRY
        # bytes each: one object per user, not one per id (nor a datetime for the newest).
        self._packed = bytearray()
        self._others: dict[str, int] | None = None  # ids that are not GUIDs

    @property
    def newest(self) -> datetime | None:
        newest = self._newest()
        return from_micros(newest) if newest is not None else None

    def _newest(self) -> int | None:
        return _TIME.unpack_from(self._packed)[0] if self._packed else None

    def older(self, time: datetime, retention: timedelta) -> bool:
        """``time`` is more than ``retention`` before the newest time seen."""
        newest = self._newest()
        return newest is not None and micros(time) < newest - retention // _MICRO

    def __len__(self) -> int:
        entries = max(0, len(self._packed) - _HEAD) // _ENTRY
        return entries + (len(self._others) if self._others else 0)

    def _has(self, raw: bytes) -> bool:
        packed = self._packed
        at = packed.find(raw, _HEAD)
        while at >= 0 and (at - _HEAD) % _ENTRY:  # a match across an id and a time is none
            at = packed.find(raw, at + 1)
        return at >= 0

    def __contains__(self, event_id: str) -> bool:
        raw = packed_id(event_id)
        if raw is None:
            return self._others is not None and event_id in self._others
        return self._has(raw)

    def add(self, event_id: str, time: datetime) -> bool:
        """Remember ``event_id`` at ``time``; False when it was already there."""
        raw = packed_id(event_id)
        now = micros(time)
        if raw is None:
            others = self._others if self._others is not None else {}
            if event_id in others:
                return False
            others[event_id] = now
            self._others = others
            entry = b""
        else:
            if self._has(raw):
                return False
            entry = raw + _TIME.pack(now)
        newest = self._newest()
        packed = self._packed
        if newest is None:
            packed = bytearray(_TIME.pack(now))
        elif now > newest:
            packed[:_HEAD] = _TIME.pack(now)
        if len(packed) < _EXACT_UP_TO:
            self._packed = packed + entry  # a new buffer of exactly this size
        else:
            packed += entry  # a busy user's: grown in place, not copied every time
            self._packed = packed
        return True

    def items(self) -> Iterator[tuple[str, int]]:
        """(id, microseconds) of every id, packed ones first."""
        packed = self._packed
        for at in range(_HEAD, len(packed), _ENTRY):
            yield id_text(bytes(packed[at : at + _ID])), _TIME.unpack_from(packed, at + _ID)[0]
        if self._others:
            yield from self._others.items()

    def keep(self, retention: timedelta, cap: int) -> list[tuple[int, str]]:
        """Forget ids older than ``retention`` before the newest, then all but the ``cap``
        newest (ties: the larger id stays); returns what is kept, by (time, id)."""
        newest = self._newest()
        if newest is None:
            return []
        horizon = newest - retention // _MICRO
        kept = sorted(((t, i) for i, t in self.items() if t >= horizon), reverse=True)[:cap]
        kept.sort()
        packed, others = bytearray(_TIME.pack(newest)), {}
        for t, i in kept:
            raw = packed_id(i)
            if raw is None:
                others[i] = t
            else:
                packed += raw + _TIME.pack(t)
        self._packed, self._others = bytearray(packed), others or None
        return kept

    def as_dict(self) -> dict[str, datetime]:
        return {i: from_micros(t) for i, t in self.items()}

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, datetime]]) -> SeenIds:
        seen = cls()
        for event_id, time in dict(pairs).items():  # a repeated id: its last time, as a dict
            seen.add(event_id, time)
        return seen
