"""What the correlation rules remember between events.

The engine calls ``observe`` after every rule has judged an event, so a rule
always sees the history *before* the event it is looking at. The I/O side loads
and saves this state (Table Storage in the app, memory in ``riskwatch scan``);
nothing here does I/O.
"""

from __future__ import annotations

from detections.model import Event


class History:
    """Per-user and per-IP memory shared by the correlation rules."""

    def observe(self, event: Event) -> None:
        """Record ``event`` after the rules have judged it."""
        del event  # the seed rules are stateless; correlation state extends this
