"""The records the correlation history keeps, and their plain-dict form for storage.

Every window is a small list sorted by (time, event id), so an event that arrives
late but within retention is still counted. Each list is bounded by age (relative
to its newest entry: no clock is read) and by length.
"""

from __future__ import annotations

import bisect
from collections.abc import ItemsView, Iterable, Mapping, ValuesView
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import is_
from typing import Any, Protocol, TypeVar

from detections.familiarity import WARMUP, Familiarity, prefix_key
from detections.history_columns import Blocks, Columns, Detail, Stamp
from detections.history_marks import (
    APP_RETENTION,
    FLAG_RETENTION,
    MAX_APPS,
    MAX_FLAGS,
    MAX_SLOW_USERS,
    SLOW_RETENTION,
    UNWRITTEN,
    Items,
    KeyedNumbers,
    LastSeen,
    Names,
    Values,
    stored_times,
    times_dict,
    unwritten,
)
from detections.history_marks import Flag as Flag  # re-exported
from detections.history_marks import stored_time as stored_time  # re-exported
from detections.history_seen import SeenIds, from_micros, micros
from detections.normalize.construct import fast_constructor

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


_new_success = fast_constructor(SuccessSeen)  # slots set directly: frozen __init__ is slow
_new_attempt = fast_constructor(Attempt)


Place = tuple[str | None, str | None, float | None, float | None]
_PLACES: dict[Place, Place] = {}  # one tuple per place (country, city, coordinates): bounded
MAX_SHARED_PLACES = 50_000


def shared_place(country: str | None, city: str | None, latitude: float | None,
                 longitude: float | None) -> Place:
    """One tuple per place, so the successes of a whole tenant keep each place once."""
    place = (country, city, latitude, longitude)
    found = _PLACES.get(place)
    if found is None:
        if len(_PLACES) >= MAX_SHARED_PLACES:
            _PLACES.clear()
        _PLACES[place] = found = place
    # Equal is not enough: 51 and 51.0 are equal keys, and must read back as they came.
    return found if all(map(is_, found, place)) else place


class SuccessWindow(Columns[SuccessSeen]):
    """A user's successes, packed (``detections.history_columns``); the fields after the
    time and id: the address, the place (``shared_place``), device, flags and ASN."""

    __slots__ = ()

    def _build(self, time: datetime, event_id: str, d: Detail) -> SuccessSeen:
        country, city, latitude, longitude = d[2]
        return _new_success(time=time, event_id=event_id, ip=d[1], country=country, city=city,
                            latitude=latitude, longitude=longitude, device=d[3], risky=d[4],
                            anonymized=d[5], asn=d[6])

    def fields(self, s: SuccessSeen) -> tuple[Any, ...]:
        return (s.ip, shared_place(s.country, s.city, s.latitude, s.longitude), s.device,
                s.risky, s.anonymized, s.asn)


def attempt_of(time: datetime, event_id: str, d: Detail) -> Attempt:
    """The attempt of ``AttemptWindow`` details ``d`` (``exact`` first, then its fields)."""
    return _new_attempt(time=time, event_id=event_id, user=d[1], ip=d[2], code=d[3],
                        asn=d[4], country=d[5], device=d[6], agent=d[7], trusted=d[8])


class AttemptWindow(Columns[Attempt]):
    """Attempts (an address's accepted passwords, a session's networks), packed."""

    __slots__ = ()

    def _build(self, time: datetime, event_id: str, d: Detail) -> Attempt:
        return attempt_of(time, event_id, d)

    def fields(self, a: Attempt) -> tuple[Any, ...]:
        return (a.user, a.ip, a.code, a.asn, a.country, a.device, a.agent, a.trusted)


class SessionWindows(Blocks[Attempt]):
    """A user's sessions: sessionId -> its networks (an ``AttemptWindow`` each)."""

    __slots__ = ()

    def _build(self, time: datetime, event_id: str, d: Detail) -> Attempt:
        return attempt_of(time, event_id, d)

    def window(self) -> AttemptWindow:
        return AttemptWindow()


@dataclass(slots=True)
class CountrySeen:
    first: datetime
    last: datetime
    count: int = 1


class Countries(KeyedNumbers, Mapping[str, CountrySeen]):
    """A user's countries: first and last sighting (microseconds) and a count each; a
    ``CountrySeen`` is built when read (changing it changes nothing kept)."""

    __slots__ = ()
    STRIDE = 3

    @classmethod
    def of(cls, items: Iterable[tuple[str, CountrySeen]]) -> Countries:
        countries = cls()
        for name, c in items:
            countries._put(name, (micros(c.first), micros(c.last), c.count))
        return countries

    def __getitem__(self, name: str) -> CountrySeen:
        seen: CountrySeen | None = self.get(name)
        if seen is None:
            raise KeyError(name)
        return seen

    def get(self, name: str, default: Any = None) -> Any:
        at = self._at(name)
        if at < 0:
            return default
        n = self._numbers
        return CountrySeen(from_micros(n[3 * at]), from_micros(n[3 * at + 1]), n[3 * at + 2])

    def first_time(self) -> datetime | None:
        return from_micros(min(self._column(0))) if self._keys else None

    def _pairs(self) -> list[tuple[str, CountrySeen]]:
        n = self._numbers
        return [(name, CountrySeen(from_micros(n[3 * i]), from_micros(n[3 * i + 1]), n[3 * i + 2]))
                for i, name in enumerate(self._keys)]

    def items(self) -> ItemsView[str, CountrySeen]:
        return Items(self)

    def values(self) -> ValuesView[CountrySeen]:
        return Values(self)

    def see(self, name: str, time: datetime) -> None:
        """Count a sighting; forget countries unseen for ``COUNTRY_RETENTION`` before the
        newest, then the least recently seen past ``MAX_COUNTRIES``."""
        at, now, n = self._at(name), micros(time), self._numbers
        if at < 0:
            self._put(name, (now, now, 1))
        else:
            self._put(name, (min(n[3 * at], now), max(n[3 * at + 1], now), n[3 * at + 2] + 1))
        lasts = self._column(1)
        horizon = max(lasts) - COUNTRY_RETENTION // timedelta(microseconds=1)
        if min(lasts) < horizon:
            self._keep([i for i in range(len(lasts)) if lasts[i] >= horizon])
        while len(self._keys) > MAX_COUNTRIES:
            lasts = self._column(1)
            self._drop(lasts.index(min(lasts)))  # the first of the least recent

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self.items()) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Countries({dict(self.items())!r})"


def _order(item: Timed) -> tuple[datetime, str]:
    return (item.time, item.event_id)


def _time(item: Timed) -> datetime:
    return item.time


def insert(window: list[T] | Columns[T], item: T, *, retention: timedelta, cap: int) -> bool:
    """Insert in (time, id) order unless already there; trim by age and length."""
    if isinstance(window, Columns):
        return window.add_record(item, retention=retention, cap=cap)
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

    countries: Countries = field(default_factory=Countries)
    # Packed, the shared read-only empty until written (``see_success``, ``see_session``).
    successes: SuccessWindow = field(default_factory=SuccessWindow.empty)
    failures: list[Attempt] = field(default_factory=unwritten)  # credential and MFA, by code
    sessions: SessionWindows = field(default_factory=SessionWindows.empty)  # id -> networks
    # Every sign-in id of the retention window: a re-read event is judged only once.
    seen_ids: SeenIds = field(default_factory=SeenIds)
    flags: list[Flag] = field(default_factory=unwritten)  # risky sign-ins and alerts, by time
    apps: LastSeen = field(default_factory=LastSeen)  # client app id -> last success
    known: Familiarity | None = None  # devices, networks, places (detections.familiarity)

    def learn(self, keys: tuple[int | None, ...], time: datetime) -> bool:
        """Count a successful sign-in's device, network and place keys as familiar."""
        if self.known is None:
            if not any(keys):
                return False
            self.known = Familiarity()
        return self.known.learn(keys, time)

    def signed_in_from(self, ip: str | None, at: datetime) -> bool:
        """A successful sign-in from ``ip``'s /24 (or /48) before ``at``, within the baseline.
        No warm-up (unlike ``familiar``): a success seen there is evidence enough that the
        network is the user's own."""
        return self.known is not None and self.known.known(prefix_key(ip), at)

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

    def see_success(self, entry: Stamp, detail: Detail) -> bool:
        """Remember a successful interactive sign-in (``SuccessWindow`` details)."""
        if self.successes is SuccessWindow.empty():
            self.successes = SuccessWindow()
        return self.successes.add(entry, detail, retention=EVENT_RETENTION, cap=MAX_SUCCESSES)

    def see_app(self, app_id: str, time: datetime) -> bool:
        return self.apps.remember(app_id, time, retention=APP_RETENTION, cap=MAX_APPS)

    @property
    def seen(self) -> dict[str, datetime]:
        """The seen ids and their times (a copy: ``seen_ids`` is what is kept)."""
        return self.seen_ids.as_dict()

    def already_seen(self, event_id: str, time: datetime) -> bool:
        """Seen before, or older than what this user's history still covers."""
        return event_id in self.seen_ids or self.seen_ids.older(time, EVENT_RETENTION)

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
        firsts = [t for t in (self.countries.first_time(), self.successes.first_time()) if t]
        return min(firsts) if firsts else None

    def see_country(self, country: str, time: datetime) -> None:
        self.countries.see(country, time)

    def see_session(self, session_id: str, entry: Stamp, detail: Detail) -> None:
        """Remember a network of a session (``AttemptWindow`` details); sessions idle past
        the window retention are forgotten, and the least recent past ``MAX_SESSIONS``."""
        if self.sessions is SessionWindows.empty():
            self.sessions = SessionWindows()
        self.sessions.see(session_id, entry, detail, retention=WINDOW_RETENTION,
                          cap=MAX_SESSION_NETWORKS, max_keys=MAX_SESSIONS)

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
            countries=Countries.of(
                (k, CountrySeen(stored_time(v[0]), stored_time(v[1]), int(v[2])))
                for k, v in data.get("countries", {}).items()
            ),
            successes=SuccessWindow.of(SuccessSeen.from_list(v)
                                       for v in data.get("successes", []))
            or SuccessWindow.empty(),
            failures=[Attempt.from_list(v) for v in data.get("failures", [])],
            sessions=SessionWindows.of({
                k: [Attempt.from_list(v) for v in w] for k, w in data.get("sessions", {}).items()
            }) or SessionWindows.empty(),
            seen_ids=SeenIds.of((str(v[0]), stored_time(v[1])) for v in data.get("seen", [])),
            flags=[Flag.from_list(v) for v in data.get("flags", [])],
            apps=LastSeen.of(stored_times(data.get("apps", {})).items()),
            known=Familiarity.from_list(data["known"]) if data.get("known") else None,
        )


@dataclass(slots=True)
class WindowState:
    """Failure and success windows for one IP address, or for the whole tenant."""

    # Shared read-only empties until written (``own``): most addresses never fail.
    failures: list[Attempt] = field(default_factory=unwritten)  # credential failures
    successes: AttemptWindow = field(default_factory=AttemptWindow.empty)  # password accepted
    # 50053 (tenant only), from a network new to its user: account_lockouts' reading.
    lockouts: list[Attempt] = field(default_factory=unwritten)
    # The slow spray's longer view (IP only): user -> last credential failure / success.
    failed_users: LastSeen = field(default_factory=LastSeen.empty)  # the shared empty
    ok_users: LastSeen = field(default_factory=LastSeen.empty)  # until written
    # The UPN of each user key in ``successes`` that is an object id (IP only): spray_success
    # names a user the spray is recognised after by it, with only the address's state loaded.
    names: Names = field(default_factory=Names.empty)

    def own_failures(self) -> list[Attempt]:
        if self.failures is UNWRITTEN:
            self.failures = []
        return self.failures

    def own_successes(self) -> AttemptWindow:
        if self.successes is AttemptWindow.empty():
            self.successes = AttemptWindow()
        return self.successes

    def own_lockouts(self) -> list[Attempt]:
        if self.lockouts is UNWRITTEN:
            self.lockouts = []
        return self.lockouts

    def see_name(self, user: str, upn: str) -> bool:
        """Remember the UPN of a user key of ``successes``; False when already known."""
        if self.names.get(user) == upn:
            return False
        if self.names is Names.empty():
            self.names = Names()
        self.names.put(user, upn)
        if len(self.names) > MAX_IP_NAMES:  # only the users the window still holds
            held = set(self.successes.column(0))  # their users, building no record
            self.names = Names((k, v) for k, v in self.names.items() if k in held)
        return True

    def see_user(self, failed: bool, user: str, time: datetime) -> bool:
        if failed:
            if self.failed_users is LastSeen.empty():
                self.failed_users = LastSeen()
            users = self.failed_users
        else:
            if self.ok_users is LastSeen.empty():
                self.ok_users = LastSeen()
            users = self.ok_users
        return users.remember(user[:MAX_STORED_KEY], time, retention=SLOW_RETENTION,
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
            successes=AttemptWindow.of(Attempt.from_list(v) for v in data.get("successes", []))
            or AttemptWindow.empty(),
            lockouts=[Attempt.from_list(v) for v in data.get("lockouts", [])],
            failed_users=LastSeen.of(stored_times(data.get("failed_users", {})).items())
            or LastSeen.empty(),
            ok_users=LastSeen.of(stored_times(data.get("ok_users", {})).items())
            or LastSeen.empty(),
            names=Names((str(k), str(v)) for k, v in data.get("names", {}).items())
            or Names.empty(),
        )
