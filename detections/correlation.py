"""Pieces the correlation rules share: event guards, window summaries, timelines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from detections.failures import classify, classify_code
from detections.history_records import Attempt
from detections.model import Event, SignIn
from detections.predicates import is_user_sign_in
from detections.rule import JsonValue

MAX_LISTED = 25  # users / IPs listed in an alert's context
MICROSOFT_ASNS = "8075,8068,8069,8070,12076"  # Panther's list: Microsoft's own networks


def user_sign_in(event: Event, outcome: str) -> SignIn | None:
    """The event as a user sign-in with the given outcome class, else None."""
    if isinstance(event, SignIn) and is_user_sign_in(event) and classify(event) == outcome:
        return event
    return None


def of_class(window: Sequence[Attempt], outcome: str) -> list[Attempt]:
    return [a for a in window if classify_code(a.code) == outcome]


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
