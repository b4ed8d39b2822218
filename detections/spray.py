"""Recognising a password spray, shared by ``password_spray`` (the spray) and
``spray_success`` (each user whose password it got right).

Both rules read the same thresholds (``SPRAY_PARAMS``, the ``RISKWATCH_PASSWORD_SPRAY_*``
settings), so one setting moves both and a spray success is exactly a success from a spray
password_spray recognises. ``recognise`` judges a failure (the one that may complete a spray)
and ``spraying_now`` a password accepted from an address (is it spraying right now?), both
against the history before the event, like every correlation rule.

Most sign-ins are no spray, so the work is kept to what can be one: cheap necessary
conditions first, the office-NAT question decided on user keys (stopping once the answer is
known), and the victims named only for a spray that is returned.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import cast

from detections.history_records import MAX_STORED_KEY, Attempt, AttemptWindow, WindowState
from detections.model import SignIn
from detections.predicates import user_key
from detections.rule import Context, Param, ParamValue
from detections.spray_tenant import tenant_spread
from detections.windows import between, busiest, with_event

SPRAY_PARAMS = (
    Param(
        name="min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_MIN_USERS",
        default=10,
        description="Distinct failed users from one IP.",
        minimum=2,
        maximum=200,
    ),
    Param(
        name="window_minutes",
        setting="RISKWATCH_PASSWORD_SPRAY_WINDOW_MINUTES",
        default=30,
        description="Window of both forms.",
        minimum=1,
        maximum=360,
    ),
    Param(
        name="slow_window_hours",
        setting="RISKWATCH_PASSWORD_SPRAY_SLOW_WINDOW_HOURS",
        default=24,
        description="Horizon of the low-and-slow form (one IP).",
        minimum=1,
        maximum=72,
    ),
    Param(
        name="slow_min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_SLOW_MIN_USERS",
        default=20,
        description="Distinct failed users from one IP within the slow horizon.",
        minimum=2,
        maximum=500,
    ),
    Param(
        name="distributed_min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_DISTRIBUTED_MIN_USERS",
        default=15,
        description="Distinct failed users, same error code, across IPs (Elastic: 15).",
        minimum=2,
        maximum=1000,
    ),
    Param(
        name="distributed_min_ips",
        setting="RISKWATCH_PASSWORD_SPRAY_DISTRIBUTED_MIN_IPS",
        default=3,
        description="IPs of the distributed form.",
        minimum=2,
        maximum=1000,
    ),
)


@dataclass(frozen=True, slots=True)
class Victim:
    """A user whose password a spraying address got right."""

    name: str  # the UPN they last signed in with (their key when not known)
    ip: str  # the address it was accepted from
    event_id: str | None  # the sign-in, while the address's success window holds it


@dataclass(frozen=True, slots=True)
class Spray:
    """A recognised spray: its form, the failures that make it, and who got in."""

    form: str  # single_ip, slow or distributed
    source: str  # "from 203.0.113.10", for the title
    failures: list[Attempt]
    failed: set[str]
    succeeded: dict[str, Victim]  # user key -> every password accepted in the window
    dedup: tuple[str, ...]
    start: datetime
    end: datetime
    ips: tuple[str, ...]


_user = attrgetter("user")
USER_FIELD = 0  # the user key's place in an address's packed success window (its fields)
_time = attrgetter("time")
_LATEST = datetime.max.replace(tzinfo=UTC)
_UNSEEN = WindowState()  # an address the history does not know (read only: its empties)


def _successes(
    ctx: Context, ips: Iterable[str], start: datetime, end: datetime
) -> dict[str, Victim]:
    """Users whose password these IPs got right in the window (success or interrupt), each
    with the UPN they signed in with last (the windows keep object ids)."""
    found: dict[str, Victim] = {}
    for ip in sorted(ips):
        state = ctx.history.ip(ip)
        if state is None:
            continue
        for a in between(state.successes, start, end):
            found[a.user] = Victim(state.names.get(a.user, a.user), ip, a.event_id)
    return found


def _outnumbered(
    ctx: Context,
    failed: set[str],
    ips: Collection[str],
    start: datetime,
    end: datetime,
    user: str | None,
    first: str,
) -> bool:
    """Whether more of ``failed`` stay locked out than these IPs let in within the window
    (``user``: the one being judged, let in): a spray, not an office NAT. The question
    ``_successes`` would answer, decided on user keys alone and as soon as it is known:
    each user let in only adds to one side and takes from the other."""
    let_in: set[str] = set() if user is None else {user}
    hits = len(let_in & failed)
    if len(failed) - hits <= len(let_in):
        return False
    # First who each address let in since the burst began (its last success per user): a
    # busy NAT's success window, capped, may have scrolled past the burst by now.
    for state in filter(None, map(ctx.history.ip, sorted(ips))):
        new = state.ok_users.keys_between(start, _LATEST) - let_in
        let_in |= new
        hits += len(new & failed)
        if len(failed) - hits <= len(let_in):
            return False
    for window in _success_windows(ctx, ips, first):
        new = set(window.column_between(USER_FIELD, start, end))
        new -= let_in
        let_in |= new
        hits += len(new & failed)
        if len(failed) - hits <= len(let_in):
            return False
    return True


def _success_windows(ctx: Context, ips: Collection[str], first: str) -> Iterator[AttemptWindow]:
    """The success windows of ``ips``, read as needed: ``first``'s (the judged address: an
    office's settles the question alone), then the others' busiest first."""
    state = ctx.history.ip(first) if first in ips else None
    if state is not None:
        yield state.successes
    others = [s.successes for s in map(ctx.history.ip, ips) if s is not None and s is not state]
    others.sort(key=len, reverse=True)
    yield from others


def _victims(
    ctx: Context,
    ips: Iterable[str],
    start: datetime,
    end: datetime,
    sign_in: SignIn,
    user: str | None,
) -> dict[str, Victim]:
    """Who a recognised spray let in: the IPs' successes, and the user being judged."""
    found = _successes(ctx, ips, start, end)
    if user is None:
        return found
    return found | {user: Victim(sign_in.principal, sign_in.ip_address or "", sign_in.id)}


def _failed_within(failures: list[Attempt], at: datetime, span: timedelta) -> bool:
    """Any failure in ``[at - span, at]``: every window ``busiest`` reads starts at one."""
    low = bisect.bisect_left(failures, at - span, key=_time)
    return low < len(failures) and failures[low].time <= at


def recognise(sign_in: SignIn, record: Attempt, ctx: Context) -> Spray | None:
    """The spray the credential failure ``record`` of ``sign_in`` belongs to (it may be the
    one that completes it), as of the history before it."""
    return _asked_once("recognise", sign_in, ctx, lambda: _recognise(sign_in, ctx, record, None))


def spraying_now(sign_in: SignIn, ctx: Context) -> Spray | None:
    """The spray the address of ``sign_in`` (a password accepted) is part of right now, as of
    the history before it."""
    return _asked_once("spraying_now", sign_in, ctx, lambda: _spraying_now(sign_in, ctx))


def _asked_once(
    question: str, sign_in: SignIn, ctx: Context, answer: Callable[[], Spray | None]
) -> Spray | None:
    """Both spray rules ask the same of every sign-in: the second gets the first's answer
    (the same sign-in, nothing observed since, the same thresholds)."""
    history = ctx.history
    memo = history.memo.get(question)
    if memo is not None and memo[0] is sign_in and memo[1] == history.observed \
            and _same_thresholds(memo[2], ctx.params):  # fmt: skip
        return cast("Spray | None", memo[3])
    found = answer()
    history.memo[question] = (sign_in, history.observed, ctx.params, found)
    return found


_SPRAY_NAMES = tuple(p.name for p in SPRAY_PARAMS)


def _same_thresholds(asked: object, now: Mapping[str, ParamValue]) -> bool:
    # Compared only when the question was asked of this sign-in already (the second rule).
    before = cast("Mapping[str, ParamValue]", asked)
    return before is now or all(int(before[n]) == int(now[n]) for n in _SPRAY_NAMES)


def _spraying_now(sign_in: SignIn, ctx: Context) -> Spray | None:
    state = ctx.history.ip(sign_in.ip_address)
    if state is None:
        return None  # an address that never failed a password (nor signed anyone in)
    # Necessary conditions, cheap: a failure of the address in the window (one IP and
    # distributed forms), or enough failed users in its long view (the slow form).
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    near = _failed_within(state.failures, sign_in.time, span)
    if not near and len(state.failed_users) < ctx.int_param("slow_min_users"):
        return None
    return _recognise(sign_in, ctx, None, user_key(sign_in))


def _recognise(
    sign_in: SignIn, ctx: Context, record: Attempt | None, user: str | None
) -> Spray | None:
    """Judge a credential failure (``record``) or a password accepted (``user``, its key).
    None when there is no spray, or when the address signs in more users than fail (an
    office NAT)."""
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    state = ctx.history.ip(sign_in.ip_address)
    address = sign_in.ip_address or ""
    failures = state.failures if state else []
    burst = busiest(
        failures if record is None else with_event(failures, record), sign_in.time, span, _user
    )
    failed = set(map(_user, burst))
    if len(failed) >= ctx.int_param("min_users"):
        start, end = burst[0].time, burst[-1].time
        if _outnumbered(ctx, failed, (address,), start, end, user, address):
            return Spray(
                "single_ip",
                f"from {sign_in.ip_address}",
                burst,
                failed,
                _victims(ctx, (address,), start, end, sign_in, user),
                (address,),
                start,
                end,
                (address,),
            )
    slow = _slow(sign_in, ctx, record, user)
    if slow is not None:
        return slow
    codes = {a.code for a in burst} if record is None else {sign_in.error_code}
    for code in sorted(codes):
        spray = _distributed(sign_in, ctx, record, user, code)
        if spray is not None:
            return spray
    return None


def _distributed(
    sign_in: SignIn, ctx: Context, record: Attempt | None, user: str | None, code: int
) -> Spray | None:
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    spread, users, ips = tenant_spread(ctx, code, sign_in.time, span, record)
    if len(users) < ctx.int_param("distributed_min_users"):
        return None
    if len(ips) < ctx.int_param("distributed_min_ips"):
        return None
    if user is not None and sign_in.ip_address not in ips:
        return None  # a success from an address the spray did not use
    start, end = spread[0].time, spread[-1].time
    here = ctx.history.ip(sign_in.ip_address)
    if user is not None and here is not None and len(here.ok_users) >= len(users) \
            and len(users) <= here.ok_users.count_between(start, _LATEST):  # fmt: skip
        return None  # this address alone let in as many since the burst began: an office
    if not _outnumbered(ctx, users, ips, start, end, user, sign_in.ip_address or ""):
        return None
    return Spray(
        "distributed",
        f"from {len(ips)} IP addresses (error {code})",
        list(spread),  # copies: the spread may be reused for the next sign-in
        set(users),
        _victims(ctx, ips, start, end, sign_in, user),
        ("distributed", str(code)),
        start,
        end,
        ips,
    )


def _slow(sign_in: SignIn, ctx: Context, record: Attempt | None, user: str | None) -> Spray | None:
    """Low and slow: distinct failed users of the IP over the long horizon (bounded per IP
    in the history: the last failure and success of each of up to 500 users, 72 hours)."""
    state = ctx.history.ip(sign_in.ip_address)
    if state is None:
        state = _UNSEEN
    least = ctx.int_param("slow_min_users")
    most = len(state.failed_users) + (record is not None)  # failed users in the long view
    if most < least:
        return None  # too few failed users in the whole long view
    start = sign_in.time - timedelta(hours=ctx.int_param("slow_window_hours"))
    if len(state.ok_users) >= most and most <= state.ok_users.count_between(start, sign_in.time):
        return None  # as many let in as ever failed here: an office, whoever they are
    failed = state.failed_users.keys_between(start, sign_in.time)
    if record is not None:
        failed.add(record.user[:MAX_STORED_KEY])
    if len(failed) < least:
        return None
    ok_users = state.ok_users.keys_between(start, sign_in.time)
    let_in = ok_users if user is None else ok_users | {user}
    if len(failed - let_in) <= len(let_in):
        return None
    # The long view keeps who and when, not which sign-in: the window names what it still holds.
    address = sign_in.ip_address or ""
    held = _successes(ctx, {address}, start, sign_in.time)
    ok = {u: held.get(u) or Victim(state.names.get(u, u), address, None) for u in ok_users}
    if user is not None:
        ok[user] = Victim(sign_in.principal, address, sign_in.id)
    recent = [a for a in state.failures if a.time >= start]
    return Spray(
        "slow",
        f"from {sign_in.ip_address}",
        recent,
        failed,
        ok,
        ("slow", address),
        start,
        sign_in.time,
        (address,),
    )
