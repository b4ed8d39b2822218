"""What the correlation rules remember between events.

The engine calls ``observe`` after every rule has judged an event, so a rule
always sees the history *before* the event it is looking at, and then ``flag_alert``
for every alert the event raised on a user. Three scopes: per user (countries, recent
successes, failures, sessions, and flags: risky sign-ins and alerts, which
``detections.correlation.recent_flag`` reads), per IP address (failure and success
windows, for password spray) and tenant-wide (credential failures and smart lockouts).
The I/O side loads and saves this state (Table Storage in the app, memory in
``riskwatch scan``); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from sys import intern
from typing import Any, TypeVar

from detections.failures import SMART_LOCKOUT, classify
from detections.familiarity import device_key, network_keys, place_key
from detections.history_columns import Stamp, stamp
from detections.history_marks import SLOW_RETENTION, UNWRITTEN, Flag
from detections.history_records import (
    MAX_IP_ENTRIES,
    MAX_STORED_AGENT,
    MAX_TENANT_ENTRIES,
    MAX_USER_FAILURES,
    WINDOW_RETENTION,
    Attempt,
    SuccessSeen,
    UserState,
    WindowState,
    _new_success,
    attempt_of,
    insert,
    shared_place,
)
from detections.model import DirectoryAudit, Event, RiskDetection, RiskyUser, Severity, SignIn
from detections.predicates import (
    is_anonymized,
    is_interactive,
    is_risk_flagged,
    is_user_sign_in,
    user_key,
)


def device_of(event: SignIn) -> str | None:
    """A device fingerprint: its id, else OS and browser; None when unknown."""
    if event.device.device_id:
        return intern(event.device.device_id)
    if event.device.os or event.device.browser:
        return intern(f"{event.device.os or '?'}/{event.device.browser or '?'}")
    return None


def _shared(text: str | None) -> str | None:
    # Places and addresses repeat across a user's sign-ins: keep one copy of each.
    return intern(text) if text else text


_Num = TypeVar("_Num", int, float)
_NUMBERS: dict[float, float] = {}  # one object per coordinate or ASN value (bounded)
MAX_SHARED_NUMBERS = 100_000


def _number(value: _Num | None) -> _Num | None:
    # Every parsed number is an object of its own (24-32 bytes): a city's coordinates and a
    # network's ASN repeat on a million records. Equal values, so nothing reads differently.
    if not value:
        return value  # None, and 0 / -0.0 (equal but not the same number)
    found = _NUMBERS.get(value)
    if found is None or type(found) is not type(value):
        if len(_NUMBERS) >= MAX_SHARED_NUMBERS:
            _NUMBERS.clear()
        _NUMBERS[value] = found = value
    return found


def success_fields(event: SignIn) -> tuple[Any, ...]:
    """What a user's success window keeps of a sign-in besides its time and id
    (``history_records.SuccessWindow.fields``): shared objects, so entries share them."""
    loc = event.location
    place = shared_place(_shared(loc.country), _shared(loc.city), _number(loc.latitude),
                         _number(loc.longitude))
    return (_shared(event.ip_address), place, device_of(event), is_risk_flagged(event),
            is_anonymized(event), _number(event.autonomous_system_number))


def success_record(event: SignIn) -> SuccessSeen:
    loc = event.location
    return _new_success(
        time=event.time,
        event_id=event.id,
        ip=_shared(event.ip_address),
        country=_shared(loc.country),
        city=_shared(loc.city),
        latitude=_number(loc.latitude),
        longitude=_number(loc.longitude),
        device=device_of(event),
        risky=is_risk_flagged(event),
        anonymized=is_anonymized(event),
        asn=_number(event.autonomous_system_number),
    )


def attempt_fields(event: SignIn, key: str | None = None) -> tuple[Any, ...]:
    """What an attempt window keeps of a sign-in besides its time and id
    (``history_records.AttemptWindow.fields``). ``key``: the caller's ``user_key(event)``."""
    # The client (device, agent, trusted location) is kept for sign-ins with a session
    # only: session_multiple_ips is the one reader, and it reads sessions.
    session = bool(event.session_id)
    agent = event.user_agent if session else None
    return (key if key is not None else user_key(event), _shared(event.ip_address),
            event.error_code, _number(event.autonomous_system_number),
            _shared(event.location.country),
            _shared(event.device.device_id) if session else None,
            intern(agent[:MAX_STORED_AGENT]) if agent else None,
            session and event.trusted_location is True)


def attempt_record(event: SignIn, key: str | None = None) -> Attempt:
    """``key``: the caller's ``user_key(event)``, shared rather than built again."""
    return attempt_of(event.time, event.id, (None, *attempt_fields(event, key)))


def familiar_keys(event: SignIn) -> tuple[int | None, ...]:
    """The familiarity keys of a sign-in: its device, networks and place."""
    loc = event.location
    return (device_key(device_of(event)),
            *network_keys(event.autonomous_system_number, event.ip_address),
            place_key(loc.country, loc.city))


def key_of(user_id: str | None, upn: str | None) -> tuple[str, ...]:
    """The history keys of one user: the object id's (what sign-ins are kept under) and the
    lower-cased UPN's, so a record that carries only one of them still finds the flags."""
    keys = [intern(k.lower()) for k in (user_id, upn) if k]
    return tuple(dict.fromkeys(keys))


def user_keys_of(event: Event) -> tuple[str, ...]:
    """The user keys ``event`` reads or writes in the history (the store loads these)."""
    if isinstance(event, SignIn):
        if not is_user_sign_in(event):
            return ()
        return tuple(dict.fromkeys((user_key(event), *key_of(None, event.user_principal_name))))
    if isinstance(event, RiskDetection):
        return key_of(event.user_id, event.user_principal_name)
    if isinstance(event, RiskyUser):
        return key_of(event.id, event.user_principal_name)
    if isinstance(event, DirectoryAudit):
        # The actor (when a user acted) and every user the record acted on.
        actor = event.initiated_by
        keys = list(key_of(actor.user_id, actor.user_principal_name))
        for target in event.targets_of("User"):
            keys += key_of(target.id, target.user_principal_name)
        return tuple(dict.fromkeys(keys))
    return ()


def _risk_reason(event: SignIn) -> str:
    parts = [f"riskState={event.risk_state}"] if event.risk_state else []
    for name, level in (("during", event.risk_level_during_sign_in),
                        ("aggregated", event.risk_level_aggregated)):
        if level and level != "none":
            parts.append(f"{name}={level}")
    parts += list(event.risk_event_types[:3])
    return " ".join(parts) or "risky sign-in"


PRUNE_EVERY = 20_000  # observations between prunes of idle network windows


def _last(window: WindowState) -> datetime:
    times = [w[-1].time for w in (window.failures, window.lockouts) if w]
    last_success = window.successes.last_time()  # read from the packed window, no record
    if last_success is not None:
        times.append(last_success)
    return max(times) if times else datetime.min.replace(tzinfo=UTC)


def _idle(window: WindowState, horizon: datetime, slow_horizon: datetime) -> bool:
    """Nothing in the windows can count any more; an address with failed users in the slow
    spray's view is kept for its longer horizon (one attempt an hour is still a spray)."""
    if _last(window) >= horizon:
        return False
    return not window.failed_users or max(window.failed_users.values()) < slow_horizon


class _Untracked(set[str]):
    """The changed keys of a history that is never written back: always empty."""

    def add(self, element: str) -> None:
        return None


class History:
    """Per-user, per-IP and tenant-wide memory shared by the correlation rules."""

    def __init__(
        self,
        *,
        users: dict[str, UserState] | None = None,
        ips: dict[str, WindowState] | None = None,
        tenant: WindowState | None = None,
        tracks_changes: bool = True,
    ) -> None:
        self.users: dict[str, UserState] = users if users is not None else {}
        self.ips: dict[str, WindowState] = ips if ips is not None else {}
        self.tenant = tenant if tenant is not None else WindowState()
        # What changed since load, so the store writes back only that. A history nothing
        # writes back (a scan's) keeps none: at a million sign-ins, every user and address.
        self.dirty_users: set[str] = set() if tracks_changes else _Untracked()
        self.dirty_ips: set[str] = set() if tracks_changes else _Untracked()
        self.tenant_dirty = False
        self.newest: datetime | None = None  # the newest sign-in observed
        self._observed = 0
        # What a rule derived from the history for the sign-in being judged, for another rule
        # asking the same (password_spray and spray_success): question -> (sign-in, observed,
        # the asking rule's params, answer); valid while nothing more is observed.
        self.memo: dict[str, tuple[object, int, object, object]] = {}
        # What a rule derived from a tenant window, for the next sign-in that reads the same
        # entries (spray's failures of one code): the rule checks the entries are the same.
        self.derived: dict[str, tuple[object, ...]] = {}

    @property
    def observed(self) -> int:
        """User sign-ins observed so far: the history changes only when this grows."""
        return self._observed

    def user(self, key: str) -> UserState | None:
        return self.users.get(key)

    def ip(self, address: str | None) -> WindowState | None:
        return self.ips.get(address) if address else None

    def seen(self, event: Event) -> bool:
        """Whether this sign-in was already observed (a re-read of an overlapping poll),
        or is older than the user's history still covers: either way the rules that
        read history must not judge it again, or a burst could alert twice."""
        if not isinstance(event, SignIn) or not is_user_sign_in(event):
            return False
        user = self.users.get(user_key(event))
        return user is not None and user.already_seen(event.id, event.time)

    def observe(self, event: Event) -> None:
        """Record ``event`` after the rules have judged it."""
        if isinstance(event, SignIn) and is_user_sign_in(event):
            self._observe_sign_in(event)
            if self.newest is None or event.time > self.newest:
                self.newest = event.time
            self._observed += 1
            if self._observed % PRUNE_EVERY == 0:
                self._prune_networks()

    def _prune_networks(self) -> None:
        """Forget addresses idle for longer than any window (a long scan meets millions)."""
        if self.newest is None:
            return
        horizon, slow = self.newest - WINDOW_RETENTION, self.newest - SLOW_RETENTION
        for address in [a for a, w in self.ips.items() if _idle(w, horizon, slow)]:
            del self.ips[address]
            self.dirty_ips.discard(address)  # nothing in it can count any more

    def flag_alert(self, event: Event, rule_id: str, severity: Severity, principal: str,
                   *, about: str | None = None) -> None:
        """Remember that ``rule_id`` alerted on the user of ``event`` (after the rules, like
        ``observe``), or on the user ``about`` (a history key) when the finding names one.
        Alerts about something else (a spray's "12 users") flag nobody."""
        item = Flag(event.time, event.event_id, "alert", rule_id, severity.value)
        if about is not None:
            self._flag(dict.fromkeys((about, *key_of(None, principal))), item)
            return
        if principal.lower() != event.principal.lower():
            return
        self._flag(user_keys_of(event), item)

    def _flag(self, keys: Iterable[str], item: Flag) -> None:
        for key in keys:
            if self._user_state(key).flag(item):
                self.dirty_users.add(key)

    def _user_state(self, key: str) -> UserState:
        # Not setdefault(key, UserState()): that builds (and drops) a state on every event.
        user = self.users.get(key)
        if user is None:
            user = self.users[key] = UserState()
        return user

    def observe_all(self, events: Iterable[Event]) -> None:
        """Seed baselines from exported history (``riskwatch baseline``)."""
        for event in sorted(events, key=lambda e: (e.time, e.event_id)):
            self.observe(event)

    def _observe_sign_in(self, event: SignIn) -> None:
        key = user_key(event)
        user = self._user_state(key)
        if not user.mark_seen(event.id, event.time):
            return  # counted once, however often a poll overlap re-reads it
        self.dirty_users.add(key)
        if is_risk_flagged(event):
            self._flag(user_keys_of(event), Flag(event.time, event.id, "riskySignIn",
                                                 _risk_reason(event)))
        outcome = classify(event)
        # The session and network windows keep the same details of it (packed windows);
        # a failure window keeps one frozen record, shared by the user, IP and tenant.
        entry = stamp(event.time, event.id)
        attempt = (entry[3], *attempt_fields(event, key))  # one tuple for both windows
        record = None
        changed = False
        if outcome == "none":
            if is_interactive(event):
                changed |= user.see_success(entry, (entry[3], *success_fields(event)))
                if event.location.country and not is_anonymized(event):
                    user.see_country(intern(event.location.country.upper()), event.time)
                    changed = True
            if event.session_id:
                user.see_session(event.session_id, entry, attempt)
                changed = True
            if event.app_id:
                changed |= user.see_app(intern(event.app_id.lower()), event.time)
            # What the user's own sign-ins look like; an anonymizer's or a risky one's never.
            if not is_anonymized(event) and not is_risk_flagged(event):
                changed |= user.learn(familiar_keys(event), event.time)
        elif outcome in {"credential", "mfa"}:
            record = attempt_of(event.time, event.id, attempt)
            if user.failures is UNWRITTEN:
                user.failures = []
            changed |= insert(
                user.failures,
                record,
                retention=WINDOW_RETENTION,
                cap=MAX_USER_FAILURES,
            )
        if changed:
            self.dirty_users.add(key)
        # A lockout on the user's own network is their forgotten password (account_lockouts):
        # decided here, where the user's state is loaded in the job as in a scan.
        own = (record is not None and event.error_code == SMART_LOCKOUT
               and user.signed_in_from(event.ip_address, event.time))
        self._observe_network(event, outcome, entry, attempt, record, own)

    def _observe_network(self, event: SignIn, outcome: str, entry: Stamp,
                         attempt: tuple[Any, ...], record: Attempt | None,
                         own_network: bool) -> None:
        if event.ip_address and outcome in {"none", "interrupt", "credential"}:
            ip = self.ips.get(event.ip_address)
            if ip is None:
                ip = self.ips[event.ip_address] = WindowState()
            user = attempt[1]
            if record is not None:  # a credential failure
                added = insert(ip.own_failures(), record, retention=WINDOW_RETENTION,
                               cap=MAX_IP_ENTRIES)
            else:
                added = ip.own_successes().add(entry, attempt, retention=WINDOW_RETENTION,
                                               cap=MAX_IP_ENTRIES)
            upn = event.user_principal_name
            if outcome != "credential" and upn and upn.lower() != user:
                # A real account's (its password was accepted): spray_success names it.
                added |= ip.see_name(user, intern(upn))
            if ip.see_user(outcome == "credential", user, event.time) or added:
                self.dirty_ips.add(event.ip_address)
        if record is not None and outcome == "credential":
            added = insert(self.tenant.own_failures(), record, retention=WINDOW_RETENTION,
                           cap=MAX_TENANT_ENTRIES)
            if event.error_code == SMART_LOCKOUT and not own_network:
                added |= insert(
                    self.tenant.own_lockouts(),
                    record,
                    retention=WINDOW_RETENTION,
                    cap=MAX_TENANT_ENTRIES,
                )
            self.tenant_dirty |= added

    def to_dict(self) -> dict[str, Any]:
        """The whole state as plain JSON values."""
        return {
            "users": {k: u.to_dict() for k, u in self.users.items()},
            "ips": {k: w.to_dict() for k, w in self.ips.items()},
            "tenant": self.tenant.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        return cls(
            users={k: UserState.from_dict(v) for k, v in data.get("users", {}).items()},
            ips={k: WindowState.from_dict(v) for k, v in data.get("ips", {}).items()},
            tenant=WindowState.from_dict(data.get("tenant", {})),
        )
