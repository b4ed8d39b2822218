"""Review windows: ``--last weekend``, ``--last 7d`` and the weekly schedule, relative to a
given moment (never the clock), in the business time zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from detections.enrich import WEEKDAYS, BusinessHours
from detections.errors import RiskwatchError
from detections.review.content import ReviewWindow

LAST_DAYS = re.compile(r"^(\d{1,3})d$")
LOOK_BACK_DAYS = 14


class WindowError(RiskwatchError):
    """A review window that cannot be worked out (a bad ``--last``, an empty range)."""


def explicit_window(since: datetime, until: datetime) -> ReviewWindow:
    if until <= since:
        raise WindowError(f"--until ({until.isoformat()}) must be after --since "
                          f"({since.isoformat()})")
    return ReviewWindow(since=since, until=until, label=f"{_day(since)} → {_day(until)}")


def last_window(spec: str, now: datetime, hours: BusinessHours) -> ReviewWindow:
    """``weekend``: from the end of the last business day before the latest weekend that
    is over to the start of the business day after it; ``Nd``: the N days before now."""
    if spec == "weekend":
        return last_weekend(now, hours)
    match = LAST_DAYS.match(spec)
    if match is None or not 1 <= int(match.group(1)) <= 366:
        raise WindowError(f"--last {spec[:20]!r}: use 'weekend' or a number of days such as "
                          "'7d' (1-366)")
    days = int(match.group(1))
    return ReviewWindow(since=now - timedelta(days=days), until=now,
                        label=f"{days} days to {_minute(now)}")


def last_weekend(now: datetime, hours: BusinessHours) -> ReviewWindow:
    days = hours.days
    if not days or len(days) == 7:
        raise WindowError("no weekend: RISKWATCH_BUSINESS_DAYS has no days off")
    local = now.astimezone(hours.tz)
    for back in range(LOOK_BACK_DAYS):
        day = local.date() - timedelta(days=back)
        previous = day - timedelta(days=1)
        back_at = _at(day, hours.start, hours)
        if day.weekday() in days and previous.weekday() not in days and back_at <= now:
            first_off = previous
            while (first_off - timedelta(days=1)).weekday() not in days:
                first_off -= timedelta(days=1)
            left_at = _at(first_off - timedelta(days=1), hours.end, hours)
            return ReviewWindow(since=left_at, until=back_at,
                                label=f"weekend of {first_off.isoformat()} "
                                f"({WEEKDAYS[first_off.weekday()]})")
    raise WindowError("no weekend in the last two weeks")  # unreachable with days off


def _at(day: date, at: time, hours: BusinessHours) -> datetime:
    return datetime.combine(day, at, tzinfo=hours.tz)


def scheduled_moment(now: datetime, weekday: int, at: time, hours: BusinessHours) -> datetime:
    """The latest ``weekday`` ``at`` (business time zone) at or before ``now``."""
    local = now.astimezone(hours.tz)
    for back in range(8):
        day = local.date() - timedelta(days=back)
        if day.weekday() == weekday:
            moment = datetime.combine(day, at, tzinfo=hours.tz)
            if moment <= now:
                return moment
    raise WindowError("no scheduled moment in the last week")  # unreachable


def _day(moment: datetime) -> str:
    return moment.date().isoformat() if moment.timetz().replace(tzinfo=None) == time(0) \
        else _minute(moment)  # fmt: skip


def _minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() or moment.isoformat()
