"""Feed cursors, the look-back arithmetic and Graph time parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.ingest.graph.cursor import (
    FeedCursor,
    format_graph_time,
    next_query_start,
    parse_graph_time,
)

NOW = datetime(2024, 6, 20, 12, 0, tzinfo=UTC)


def test_next_start_is_watermark_minus_lookback():
    cursor = FeedCursor("riskDetections", NOW - timedelta(hours=1))
    assert next_query_start(cursor, NOW) == NOW - timedelta(hours=49)
    assert next_query_start(cursor, NOW, lookback=timedelta(hours=2)) == NOW - timedelta(hours=3)


def test_first_run_and_future_watermark():
    assert next_query_start(FeedCursor("signIns"), NOW) == NOW - timedelta(hours=48)
    assert next_query_start(FeedCursor("signIns"), NOW, first_run=timedelta(days=7)) == (
        NOW - timedelta(days=7)
    )
    skewed = FeedCursor("signIns", NOW + timedelta(hours=5))
    assert next_query_start(skewed, NOW, timedelta(hours=1)) == NOW - timedelta(hours=1)


def test_invalid_inputs_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        FeedCursor("signIns", datetime(2024, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        next_query_start(FeedCursor("signIns"), NOW, timedelta(hours=-1))


def test_cursor_never_moves_back():
    cursor = FeedCursor("signIns", NOW)
    assert cursor.advanced_to(NOW - timedelta(seconds=1)) is cursor
    assert cursor.advanced_to(None) is cursor
    assert cursor.advanced_to(NOW + timedelta(seconds=1)).watermark == NOW + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-03-13T19:15:41.6195833Z", datetime(2020, 3, 13, 19, 15, 41, 619583, tzinfo=UTC)),
        ("2018-09-05T00:11:27Z", datetime(2018, 9, 5, 0, 11, 27, tzinfo=UTC)),
        ("2018-09-05T02:11:27.5+02:00", datetime(2018, 9, 5, 0, 11, 27, 500000, tzinfo=UTC)),
        ("2018-09-05T00:11:27", datetime(2018, 9, 5, 0, 11, 27, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
        (12, None),
    ],
)
def test_graph_times_parse(text, expected):
    assert parse_graph_time(text) == expected


def test_filter_time_format():
    assert format_graph_time(datetime(2024, 6, 20, 5, 0, 1, 999, tzinfo=UTC)) == (
        "2024-06-20T05:00:01Z"
    )
