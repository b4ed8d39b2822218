"""Grouping matches into alerts within the rule's window, and the per-run cap."""

from __future__ import annotations

import json
from datetime import timedelta

from detections.alerts import OVERFLOW_RULE_ID, AlertGrouper, alert_id_for
from detections.engine import Engine, Match
from detections.registry import rule_by_id
from detections.testing import T0, sign_in

PASSTHROUGH = rule_by_id("risk_level_passthrough")  # dedup per principal, 40 minutes


def match_at(minutes: float, principal: str = "alice@contoso.com", level: str = "medium") -> Match:
    event = sign_in(
        id=f"si-{principal}-{minutes}",
        time=T0 + timedelta(minutes=minutes),
        user_principal_name=principal,
        risk_level_during_sign_in=level,
        risk_state="atRisk",
    )
    (match,), _ = Engine([PASSTHROUGH]).evaluate(event)
    return match


def test_matches_inside_the_window_raise_count_and_last_seen() -> None:
    grouper = AlertGrouper()
    assert grouper.add(match_at(0)) is not None
    assert grouper.add(match_at(10)) is None
    assert grouper.add(match_at(39, level="high")) is None
    (alert,) = grouper.alerts()
    assert alert.count == 3
    assert alert.first_seen == T0
    assert alert.last_seen == T0 + timedelta(minutes=39)
    assert alert.severity.value == "high"  # the worst match wins
    assert alert.event_ids == ["si-alice@contoso.com-0", "si-alice@contoso.com-10",
                               "si-alice@contoso.com-39"]


def test_a_match_after_the_window_opens_a_new_alert() -> None:
    grouper = AlertGrouper()
    grouper.add(match_at(0))
    assert grouper.add(match_at(41)) is not None
    assert [a.count for a in grouper.alerts()] == [1, 1]


def test_an_earlier_out_of_order_match_joins_the_alert() -> None:
    grouper = AlertGrouper()
    grouper.add(match_at(20))
    assert grouper.add(match_at(5)) is None
    (alert,) = grouper.alerts()
    assert alert.first_seen == T0 + timedelta(minutes=5)


def test_the_cap_turns_the_surplus_into_one_overflow_alert() -> None:
    grouper = AlertGrouper(max_alerts=2)
    for n in range(5):
        grouper.add(match_at(0, principal=f"user{n}@contoso.com"))
    alerts = grouper.alerts()
    assert len(alerts) == 3
    overflow = alerts[-1]
    assert overflow.rule_id == OVERFLOW_RULE_ID
    assert overflow.count == 3
    assert overflow.context["suppressed_by_rule"] == {"risk_level_passthrough": 3}


def test_alert_ids_are_deterministic_and_the_dict_is_json() -> None:
    one, two = AlertGrouper(), AlertGrouper()
    a, b = one.add(match_at(0)), two.add(match_at(0))
    assert a is not None and b is not None
    assert a.alert_id == b.alert_id == alert_id_for(a.dedup_key, a.first_seen)
    data = json.loads(json.dumps(a.to_dict()))
    for key in ("rule_id", "severity", "title", "principal", "dedup_key", "first_seen",
                "last_seen", "count", "event_ids", "mitre", "context"):
        assert key in data
