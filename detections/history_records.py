"""The records the correlation history keeps, and their plain-dict form for storage.

Every window is a small list sorted by (time, event id), so an event that arrives
late but within retention is still counted. Each list is bounded by age (relative
to its newest entry: no clock is read) and by length.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from detections.familiarity import WARMUP, Familiarity
from detections.history_marks import (
    APP_RETENTION,
    FLAG_RETENTION,
    MAX_APPS,
    MAX_FLAGS,
    MAX_SLOW_USERS,
    SLOW_RETENTION,
    UNWRITTEN,
    UNWRITTEN_MAP,
    remember,
    stored_times,
    times_dict,
    unwritten,
    unwritten_map,
)
from detections.history_marks import Flag as Flag  # re-exported
from detections.history_marks import stored_time as stored_time  # re-exported
from detections.history_seen import SeenIds, from_micros

# Retention of each window and the most entries it keeps. Rule windows longer than
# these are undercounted; the defaults of every rule sit well inside them.
EVENT_RETENTION = timedelta(hours=26)  # impossible travel needs ~25 h (20,000 km at 800 km/h)
# Failure, session and network windows: every rule window is an hour or less (a setting could
# make it longer; past this it is undercounted). Short, so a day of sign-ins fits in memory.
WINDOW_RETENTION = timedelta(hours=6)
COUNTRY_RETENTION = timedelta(days=180)
MAX_SUCCESSES = 40
MAX_USER_FAILURES = 100
MAX_COUNTRIES = 64
MAX_SESSIONS = 20
MAX_SESSION_NETWORKS = 12
MAX_IP_ENTRIES = 200
MAX_IP_NAMES = 2 * MAX_IP_ENTRIES  # UPNs per address (trimmed to its success window past this)
# Tenant failures and lockouts share one Table entity (1 MiB, UTF-16): 2 x 1,000 entries of
# at most about 220 characters (keys capped below) stay under 1 MB.
MAX_TENANT_ENTRIES = 1000
MAX_STORED_KEY = 64  # characters of a user key or IP kept: attackers choose unknown UPNs
MAX_STORED_AGENT = 256  # characters of a session's user agent kept (compared as kept)
MAX_SEEN_IDS = 3000  # sign-in ids per user kept to recognise re-read events (poll overlap)


class Timed(Protocol):
    @property
    def time(self) -> datetime: ...

    @property
    def event_id(self) -> str: ...


T = TypeVar("T", bound=Timed)


@dataclass(frozen=True, slots=True)
class SuccessSeen:
    """A successful interactive sign-in: where, on what device, with what risk."""

    time: datetime
    event_id: str
    ip: str | None
    country: str | None
    city: str | None
    latitude: float | None
    longitude: float | None
    device: str | None  # device id, else "os/browser"; None when unknown
    risky: bool  # an open, active risk flag on the sign-in
    anonymized: bool  # through a known anonymizer (Tor, anonymous VPN)
    asn: int | None = None  # its autonomous system (impossible travel's network novelty)

    def to_list(self) -> list[Any]:
        return [
            self.time.isoformat(),
            self.event_id,
            self.ip,
            self.country,
            self.city,
            self.latitude,
            self.longitude,
            self.device,
            self.risky,
            self.anonymized,
            self.asn,
        ]

    @classmethod
    def from_list(cls, v: list[Any]) -> SuccessSeen:
        return cls(
            stored_time(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], bool(v[8]), bool(v[9]),
            v[10] if len(v) > 10 else None,  # stored before the ASN was kept
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt in a failure window: who, from where, with which code."""

    time: datetime
    event_id: str
    user: str
    ip: str | None
    code: int
    asn: int | None = None
    country: str | None = None
    # Sign-ins with a session only (session_multiple_ips): the client that carried it.
    device: str | None = None  # the device id (never OS/browser: those are not an identity)
    agent: str | None = None  # the user agent, at most MAX_STORED_AGENT characters
    trusted: bool = False  # from a trusted named location (networkLocationDetails)

    def to_list(self) -> list[Any]:
        stored = [
            self.time.isoformat(),
            self.event_id[:MAX_STORED_KEY],
            self.user[:MAX_STORED_KEY],
            self.ip[:MAX_STORED_KEY] if self.ip else self.ip,
            self.code,
            self.asn,
            self.country,
        ]
        if self.device or self.agent or self.trusted:
            stored += [self.device[:MAX_STORED_KEY] if self.device else None, self.agent,
                       self.trusted]
        return stored

    @classmethod
    def from_list(cls, v: list[Any]) -> Attempt:
        client = (v[7], v[8], bool(v[9])) if len(v) > 9 else (None, None, False)  # older forms
        return cls(stored_time(v[0]), v[1], v[2], v[3], int(v[4]), v[5], v[6], *client)


@dataclass(slots=True)
class CountrySeen:
    first: datetime
    last: datetime
    count: int = 1


def _order(item: Timed) -> tuple[datetime, str]:
    return (item.time, item.event_id)


def _time(item: Timed) -> datetime:
    return item.time


def insert(window: list[T], item: T, *, retention: timedelta, cap: int) -> bool:
    """Insert in (time, id) order unless already there; trim by age and length."""
    key = (item.time, item.event_id)
    # Events mostly arrive in time order: appending is the common case, no search.
    if not window or _order(window[-1]) < key:
        window.append(item)
    else:
        at = bisect.bisect_left(window, key, key=_order)
        if at < len(window) and _order(window[at]) == key:
            return False  # the same event seen again (poll overlap): count it once
        window.insert(at, item)
    horizon = window[-1].time - retention
    drop = bisect.bisect_left(window, horizon, key=_time) if window[0].time < horizon else 0
    drop = max(drop, len(window) - cap)
    if drop > 0:
        del window[:drop]
    return True


@dataclass(slots=True)
class UserState:
    """What one user did recently."""

    countries: dict[str, CountrySeen] = field(default_factory=dict)
    successes: list[SuccessSeen] = field(default_factory=list)
    failures: list[Attempt] = field(default_factory=unwritten)  # credential and MFA, by code
    sessions: dict[str, list[Attempt]] = field(default_factory=dict)  # sessionId -> networks
    # Every sign-in id of the retention window: a re-read event is judged only once.
    seen_ids: SeenIds = field(default_factory=SeenIds)
    flags: list[Flag] = field(default_factory=unwritten)  # risky sign-ins and alerts, by time
    apps: dict[str, datetime] = field(default_factory=dict)  # client app id -> last success
    known: Familiarity | None = None  # devices, networks, places (detections.familiarity)

    def learn(self, keys: tuple[int | None, ...], time: datetime) -> bool:
        """Count a successful sign-in's device, network and place keys as familiar."""
        if self.known is None:
            if not any(keys):
                return False
            self.known = Familiarity()
        return self.known.learn(keys, time)

    def familiar(self, at: datetime) -> Familiarity | None:
        """What the user is known to use, once there is ``WARMUP`` of history before
        ``at``; None before that (nothing is known yet, not even what is new)."""
        first = self.first_seen
        if self.known is None or first is None or at - first < WARMUP:
            return None
        return self.known

    def flag(self, item: Flag) -> bool:
        """Remember ``item``; False when it was already remembered."""
        if self.flags is UNWRITTEN:
            self.flags = []
        return insert(self.flags, item, retention=FLAG_RETENTION, cap=MAX_FLAGS)

    def see_app(self, app_id: str, time: datetime) -> bool:
        return remember(self.apps, app_id, time, retention=APP_RETENTION, cap=MAX_APPS)

    @property
    def seen(self) -> dict[str, datetime]:
        """The seen ids and their times (a copy: ``seen_ids`` is what is kept)."""
        return self.seen_ids.as_dict()

    def already_seen(self, event_id: str, time: datetime) -> bool:
        """Seen before, or older than what this user's history still covers."""
        if event_id in self.seen_ids:
            return True
        newest = self.seen_ids.newest
        return newest is not None and time < newest - EVENT_RETENTION

    def mark_seen(self, event_id: str, time: datetime) -> bool:
        """Remember ``event_id``; False when it was already seen."""
        if not self.seen_ids.add(event_id, time):
            return False
        if len(self.seen_ids) > MAX_SEEN_IDS:
            self.seen_ids.keep(EVENT_RETENTION, MAX_SEEN_IDS)
        return True

    @property
    def last_success(self) -> SuccessSeen | None:
        return self.successes[-1] if self.successes else None

    @property
    def first_seen(self) -> datetime | None:
        """The earliest successful sign-in remembered: how much history we have."""
        firsts = [c.first for c in self.countries.values()]
        firsts += [s.time for s in self.successes[:1]]
        return min(firsts) if firsts else None

    def see_country(self, country: str, time: datetime) -> None:
        seen = self.countries.get(country)
        if seen is None:
            self.countries[country] = CountrySeen(time, time)
        else:
            seen.first, seen.last = min(seen.first, time), max(seen.last, time)
            seen.count += 1
        newest = max(c.last for c in self.countries.values())
        for name in [n for n, c in self.countries.items() if c.last < newest - COUNTRY_RETENTION]:
            del self.countries[name]
        while len(self.countries) > MAX_COUNTRIES:
            del self.countries[min(self.countries, key=lambda n: self.countries[n].last)]

    def see_session(self, session_id: str, network: Attempt) -> None:
        window = self.sessions.setdefault(session_id, [])
        insert(window, network, retention=WINDOW_RETENTION, cap=MAX_SESSION_NETWORKS)
        newest = max(w[-1].time for w in self.sessions.values() if w)
        for sid in [s for s, w in self.sessions.items() if w[-1].time < newest - WINDOW_RETENTION]:
            del self.sessions[sid]
        while len(self.sessions) > MAX_SESSIONS:
            del self.sessions[min(self.sessions, key=lambda s: self.sessions[s][-1].time)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "countries": {
                k: [c.first.isoformat(), c.last.isoformat(), c.count]
                for k, c in self.countries.items()
            },
            "successes": [s.to_list() for s in self.successes],
            "failures": [f.to_list() for f in self.failures],
            "sessions": {k: [n.to_list() for n in w] for k, w in self.sessions.items()},
            "seen": self._seen_list(),
            "flags": [f.to_list() for f in self.flags],
            "apps": times_dict(self.apps),
            "known": self.known.to_list() if self.known else [],
        }

    def _seen_list(self) -> list[list[str]]:
        kept = self.seen_ids.keep(EVENT_RETENTION, MAX_SEEN_IDS)
        return [[i, from_micros(t).isoformat()] for t, i in kept]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserState:
        return cls(
            countries={
                k: CountrySeen(stored_time(v[0]), stored_time(v[1]), int(v[2]))
                for k, v in data.get("countries", {}).items()
            },
            successes=[SuccessSeen.from_list(v) for v in data.get("successes", [])],
            failures=[Attempt.from_list(v) for v in data.get("failures", [])],
            sessions={
                k: [Attempt.from_list(v) for v in w] for k, w in data.get("sessions", {}).items()
            },
            seen_ids=SeenIds.of((str(v[0]), stored_time(v[1])) for v in data.get("seen", [])),
            flags=[Flag.from_list(v) for v in data.get("flags", [])],
            apps=stored_times(data.get("apps", {})),
            known=Familiarity.from_list(data["known"]) if data.get("known") else None,
        )


@dataclass(slots=True)
class WindowState:
    """Failure and success windows for one IP address, or for the whole tenant."""

    # Shared read-only empties until written (``own``): most addresses never fail.
    failures: list[Attempt] = field(default_factory=unwritten)  # credential failures
    successes: list[Attempt] = field(default_factory=list)  # password accepted
    lockouts: list[Attempt] = field(default_factory=unwritten)  # 50053 (tenant only)
    # The slow spray's longer view (IP only): user -> last credential failure / success.
    failed_users: dict[str, datetime] = field(default_factory=unwritten_map)
    ok_users: dict[str, datetime] = field(default_factory=dict)
    # The UPN of each user key in ``successes`` that is an object id (IP only): spray_success
    # names a user the spray is recognised after by it, with only the address's state loaded.
    names: dict[str, str] = field(default_factory=unwritten_map)

    def own_failures(self) -> list[Attempt]:
        if self.failures is UNWRITTEN:
            self.failures = []
        return self.failures

    def own_lockouts(self) -> list[Attempt]:
        if self.lockouts is UNWRITTEN:
            self.lockouts = []
        return self.lockouts

    def see_name(self, user: str, upn: str) -> bool:
        """Remember the UPN of a user key of ``successes``; False when already known."""
        if self.names.get(user) == upn:
            return False
        if self.names is UNWRITTEN_MAP:
            self.names = {}
        self.names[user] = upn
        if len(self.names) > MAX_IP_NAMES:  # only the users the window still holds
            held = {a.user for a in self.successes}
            self.names = {k: v for k, v in self.names.items() if k in held}
        return True

    def see_user(self, failed: bool, user: str, time: datetime) -> bool:
        if failed and self.failed_users is UNWRITTEN_MAP:
            self.failed_users = {}
        users = self.failed_users if failed else self.ok_users
        return remember(users, user[:MAX_STORED_KEY], time, retention=SLOW_RETENTION,
                        cap=MAX_SLOW_USERS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "failures": [a.to_list() for a in self.failures],
            "successes": [a.to_list() for a in self.successes],
            "lockouts": [a.to_list() for a in self.lockouts],
            "failed_users": times_dict(self.failed_users),
            "ok_users": times_dict(self.ok_users),
            "names": dict(self.names),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowState:
        return cls(
            failures=[Attempt.from_list(v) for v in data.get("failures", [])],
            successes=[Attempt.from_list(v) for v in data.get("successes", [])],
            lockouts=[Attempt.from_list(v) for v in data.get("lockouts", [])],
            failed_users=stored_times(data.get("failed_users", {})),
            ok_users=stored_times(data.get("ok_users", {})),
            names={str(k): str(v) for k, v in data.get("names", {}).items()} or unwritten_map(),
        )
