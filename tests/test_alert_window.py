"""The one window decision: examples at its boundaries, and properties over any order."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from detections.alert_window import AlertWindow, join_window
from detections.alerts import AlertGrouper
from detections.engine import Engine, Match
from detections.registry import rule_by_id
from detections.testing import T0, sign_in

LENGTH = timedelta(minutes=40)
PASSTHROUGH = rule_by_id("risk_level_passthrough")  # dedup per principal, 40 minutes


def at(minutes: float):
    return T0 + timedelta(minutes=minutes)


def test_a_match_at_the_window_end_opens_a_new_alert():
    window = AlertWindow.opened_at(at(0), LENGTH)
    assert join_window(window, at(40), LENGTH) is None
    assert join_window(window, at(39.99), LENGTH) == AlertWindow(at(0), at(39.99), at(40))


def test_an_earlier_match_moves_the_window_back_to_start_at_it():
    window = AlertWindow.opened_at(at(30), LENGTH)
    assert join_window(window, at(0), LENGTH) == AlertWindow(at(0), at(30), at(40))


def test_a_straggler_more_than_a_window_early_joins_and_the_window_stays():
    window = AlertWindow.opened_at(at(50), LENGTH)
    assert join_window(window, at(5), LENGTH) == AlertWindow(at(5), at(50), at(90))


def match_at(minutes: float) -> Match:
    event = sign_in(id=f"si-{minutes}", time=at(minutes), risk_level_during_sign_in="medium",
                    risk_state="atRisk")
    (match,), _ = Engine([PASSTHROUGH]).evaluate(event)
    return match


def test_the_grouper_asks_the_same_decision():
    """Read 09:30, then 09:00 and 09:45: in time order 09:00 and 09:30 are one alert and
    09:45 another. (The grouper used to keep 09:30's window and count all three.)"""
    grouper = AlertGrouper()
    for minutes in (30, 0, 45):
        grouper.add(match_at(minutes))
    assert [(a.first_seen, a.count) for a in grouper.alerts()] == [(at(0), 2), (at(45), 1)]


minutes = st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=12)


@given(minutes)
@example([30, 0, 45])
def test_a_window_never_grows_and_always_holds_its_matches(times):
    window: AlertWindow | None = None
    for t in times:
        joined = None if window is None else join_window(window, at(t), LENGTH)
        if window is not None and joined is not None:
            assert joined.end <= window.end
            window = joined
        elif window is None or at(t) >= window.end:
            window = AlertWindow.opened_at(at(t), LENGTH)
        assert window.first_seen <= window.last_seen < window.end


@settings(max_examples=100)
@given(st.permutations(range(0, 40, 3)), st.integers(min_value=0, max_value=1000))
def test_matches_within_one_window_form_one_alert_in_any_order(order, offset):
    spread = list(order)  # 0 to 39 minutes: every match inside one 40-minute span
    window = AlertWindow.opened_at(at(offset + spread[0]), LENGTH)
    for t in spread[1:]:
        joined = join_window(window, at(offset + t), LENGTH)
        assert joined is not None
        window = joined
    first = at(offset + min(spread))
    assert window == AlertWindow(first, at(offset + max(spread)), first + LENGTH)
