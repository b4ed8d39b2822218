"""Lenient time parsing: every spelling in the corpus, always aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from detections.timeparse import parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-03-13T19:15:41.6195833Z", datetime(2020, 3, 13, 19, 15, 41, 619583, tzinfo=UTC)),
        ("2022-09-09T9:59:27.958Z", datetime(2022, 9, 9, 9, 59, 27, 958000, tzinfo=UTC)),
        ("8/22/2022 6:07:16 PM", datetime(2022, 8, 22, 18, 7, 16, tzinfo=UTC)),
        ("12/12/2025 12:03:58 AM", datetime(2025, 12, 12, 0, 3, 58, tzinfo=UTC)),
        ("12/12/2025 12:03:58 PM", datetime(2025, 12, 12, 12, 3, 58, tzinfo=UTC)),
        ("2023-07-26 22:58:30.983201900", datetime(2023, 7, 26, 22, 58, 30, 983201, tzinfo=UTC)),
        ("2025-01-15 09:30:45.123", datetime(2025, 1, 15, 9, 30, 45, 123000, tzinfo=UTC)),
        ("2019-10-18T04:45:48.0729893-05:00", datetime(2019, 10, 18, 9, 45, 48, 72989, tzinfo=UTC)),
        ("2022-9-9 9:05:07+02:00", datetime(2022, 9, 9, 7, 5, 7, tzinfo=UTC)),
        ("2022-01-24T05:10:08+00:00", datetime(2022, 1, 24, 5, 10, 8, tzinfo=UTC)),
    ],
)
def test_spellings_parse_to_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_time(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


def test_naive_datetime_is_taken_as_utc_and_aware_is_converted() -> None:
    naive = datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    assert parse_time(naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    cet = datetime(2026, 1, 1, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(cet).tzinfo is UTC
    assert parse_time(cet) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "bad", ["", "yesterday", "2022-13-40T99:00:00Z", "8/22/2022 16:07:16 PM", "12345"]
)
def test_bad_text_raises_value_error_with_the_text(bad: str) -> None:
    with pytest.raises(ValueError, match=r"time|month|day|hour|isoformat|range"):
        parse_time(bad)


def test_non_string_is_rejected() -> None:
    with pytest.raises(ValueError, match="int"):
        parse_time(1700000000)


def test_the_portal_csv_comma_after_the_year() -> None:
    assert parse_time("5/25/2023, 4:32:49.469 AM") == datetime(
        2023, 5, 25, 4, 32, 49, 469000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "extreme",
    [
        "9999-12-31T23:00:00-05:00",  # past datetime.max once in UTC: OverflowError before
        "0001-01-01T01:00:00+05:00",  # before datetime.min in UTC
        "9999-12-31T23:59:59Z",  # valid, but any window arithmetic overflows
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2200-01-01T00:00:00Z",
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_times_outside_1970_to_2200_are_refused_with_a_value_error(extreme: object) -> None:
    with pytest.raises(ValueError, match="outside the accepted range"):
        parse_time(extreme)


def test_the_edges_of_the_range() -> None:
    assert parse_time("1970-01-01T00:00:00Z") == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_time("2199-12-31T23:59:59+00:00").year == 2199
