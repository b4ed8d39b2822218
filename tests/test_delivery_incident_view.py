"""The format-neutral incident view: which reasons and timeline entries a message shows,
and that a damaged incident field never stops a message."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.delivery.incident_view import Budget, incident_view
from service.delivery.render import Fact
from service.delivery.slack_incident import incident_message
from service.delivery.teams import MAX_CARD_BYTES, encode
from service.delivery.teams_incident import incident_card
from service.state.incidents import encode_notification, notification
from tests.sink_checks import card_of, card_violations, slack_violations
from tests.sink_incidents import huge_incident, risky_incident, risky_incident_record
from tests.strategies import strings

PORTAL = "https://entra.example.test"
FIELDS = ("incident_id", "revision", "principal", "principal_type", "verdict", "score",
          "reasons", "alerts", "rules", "first_seen", "last_seen", "privileged", "breakdown",
          "timeline", "related")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | strings(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings(), inner, max_size=4),
    max_leaves=8,
)


def reason(effect: str, n: int) -> dict[str, Any]:
    return {"text": f"{effect} {n}", "effect": effect, "rule_id": None, "event_ids": []}


def test_lowering_reasons_keep_their_places_among_the_top_ones() -> None:
    incident = {"reasons": [*(reason("raises", n) for n in range(10)),
                            *(reason("lowers", n) for n in range(3))]}
    v = incident_view(incident, PORTAL, Budget(reasons=6))
    assert [r.text for r in v.reasons] == [
        "raises 0", "raises 1", "raises 2", "raises 3", "lowers 0", "lowers 1"]
    assert [r.mark for r in v.reasons][-2:] == ["▼ lowers", "▼ lowers"]
    assert v.reasons_left_out == 7


def test_few_raises_leave_their_places_to_lowers() -> None:
    incident = {"reasons": [reason("raises", 0), *(reason("lowers", n) for n in range(9))]}
    v = incident_view(incident, PORTAL, Budget(reasons=4))
    assert [r.text for r in v.reasons] == ["raises 0", "lowers 0", "lowers 1", "lowers 2"]


def test_the_short_timeline_keeps_the_ends_and_the_turning_points() -> None:
    def entry(minute: int, kind: str = "signin", result: str = "success") -> dict[str, Any]:
        return {"time": f"2026-11-02T09:{minute:02d}:00+00:00", "kind": kind, "result": result,
                "summary": f"entry {minute}"}

    timeline = [entry(m) for m in range(20)]
    timeline[7] = entry(7, kind="detection", result="atRisk")
    timeline[12] = entry(12, result="credential_failure")
    timeline[15] = {"time": timeline[15]["time"], "kind": "omitted",
                    "summary": "40 entries left out"}
    v = incident_view({"timeline": timeline}, PORTAL, Budget(entries=6))
    minutes = [t.split(" · ")[1] for t in v.timeline]
    assert minutes == ["entry 0", "entry 1", "entry 7", "entry 12", "entry 18", "entry 19"]
    assert (v.timeline_total, v.timeline_left_out) == (59, 53)
    assert v.timeline[0].startswith("2026-11-02 09:00 UTC · entry 0")
    assert "credential failure" in v.timeline[3]


def test_an_empty_incident_still_names_what_is_missing() -> None:
    v = incident_view({}, PORTAL)
    assert v.headline == "Unknown risk (-/100): unknown"
    assert v.reasons == () and v.timeline == ()


@pytest.mark.parametrize("incident", [None, [], "text"])
def test_a_damaged_incident_gives_a_message_not_a_crash(incident: Any) -> None:
    assert slack_violations(incident_message(incident, PORTAL)) == []
    assert card_violations(card_of(encode(incident_card(incident, PORTAL)))) == []


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(FIELDS), value=json_values)
@example(field="reasons", value=[{"effect": ["raises"], "text": "x"}])  # an unhashable effect
@example(field="score", value=float("nan"))
@example(field="timeline", value=[{"kind": "omitted", "summary": "9" * 400}])
def test_any_json_value_in_any_field_never_crashes_either_renderer(field: str, value: Any) -> None:
    incident = risky_incident()
    incident[field] = value
    assert slack_violations(incident_message(incident, PORTAL)) == []
    body = encode(incident_card(incident, PORTAL))
    assert len(body) <= MAX_CARD_BYTES
    assert card_violations(card_of(body), ("1.4.0",)) == []


def test_breakdown_lists_say_how_many_items_they_left_out() -> None:
    v = incident_view(huge_incident("x", n=30), PORTAL, Budget(items=3))
    rows = {f.label: f.value for f in v.breakdown}
    assert rows["Apps"] == "x0 (30); x1 (29); x2 (28); 27 more"
    assert rows["IP addresses"].startswith("x0 AS64500 (30); ")
    assert rows["Related (30)"] == "x0; x1; x2; 27 more"


def test_a_notification_cut_to_fit_storage_counts_what_it_left_out() -> None:
    incident = huge_incident("x", n=40)
    incident["truncated"] = {"timeline": 25, "related": 30}
    v = incident_view(incident, PORTAL)
    assert (v.timeline_total, v.timeline_left_out) == (65, 57)
    assert {f.label: f.value for f in v.breakdown}["Related (70)"].endswith("; 65 more")


def test_a_stored_notification_without_its_breakdown_says_so_instead_of_zeros() -> None:
    payload = notification(risky_incident_record(), [])
    stored = json.loads(encode_notification({**payload, "incident": huge_incident("€" * 2000)},
                                            limit=30_000))
    assert "breakdown" not in stored["incident"]  # the store kept only the essentials
    v = incident_view(stored["incident"], PORTAL)
    assert v.breakdown == (Fact("Breakdown", "not available for this notification"),)
    assert v.verdict == stored["incident"]["verdict"] and v.reasons
    assert slack_violations(incident_message(stored["incident"], PORTAL)) == []
