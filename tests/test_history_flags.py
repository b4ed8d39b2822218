"""The "recently flagged" record: risky sign-ins and alerts per user, bounded, and
``detections.correlation.recent_flag`` reading it."""

from __future__ import annotations

import json
from datetime import timedelta

from detections.correlation import recent_flag
from detections.correlation_history import History, key_of, user_keys_of
from detections.engine import Engine
from detections.history_marks import FLAG_RETENTION, MAX_FLAGS
from detections.model import Severity
from detections.registry import load_rules
from detections.rule import Context
from detections.testing import T0, risk_detection, risky_user, sign_in

WEEK = timedelta(days=7)
RISKY = {"risk_level_during_sign_in": "medium", "risk_state": "atRisk"}


def ctx(history: History) -> Context:
    return Context(history=history, params={})


def test_a_risky_sign_in_flags_its_user_under_id_and_upn() -> None:
    history = History()
    history.observe(sign_in(id="r1", **RISKY))
    for key in ("u-alice", "alice@contoso.com"):
        flag = recent_flag(ctx(history), key, T0 + timedelta(hours=1), WEEK)
        assert flag is not None
        assert (flag.kind, flag.source_event, flag.time) == ("riskySignIn", "r1", T0)
        assert "riskState=atRisk" in flag.reason
        assert "during=medium" in flag.reason


def test_clean_and_closed_risk_sign_ins_flag_nobody() -> None:
    history = History()
    history.observe(sign_in(id="c1"))
    history.observe(sign_in(id="c2", risk_level_during_sign_in="high", risk_state="dismissed"))
    history.observe(sign_in(id="c3", risk_level_during_sign_in="high", risk_state="remediated"))
    assert recent_flag(ctx(history), "u-alice", T0 + timedelta(hours=1), WEEK) is None


def test_the_horizon_and_the_judged_event_itself_bound_the_answer() -> None:
    history = History()
    history.observe(sign_in(id="r1", **RISKY))
    c = ctx(history)
    assert recent_flag(c, "u-alice", T0 + 6 * timedelta(days=1), WEEK) is not None
    assert recent_flag(c, "u-alice", T0 + 8 * timedelta(days=1), WEEK) is None
    assert recent_flag(c, "u-alice", T0 - timedelta(minutes=1), WEEK) is None  # in the future
    assert recent_flag(c, "u-alice", T0, WEEK, exclude_event="r1") is None
    assert recent_flag(c, "u-nobody", T0, WEEK) is None


def test_the_engine_flags_the_user_of_an_alert_after_judging() -> None:
    engine = Engine(load_rules())
    detection = risk_detection(id="rd-9", user_id="u-bob", user_principal_name="bob@contoso.com",
                               risk_level="high")
    matches, failures = engine.evaluate(detection)
    assert failures == [] and matches
    c = Context(history=engine.history, params={})
    flag = recent_flag(c, key_of("u-bob", None), T0 + timedelta(minutes=5), WEEK)
    assert flag is not None and flag.kind == "alert"
    assert flag.reason in {m.rule.id for m in matches}
    assert flag.source_event == "rd-9"


def test_min_severity_ignores_lesser_alerts() -> None:
    history = History()
    event = sign_in(id="e1")
    history.flag_alert(event, "off_hours_thing", Severity.LOW, event.principal)
    c = ctx(history)
    assert recent_flag(c, "u-alice", T0, WEEK) is not None
    assert recent_flag(c, "u-alice", T0, WEEK, min_severity=Severity.MEDIUM) is None
    history.flag_alert(sign_in(id="e2"), "brute_force", Severity.HIGH, event.principal)
    found = recent_flag(c, "u-alice", T0, WEEK, min_severity=Severity.MEDIUM)
    assert found is not None and found.reason == "brute_force"


def test_an_alert_about_many_users_flags_none_of_them() -> None:
    history = History()
    event = sign_in(id="s1", success=False, error_code=50126)
    history.flag_alert(event, "password_spray", Severity.MEDIUM, "12 users")
    assert history.users == {}
    history.flag_alert(event, "brute_force", Severity.MEDIUM, "Alice@Contoso.com")
    assert recent_flag(ctx(history), "alice@contoso.com", T0, WEEK) is not None


def test_flags_are_bounded_per_user_by_count_and_age() -> None:
    history = History()
    for i in range(MAX_FLAGS + 10):
        history.observe(sign_in(id=f"r{i}", time=T0 + timedelta(minutes=i), **RISKY))
    flags = history.users["u-alice"].flags
    assert len(flags) == MAX_FLAGS
    assert flags[-1].source_event == f"r{MAX_FLAGS + 9}"
    later = T0 + FLAG_RETENTION + timedelta(days=1)
    history.observe(sign_in(id="late", time=later, **RISKY))
    assert [f.source_event for f in history.users["u-alice"].flags] == ["late"]


def test_a_re_read_event_flags_once() -> None:
    history = History()
    event = sign_in(id="r1", **RISKY)
    history.observe(event)
    history.flag_alert(event, "risk_level_passthrough", Severity.MEDIUM, event.principal)
    history.observe(event)
    history.flag_alert(event, "risk_level_passthrough", Severity.MEDIUM, event.principal)
    kinds = [f.kind for f in history.users["u-alice"].flags]
    assert sorted(kinds) == ["alert", "riskySignIn"]


def test_flags_survive_the_plain_dict_form() -> None:
    history = History()
    history.observe(sign_in(id="r1", **RISKY))
    history.flag_alert(sign_in(id="r1", **RISKY), "impossible_travel", Severity.HIGH,
                       "alice@contoso.com")
    again = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert again.users["u-alice"].flags == history.users["u-alice"].flags
    # State written before flags existed still loads.
    old = history.to_dict()
    del old["users"]["u-alice"]["flags"]
    assert History.from_dict(old).users["u-alice"].flags == []


def test_the_keys_of_each_event_type() -> None:
    assert user_keys_of(sign_in()) == ("u-alice", "alice@contoso.com")
    assert user_keys_of(sign_in(user_id=None)) == ("alice@contoso.com",)
    assert user_keys_of(sign_in(category="servicePrincipal")) == ()
    assert user_keys_of(risky_user(id="U-1", user_principal_name=None)) == ("u-1",)
    assert user_keys_of(risk_detection(user_id=None, user_principal_name=None)) == ()
