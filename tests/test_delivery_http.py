"""The shared poster against a real loopback receiver scripted with failures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from service.delivery.base import DeliveryStatus
from service.delivery.http import Poster, RetryPolicy
from service.netutil import parse_retry_after
from tests.receivers import Receiver, Reply

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BODY = b'{"id":"a1"}'
HEADERS = {"Content-Type": "application/json"}


class Recorder:
    """Injected sleep and rng: no test waits, every delay is checked."""

    def __init__(self, jitter: float = 0.5) -> None:
        self.sleeps: list[float] = []
        self.jitter = jitter

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def rng(self) -> float:
        return self.jitter


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(200, "ok")) as receiver:
        yield receiver


def poster(rec: Recorder, **policy: float) -> Poster:
    settings = {"max_attempts": 4, "base_delay": 1.0, "max_total_wait": 60.0, **policy}
    return Poster(
        "test",
        RetryPolicy(**settings),  # type: ignore[arg-type]
        sleep=rec.sleep,
        rng=rec.rng,
        now=lambda: NOW,
    )


def test_success_first_time(rx: Receiver) -> None:
    rec = Recorder()
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 1 and rec.sleeps == []
    assert rx.requests[0].body == BODY


def test_500_then_success_retries_with_full_jitter(rx: Receiver) -> None:
    rx.script(Reply(500, "boom"))
    rec = Recorder(jitter=0.25)
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 2
    assert rec.sleeps == [0.25 * 1.0]  # rng * base * 2**0
    assert [r.body for r in rx.requests] == [BODY, BODY]


def test_429_without_retry_after_backs_off_exponentially(rx: Receiver) -> None:
    rx.script(Reply(429), Reply(429), Reply(429))
    rec = Recorder(jitter=0.5)
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 4
    assert rec.sleeps == [0.5, 1.0, 2.0]


def test_503_with_retry_after_seconds_is_honoured(rx: Receiver) -> None:
    rx.script(Reply(503, headers={"Retry-After": "7"}))
    rec = Recorder()
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert rec.sleeps == [7.0]


def test_retry_after_http_date_is_honoured(rx: Receiver) -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    rx.script(Reply(429, headers={"Retry-After": later}))
    rec = Recorder()
    assert poster(rec).post(rx.url, BODY, HEADERS).status is DeliveryStatus.DELIVERED
    assert rec.sleeps == [30.0]


def test_retry_after_beyond_the_wait_budget_leaves_it_for_the_next_run(rx: Receiver) -> None:
    rx.script(Reply(503, "down for maintenance", headers={"Retry-After": "3600"}))
    rec = Recorder()
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.RETRY
    assert outcome.retry_after == 3600.0
    assert outcome.reason == "HTTP 503: down for maintenance (wait budget exhausted)"
    assert rec.sleeps == [] and len(rx.requests) == 1


def test_wait_budget_caps_total_sleeping(rx: Receiver) -> None:
    rx.script(*[Reply(500)] * 10)
    rec = Recorder(jitter=1.0)
    outcome = poster(rec, max_attempts=10, max_total_wait=5.0).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.RETRY
    assert sum(rec.sleeps) <= 5.0
    assert rec.sleeps == [1.0, 2.0]  # the next step (4.0) would pass the budget
    assert "wait budget" in outcome.reason


def test_attempts_exhausted_is_retry_not_dead(rx: Receiver) -> None:
    rx.script(*[Reply(502)] * 4)
    outcome = poster(Recorder()).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.RETRY
    assert outcome.attempts == 4 and len(rx.requests) == 4


def test_400_is_permanent_with_the_reason(rx: Receiver) -> None:
    rx.script(Reply(400, "invalid_payload"))
    rec = Recorder()
    outcome = poster(rec).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DEAD
    assert outcome.reason == "HTTP 400: invalid_payload"
    assert outcome.attempts == 1 and rec.sleeps == []


def test_redirect_is_not_followed(rx: Receiver) -> None:
    rx.script(Reply(301, headers={"Location": "http://127.0.0.1:9/elsewhere"}))
    outcome = poster(Recorder()).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DEAD
    assert "redirect" in outcome.reason and len(rx.requests) == 1


def test_closed_connection_is_retried(rx: Receiver) -> None:
    rx.script(Reply(action="close"))
    outcome = poster(Recorder()).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 2


def test_truncated_response_is_retried(rx: Receiver) -> None:
    rx.script(Reply(200, "partial", action="truncate"), Reply(200, "x", action="truncate"))
    outcome = poster(Recorder()).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 3


def test_slow_response_times_out_and_is_retried(rx: Receiver) -> None:
    rx.script(Reply(200, "late", delay=5.0))
    outcome = poster(Recorder(), read_timeout=0.2).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 2


def test_refused_connection_is_retry() -> None:
    with Receiver() as gone:
        url = gone.url
    outcome = poster(Recorder(), max_attempts=2).post(url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.RETRY
    assert "transport error" in outcome.reason


def test_the_url_never_reaches_a_log_or_a_reason(
    rx: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rx.script(
        Reply(action="close"),
        Reply(200, action="truncate"),
        Reply(200, delay=5.0),
        Reply(500, "error at " + rx.url),  # a receiver that echoes the URL back
    )
    outcome = poster(Recorder(), max_attempts=4, read_timeout=0.2).post(rx.url, BODY, HEADERS)
    assert outcome.status is DeliveryStatus.RETRY
    assert len(rx.requests) == 4
    assert caplog.records, "the poster logs its attempts"
    assert "[redacted]" in caplog.text  # urllib3 logged its request line, redacted
    for secret in rx.secret_parts:
        assert secret not in caplog.text
        assert secret not in outcome.reason


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(format_datetime(NOW + timedelta(minutes=2), usegmt=True), NOW) == 120
    assert parse_retry_after(format_datetime(NOW - timedelta(minutes=2), usegmt=True), NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None
