"""The Slack incoming-webhook sink: Block Kit + text, "ok" body, errors, escaping, limits."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from detections.model import Severity
from service.delivery.base import DeliveryStatus
from service.delivery.http import Poster, RetryPolicy
from service.delivery.slack import SlackSink
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, critical_signin_alert, hostile_alert, sink_alert
from tests.sink_checks import slack_violations


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(200, "ok")) as receiver:
        yield receiver


def sink(url: str, sleeps: Sleeps | None = None, **kwargs: Any) -> SlackSink:
    sleep = sleeps if sleeps is not None else Sleeps()
    poster = Poster("slack", RetryPolicy(max_attempts=3), sleep=sleep)
    return SlackSink(url, poster=poster, **kwargs)


def text_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") in {"mrkdwn", "plain_text"} else []
        return own + [t for v in node.values() for t in text_objects(v)]
    if isinstance(node, list):
        return [t for v in node for t in text_objects(v)]
    return []


def test_ok_body_is_delivered_with_blocks_and_text(rx: Receiver) -> None:
    outcome = sink(rx.url).send(sink_alert())
    assert outcome.status is DeliveryStatus.DELIVERED
    message = rx.requests[0].json()
    assert message["text"].startswith("[high] Sign-in risk")
    assert message["blocks"][0]["type"] == "header"
    rendered = "\n".join(t["text"] for t in text_objects(message["blocks"]))
    for expected in ("`alice@contoso.com`", "`203.0.113.10`", "`Seattle`", "`US`",
                     "Review the risk event type", "RiskySignIns"):
        assert expected in rendered
    mrkdwn = [t for t in text_objects(message["blocks"]) if t["type"] == "mrkdwn"]
    assert mrkdwn and all(t["verbatim"] is True for t in mrkdwn)


@pytest.mark.parametrize(
    ("status", "body"),
    [(400, "invalid_payload"), (403, "action_prohibited"), (404, "channel_not_found"),
     (410, "channel_is_archived")],
)
def test_slack_errors_are_permanent(rx: Receiver, status: int, body: str) -> None:
    rx.script(Reply(status, body))
    outcome = sink(rx.url).send(sink_alert())
    assert outcome.status is DeliveryStatus.DEAD
    assert outcome.reason == f"HTTP {status}: {body}"
    assert len(rx.requests) == 1


def test_200_without_ok_is_not_a_delivery(rx: Receiver) -> None:
    rx.script(Reply(200, "<html>captive portal</html>"))
    outcome = sink(rx.url).send(sink_alert())
    assert outcome.status is DeliveryStatus.DEAD
    assert "unexpected Slack response body" in outcome.reason


def test_rate_limit_honours_retry_after(rx: Receiver) -> None:
    rx.script(Reply(429, "rate_limited", headers={"Retry-After": "3"}))
    sleeps = Sleeps()
    outcome = sink(rx.url, sleeps).send(sink_alert())
    assert outcome.status is DeliveryStatus.DELIVERED
    assert sleeps == [3.0] and outcome.attempts == 2


def test_hostile_values_are_escaped(rx: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sink(rx.url).send(hostile_alert())
    message = rx.requests[0].json()
    objects = text_objects(message["blocks"])
    for obj in objects:
        text = obj["text"]
        if obj["type"] == "plain_text":
            continue  # never parsed by Slack
        # Our own links are the only <...> sequences, and they point at the portal.
        for sequence in re.findall(r"<([^>]*)>", text):
            assert sequence.startswith("https://entra.microsoft.com/#view/"), sequence
        assert "<!channel>" not in text and "<@U123>" not in text
        assert "https://evil" not in text
        assert "@here" not in text or "`" in text  # only inside a code span
    fallback = message["text"]
    assert "<" not in fallback and ">" not in fallback and "@here" not in fallback
    assert "*bold*" not in fallback
    assert rx.token not in caplog.text


def test_header_is_plain_text_within_the_limit(rx: Receiver) -> None:
    sink(rx.url).send(sink_alert(title="x" * 500))
    header = rx.requests[0].json()["blocks"][0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) <= 150
    assert header["text"].endswith("[truncated]")


def test_min_severity_filters(rx: Receiver) -> None:
    slack = sink(rx.url, min_severity=Severity.HIGH)
    assert slack.send(sink_alert(severity="low")).attempts == 0
    assert slack.send(sink_alert(severity="high")).status is DeliveryStatus.DELIVERED
    assert len(rx.requests) == 1


def field_texts(message: dict[str, Any]) -> list[str]:
    return [f["text"] for b in message["blocks"] for f in b.get("fields") or ()]


def test_hostile_2100_character_value_stays_within_the_field_limit(rx: Receiver) -> None:
    """Issue 12: cut before escaping, ``<>&`` * 700 became an 8,202-character field."""
    hostile = "<>&" * 700
    outcome = sink(rx.url).send(sink_alert(context={"app_display_name": hostile}))
    assert outcome.status is DeliveryStatus.DELIVERED
    message = rx.requests[0].json()
    (field,) = [t for t in field_texts(message) if t.startswith("*Application*")]
    assert len(field) <= 2000
    assert field.startswith("*Application*\n`&lt;&gt;&amp;&lt;&gt;&amp;")
    assert field.endswith(" … [truncated]`")
    assert slack_violations(message) == []


@pytest.mark.parametrize("value", ["&" * 2100, "<" * 2100, "a" * 1980 + "&" * 50, "x&" * 1100])
def test_a_cut_never_splits_an_escape(rx: Receiver, value: str) -> None:
    sink(rx.url).send(sink_alert(context={"user_agent": value}))
    (field,) = [t for t in field_texts(rx.requests[0].json()) if t.startswith("*User agent*")]
    assert len(field) <= 2000
    # Every & starts a whole entity: the cut fell between escapes, never inside one.
    assert re.findall(r"&(?!amp;|lt;|gt;)", field) == []
    assert field.endswith(" … [truncated]`")


@pytest.mark.parametrize(
    "alert",
    [sink_alert(), hostile_alert(), critical_signin_alert(),
     sink_alert(title="&" * 5000, principal="<" * 5000, context={"user_agent": "<" * 100_000}),
     sink_alert(context={f"extra_{i}": "<&>" * 3000 for i in range(20)},
                investigation=["step <&> " * 200] * 60),
     sink_alert(principal="\ud800 lone surrogate", context={"city": "\udfff"})],
    ids=["plain", "hostile", "critical", "huge", "many-long-fields", "surrogates"],
)
def test_every_message_passes_slack_sdk_and_the_documented_limits(
    rx: Receiver, alert: dict[str, Any]
) -> None:
    outcome = sink(rx.url).send(alert)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert slack_violations(rx.requests[0].json()) == []


def test_long_investigation_keeps_whole_steps_and_says_how_many_are_left(rx: Receiver) -> None:
    sink(rx.url).send(sink_alert(investigation=[f"step {n} " + "z" * 390 for n in range(1, 21)]))
    blocks = rx.requests[0].json()["blocks"]
    (section,) = [b for b in blocks if b["type"] == "section" and "text" in b]
    text = section["text"]["text"]
    assert len(text) <= 3000 and text.startswith("*Investigation*\n1. step 1 ")
    assert re.search(r"\n… \d+ more steps \[truncated\]$", text)


def test_message_over_a_limit_is_replaced_by_a_minimal_one(
    rx: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    # An absurd portal URL makes the links context break its 3,000 limit.
    portal = "https://entra.example.test/" + "p" * 4000
    outcome = sink(rx.url, portal_url=portal).send(hostile_alert())
    assert outcome.status is DeliveryStatus.DELIVERED
    message = rx.requests[0].json()
    assert slack_violations(message) == []
    assert "could not be shown in full" in json.dumps(message)
    assert "over Block Kit limits" in caplog.text and "blocks[" in caplog.text
    assert HOSTILE not in caplog.text and portal not in caplog.text
