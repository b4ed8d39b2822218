"""Small bounded memories of the history: flags (risky sign-ins, alerts on a user) and
"last seen" maps (a user's client apps, an IP's failed and successful users).

Bounded like the windows: by age relative to the newest entry (no clock is read) and by
length, the oldest going first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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


def times_dict(values: dict[str, datetime]) -> dict[str, str]:
    return {k: t.isoformat() for k, t in values.items()}


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
