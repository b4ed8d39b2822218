"""The Teams rendering of an incident: verdict and reasons first, then the breakdown and a
short timeline; literal TextRuns only; the Adaptive Card schema; the 20,000-byte cap."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings

from service.delivery.base import DeliveryStatus
from service.delivery.escape import card_literal, flatten
from service.delivery.http import Poster, RetryPolicy
from service.delivery.render import DEFAULT_PORTAL_URL
from service.delivery.teams import MAX_CARD_BYTES, TeamsSink, encode
from service.delivery.teams_incident import incident_card
from service.state.incidents import INCIDENT_SCHEMA
from tests.receivers import Receiver, Reply
from tests.sink_alerts import HOSTILE, HOSTILE_APP, sink_alert
from tests.sink_checks import card_of, card_texts, card_violations
from tests.sink_incidents import hostile_incident, huge_incident, risky_incident, routed_incident
from tests.strategies import strings

PORTAL = "https://entra.example.test"
OUR_URLS = [
    PORTAL + "/#view/Microsoft_AAD_IAM/SecurityMenuBlade/~/RiskySignIns",
    PORTAL + "/#view/Microsoft_AAD_IAM/SecurityMenuBlade/~/RiskyUsers",
]
TEXT_RUN = frozenset({"TextRun"})
# 2,000 characters of each kind of trouble: markup, 3-byte UTF-8, JSON escapes, templates.
HUGE_TEXTS = [
    (HOSTILE * 30)[:2000],
    "€" * 2000,
    '"\\' * 1000,
    ("{{DATE(2026-11-02T09:00:00Z)}}" * 70)[:2000],
    "\U0001f600" * 2000,
]


def card(incident: dict[str, Any]) -> dict[str, Any]:
    return card_of(encode(incident_card(incident, PORTAL)))


def runs(card_: dict[str, Any]) -> list[str]:
    return card_texts(card_["body"], TEXT_RUN)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with Receiver(default=Reply(202)) as receiver:
        yield receiver


def test_the_card_leads_with_the_verdict_then_reasons_breakdown_and_timeline() -> None:
    incident = risky_incident()
    texts = runs(card(incident))
    assert texts[0] == f"High risk ({incident['score']}/100): alice@contoso.com"
    assert texts[1].startswith("user incident · revision ")
    order = [texts.index(t) for t in ("Why", "Breakdown")]
    timeline = next(i for i, t in enumerate(texts) if t.startswith("Timeline ("))
    assert order[0] < order[1] < timeline
    why = texts[order[0] + 1 : order[1]]
    assert why[0] == "▲ raises: " and why[1] == incident["reasons"][0]["text"]
    breakdown = dict(zip(texts[order[1] + 1 : timeline : 2],
                         texts[order[1] + 2 : timeline : 2], strict=True))
    assert breakdown["Sign-ins: "].startswith("7: success 1, credential failure 6")
    assert breakdown["Countries: "] == "US [Seattle] (7)"
    assert breakdown["IP addresses: "] == "203.0.113.10 (7)"
    (app,) = incident["breakdown"]["apps"]
    assert breakdown["Apps: "] == f"{app['app']} ({app['count']})"
    assert "Off hours: " in breakdown


def test_lowering_reasons_are_marked_and_shown() -> None:
    texts = runs(card(routed_incident()))
    marks = [t for t in texts if t in {"▲ raises: ", "▼ lowers: "}]
    assert marks == ["▲ raises: ", "▼ lowers: "]
    assert any("carrier routing" in t for t in texts)


def test_a_long_timeline_shows_its_first_and_last_entries_and_says_how_many_are_left() -> None:
    incident = huge_incident("x", n=40)
    texts = runs(card(incident))
    assert "Timeline (8 of 40 entries: the first, the last and the turning points)" in texts
    entries = [t for t in texts if t.startswith("2026-11-02 ")]
    assert entries[0].startswith("2026-11-02 09:00 UTC · sign-in to x")
    assert entries[-1].startswith("2026-11-02 09:39 UTC")
    assert len(entries) == 8


def test_the_sink_renders_an_incident_payload_and_still_renders_alerts(rx: Receiver) -> None:
    teams = TeamsSink(rx.url, poster=Poster("teams", RetryPolicy(max_attempts=1)),
                      portal_url=PORTAL)
    incident = risky_incident()
    payload = {"schema": INCIDENT_SCHEMA, "id": f"{incident['incident_id']}:1",
               "incident": incident}
    assert teams.send(payload).status is DeliveryStatus.DELIVERED
    sent = card_of(rx.requests[-1].body)
    assert runs(sent)[0].startswith("High risk (")
    assert [a["url"] for a in sent["actions"]] == OUR_URLS
    teams.send(sink_alert())
    assert runs(card_of(rx.requests[-1].body))[0].startswith("Sign-in risk")


def test_hostile_values_are_literal_text_runs_and_nothing_is_markdown() -> None:
    card_ = card(hostile_incident(HOSTILE_APP))
    texts = runs(card_)
    assert HOSTILE_APP.lower() in texts[0]  # the principal is the UPN, lowercased
    assert any(HOSTILE_APP in t for t in texts)  # the app, city and device as typed
    assert card_texts(card_["body"], frozenset({"TextBlock"})) == []
    assert not [t for t in texts if "\\" in t]
    assert [a["url"] for a in card_["actions"]] == OUR_URLS
    assert card_violations(card_) == []


@pytest.mark.parametrize("text", HUGE_TEXTS, ids=["markup", "euro", "json", "template", "emoji"])
def test_a_huge_hostile_incident_fits_the_cap_and_the_schema(text: str) -> None:
    body = encode(incident_card(huge_incident(text), PORTAL))
    assert len(body) <= MAX_CARD_BYTES
    card_ = card_of(body)
    assert card_violations(card_) == []
    texts = runs(card_)
    assert texts[0].startswith("Low risk (") or texts[0].startswith("High risk (")
    assert "Why" in texts and "Breakdown" in texts  # fitted by showing less, not minimal
    assert any(t.endswith("more reasons") for t in texts)
    assert any("the full incident is in the outbox" in t for t in texts)
    assert not any("{{" in t for t in texts)


def test_an_absurd_portal_url_still_gives_a_card_within_the_cap() -> None:
    absurd_portal = "https://entra.example.test/" + "a" * 30_000  # a setting, not the incident
    body = encode(incident_card(huge_incident(HOSTILE), absurd_portal))
    assert len(body) <= MAX_CARD_BYTES
    assert card_violations(card_of(body)) == []


def test_a_small_incident_is_not_marked_shortened() -> None:
    texts = runs(card(risky_incident()))
    assert not any("shortened" in t for t in texts)


@settings(max_examples=40, deadline=None)
@given(text=strings(0, 60))
@example(text="{{{")
@example(text="\ud800\n\u202e")
def test_any_hostile_text_is_shown_literally_within_the_cap_and_schema(text: str) -> None:
    incident = huge_incident(text, n=12)
    body = encode(incident_card(incident, DEFAULT_PORTAL_URL))
    assert len(body) <= MAX_CARD_BYTES
    card_ = card_of(body)
    assert card_violations(card_, ("1.4.0",)) == []
    texts = runs(card_)
    # The principal reads exactly as the card_literal of what was received.
    assert texts[0].endswith(": " + (card_literal(text) or "unknown"))
    assert all(flatten(t) == t.strip() for t in texts)  # no control characters, no bidi
    assert not any("{{" in t for t in texts)
    json.dumps(card_, ensure_ascii=False).encode("utf-8")  # no lone surrogate survives
