"""Pieces the correlation rules share: event guards, window summaries, timelines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from detections.factories import T0, sign_in
from detections.failures import classify, classify_code
from detections.history import is_user_sign_in
from detections.model import Event, SignIn
from detections.rule import JsonValue
from detections.state import Attempt

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


def series(
    n: int,
    *,
    prefix: str,
    start: datetime = T0,
    step: timedelta = timedelta(seconds=30),
    per_user: bool = False,
    **overrides: Any,
) -> tuple[SignIn, ...]:
    """``n`` sign-ins ``step`` apart from ``start``: timelines for inline cases.
    ``per_user`` gives each its own user (a spray); otherwise all are Alice's."""
    out = []
    for i in range(n):
        who: dict[str, Any] = (
            {"user_id": f"u-{prefix}{i}", "user_principal_name": f"{prefix}{i}@contoso.com"}
            if per_user
            else {}
        )
        out.append(sign_in(id=f"{prefix}{i}", time=start + i * step, **who, **overrides))
    return tuple(out)
