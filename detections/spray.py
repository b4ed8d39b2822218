"""Recognising a password spray, shared by ``password_spray`` (the spray) and
``spray_success`` (each user whose password it got right).

Both rules read the same thresholds (``SPRAY_PARAMS``, the ``RISKWATCH_PASSWORD_SPRAY_*``
settings), so one setting moves both and a spray success is exactly a success from a spray
password_spray recognises. ``recognise`` judges a failure (the one that may complete a spray)
or a password accepted from an address (is it spraying right now?), both against the history
before the event, like every correlation rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from detections.history_records import MAX_STORED_KEY, Attempt
from detections.model import SignIn
from detections.rule import Context, Param
from detections.windows import between, busiest, with_event

SPRAY_PARAMS = (
    Param(
        name="min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_MIN_USERS",
        default=10,
        description="Distinct failed users from one IP.",
        minimum=2, maximum=200,
    ),
    Param(
        name="window_minutes",
        setting="RISKWATCH_PASSWORD_SPRAY_WINDOW_MINUTES",
        default=30,
        description="Window of both forms.",
        minimum=1, maximum=360,
    ),
    Param(
        name="slow_window_hours",
        setting="RISKWATCH_PASSWORD_SPRAY_SLOW_WINDOW_HOURS",
        default=24,
        description="Horizon of the low-and-slow form (one IP).",
        minimum=1, maximum=72,
    ),
    Param(
        name="slow_min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_SLOW_MIN_USERS",
        default=20,
        description="Distinct failed users from one IP within the slow horizon.",
        minimum=2, maximum=500,
    ),
    Param(
        name="distributed_min_users",
        setting="RISKWATCH_PASSWORD_SPRAY_DISTRIBUTED_MIN_USERS",
        default=15,
        description="Distinct failed users, same error code, across IPs (Elastic: 15).",
        minimum=2, maximum=1000,
    ),
    Param(
        name="distributed_min_ips",
        setting="RISKWATCH_PASSWORD_SPRAY_DISTRIBUTED_MIN_IPS",
        default=3,
        description="IPs of the distributed form.",
        minimum=2, maximum=1000,
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


def _user(a: Attempt) -> str:
    return a.user


def _successes(ctx: Context, ips: Iterable[str], start: datetime, end: datetime
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


def recognise(sign_in: SignIn, record: Attempt, ctx: Context, *, success: bool = False
              ) -> Spray | None:
    """The spray ``record`` belongs to, as of the history before it: a credential failure
    (the one that may complete a spray), or with ``success`` a password accepted from its
    address (is it spraying now?). None when there is none, or when the address signs in
    more users than fail (an office NAT)."""
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    state = ctx.history.ip(sign_in.ip_address)
    own = {record.user: Victim(sign_in.principal, sign_in.ip_address or "", sign_in.id)
           } if success else {}
    failures = state.failures if state else []
    burst = busiest(failures if success else with_event(failures, record), sign_in.time, span,
                    _user)
    failed = {a.user for a in burst}
    if len(failed) >= ctx.int_param("min_users"):
        ok = _successes(ctx, {sign_in.ip_address or ""}, burst[0].time, burst[-1].time) | own
        if len(failed - set(ok)) > len(ok):
            return Spray("single_ip", f"from {sign_in.ip_address}", burst, failed, ok,
                         (sign_in.ip_address or "",), burst[0].time, burst[-1].time,
                         (sign_in.ip_address or "",))
    slow = _slow(sign_in, record, ctx, own)
    if slow is not None:
        return slow
    codes = {a.code for a in burst} if success else {sign_in.error_code}
    for code in sorted(codes):
        spray = _distributed(sign_in, record, ctx, code, own)
        if spray is not None:
            return spray
    return None


def spraying_now(sign_in: SignIn, record: Attempt, ctx: Context) -> Spray | None:
    """The spray the address of ``sign_in`` (a password accepted) is part of right now."""
    state = ctx.history.ip(sign_in.ip_address)
    if state is None or (not state.failures and not state.failed_users):
        return None  # the common case: an address that never failed a password
    return recognise(sign_in, record, ctx, success=True)


def _distributed(
    sign_in: SignIn, record: Attempt, ctx: Context, code: int, own: dict[str, Victim]
) -> Spray | None:
    span = timedelta(minutes=ctx.int_param("window_minutes"))
    same_code = [a for a in ctx.history.tenant.failures if a.code == code]
    spread = busiest(same_code if own else with_event(same_code, record), sign_in.time, span,
                     _user)
    users, ips = {a.user for a in spread}, {a.ip for a in spread if a.ip}
    if len(users) < ctx.int_param("distributed_min_users"):
        return None
    if len(ips) < ctx.int_param("distributed_min_ips"):
        return None
    if own and sign_in.ip_address not in ips:
        return None  # a success from an address the spray did not use
    ok = _successes(ctx, ips, spread[0].time, spread[-1].time) | own
    if len(users - set(ok)) <= len(ok):
        return None
    return Spray("distributed", f"from {len(ips)} IP addresses (error {code})", spread, users,
                 ok, ("distributed", str(code)), spread[0].time, spread[-1].time,
                 tuple(sorted(ips)))


def _slow(sign_in: SignIn, record: Attempt, ctx: Context, own: dict[str, Victim]
          ) -> Spray | None:
    """Low and slow: distinct failed users of the IP over the long horizon (bounded per IP
    in the history: the last failure and success of each of up to 500 users, 72 hours)."""
    state = ctx.history.ip(sign_in.ip_address)
    start = sign_in.time - timedelta(hours=ctx.int_param("slow_window_hours"))

    def within(users: dict[str, datetime]) -> set[str]:
        return {u for u, t in users.items() if start <= t <= sign_in.time}

    failed = within(state.failed_users if state else {})
    if not own:
        failed.add(record.user[:MAX_STORED_KEY])
    if len(failed) < ctx.int_param("slow_min_users"):
        return None
    # The long view keeps who and when, not which sign-in: the window names what it still holds.
    address = sign_in.ip_address or ""
    held = _successes(ctx, {address}, start, sign_in.time)
    names = state.names if state else {}
    ok = {u: held.get(u) or Victim(names.get(u, u), address, None)
          for u in (within(state.ok_users) if state else set())} | own
    if len(failed - set(ok)) <= len(ok):
        return None
    recent = [a for a in (state.failures if state else []) if a.time >= start]
    return Spray("slow", f"from {sign_in.ip_address}", recent, failed, ok,
                 ("slow", sign_in.ip_address or ""), start, sign_in.time,
                 (sign_in.ip_address or "",))
