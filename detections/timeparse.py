"""Lenient timestamp parsing: every time in the model is timezone-aware UTC.

Real exports hold more than ISO 8601: ``2022-09-09T9:59:27.958Z`` (one-digit
hour), ``8/22/2022 6:07:16 PM`` (US portal format), ``2023-07-26 22:58:30.983201900``
(nine-digit fraction, no zone), ``5/25/2023, 4:32:49.469 AM`` (the Log Analytics portal's
CSV export). ``datetime.fromisoformat`` handles the common case, so the regular expressions
only run when it fails.

Only times in [1970, 2200) are accepted: a year-9999 or year-0001 time is valid ISO 8601
but overflows the date arithmetic of every windowed rule, so it is refused here, once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# ISO-like with one-digit parts allowed: date, T or space, time, optional fraction and zone.
_LOOSE_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?"
)
# Azure portal / Event Hub ``time``: month/day/year, 12-hour clock with AM/PM (or 24-hour);
# the Log Analytics portal's CSV writes a comma after the year.
_US = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4}),?\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?"
    r"\s*([AaPp][Mm])?"
)
# The sane range of an event time (see the module docstring).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def parse_time(value: object) -> datetime:
    """Parse ``value`` into an aware UTC datetime; naive times are taken as UTC.

    Raises ValueError (with the offending text) when the value is not a time or lies
    outside [1970, 2200).
    """
    if isinstance(value, datetime):
        return in_range(_as_utc(value), value)
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_loose(value.strip())
    return in_range(_as_utc(parsed), value)


def in_range(dt: datetime, original: object) -> datetime:
    """``dt`` (aware) if it lies in [EARLIEST, LATEST), else ValueError naming ``original``."""
    if EARLIEST <= dt < LATEST:
        return dt
    shown = original if isinstance(original, str) else dt.isoformat()
    raise ValueError(f"time {shown[:40]!r} is outside the accepted range 1970-01-01 to 2200-01-01")


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.tzinfo is not UTC:
        try:
            return dt.astimezone(UTC)
        except OverflowError:
            # 9999-12-31T23:00-05:00 (or 0001-01-01T01:00+05:00) has no UTC datetime:
            # outside our range either way, and in_range says so.
            return LATEST
    return dt


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
