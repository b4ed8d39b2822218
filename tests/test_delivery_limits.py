"""Property tests: no alert content can crash a sink or push its payload over a limit.

Whatever the attacker-chosen text (any unicode, lone surrogates, markup, entities, very
long) and whatever JSON value sits in an alert field, every sink builds its request, the
Slack message passes slack-sdk and every Block Kit limit without falling back, the Teams
card validates against the Adaptive Card schema within 20,000 UTF-8 bytes with the text
only in TextRuns, and the webhook body is strict JSON in UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.delivery import slack_limits
from service.delivery.escape import card_literal, fit, slack_code, slack_text
from service.delivery.slack import SlackSink
from service.delivery.teams import MAX_CARD_BYTES, TeamsSink
from service.delivery.webhook import WebhookSink
from tests.sink_alerts import HOSTILE, HOSTILE_APP, sink_alert
from tests.sink_checks import card_of, card_texts, card_violations, slack_violations
from tests.strategies import strings

URL = "http://127.0.0.1:9/hook"  # never posted to: only the request bodies are built
ATTACKER_FIELDS = ("display_name", "city", "app_display_name", "device_name", "user_agent")


short_text = strings()
# Long values are a short piece repeated, so a 100,000-character value stays cheap to draw.
hostile_text = st.one_of(
    short_text,
    st.builds(
        lambda piece, n: piece * n,
        strings(1, 5),
        st.integers(1, 25_000),
    ),
    st.sampled_from([HOSTILE, HOSTILE_APP, "<>&" * 700, "@here " * 500]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | short_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(short_text, inner, max_size=4),
    max_leaves=8,
)
ONE_SCHEMA = ("1.4.0",)  # the version the card declares; both are checked in test_sinks_teams
ALERT_FIELDS = (
    "alert_id",
    "rule_id",
    "title",
    "severity",
    "risk_score",
    "principal",
    "first_seen",
    "last_seen",
    "count",
    "investigation",
    "mitre",
    "context",
)


def hostile(title: str, principal: str, values: list[str]) -> dict[str, Any]:
    context = dict(zip(ATTACKER_FIELDS, values, strict=False))
    return sink_alert(title=title, principal=principal, context=context)


def _values() -> st.SearchStrategy[list[str]]:
    return st.lists(hostile_text, min_size=len(ATTACKER_FIELDS), max_size=len(ATTACKER_FIELDS))


@settings(max_examples=60, deadline=None)
@given(title=hostile_text, principal=hostile_text, values=_values())
@example(title="&" * 5000, principal="<>&" * 700, values=["<>&" * 700] * 5)
def test_slack_messages_fit_every_block_kit_limit(
    title: str, principal: str, values: list[str]
) -> None:
    message = SlackSink(URL).payload(hostile(title, principal, values))
    assert slack_limits.problems(message) == []  # fitted by the builder, no fallback
    assert slack_violations(message) == []


@settings(max_examples=40, deadline=None)
@given(title=hostile_text, principal=hostile_text, values=_values())
@example(title=HOSTILE, principal=HOSTILE_APP, values=["\U0001f600" * 25_000] * 5)
def test_teams_cards_fit_the_schema_and_the_byte_cap(
    title: str, principal: str, values: list[str]
) -> None:
    body = TeamsSink(URL).body(hostile(title, principal, values))
    assert len(body) <= MAX_CARD_BYTES
    card = card_of(body)
    assert card_violations(card, ONE_SCHEMA) == []
    # Attacker text never reaches markdown: the TextBlocks are the same as for a calm alert.
    calm = card_of(TeamsSink(URL).body(sink_alert()))
    markdown = frozenset({"TextBlock"})
    assert card_texts(card["body"], markdown) == card_texts(calm["body"], markdown)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(ALERT_FIELDS), value=json_values, nested=st.booleans())
@example(field="investigation", value=5, nested=False)
@example(field="count", value=float("inf"), nested=False)
@example(field="user_id", value="\ud800" + "x" * 300, nested=True)
@example(field="latitude", value=float("nan"), nested=True)
def test_any_json_value_in_any_field_never_crashes_a_sink(
    field: str, value: Any, nested: bool
) -> None:
    alert = sink_alert()
    (alert["context"] if nested else alert)[field] = value
    slack_message = SlackSink(URL).payload(alert)
    assert slack_violations(slack_message) == []
    teams_body, _ = TeamsSink(URL).request(alert)
    assert (
        len(teams_body) <= MAX_CARD_BYTES and card_violations(card_of(teams_body), ONE_SCHEMA) == []
    )
    webhook_body, _ = WebhookSink(URL, secret="s" * 16).request(alert)

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    json.loads(webhook_body.decode("utf-8"), parse_constant=refuse)


@settings(max_examples=80, deadline=None)
@given(value=hostile_text, limit=st.integers(20, 3000))
@example(value="<>&" * 700, limit=2000)
@example(value="{{{", limit=20)  # found by this test: "{{{" kept a "{{"
@example(value="&&&&", limit=20)  # the cut can be empty: only the marker is left
def test_fit_never_exceeds_the_limit_or_splits_an_escape(value: str, limit: int) -> None:
    for render in (slack_text, slack_code, card_literal):
        fitted = fit(value, limit, render, size=slack_limits.length)
        assert slack_limits.length(fitted) <= limit
        if render is not card_literal:
            # Escapes are whole: each & starts an entity.
            assert all(
                fitted[i:].startswith(("&amp;", "&lt;", "&gt;"))
                for i, c in enumerate(fitted)
                if c == "&"
            )
        if fitted == render(value):
            continue
        assert fitted.endswith("… [truncated]" + ("`" if render is slack_code else ""))
    assert "{{" not in card_literal(value)
