"""The review's chart geometry (service/review/charts.py): pure functions, checked by value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from service.review import charts
from tests.review_factory import breakdown, failures_over_time, hour_of_week, timeline_entry

LONDON = {"timezone": "Europe/London", "start": "08:00", "end": "18:00", "days": [0, 1, 2, 3, 4]}


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (30, 50),
                                            (101, 200), (5000, 5000)])
def test_axis_tops_are_round(value: int, top: int) -> None:
    assert charts._nice_top(value) == top


def test_hour_of_week_shades_each_business_day_from_start_to_end() -> None:
    chart = charts.hour_of_week(hour_of_week(), LONDON)
    assert len(chart.bars) == 168
    assert [(r.x, r.width) for r in chart.shading] == [
        (40 + (d * 24 + 8) * 5, 50) for d in range(5)]
    assert chart.rows[0] == ("Mon", 342, 300, 42) and chart.rows[6] == ("Sun", 24, 0, 24)
    assert chart.top == 50 and chart.busiest == "Mon 08:00 (30 sign-ins)"
    tallest = max(chart.bars, key=lambda r: r.height)
    assert tallest.height == pytest.approx(140 * 30 / 50)
    assert all(r.y + r.height == pytest.approx(150) for r in chart.bars)


def test_hour_of_week_follows_the_configured_days_and_hours() -> None:
    hours = {"timezone": "Asia/Dubai", "start": "07:30", "end": "15:00", "days": [6, 0, 1, 2, 3]}
    chart = charts.hour_of_week([1] * 168, hours)
    # 08:00 to 14:00 whole hours fall inside 07:30-15:00; Sunday to Thursday.
    assert [r.label for r in chart.shading] == [f"{d} business hours"
                                                for d in ("Mon", "Tue", "Wed", "Thu", "Sun")]
    assert {r.width for r in chart.shading} == {35}
    assert chart.rows[4] == ("Fri", 24, 0, 24)


def test_an_empty_week_draws_flat_bars() -> None:
    chart = charts.hour_of_week([0] * 168, LONDON)
    assert {r.height for r in chart.bars} == {0} and chart.top == 1


def test_failures_stack_in_class_order_and_sum_to_the_total() -> None:
    data = failures_over_time(days=3)
    chart = charts.failures_over_time(data, "Europe/London")
    totals = [sum(s["counts"].values()) for s in data["series"]]
    assert [t.label for t in chart.totals] == [str(t) for t in totals]
    assert chart.top == 50
    for index, total in enumerate(totals):
        x = chart.totals[index].x
        segments = [r for r in chart.bars if r.x + r.width / 2 == pytest.approx(x)]
        assert sum(r.height for r in segments) == pytest.approx(150 * total / 50)
        assert [r.css for r in segments] == [f"f-{c}" for c in charts.FAILURE_CLASSES
                                             if data["series"][index]["counts"][c]]
        # stacked: each segment starts where the one below ended
        for below, above in pairwise(segments):
            assert above.y + above.height == pytest.approx(below.y)
    assert [label for _, label in chart.legend] == list(charts.CLASS_LABELS.values())
    assert chart.rows[0][0] == "Fri 06 Nov"


def test_hourly_buckets_are_named_by_local_time_and_thinned_under_the_axis() -> None:
    start = datetime(2026, 11, 7, 0, 0, tzinfo=UTC)
    counts = dict.fromkeys(charts.FAILURE_CLASSES, 0)
    series = [{"start": (start + timedelta(hours=h)).isoformat(),
               "counts": {**counts, "other": h % 3}} for h in range(48)]
    chart = charts.failures_over_time({"bucket": "hour", "series": series}, "Asia/Tokyo")
    assert chart.rows[0][0] == "Sat 09:00"  # UTC midnight is 09:00 in Tokyo
    assert len(chart.labels) <= 13 and len(chart.rows) == 48
    assert len(chart.bars) == sum(1 for s in series if s["counts"]["other"])


def test_countries_are_bars_in_the_given_order_scaled_to_the_largest() -> None:
    chart = charts.countries(breakdown())
    assert [t.label for t in chart.labels] == ["RU", "GB"]
    assert [t.label for t in chart.values] == ["15", "5"]
    assert chart.bars[0].width == pytest.approx(3 * chart.bars[1].width)
    assert chart.bars[1].label == "GB: 5 sign-ins (London, Leeds)"
    assert charts.countries(breakdown(countries=[])).bars == ()


def _strip(timeline: list[dict[str, Any]], since: datetime, until: datetime) -> charts.Strip:
    return charts.timeline_strip(timeline, since.isoformat(), until.isoformat(), LONDON)


def test_the_strip_places_marks_by_time_with_shape_and_result() -> None:
    since = datetime(2026, 11, 6, 18, 0, tzinfo=UTC)
    until = since + timedelta(days=2)
    timeline = [
        timeline_entry(0, result="credential_failure"),
        timeline_entry(60 * 24, kind="detection", result="atRisk"),
        timeline_entry(60 * 36, kind="omitted", result=None, summary="3 entries left out"),
        timeline_entry(60 * 48, alerted=True),
    ]
    strip = _strip(timeline, since, until)
    assert [m.x for m in strip.marks] == pytest.approx([20, 440, 650, 860])
    assert [(m.shape, m.css, m.alerted) for m in strip.marks] == [
        ("circle", "failure", False), ("triangle", "neutral", False), ("gap", "neutral", False),
        ("circle", "success", True)]
    assert strip.marks[2].label == "Sun 08 Nov 06:00: 3 entries left out"
    assert [t.label for t in strip.days] == ["Sat 07", "Sun 08"]


def test_the_strip_widens_to_entries_outside_the_window() -> None:
    since = datetime(2026, 11, 9, 7, 0, tzinfo=UTC)
    until = since + timedelta(days=1)
    early = timeline_entry(0, time=(since - timedelta(days=1)).isoformat())
    strip = _strip([early], since, until)
    assert strip.marks[0].x == pytest.approx(20)


def test_quiet_spans_are_nights_and_whole_weekends_in_local_time() -> None:
    # Monday 2026-11-02 00:00 UTC to Monday 2026-11-09 00:00 UTC (London is UTC in November)
    since = datetime(2026, 11, 2, tzinfo=UTC)
    spans = charts._quiet_spans(since, since + timedelta(days=7), LONDON)
    hours = [(a.astimezone(UTC).strftime("%a %H"),
              (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 3600) for a, b in spans]
    # Each night is one span (18:00 to 08:00), the weekend one from Friday 18:00 on.
    assert hours == [("Mon 00", 8), ("Mon 18", 14), ("Tue 18", 14), ("Wed 18", 14),
                     ("Thu 18", 14), ("Fri 18", 54)]
    assert sum(length for _, length in hours) == 7 * 24 - 5 * 10


def test_a_long_window_draws_a_bounded_number_of_quiet_rectangles() -> None:
    since = datetime(2022, 11, 7, tzinfo=UTC)
    until = since + timedelta(days=4 * 365)
    one_month = _strip([], since, since + timedelta(days=28))
    # A month: one rectangle per night, weekends whole, business hours left clear.
    # 4 weeks: 4 weekends, 16 weeknights and the first Monday's early hours.
    assert len(one_month.quiet) == 4 + 16 + 1
    assert all(r.label == charts.QUIET for r in one_month.quiet)
    assert all(b.x - (a.x + a.width) >= charts.MIN_GAP for a, b in pairwise(one_month.quiet))
    four_years = _strip([timeline_entry(0)], since, until)
    # Four years: business hours are narrower than a pixel, so the gaps close (it was one
    # rectangle per local day and night: thousands per user).
    assert len(four_years.quiet) <= charts.WIDTH / charts.MIN_GAP
    assert len(four_years.quiet) == 1 and four_years.quiet[0].label == charts.QUIET_CLOSED
    assert four_years.quiet[0].width == pytest.approx(charts.WIDTH - 40, abs=1)


def test_quiet_spans_follow_the_clock_change() -> None:
    # London leaves summer time on Sunday 2026-10-25: that local day lasts 25 hours.
    since = datetime(2026, 10, 24, tzinfo=UTC)
    spans = charts._quiet_spans(since, since + timedelta(days=3), LONDON)
    # (aware datetimes of one zone subtract as wall clocks: compare in UTC)
    lengths = [(b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 3600 for a, b in spans]
    # One weekend span from Saturday 01:00 BST (the window's start) to Monday 08:00 GMT:
    # 23 + 25 + 8 hours (Monday 08:00 read as BST would give 55).
    assert lengths == [56, 6]
    monday = [a for a, _ in spans if a.astimezone(UTC).day == 26 and a.astimezone(UTC).hour > 12]
    assert monday[0].astimezone(UTC).hour == 18  # 18:00 GMT after the change
