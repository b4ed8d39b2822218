"""The contract between the delivery loop and every sink (webhook, Teams, Slack).

A sink posts one alert and says how it went; it never raises for an HTTP or
network failure (the delivery loop still contains it if one does). The loop
keeps the per-sink status in the outbox: ``RETRY`` is tried again on a later
run after ``retry_after`` seconds at the earliest, ``DEAD`` is dead-lettered
with ``reason``. ``reason`` is stored and logged, so it must never contain a
webhook URL or any other secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from detections.model import Severity


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class DeliveryOutcome:
    status: DeliveryStatus
    reason: str = ""
    retry_after: float | None = None  # seconds, from Retry-After when the receiver sent one
    attempts: int = 1  # HTTP attempts made inside this call


class Sink(Protocol):
    """``name`` is short, lowercase letters and digits: it names Table properties."""

    name: str
    min_severity: Severity

    def send(self, alert: Mapping[str, Any]) -> DeliveryOutcome:
        """Post ``alert`` (``Alert.to_dict()`` shape); its ``alert_id`` is the idempotency key."""
        ...
