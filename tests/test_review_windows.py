"""Review windows relative to a given moment, in the business time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from detections.enrich import BusinessHours
from detections.review.windows import (
    WindowError,
    explicit_window,
    last_window,
    scheduled_moment,
)
from service.review.schedule import due_window

LONDON = BusinessHours(tz=ZoneInfo("Europe/London"))


def test_last_weekend_runs_from_friday_close_to_monday_open():
    now = datetime(2026, 11, 9, 9, 30, tzinfo=UTC)  # Monday morning
    window = last_window("weekend", now, LONDON)
    assert window.since == datetime(2026, 11, 6, 18, 0, tzinfo=ZoneInfo("Europe/London"))
    assert window.until == datetime(2026, 11, 9, 8, 0, tzinfo=ZoneInfo("Europe/London"))
    assert window.label.startswith("weekend of 2026-11-07")
    # Early on Monday, before business opens, the weekend is not over: the one before.
    early = last_window("weekend", datetime(2026, 11, 9, 6, 0, tzinfo=UTC), LONDON)
    assert early.until.date().isoformat() == "2026-11-02"


def test_last_days_and_explicit_windows():
    now = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    window = last_window("7d", now, LONDON)
    assert (window.since, window.until) == (datetime(2026, 11, 2, 7, 0, tzinfo=UTC), now)
    for bad in ("7", "0d", "weekends", "999d"):
        with pytest.raises(WindowError):
            last_window(bad, now, LONDON)
    with pytest.raises(WindowError, match="must be after"):
        explicit_window(now, now)
    with pytest.raises(WindowError, match="no weekend"):
        last_window("weekend", now, BusinessHours(days=frozenset(range(7))))


def test_the_weekly_review_is_due_once_after_its_local_time_across_dst():
    at = time(7, 0)
    # 2026-10-26 is the first Monday after the clocks went back: 07:00 London is 07:00 UTC;
    # the Monday before it was 06:00 UTC.
    assert scheduled_moment(datetime(2026, 10, 26, 7, 5, tzinfo=UTC), 0, at, LONDON) == \
        datetime(2026, 10, 26, 7, 0, tzinfo=UTC)
    assert scheduled_moment(datetime(2026, 10, 19, 6, 5, tzinfo=UTC), 0, at, LONDON) == \
        datetime(2026, 10, 19, 6, 0, tzinfo=UTC)
    tick = datetime(2026, 11, 9, 7, 5, tzinfo=UTC)
    first = due_window(tick, 0, at, LONDON, None)
    assert first is not None and first.until == datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    assert (first.until - first.since).days == 7
    assert due_window(tick, 0, at, LONDON, first.until) is None  # done: the next tick waits
    later = due_window(datetime(2026, 11, 16, 7, 5, tzinfo=UTC), 0, at, LONDON, first.until)
    assert later is not None and later.since == first.until
