"""Pacing windows, back-off bounds, Retry-After parsing and token-source choice."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from service.ingest.graph.auth import CachedToken, graph_scope, make_token_provider, parse_auth_mode
from service.ingest.graph.throttle import Backoff, SlidingWindowPacer
from service.netutil import is_loopback_url
from service.netutil import parse_retry_after as retry_after_seconds
from tests.graph_server import SimulatedClock


def drive(pacer: SlidingWindowPacer, clock: SimulatedClock, count: int) -> list[float]:
    starts = []
    for _ in range(count):
        clock.sleep(pacer.wait_time())
        pacer.mark()
        starts.append(clock.time())
    return starts


def test_one_per_second_pacer_spaces_every_request():
    clock = SimulatedClock(0.0)
    starts = drive(SlidingWindowPacer(1, 1.0, clock.time), clock, 4)
    assert starts == [0.0, 1.0, 2.0, 3.0]


def test_window_pacer_allows_bursts_inside_the_window_only():
    clock = SimulatedClock(0.0)
    starts = drive(SlidingWindowPacer(5, 10.0, clock.time), clock, 11)
    assert starts == [0.0] * 5 + [10.0] * 5 + [20.0]


def test_pacer_needs_no_wait_after_idle_time():
    clock = SimulatedClock(0.0)
    pacer = SlidingWindowPacer(1, 1.0, clock.time)
    pacer.mark()
    clock.sleep(5)
    assert pacer.wait_time() == 0.0
    with pytest.raises(ValueError):
        SlidingWindowPacer(0, 1.0, clock.time)


def test_backoff_doubles_with_jitter_and_cap():
    backoff = Backoff(base=2.0, cap=30.0, rng=random.Random(1))  # noqa: S311 - seeded jitter
    for attempt, (lo, hi) in enumerate([(1, 2), (2, 4), (4, 8), (8, 16), (15, 30), (15, 30)]):
        delays = {backoff.delay(attempt) for _ in range(50)}
        assert min(delays) >= lo and max(delays) <= hi
        assert len(delays) > 1  # jittered, so apps sharing the tenant limit spread out


def test_retry_after_forms():
    now = datetime(2024, 6, 20, 5, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 20 Jun 2024 05:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Thu, 20 Jun 2024 04:00:00 GMT", now) == 0.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_auth_none_only_on_loopback():
    assert make_token_provider("none", "http://127.0.0.1:8080")() is None
    assert make_token_provider("none", "http://localhost:1")() is None
    with pytest.raises(ValueError, match="only allowed for a loopback"):
        make_token_provider("none", "https://graph.microsoft.com")
    with pytest.raises(ValueError, match="only allowed for a loopback"):
        make_token_provider("none", "http://127.0.0.1.attacker.example")
    assert is_loopback_url("http://[::1]:9") and not is_loopback_url("http://10.0.0.1")


def test_auth_modes_and_scope():
    assert parse_auth_mode(None) == "managedidentity"
    assert parse_auth_mode(" CLI ") == "cli"
    with pytest.raises(ValueError, match="RISKWATCH_GRAPH_AUTH"):
        parse_auth_mode("password")
    assert graph_scope("https://graph.microsoft.us/") == "https://graph.microsoft.us/.default"
    provider = make_token_provider("managedidentity", "https://graph.microsoft.com", "abc")
    assert isinstance(provider, CachedToken)
    assert "https://graph.microsoft.com/.default" in repr(provider)


class CountingCredential:
    """A real object with azure-identity's get_token shape (no Azure in the tests)."""

    def __init__(self, lifetime: float) -> None:
        self.calls = 0
        self.lifetime = lifetime

    def get_token(self, *scopes: str):
        import time
        from types import SimpleNamespace

        self.calls += 1
        return SimpleNamespace(token=f"t{self.calls}", expires_on=int(time.time() + self.lifetime))


def test_cached_token_reuses_until_near_expiry():
    long_lived = CountingCredential(3600)
    cached = CachedToken(long_lived, "https://graph.microsoft.com/.default")
    assert [cached(), cached()] == ["t1", "t1"] and long_lived.calls == 1
    short = CountingCredential(60)  # inside the refresh margin: fetch again each time
    cached_short = CachedToken(short, "s")
    assert [cached_short(), cached_short()] == ["t1", "t2"]
    assert "t1" not in repr(cached)
