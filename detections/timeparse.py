"""Lenient timestamp parsing: every time in the model is timezone-aware UTC.

Real exports hold more than ISO 8601: ``2022-09-09T9:59:27.958Z`` (one-digit
hour), ``8/22/2022 6:07:16 PM`` (US portal format), ``2023-07-26 22:58:30.983201900``
(nine-digit fraction, no zone). ``datetime.fromisoformat`` handles the common case,
so the regular expressions only run when it fails.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# ISO-like with one-digit parts allowed: date, T or space, time, optional fraction and zone.
_LOOSE_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?"
)
# Azure portal / Event Hub ``time``: month/day/year, 12-hour clock with AM/PM (or 24-hour).
_US = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?"
    r"\s*([AaPp][Mm])?"
)


def parse_time(value: object) -> datetime:
    """Parse ``value`` into an aware UTC datetime; naive times are taken as UTC.

    Raises ValueError (with the offending text) when the value is not a time.
    """
    if isinstance(value, datetime):
        return _as_utc(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    try:
        return _as_utc(datetime.fromisoformat(value))
    except ValueError:
        pass
    return _as_utc(_parse_loose(value.strip()))


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.tzinfo is UTC:
        return dt
    return dt.astimezone(UTC)


def _parse_loose(text: str) -> datetime:
    m = _LOOSE_ISO.fullmatch(text)
    if m:
        year, month, day, hour, minute = (int(g) for g in m.group(1, 2, 3, 4, 5))
        return datetime(
            year,
            month,
            day,
            hour,
            minute,
            int(m.group(6) or 0),
            _micros(m.group(7)),
            tzinfo=_zone(m.group(8)),
        )
    m = _US.fullmatch(text)
    if m:
        month, day, year, hour, minute = (int(g) for g in m.group(1, 2, 3, 4, 5))
        ampm = (m.group(8) or "").upper()
        if ampm and not 1 <= hour <= 12:
            raise ValueError(f"not a valid time: {text!r} (hour {hour} with {ampm})")
        if ampm == "PM" and hour != 12:
            hour += 12
        elif ampm == "AM" and hour == 12:
            hour = 0
        return datetime(
            year, month, day, hour, minute, int(m.group(6) or 0), _micros(m.group(7)), tzinfo=UTC
        )
    raise ValueError(f"not a recognised timestamp: {text!r}")


def _micros(fraction: str | None) -> int:
    # Windows writes 7 digits, some exports 9: keep microseconds, drop the rest.
    if not fraction:
        return 0
    return int(fraction[:6].ljust(6, "0"))


def _zone(text: str | None) -> timezone:
    if not text or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
