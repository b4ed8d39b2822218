"""Progress of long command-line work (``scan``, ``baseline``), for a person at a terminal.

The work reports counts to a ``Progress``; what is shown, and whether anything is,
is decided here: a line on stderr when it is a terminal, nothing otherwise.
"""

from __future__ import annotations

from typing import Protocol


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
