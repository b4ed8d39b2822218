from __future__ import annotations

import json
import random
from datetime import timedelta

from detections.correlation_history import History
from detections.history_records import MAX_USER_FAILURES
from detections.model import Location
from detections.predicates import user_key
from detections.testing import T0, sign_in

FAIL = {"success": False, "error_code": 50126}


def test_out_of_order_events_are_kept_sorted_and_counted_once() -> None:
    events = [sign_in(id=f"f{i}", time=T0 + timedelta(minutes=i), **FAIL) for i in range(20)]
    shuffled = events[:]
    random.Random(5).shuffle(shuffled)  # noqa: S311 - a fixed, reproducible order
    history = History()
    for e in shuffled + shuffled[:5]:  # a poll overlap delivers five again
        history.observe(e)
    failures = history.users["u-alice"].failures
    assert [a.event_id for a in failures] == [e.id for e in events]
    assert [a.event_id for a in history.ips["203.0.113.10"].failures] == [e.id for e in events]
    assert len(history.tenant.failures) == 20


def test_windows_are_bounded_by_length_and_age() -> None:
    history = History()
    for i in range(MAX_USER_FAILURES + 50):
        history.observe(sign_in(id=f"f{i}", time=T0 + timedelta(seconds=i), **FAIL))
    assert len(history.users["u-alice"].failures) == MAX_USER_FAILURES
    history.observe(sign_in(id="late", time=T0 + timedelta(days=3), **FAIL))
    assert [a.event_id for a in history.users["u-alice"].failures] == ["late"]
    # An event older than the retention arrives: it is not kept.
    history.observe(sign_in(id="ancient", time=T0, **FAIL))
    assert [a.event_id for a in history.users["u-alice"].failures] == ["late"]


def test_only_credential_and_mfa_failures_are_recorded() -> None:
    history = History()
    for i, code in enumerate((65001, 50074, 50140, 53003, 500121, 50126)):
        history.observe(sign_in(id=f"e{i}", success=False, error_code=code))
    assert [a.code for a in history.users["u-alice"].failures] == [500121, 50126]
    assert [a.code for a in history.tenant.failures] == [50126]
    # The interrupt proved the password: it is a success for the IP's spray ratio.
    assert [a.code for a in history.ips["203.0.113.10"].successes] == [50074, 50140]


def test_countries_last_success_and_sessions() -> None:
    history = History()
    gb = Location(city="London", country="GB", latitude=51.5, longitude=-0.1)
    history.observe(sign_in(id="a", time=T0 - timedelta(days=9)))
    history.observe(sign_in(id="b", time=T0, location=gb, session_id="s9"))
    history.observe(sign_in(id="c", time=T0 - timedelta(days=2)))
    state = history.users["u-alice"]
    assert state.countries["US"].first == T0 - timedelta(days=9)
    assert state.countries["US"].last == T0 - timedelta(days=2)
    assert state.countries["GB"].count == 1
    last = state.last_success
    assert last is not None and last.event_id == "b" and last.country == "GB"
    assert last.device == "dev-1" and not last.risky
    assert [n.event_id for n in state.sessions["s9"]] == ["b"]
    assert state.first_seen == T0 - timedelta(days=9)


def test_anonymizer_does_not_make_a_country_familiar_and_risk_is_remembered() -> None:
    history = History()
    history.observe(sign_in(id="tor", location=Location(country="NL"),
                            risk_event_types=("anonymizedIPAddress",)))
    history.observe(sign_in(id="r", risk_level_during_sign_in="high", risk_state="atRisk"))
    history.observe(sign_in(id="d", risk_level_during_sign_in="high", risk_state="dismissed"))
    state = history.users["u-alice"]
    assert "NL" not in state.countries
    flags = {s.event_id: (s.risky, s.anonymized) for s in state.successes}
    assert flags == {"tor": (False, True), "r": (True, False), "d": (False, False)}


def test_round_trip_through_plain_json() -> None:
    history = History()
    history.observe(sign_in(id="ok", session_id="s1", autonomous_system_number=7922))
    history.observe(sign_in(id="f", time=T0 + timedelta(minutes=1), **FAIL))
    history.observe(sign_in(id="l", time=T0 + timedelta(minutes=2), success=False,
                            error_code=50053, ip_address="192.0.2.80"))
    text = json.dumps(history.to_dict())
    again = History.from_dict(json.loads(text))
    assert again.to_dict() == history.to_dict()
    assert again.users["u-alice"].sessions["s1"][0].asn == 7922
    assert [a.event_id for a in again.tenant.lockouts] == ["l"]


def test_the_tenant_keeps_only_lockouts_from_networks_new_to_their_user() -> None:
    """A lockout from the /24 the user signed in from is their own forgotten password; the
    decision is taken as it is recorded, with the user's state at hand (the job loads only
    the window's users, so account_lockouts could not take it later)."""
    history = History()
    history.observe(sign_in(id="home", ip_address="198.51.7.20"))
    locked = {"success": False, "error_code": 50053}
    for n, ip in enumerate(("198.51.7.99", "192.0.2.80", "2001:db8::1")):
        history.observe(sign_in(id=f"l{n}", time=T0 + timedelta(minutes=n + 1),
                                ip_address=ip, **locked))
    assert [a.event_id for a in history.tenant.lockouts] == ["l1", "l2"]
    # Every one is still the user's failure and the address's.
    assert [a.event_id for a in history.users["u-alice"].failures] == ["l0", "l1", "l2"]
    # Known only from a success before the lockout.
    later = History()
    later.observe(sign_in(id="l", ip_address="198.51.7.99", **locked))
    later.observe(sign_in(id="home", time=T0 + timedelta(minutes=1), ip_address="198.51.7.20"))
    assert [a.event_id for a in later.tenant.lockouts] == ["l"]


def test_dirty_tracking_and_user_key() -> None:
    history = History()
    history.observe(sign_in(success=False, error_code=65001))  # only its id is remembered
    assert history.dirty_users == {"u-alice"} and not history.tenant_dirty
    assert not history.dirty_ips
    history.dirty_users.clear()
    history.observe(sign_in(id="f", **FAIL))
    assert history.dirty_users == {"u-alice"} and history.tenant_dirty
    assert history.dirty_ips == {"203.0.113.10"}
    assert user_key(sign_in(user_id=None, user_principal_name="Bob@Contoso.com")) == (
        "bob@contoso.com"
    )


def test_service_principal_sign_ins_are_not_user_history() -> None:
    history = History()
    history.observe(sign_in(category="servicePrincipal", **FAIL))
    assert history.users == {} and history.tenant.failures == []


def test_a_history_that_is_never_written_back_keeps_no_changed_keys() -> None:
    tracked, untracked = History(), History(tracks_changes=False)
    for history in (tracked, untracked):
        for n in range(3):
            history.observe(sign_in(id=f"s-{n}", time=T0 + timedelta(minutes=n),
                                    user_id=f"u-{n}", ip_address=f"203.0.113.{n}"))
    assert tracked.dirty_users == {"u-0", "u-1", "u-2"} and len(tracked.dirty_ips) == 3
    assert not untracked.dirty_users and not untracked.dirty_ips
    assert untracked.users.keys() == tracked.users.keys()  # it remembers all the same
