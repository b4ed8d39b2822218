"""The generic JSON webhook: schema, Idempotency-Key, HMAC signature, secrets kept out."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterator

import pytest

from detections.model import Severity
from service.delivery.base import DeliveryStatus
from service.delivery.http import Poster, RetryPolicy
from service.delivery.webhook import SCHEMA, WebhookSink, verify
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, hostile_alert, sink_alert

SECRET = "hmac-key-0123456789abcdef"
SENT_AT = 1_793_610_000


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(204)) as receiver:
        yield receiver


def sink(url: str, secret: str | None = SECRET, **kwargs: object) -> WebhookSink:
    poster = Poster("webhook", RetryPolicy(max_attempts=2), sleep=lambda s: None)
    return WebhookSink(url, secret=secret, poster=poster, clock=lambda: SENT_AT, **kwargs)  # type: ignore[arg-type]


def test_delivers_the_documented_schema(rx: Receiver) -> None:
    alert = sink_alert()
    outcome = sink(rx.url).send(alert)
    assert outcome.status is DeliveryStatus.DELIVERED
    received = rx.requests[0].json()
    assert received["schema"] == SCHEMA
    assert received["id"] == alert["alert_id"]
    assert received["sent_at"] == SENT_AT
    assert received["alert"] == alert
    assert received["links"][0]["url"].startswith("https://entra.microsoft.com/#view/")
    assert rx.requests[0].header("content-type") == "application/json; charset=utf-8"


def test_idempotency_key_is_the_alert_id(rx: Receiver) -> None:
    alert = sink_alert(alert_id="a" * 32)
    sink(rx.url).send(alert)
    assert rx.requests[0].header("Idempotency-Key") == "a" * 32


def test_signature_verifies_over_the_exact_received_body(rx: Receiver) -> None:
    sink(rx.url).send(hostile_alert())
    request = rx.requests[0]
    header = request.header("X-Riskwatch-Signature")
    assert header is not None
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert header == f"sha256={expected}"
    assert verify(SECRET, request.body, header)
    assert not verify("other-key", request.body, header)
    assert not verify(SECRET, request.body + b" ", header)
    assert request.header("X-Riskwatch-Timestamp") == str(SENT_AT)


def test_no_secret_means_no_signature_headers(rx: Receiver) -> None:
    sink(rx.url, secret=None).send(sink_alert())
    assert rx.requests[0].header("X-Riskwatch-Signature") is None
    assert rx.requests[0].header("X-Riskwatch-Timestamp") is None
    assert rx.requests[0].header("Idempotency-Key") is not None


def test_hostile_values_stay_plain_json_strings(rx: Receiver) -> None:
    sink(rx.url).send(hostile_alert())
    alert = rx.requests[0].json()["alert"]
    assert alert["principal"] == HOSTILE
    assert alert["context"]["city"] == HOSTILE
    assert alert["context"]["additional_info"]["userAgent"] == HOSTILE


def test_min_severity_skips_without_a_request(rx: Receiver) -> None:
    outcome = sink(rx.url, min_severity=Severity.HIGH).send(sink_alert(severity="medium"))
    assert outcome.status is DeliveryStatus.DELIVERED
    assert outcome.attempts == 0 and "below" in outcome.reason
    assert rx.requests == []
    sink(rx.url, min_severity=Severity.HIGH).send(sink_alert(severity="critical"))
    assert len(rx.requests) == 1


def test_permanent_failure_is_dead_and_secrets_stay_out(
    rx: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rx.script(Reply(500), Reply(422, json.dumps({"error": "unknown field"})))
    webhook = sink(rx.url)
    outcome = webhook.send(sink_alert())
    assert outcome.status is DeliveryStatus.DEAD
    assert outcome.reason.startswith("HTTP 422")
    for secret in (SECRET, *rx.secret_parts):
        assert secret not in caplog.text
        assert secret not in outcome.reason
        assert secret not in repr(webhook)
