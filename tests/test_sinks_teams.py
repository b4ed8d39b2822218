"""The Teams Workflows sink: Adaptive Card shape, escaping, the 20 KB cap, 202 = accepted."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from detections.model import Severity
from service.sinks.base import DeliveryStatus
from service.sinks.http import Poster, RetryPolicy
from service.sinks.teams import MAX_CARD_BYTES, TeamsSink
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, hostile_alert, sink_alert


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(202)) as receiver:  # the Workflows trigger answers 202
        yield receiver


def sink(url: str, **kwargs: Any) -> TeamsSink:
    poster = Poster("teams", RetryPolicy(max_attempts=2), sleep=lambda s: None)
    return TeamsSink(url, poster=poster, **kwargs)


def card_of(rx: Receiver) -> dict[str, Any]:
    message = rx.requests[-1].json()
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    return card


def texts(node: Any) -> list[str]:
    """Every rendered string in the card (TextBlock text, fact titles and values)."""
    if isinstance(node, dict):
        keys = {"text", "title", "value"}
        found = [v for k, v in node.items() if k in keys and isinstance(v, str)]
        return found + [t for v in node.values() for t in texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in texts(v)]
    return []


def test_202_is_delivered_and_the_card_carries_the_facts(rx: Receiver) -> None:
    outcome = sink(rx.url, portal_url="https://entra.example.test").send(sink_alert())
    assert outcome.status is DeliveryStatus.DELIVERED
    card = card_of(rx)
    rendered = "\n".join(texts(card["body"]))
    for expected in ("alice@contoso.com", "203.0.113.10",
                     "Seattle", "US", "unfamiliarFeatures", "2026-11-02T09:00:00+00:00"):
        assert expected in rendered
    assert "Review the risk event type" in rendered  # the rule's investigation steps
    urls = [a["url"] for a in card["actions"]]
    assert all(a["type"] == "Action.OpenUrl" for a in card["actions"])
    blade = "/#view/Microsoft_AAD_IAM/SecurityMenuBlade/~/RiskySignIns"
    assert "https://entra.example.test" + blade in urls


def test_hostile_values_render_as_escaped_text(rx: Receiver) -> None:
    sink(rx.url).send(hostile_alert())
    rendered = texts(card_of(rx)["body"])
    joined = "\n".join(rendered)
    assert HOSTILE not in joined
    # Every <, >, [, ], ` and the hostile * are backslash-escaped; bare URLs are broken.
    assert re.search(r"(?<!\\)[<>\[\]`]", joined) is None
    assert re.search(r"(?<!\\)\*bold", joined) is None
    assert "https://evil" not in joined and "<!channel>" not in joined
    assert "\\<!channel\\>" in joined and "\\*bold\\*" in joined


def test_huge_user_agent_is_truncated_under_20_kb(rx: Receiver) -> None:
    huge = "Mozilla/5.0 " + "A" * 200_000
    outcome = sink(rx.url).send(hostile_alert(user_agent=huge))
    assert outcome.status is DeliveryStatus.DELIVERED
    assert len(rx.requests[0].body) <= MAX_CARD_BYTES
    joined = "\n".join(texts(card_of(rx)["body"]))
    assert "truncated" in joined
    assert "Mozilla/5.0 AAAA" in joined  # the start of the value is kept


def test_many_long_fields_still_fit(rx: Receiver) -> None:
    context = {f"extra_{i}": "x" * 5000 for i in range(8)}
    steps = ["step " + "y" * 3000] * 30
    sink(rx.url).send(sink_alert(context=context, investigation=steps, title="t" * 10_000))
    assert len(rx.requests[0].body) <= MAX_CARD_BYTES
    assert "truncated" in "\n".join(texts(card_of(rx)["body"]))


def test_small_alert_is_not_marked_truncated(rx: Receiver) -> None:
    sink(rx.url).send(sink_alert())
    assert "truncated" not in "\n".join(texts(card_of(rx)["body"]))


def test_min_severity_is_per_sink(rx: Receiver) -> None:
    teams = sink(rx.url, min_severity=Severity.CRITICAL)
    assert teams.send(sink_alert(severity="high")).attempts == 0
    assert rx.requests == []


def test_400_from_the_flow_is_dead(rx: Receiver) -> None:
    rx.script(Reply(400, '{"error":{"code":"InvalidRequestContent"}}'))
    outcome = sink(rx.url).send(sink_alert())
    assert outcome.status is DeliveryStatus.DEAD
    assert "InvalidRequestContent" in outcome.reason
    assert rx.token not in outcome.reason
