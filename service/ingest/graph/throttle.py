"""Client-side pacing and retry back-off for Graph, on an injectable clock.

Time is a pair of callables (``clock`` returns seconds on a monotonic scale, ``sleep``
waits), so tests drive a simulated clock that the test Graph server also stamps
requests with: pacing is asserted on recorded timestamps, never on wall time.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class SystemTime:
    """The real monotonic clock and sleep."""

    clock: Clock = time.monotonic
    sleep: Sleep = time.sleep


class SlidingWindowPacer:
    """At most ``max_requests`` starts in any ``per_seconds`` window (1/1 s, 5/10 s ...)."""

    def __init__(self, max_requests: int, per_seconds: float, clock: Clock) -> None:
        if max_requests < 1 or per_seconds <= 0:
            raise ValueError("a pacer needs max_requests >= 1 and per_seconds > 0")
        self.max_requests = max_requests
        self.per_seconds = per_seconds
        self._clock = clock
        self._starts: deque[float] = deque(maxlen=max_requests)

    def wait_time(self) -> float:
        """Seconds to wait before the next request may start (0 when it may go now)."""
        if len(self._starts) < self.max_requests:
            return 0.0
        return max(0.0, self._starts[0] + self.per_seconds - self._clock())

    def mark(self) -> None:
        """Record that a request starts now (call right before sending it)."""
        self._starts.append(self._clock())


class UnpacedLimit:
    """For endpoints with only Graph's generous global limit: never waits."""

    def wait_time(self) -> float:
        return 0.0

    def mark(self) -> None:
        return None


@dataclass(slots=True)
class Backoff:
    """Exponential back-off with jitter: base * 2**attempt, capped, times U(0.5, 1)."""

    base: float = 2.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        raw = min(self.cap, self.base * 2.0 ** max(0, attempt))
        # Jitter spreads retries of apps sharing the tenant's 1 request/s (not security).
        return raw * self.rng.uniform(0.5, 1.0)


