"""The Teams Workflows sink: Adaptive Card shape and schema, literal text, the 20 KB cap, 202."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from detections.model import Severity
from service.delivery.base import DeliveryStatus
from service.delivery.http import Poster, RetryPolicy
from service.delivery.render import view
from service.delivery.teams import MAX_CARD_BYTES, TeamsSink, build_card
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, HOSTILE_APP, critical_signin_alert, hostile_alert, sink_alert
from tests.sink_checks import card_texts, card_violations


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
    """Every rendered string in the card (texts, titles, values)."""
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


def test_hostile_values_are_literal_text_runs_never_markdown(rx: Receiver) -> None:
    sink(rx.url).send(hostile_alert())
    card = card_of(rx)
    runs = card_texts(card["body"], frozenset({"TextRun"}))
    markdown = "\n".join(card_texts(card["body"], frozenset({"TextBlock"})))
    # Shown exactly as received, in TextRuns (no markdown), with no escapes to read.
    assert f"Sign-in risk for {HOSTILE}" in runs and HOSTILE in runs
    assert "evil" not in markdown and "channel" not in markdown and "@here" not in markdown
    assert not [t for t in texts(card["body"]) if "\\" in t]
    # FactSet values are markdown in Teams; the card has none.
    assert "FactSet" not in json.dumps(card)


def test_our_own_text_reads_without_backslash_escapes(rx: Receiver) -> None:
    """Issue 12: the renderer showed ``high\\_risk\\_signin\\_succeeded`` and
    ``critical \\(risk score 80\\)``, and the hostile app name full of backslashes."""
    sink(rx.url).send(critical_signin_alert())
    card = card_of(rx)
    runs = card_texts(card["body"], frozenset({"TextRun"}))
    assert "high_risk_signin_succeeded" in runs
    assert "critical (risk score 80)" in runs
    assert HOSTILE_APP in runs
    assert [t for t in texts(card["body"]) if "\\" in t] == []


@pytest.mark.parametrize(
    "alert",
    [sink_alert(), hostile_alert(), critical_signin_alert(),
     hostile_alert(user_agent="Mozilla/5.0 " + "A" * 200_000),
     sink_alert(context={f"extra_{i}": "x" * 5000 for i in range(8)},
                investigation=["step " + "y" * 3000] * 30, title="t" * 10_000),
     sink_alert(principal="\ud800\udfff lone surrogates", context={"city": "\udc00"})],
    ids=["plain", "hostile", "critical", "huge-user-agent", "many-long-fields", "surrogates"],
)
def test_cards_validate_against_the_adaptive_card_schema(
    rx: Receiver, alert: dict[str, Any]
) -> None:
    outcome = sink(rx.url).send(alert)
    assert outcome.status is DeliveryStatus.DELIVERED
    assert len(rx.requests[0].body) <= MAX_CARD_BYTES
    assert card_violations(card_of(rx)) == []


def test_multibyte_values_are_capped_in_utf8_bytes(rx: Receiver) -> None:
    # 4 bytes per character: a cap counted in characters would let 80 KB through.
    emoji = "\U0001f600" * 20_000
    sink(rx.url).send(sink_alert(title=emoji, context={"city": emoji, "user_agent": emoji}))
    body = rx.requests[0].body
    assert len(body) <= MAX_CARD_BYTES
    assert "\U0001f600" * 100 in body.decode("utf-8")


def test_schema_check_can_fail() -> None:
    """The schema check rejects what Teams would: a TextRun with a TextBlock property."""
    card = build_card(view(sink_alert()))
    card["body"][0]["inlines"][0]["wrap"] = True
    assert card_violations(card) != []


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
