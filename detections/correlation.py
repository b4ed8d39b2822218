"""Pieces the correlation rules share: event guards, window summaries, timelines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import cache

from detections.failures import classify, classify_code
from detections.history_marks import Flag
from detections.history_records import Attempt
from detections.model import USER_SIGN_IN_CATEGORIES, Event, Severity, SignIn
from detections.rule import Context, JsonValue

MAX_LISTED = 25  # users / IPs listed in an alert's context
MICROSOFT_ASNS = "8075,8068,8069,8070,12076"  # Panther's list: Microsoft's own networks


def user_sign_in(event: Event, outcome: str) -> SignIn | None:
    """The event as a user sign-in with the given outcome class, else None."""
    # Every rule asks this of every event: the cheap tests first, classify inlined for the
    # common success ("none" is success with code 0, see detections.failures.classify).
    if type(event) is not SignIn and not isinstance(event, SignIn):
        return None
    if event.category not in USER_SIGN_IN_CATEGORIES:
        return None
    if event.error_code == 0 and event.success:
        return event if outcome == "none" else None
    return event if classify(event) == outcome else None


def of_class(window: Sequence[Attempt], outcome: str) -> list[Attempt]:
    return [a for a in window if classify_code(a.code) == outcome]


@cache  # a setting's text, parsed once rather than on every event
def asn_set(text: str) -> frozenset[int]:
    return frozenset(int(p) for p in text.replace(" ", "").split(",") if p)


def summary(items: Sequence[Attempt]) -> dict[str, JsonValue]:
    """Counts, time span, users, IPs and error codes of a window, for the alert context."""
    codes = Counter(str(a.code) for a in items)
    users = sorted({a.user for a in items})
    ips = sorted({a.ip for a in items if a.ip})
    return {
        "count": len(items),
        "first_seen": items[0].time.isoformat() if items else None,
        "last_seen": items[-1].time.isoformat() if items else None,
        "distinct_users": len(users),
        "users": list(users[:MAX_LISTED]),
        "distinct_ips": len(ips),
        "ip_addresses": list(ips[:MAX_LISTED]),
        "error_codes": dict(codes),
    }


def ids(items: Sequence[Attempt], limit: int = 20) -> tuple[str, ...]:
    return tuple(a.event_id for a in items[-limit:])


def recent_flag(
    ctx: Context,
    keys: str | Iterable[str],
    at: datetime,
    horizon: timedelta,
    *,
    exclude_event: str | None = None,
    min_severity: Severity = Severity.LOW,
) -> Flag | None:
    """The newest flag of the user within ``horizon`` before ``at``: a risky sign-in (open
    risk) or an alert of at least ``min_severity`` fired on them, else None. ``keys``: one
    history key or several (``correlation_history.key_of(user_id, upn)``). The flag of
    ``exclude_event`` itself (the event being judged) never counts. Flags are kept
    ``history_records.FLAG_RETENTION`` (30 days), at most ``MAX_FLAGS`` per user."""
    found: Flag | None = None
    for key in (keys,) if isinstance(keys, str) else keys:
        user = ctx.history.user(key)
        for flag in reversed(user.flags if user else ()):
            if flag.time > at or flag.source_event == exclude_event:
                continue
            if flag.time < at - horizon:
                break  # sorted by time: the rest are older still
            if flag.kind == "alert" and Severity(flag.severity or "low").rank < min_severity.rank:
                continue
            if found is None or flag.time > found.time:
                found = flag
            break
    return found


def flag_context(flag: Flag | None) -> dict[str, JsonValue]:
    """A found flag for an alert's context."""
    if flag is None:
        return {"recent_flag": None}
    return {"recent_flag": {"time": flag.time.isoformat(), "kind": flag.kind,
                            "reason": flag.reason, "event_id": flag.source_event}}
