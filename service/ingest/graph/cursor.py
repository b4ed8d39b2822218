"""Feed watermarks and the pure arithmetic of where the next query starts.

Offline detections surface up to 48 h after the activity, so every query re-reads a
look-back window behind the watermark; event ids already seen never alert twice
(the dedup store does that), so overlap costs requests, never duplicate alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from detections.timeparse import parse_time

DEFAULT_LOOKBACK = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """The newest event time a feed has been fully handled up to (None: never read)."""

    feed: str
    watermark: datetime | None = None

    def __post_init__(self) -> None:
        if self.watermark is not None and self.watermark.tzinfo is None:
            raise ValueError(f"cursor {self.feed}: watermark must be timezone-aware")

    def advanced_to(self, candidate: datetime | None) -> FeedCursor:
        """The cursor moved forward to ``candidate``; it never moves backwards."""
        if candidate is None or (self.watermark is not None and candidate <= self.watermark):
            return self
        return FeedCursor(self.feed, candidate)


def next_query_start(
    cursor: FeedCursor,
    now: datetime,
    lookback: timedelta = DEFAULT_LOOKBACK,
    first_run: timedelta | None = None,
) -> datetime:
    """Where the next query's ``ge`` filter starts: watermark - lookback.

    A feed never read starts ``first_run`` (default: the look-back) before ``now``.
    A watermark in the future (a skewed clock upstream) is capped at ``now``.
    """
    if lookback < timedelta(0):
        raise ValueError("lookback must not be negative")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if cursor.watermark is None:
        return now - (first_run if first_run is not None else lookback)
    return min(cursor.watermark, now) - lookback


def parse_graph_time(text: object) -> datetime | None:
    """Parse a Graph DateTimeOffset (``...T19:15:41.6195833Z``); None if absent/invalid."""
    if not isinstance(text, str) or not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Graph writes 7 fractional digits; Python reads at most 6.
    if "." in value:
        head, _, rest = value.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = f"{head}.{rest[:min(digits, 6)]}{rest[digits:]}"
    try:
        return parse_time(value)
    except ValueError:
        # Absent, invalid or outside 1970-2200: a year-9999 record must not become the
        # watermark (no later record could pass it), nor a year-0001 one underflow the
        # look-back arithmetic of every later run.
        return None


def format_graph_time(value: datetime) -> str:
    """An OData DateTimeOffset literal for $filter, in UTC (``2024-06-20T05:00:00Z``)."""
    if value.tzinfo is None:
        raise ValueError("filter times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
