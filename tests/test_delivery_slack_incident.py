"""The Slack rendering of an incident: verdict and reasons first, then the breakdown and a
short timeline; mrkdwn escaping; slack-sdk's block models and every Block Kit limit."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings

from service.delivery import slack_limits
from service.delivery.base import DeliveryStatus
from service.delivery.escape import ZWSP
from service.delivery.http import Poster, RetryPolicy
from service.delivery.slack import SlackSink
from service.delivery.slack_incident import incident_message
from service.state.incidents import INCIDENT_SCHEMA
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, HOSTILE_APP, sink_alert
from tests.sink_checks import slack_violations
from tests.sink_incidents import hostile_incident, huge_incident, risky_incident, routed_incident
from tests.strategies import strings

PORTAL = "https://entra.example.test"
# Our own links, the only "<...>" a message may hold.
OUR_LINK = re.compile(r"<https://entra\.example\.test/#view/[^|<>]+\|Risky (sign-ins|users)>")
HUGE_TEXTS = [(HOSTILE * 30)[:2000], "&<>" * 700, "\U0001f600" * 2000, "@here " * 400]


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    found = []
    for block in message["blocks"]:
        objects = [block.get("text"), *(block.get("fields") or ()), *(block.get("elements") or ())]
        found += [o["text"] for o in objects if isinstance(o, dict) and o["type"] == "mrkdwn"]
    return found


def valid(message: dict[str, Any]) -> bool:
    return slack_limits.problems(message) == [] and slack_violations(message) == []


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(200, "ok")) as receiver:
        yield receiver


def test_the_message_leads_with_the_verdict_then_reasons_breakdown_and_timeline() -> None:
    incident = risky_incident()
    message = incident_message(incident, PORTAL)
    assert valid(message)
    blocks = message["blocks"]
    assert [b["type"] for b in blocks] == [
        "header", "section", "section", "divider", "section", "divider", "section", "context"]
    assert blocks[0]["text"]["text"] == f"High risk ({incident['score']}/100): alice@contoso.com"
    assert message["text"].startswith(f"[high] High risk ({incident['score']}/100)")
    why = blocks[2]["text"]["text"].split("\n")
    assert why[0] == "*Why*" and why[1].startswith("*▲ raises:* Identity Protection risk: high")
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in blocks[4]["fields"]}
    assert fields["*Sign-ins*"].startswith("7: success 1, credential failure 6")
    assert fields["*Countries*"] == "US [Seattle] (7)"
    assert fields["*IP addresses*"] == "203.0.113.10 (7)"
    assert blocks[6]["text"]["text"].startswith("*Timeline (")
    context = blocks[7]["elements"][0]["text"]
    assert OUR_LINK.search(context) and f"`{incident['incident_id']}`" in context
    assert all(t["verbatim"] is True for b in blocks for t in
               [b.get("text"), *(b.get("fields") or ()), *(b.get("elements") or ())]
               if isinstance(t, dict) and t["type"] == "mrkdwn")


def test_lowering_reasons_are_marked_and_shown() -> None:
    why = incident_message(routed_incident(), PORTAL)["blocks"][2]["text"]["text"]
    marks = re.findall(r"\*(▲ raises|▼ lowers):\*", why)
    assert marks == ["▲ raises", "▼ lowers"] and "carrier routing" in why


def test_the_sink_renders_an_incident_payload_and_still_renders_alerts(rx: Receiver) -> None:
    slack = SlackSink(rx.url, poster=Poster("slack", RetryPolicy(max_attempts=1)),
                      portal_url=PORTAL)
    incident = risky_incident()
    payload = {"schema": INCIDENT_SCHEMA, "id": f"{incident['incident_id']}:1",
               "incident": incident}
    assert slack.send(payload).status is DeliveryStatus.DELIVERED
    assert rx.requests[-1].json()["blocks"][0]["text"]["text"].startswith("High risk (")
    slack.send(sink_alert())
    assert rx.requests[-1].json()["text"].startswith("[high] Sign-in risk")


def test_hostile_values_cannot_become_links_mentions_or_formatting() -> None:
    message = incident_message(hostile_incident(HOSTILE_APP), PORTAL)
    assert valid(message)
    for text in mrkdwn_texts(message):
        rest = OUR_LINK.sub("", text)
        assert "<" not in rest and ">" not in rest  # no <!here>, <url|x> or <@U1>
        assert "](https://" not in rest and "https://evil" not in rest
        assert "<!here>" not in text and "@here" not in text.replace("@" + ZWSP + "here", "")
        assert "*Update*" not in text  # emphasis broken by zero-width spaces
    shown = "\n".join(mrkdwn_texts(message))
    assert "Payroll " + ZWSP + "*" + ZWSP + "Update" in shown  # still there, as text


@pytest.mark.parametrize("text", HUGE_TEXTS, ids=["markup", "entities", "emoji", "broadcast"])
def test_a_huge_hostile_incident_fits_every_limit_without_falling_back(
    text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        message = incident_message(huge_incident(text), PORTAL)
    assert valid(message)
    assert caplog.records == []  # fitted by the builder, not replaced by the minimal one
    why = message["blocks"][2]["text"]["text"]
    assert why.startswith("*Why*") and re.search(r"… \d+ more reasons$", why)
    fields = message["blocks"][4]["fields"]
    assert [f["text"].split("\n")[0] for f in fields] == [
        "*Sign-ins*", "*Off hours*", "*Countries*", "*IP addresses*", "*Devices*", "*Apps*",
        "*Related (300)*"]


def test_a_message_over_a_limit_is_replaced_by_a_minimal_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    absurd_portal = "https://entra.example.test/" + "a" * 5000  # a setting, not the incident
    with caplog.at_level(logging.WARNING):
        message = incident_message(risky_incident(), absurd_portal)
    assert valid(message)
    assert message["blocks"][1]["text"]["text"].startswith("This incident could not be shown")
    assert "over Block Kit limits" in caplog.text and "aaaa" not in caplog.text


@settings(max_examples=40, deadline=None)
@given(text=strings(0, 60))
@example(text="&" * 60)
@example(text="<!channel>\ud800\u202e")
def test_any_hostile_text_fits_every_limit_and_stays_inert(text: str) -> None:
    message = incident_message(huge_incident(text, n=12), PORTAL)
    assert valid(message)
    assert message["blocks"][2]["text"]["text"].startswith("*Why*")  # not the minimal one
    for shown in mrkdwn_texts(message):
        rest = OUR_LINK.sub("", shown)
        assert "<" not in rest and ">" not in rest
