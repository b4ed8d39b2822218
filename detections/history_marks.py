"""Small bounded memories of the history: flags (risky sign-ins, alerts on a user) and
"last seen" maps (a user's client apps, an IP's failed and successful users).

Bounded like the windows: by age relative to the newest entry (no clock is read) and by
length, the oldest going first.
"""

from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterable, Iterator, Mapping, ValuesView
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import compress
from typing import Any, ClassVar

from detections.history_seen import from_micros, micros

# "Recently flagged" (risky sign-ins, alerts on the user): at least the incident quiet default
# (7 days) with room for a longer quiet setting; a horizon past this is undercounted.
FLAG_RETENTION = timedelta(days=30)
MAX_FLAGS = 16
MAX_FLAG_REASON = 80
MAX_FLAG_ID = 64
# Client apps a user signed in to (first_party_client_phishing's baseline, at most 30 days).
APP_RETENTION = timedelta(days=30)
MAX_APPS = 24
# The slow password spray's horizon (its window is at most 72 h) and users kept per IP.
SLOW_RETENTION = timedelta(hours=72)
MAX_SLOW_USERS = 500


def stored_time(text: str, what: str = "stored state") -> datetime:
    """A time read back from state we wrote: ISO 8601 with its offset, never naive."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        msg = f"naive timestamp in {what}: {text!r}"
        raise ValueError(msg)
    return value


def stored_times(data: dict[str, Any]) -> dict[str, datetime]:
    return {str(k): stored_time(v) for k, v in data.items()}


def times_dict(values: Mapping[str, datetime]) -> dict[str, str]:
    return {k: t.isoformat() for k, t in values.items()}


_FOREVER = micros(datetime.max.replace(tzinfo=UTC))  # an end no time is after


def packed(keys: tuple[str, ...]) -> str | tuple[str, ...]:
    """One key as itself, not in a tuple of one: most of these maps hold one key (a user's
    country, an address's user), and a tuple is 48 bytes, in 400,000 of them."""
    return keys[0] if len(keys) == 1 else keys


def unpacked(stored: str | tuple[str, ...]) -> tuple[str, ...]:
    return (stored,) if isinstance(stored, str) else stored


class KeyedNumbers:
    """Keys in a tuple and ``STRIDE`` 64-bit numbers each in one array: a small map without a
    dict, and without an object per value (times are microseconds, read back as UTC). Both
    are rebuilt at their exact size when a key comes or goes (the maps are small)."""

    __slots__ = ("_key_store", "_numbers")
    STRIDE: ClassVar[int] = 1

    def __init__(self) -> None:
        self._key_store: str | tuple[str, ...] = ()
        self._numbers = array("q")

    @property
    def _keys(self) -> tuple[str, ...]:
        return unpacked(self._key_store)

    @_keys.setter
    def _keys(self, keys: tuple[str, ...]) -> None:
        self._key_store = packed(keys)

    def _at(self, key: object) -> int:
        keys = self._keys
        return keys.index(key) if key in keys else -1  # (no exception for a new key)

    def _put(self, key: str, values: tuple[int, ...]) -> None:
        """Set ``key``'s numbers; a new key goes last (as in a dict)."""
        at = self._at(key)
        if at < 0:
            self._keys = (*self._keys, key)
            self._numbers = self._numbers + array("q", values)
        else:
            self._numbers[self.STRIDE * at : self.STRIDE * (at + 1)] = array("q", values)

    def _drop(self, at: int) -> None:
        self._keys = self._keys[:at] + self._keys[at + 1 :]
        n = self._numbers
        self._numbers = n[: self.STRIDE * at] + n[self.STRIDE * (at + 1) :]

    def _keep(self, kept: list[int]) -> None:
        """Keep only the entries at ``kept`` (indices, in the order given)."""
        stride, n = self.STRIDE, self._numbers
        self._keys = tuple(self._keys[i] for i in kept)
        self._numbers = array("q", [n[stride * i + j] for i in kept for j in range(stride)])

    def _column(self, index: int) -> array[int]:
        return self._numbers[index :: self.STRIDE]

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    __hash__ = None  # type: ignore[assignment]


class Items(ItemsView[str, Any]):
    """Items read in one pass (the mapping's ``_pairs``), not a key search per key."""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(self._mapping._pairs())  # type: ignore[attr-defined]


class Values(ValuesView[Any]):
    def __iter__(self) -> Iterator[Any]:
        return (v for _, v in self._mapping._pairs())  # type: ignore[attr-defined]


class LastSeen(KeyedNumbers, Mapping[str, datetime]):
    """A "last seen" map: key -> the latest time it was seen (``remember``)."""

    __slots__ = ()

    @staticmethod
    def empty() -> LastSeen:
        """The one shared empty map (read-only): most addresses never fail a password."""
        return _NO_TIMES

    @classmethod
    def of(cls, items: Iterable[tuple[str, datetime]]) -> LastSeen:
        seen = cls()
        for key, time in items:
            seen._put(key, (micros(time),))
        return seen

    def __getitem__(self, key: str) -> datetime:
        at = self._at(key)
        if at < 0:
            raise KeyError(key)
        return from_micros(self._numbers[at])

    def get(self, key: str, default: Any = None) -> Any:
        at = self._at(key)
        return from_micros(self._numbers[at]) if at >= 0 else default

    def _pairs(self) -> list[tuple[str, datetime]]:
        return list(zip(self._keys, map(from_micros, self._numbers), strict=True))

    def keys_between(self, start: datetime, end: datetime) -> set[str]:
        """The keys last seen with ``start <= time <= end``, building no time: the slow
        password spray reads an address's failed and successful users on many sign-ins."""
        return set(compress(self._keys, self._within(start, end)))

    def count_between(self, start: datetime, end: datetime) -> int:
        """How many keys ``keys_between`` gives, building no set (the keys are distinct)."""
        return sum(self._within(start, end))

    def _within(self, start: datetime, end: datetime) -> Iterator[bool]:
        """Whether each key's time is in ``[start, end]``, in key order."""
        low, high, times = micros(start), micros(end), self._numbers
        if high >= _FOREVER or not times or max(times) <= high:  # one bound, in C
            return map(low.__le__, times)
        return (low <= t <= high for t in times)

    def items(self) -> ItemsView[str, datetime]:
        return Items(self)

    def values(self) -> ValuesView[datetime]:
        return Values(self)

    def remember(self, key: str, time: datetime, *, retention: timedelta, cap: int) -> bool:
        """``remember`` on this map (the same trims, the same order after them)."""
        if self is _NO_TIMES:
            raise TypeError("the shared empty map is read-only")
        at, now = self._at(key), micros(time)
        if at >= 0:
            if self._numbers[at] >= now:
                return False
            self._numbers[at] = now
        else:
            self._keys = (*self._keys, key)
            self._numbers = self._numbers + array("q", (now,))
        if len(self._keys) > cap:
            n = self._numbers
            horizon = max(n) - retention // timedelta(microseconds=1)
            self._keep([i for i in range(len(n)) if n[i] >= horizon])
            if len(self._keys) > cap:
                # Oldest first, ties in their order: what the sort of dict items kept.
                order = sorted(range(len(self._keys)), key=self._numbers.__getitem__)
                self._keep(order[len(order) - cap * 3 // 4 :])
        return key in self._keys

    def __repr__(self) -> str:
        return f"LastSeen({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self is _NO_TIMES:
            return (LastSeen.empty, ())  # a copy or a pickle is the shared one again
        return (LastSeen.of, (list(self.items()),))


_NO_TIMES = LastSeen()


class Names(Mapping[str, str]):
    """A small text map (an address's user key -> UPN) as two tuples: no dict per address."""

    __slots__ = ("_key_store", "_value_store")  # one key and value as themselves (``packed``)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._key_store: str | tuple[str, ...] = ()
        self._value_store: str | tuple[str, ...] = ()
        if items:
            pairs = dict(items)
            self._keys, self._values = tuple(pairs), tuple(pairs.values())

    @property
    def _keys(self) -> tuple[str, ...]:
        return unpacked(self._key_store)

    @_keys.setter
    def _keys(self, keys: tuple[str, ...]) -> None:
        self._key_store = packed(keys)

    @property
    def _values(self) -> tuple[str, ...]:
        return unpacked(self._value_store)

    @_values.setter
    def _values(self, values: tuple[str, ...]) -> None:
        self._value_store = packed(values)

    @staticmethod
    def empty() -> Names:
        return _NO_NAMES

    def put(self, key: str, value: str) -> None:
        if self is _NO_NAMES:
            raise TypeError("the shared empty map is read-only")
        try:
            at = self._keys.index(key)
        except ValueError:
            self._keys, self._values = (*self._keys, key), (*self._values, value)
            return
        self._values = (*self._values[:at], value, *self._values[at + 1 :])

    def __getitem__(self, key: str) -> str:
        try:
            return self._values[self._keys.index(key)]
        except ValueError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._values[self._keys.index(key)]
        except ValueError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def _pairs(self) -> list[tuple[str, str]]:
        return list(zip(self._keys, self._values, strict=True))

    def items(self) -> ItemsView[str, str]:
        return Items(self)

    def values(self) -> ValuesView[str]:
        return Values(self)

    def __repr__(self) -> str:
        return f"Names({dict(self.items())!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        if self is _NO_NAMES:
            return (Names.empty, ())
        return (Names, (list(self.items()),))


_NO_NAMES = Names()


def remember(
    seen: dict[str, datetime], key: str, time: datetime, *, retention: timedelta, cap: int
) -> bool:
    """Keep the latest ``time`` of ``key``. Past ``cap`` entries, forget what is older than
    ``retention`` before the newest, then the oldest down to three quarters of ``cap`` (one
    trim per many inserts: a busy IP's map is not scanned on every sign-in). Readers filter
    by their window, so an entry kept a little longer never counts. False: nothing new."""
    last = seen.get(key)
    if last is not None and last >= time:
        return False
    seen[key] = time
    if len(seen) > cap:
        newest = max(seen.values())
        for old in [k for k, t in seen.items() if t < newest - retention]:
            del seen[old]
        if len(seen) > cap:
            keep = sorted(seen.items(), key=lambda kv: kv[1])[len(seen) - cap * 3 // 4 :]
            seen.clear()
            seen.update(keep)
    return key in seen


@dataclass(frozen=True, slots=True)
class Flag:
    """Something that flagged a user: a risky sign-in, or an alert fired on them."""

    time: datetime
    source_event: str  # the id of the event that flagged the user
    kind: str  # "riskySignIn" or "alert"
    reason: str  # the rule id of an alert; the risk of a sign-in
    severity: str | None = None  # an alert's severity

    @property
    def event_id(self) -> str:
        # One event may flag a user twice (risky, and alerted on): both are kept.
        return f"{self.source_event}|{self.kind}|{self.reason}"

    def to_list(self) -> list[Any]:
        return [
            self.time.isoformat(),
            self.source_event[:MAX_FLAG_ID],
            self.kind,
            self.reason[:MAX_FLAG_REASON],
            self.severity,
        ]

    @classmethod
    def from_list(cls, v: list[Any]) -> Flag:
        return cls(stored_time(v[0]), str(v[1]), str(v[2]), str(v[3]), v[4])


class _Unwritten(list):  # type: ignore[type-arg]
    """The one empty window shared by every state that never wrote it (most users never
    fail, most addresses never see a failure): no list object per empty window. Writing
    it is a bug (a writer must give its state a list of its own first), so it refuses."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("the shared empty window is read-only")

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return unwritten, ()  # a copy or a pickle is the shared one again

    append = extend = insert = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse  # type: ignore[assignment]


class _UnwrittenMap(dict):  # type: ignore[type-arg]
    """The same for a "last seen" map (an address's failed users)."""

    def _refuse(self, *args: object, **kwargs: object) -> None:
        raise TypeError("the shared empty map is read-only")

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return unwritten_map, ()

    __setitem__ = __delitem__ = setdefault = update = clear = _refuse
    pop = popitem = __ior__ = _refuse  # type: ignore[assignment]


UNWRITTEN: list[Any] = _Unwritten()
UNWRITTEN_MAP: dict[str, Any] = _UnwrittenMap()


def unwritten() -> list[Any]:
    return UNWRITTEN


def unwritten_map() -> dict[str, Any]:
    return UNWRITTEN_MAP
