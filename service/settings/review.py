"""``RISKWATCH_REVIEW_AT``: when the weekly review runs, a weekday and a local time in
``RISKWATCH_BUSINESS_TIMEZONE`` (``Mon 07:00``)."""

from __future__ import annotations

from datetime import time

from service.settings.parsing import DAY_NAMES, Reader

DEFAULT_REVIEW_AT = (0, time(7, 0))  # Monday 07:00, before the working week starts


def parse_review_at(text: str) -> tuple[int, time]:
    day, _, clock = text.strip().partition(" ")
    name = day.strip().lower()
    if len(name) < 3 or name[:3] not in DAY_NAMES or not DAY_NAMES[DAY_NAMES.index(
            name[:3])].startswith(name[:3]):
        raise ValueError("expected a weekday and a time such as 'Mon 07:00'")
    at = time.fromisoformat(clock.strip())
    if at.tzinfo is not None:
        raise ValueError("no UTC offset here: RISKWATCH_BUSINESS_TIMEZONE gives the zone")
    return DAY_NAMES.index(name[:3]), at


def review_at(read: Reader) -> tuple[int, time]:
    text = read.text("RISKWATCH_REVIEW_AT", "Mon 07:00")
    try:
        return parse_review_at(text)
    except ValueError as exc:
        read.problem("RISKWATCH_REVIEW_AT", f"{text[:40]!r}: {exc}")
        return DEFAULT_REVIEW_AT
