"""Where the correlation history lives between runs.

The pipeline loads a ``History`` before running the rules over a batch and
saves it afterwards. ``InMemoryHistoryStore`` keeps it in the process (tests,
``riskwatch run --once``); the Table-backed store implements the same protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from detections.history import History
from detections.model import Event


class HistoryStore(Protocol):
    def load(self, events: Sequence[Event]) -> History:
        """The history the rules need for ``events`` (a store may load only their users)."""
        ...

    def save(self, history: History) -> None: ...


class InMemoryHistoryStore:
    def __init__(self, history: History | None = None) -> None:
        self.history = history if history is not None else History()

    def load(self, events: Sequence[Event]) -> History:
        del events  # everything is already in memory
        return self.history

    def save(self, history: History) -> None:
        self.history = history
