"""Progress of long command-line work (``scan``, ``baseline``), for a person at a terminal.

The work reports counts to a ``Progress``; what is shown, and whether anything is,
is decided here: a line on stderr when it is a terminal, nothing otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, *, events: int, skipped: int, alerts: int) -> None:
        """The running totals so far (called often; implementations throttle)."""

    def done(self) -> None:
        """The work ended: clear the progress line."""


class NoProgress:
    """Shows nothing (stderr is not a terminal, or nobody asked)."""

    def update(self, *, events: int, skipped: int, alerts: int) -> None:
        return None

    def done(self) -> None:
        return None


class TerminalProgress:
    """One line on ``stream``, rewritten in place at most every ``interval`` seconds.

    Padded with spaces rather than ANSI erase codes, so a dumb terminal shows it too;
    the first line waits one interval, so quick work shows nothing at all.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str = "riskwatch",
        clock: Callable[[], float] = time.monotonic,
        interval: float = 0.5,
    ) -> None:
        self.stream = stream
        self.label = label
        self.clock = clock
        self.interval = interval
        self.started = clock()
        self._last = self.started
        self._width = 0  # of the line on screen, to blank it

    def update(self, *, events: int, skipped: int, alerts: int) -> None:
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.started
        rate = events / elapsed if elapsed > 0 else 0.0
        line = (
            f"{self.label}: {events:,} events read, {skipped:,} skipped, {alerts:,} alerts "
            f"({rate:,.0f} events/s)"
        )
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = max(self._width, len(line))

    def done(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def progress_for(
    stream: TextIO, *, label: str = "riskwatch", clock: Callable[[], float] = time.monotonic
) -> Progress:
    """A terminal progress line when ``stream`` is a terminal, else nothing at all."""
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return TerminalProgress(stream, label=label, clock=clock)
    return NoProgress()
