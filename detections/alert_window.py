"""The one decision whether a match joins a key's open alert, for scan and the app alike.

``riskwatch scan`` groups matches in memory (``detections.alerts.AlertGrouper``);
the deployed app keeps one dedup claim per key in Table Storage
(``service.state.dedup``). Both ask ``join_window`` so that the same matches give
the same alerts however they arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class AlertWindow:
    """An open alert's span: its first and last match, and when its window ends."""

    first_seen: datetime
    last_seen: datetime
    end: datetime

    @classmethod
    def opened_at(cls, at: datetime, length: timedelta) -> AlertWindow:
        """The window a match opens: ``[at, at + length)``."""
        return cls(at, at, at + length)


def join_window(window: AlertWindow, at: datetime, length: timedelta) -> AlertWindow | None:
    """``window`` with a match at ``at`` in it, or None when the match opens a new alert.

    A key has one open alert, whose window starts at its earliest match and lasts
    ``length`` (the rule's dedup window):

    - a match at or after the window's end opens a new alert (the window is half-open);
    - a later match inside the window joins it;
    - an earlier match (out of order: a detection that surfaced late, a re-read that
      overlaps) joins it too, and the window moves back to start at that match when
      the alert then still spans less than one window. That is the window a reading in
      time order would have given, so a later match that falls past it opens a new
      alert, as it would in ``scan``, which judges input oldest first;
    - an earlier match more than one window before the alert's last match joins it
      without moving the window (a window never ends before the matches it holds):
      the older window's alert may already be delivered and its claim replaced, and a
      straggler is counted, never dropped and never raised as a second alert.
    """
    if at >= window.end:
        return None
    end = window.end
    if at < window.first_seen and window.last_seen < at + length:
        end = min(end, at + length)
    return AlertWindow(min(window.first_seen, at), max(window.last_seen, at), end)
