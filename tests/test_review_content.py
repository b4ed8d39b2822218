"""The review dict from its pure parts: flagged users ordered and marked off-hours/weekend,
attacking IPs with whom they touched, the inventory counts, and the schema."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import jsonschema

from detections.enrich import BusinessHours
from detections.incidents.model import Evidence
from detections.review.accuracy import AssessmentTally
from detections.review.content import ReviewWindow, build_review, watched_ips
from detections.review.inventory import WindowTally
from detections.testing import T0, risk_detection, sign_in
from tests.test_review_accuracy import alert, incident

SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "service" / "review"
                     / "review.schema.json").read_text())
SATURDAY_NIGHT = T0 + timedelta(days=5, hours=14)  # Sat 2026-11-07 23:00 UTC
TUESDAY_NOON = T0 + timedelta(days=1, hours=3)


def build():
    window = ReviewWindow(since=T0, until=T0 + timedelta(days=7), label="week")
    hours = BusinessHours()
    weak = replace(incident("w", alert("a1", "brute_force", "s2")), verdict="medium", score=40,
                   principal="bob@contoso.com")
    strong = replace(incident("s", alert("a2", "password_spray", "s1")), timeline=(
        Evidence(time=TUESDAY_NOON, kind="signin", event_id="s0", summary="ok"),
        Evidence(time=SATURDAY_NIGHT, kind="signin", event_id="s1", summary="failed",
                 ip="198.51.100.9", alerted=True),
    ))
    incidents = [weak, strong]
    tally = WindowTally(window.since, window.until, hours,
                        watched_ips(incidents, window.since, window.until))
    events = [sign_in(id="s1", time=SATURDAY_NIGHT, ip_address="198.51.100.9", success=False,
                      error_code=50126),
              sign_in(id="s3", time=SATURDAY_NIGHT, ip_address="198.51.100.9", success=False,
                      error_code=50126, user_principal_name="carol@contoso.com"),
              sign_in(id="s0", time=TUESDAY_NOON),
              sign_in(id="r1", time=TUESDAY_NOON, risk_state="atRisk",
                      risk_level_during_sign_in="medium",
                      risk_event_types=("unfamiliarFeatures", "anonymizedIPAddress")),
              sign_in(id="r2", time=TUESDAY_NOON, risk_state="atRisk",
                      risk_level_during_sign_in="low", risk_event_types=("unfamiliarFeatures",)),
              sign_in(id="r3", time=TUESDAY_NOON, risk_state="atRisk"),
              risk_detection(id="d1", time=TUESDAY_NOON, detection_timing_type="offline"),
              sign_in(id="late", time=window.until)]  # outside: until is exclusive
    for event in events:
        tally.observe(event)
    return build_review(window=window, hours=hours, generated_at=window.until, tally=tally,
                        assessment=AssessmentTally(window.since, window.until),
                        incidents=incidents, labels=[], coverage={
                            "sources": [], "gaps": [], "inputs_sha256": "0" * 64,
                            "rule_versions": [], "notes": []})


def test_users_highest_verdict_first_with_off_hours_and_weekend_marked():
    review = build()
    jsonschema.validate(review, SCHEMA)
    assert [u["principal"] for u in review["users"]] == ["alice@contoso.com", "bob@contoso.com"]
    tuesday, saturday = review["users"][0]["timeline"]
    assert (tuesday["off_hours"], tuesday["weekend"]) == (False, False)
    assert (saturday["off_hours"], saturday["weekend"], saturday["alerted"]) == (True, True, True)


def test_attacking_ips_and_the_inventory():
    review = build()
    (ip,) = review["ips"]
    assert ip["ip"] == "198.51.100.9" and ip["users"] == ["alice@contoso.com",
                                                          "carol@contoso.com"]
    assert (ip["failures"], ip["successes"], ip["rules"]) == (2, 0, ["password_spray"])
    inventory = review["inventory"]
    assert inventory["sign_ins"]["total"] == 6 and inventory["sign_ins"]["failures"] == 2
    risky = inventory["risky_sign_ins"]
    # r1 has two types and counts under each; r3 lists none.
    assert risky["total"] == 3 and risky["by_type"] == [
        {"risk_event_type": "unfamiliarFeatures", "count": 2},
        {"risk_event_type": "anonymizedIPAddress", "count": 1},
        {"risk_event_type": "unknown", "count": 1}]
    # Saturday 23:00 UTC is hour 5 * 24 + 23 of the week (Monday 00:00 first).
    assert inventory["sign_ins"]["by_hour_of_week"][5 * 24 + 23] == 2
    series = inventory["sign_ins"]["failures_over_time"]
    # Monday 09:00 to Monday 09:00 touches eight UTC days: each has its bucket.
    assert series["bucket"] == "day" and len(series["series"]) == 8
    assert series["series"][5]["counts"]["credential_failure"] == 2
    assert inventory["detections"]["by_timing"]["offline"] == 1
    assert review["actions"] == {"available": False, "why": review["actions"]["why"],
                                 "items": []} and "audit log" in review["actions"]["why"]


def test_the_actions_section_lists_the_audit_records_of_the_window() -> None:
    from detections.review.content import ACTION_KEYS, actions_section

    record = {key: None for key in ACTION_KEYS} | {
        "time": "2026-11-07T10:00:00+00:00", "action": "revoke", "outcome": "done",
        "target": "<b>eve</b>@contoso.com", "extra": "dropped"}
    proposed = record | {"action": "confirm-compromised", "outcome": "proposed"}
    section = actions_section([record, proposed])
    assert section["available"] is True and section["why"] is None
    assert [list(item) for item in section["items"]] == [list(ACTION_KEYS)] * 2
    assert section["items"][0]["target"] == "<b>eve</b>@contoso.com"  # data, as recorded
    assert (section["taken"], section["proposed"]) == (1, 1)
    empty = actions_section([])
    assert empty["available"] is True and empty["items"] == [] and "no response" in empty["why"]
