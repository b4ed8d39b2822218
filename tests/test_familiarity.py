"""Per-user familiarity: known devices, networks and places, bounded, expiring, persisted."""

from __future__ import annotations

import json
import sys
from datetime import timedelta

from detections.correlation_history import History, familiar_keys
from detections.familiarity import (
    CAPS,
    DEVICE,
    RETENTION,
    WARMUP,
    Familiarity,
    device_key,
    network_keys,
    place_key,
    prefix_key,
)
from detections.history_records import UserState
from detections.model import Device
from detections.rules._familiar_timelines import (
    CHICAGO,
    PHONE,
    desk,
    phone,
    weeks_of_desk_and_phone,
)
from detections.testing import T0, sign_in

DAY = timedelta(days=1)


def history_of(*events: object) -> History:
    history = History()
    history.observe_all(events)  # type: ignore[arg-type]
    return history


def test_successful_sign_ins_teach_device_networks_and_place() -> None:
    user = history_of(*weeks_of_desk_and_phone()).users["u-alice"]
    known = user.familiar(T0)
    assert known is not None
    assert known.known(device_key("dev-phone"), T0)
    assert known.known(device_key("dev-1"), T0)
    assert known.known_network(21928, "172.56.200.1", T0)  # the carrier's ASN
    assert known.known_network(None, "203.0.113.99", T0)  # the home /24, without an ASN
    assert known.known(place_key("US", "chicago"), T0)
    assert not known.known(device_key("dev-evil"), T0)
    assert not known.known_network(14061, "45.55.10.10", T0)
    first, last, count = known.seen(device_key("dev-phone")) or (None, None, 0)
    assert (first, count) == (phone(14).time, 14)
    assert last == phone(1).time


def test_nothing_is_known_before_the_warm_up() -> None:
    user = history_of(desk(3), phone(3), desk(2)).users["u-alice"]
    assert user.known is not None and len(user.known) > 0
    assert user.familiar(T0) is None  # three days of history: not enough
    assert user.familiar(desk(3).time + WARMUP) is not None


def test_failures_risky_and_anonymized_sign_ins_teach_nothing() -> None:
    history = history_of(
        sign_in(id="f", success=False, error_code=50126, device=Device(device_id="dev-x")),
        sign_in(id="r", device=Device(device_id="dev-r"), risk_level_during_sign_in="high",
                risk_state="atRisk"),
        sign_in(id="a", device=Device(device_id="dev-a"),
                risk_event_types=("anonymizedIPAddress",)),
    )
    user = history.users["u-alice"]
    assert user.known is None or all(
        user.known.seen(device_key(d)) is None for d in ("dev-x", "dev-r", "dev-a"))


def test_the_sign_in_itself_does_not_make_itself_known() -> None:
    known = Familiarity()
    known.learn((device_key("dev-1"),), T0)
    assert not known.known(device_key("dev-1"), T0)
    assert known.known(device_key("dev-1"), T0 + timedelta(seconds=1))


def test_keys_expire_after_the_baseline_and_each_kind_is_capped() -> None:
    known = Familiarity()
    known.learn((device_key("old"),), T0 - RETENTION - DAY)
    for i in range(CAPS[DEVICE] + 5):
        known.learn((device_key(f"dev-{i}"),), T0 + i * timedelta(minutes=1))
    assert known.seen(device_key("old")) is None  # expired
    assert len(known) == CAPS[DEVICE]
    assert known.seen(device_key("dev-0")) is None  # the least recently seen went first
    assert known.seen(device_key(f"dev-{CAPS[DEVICE] + 4}")) is not None
    # A key last seen longer ago than the baseline is not known, even if still kept.
    late = Familiarity()
    late.learn((device_key("d"),), T0)
    assert not late.known(device_key("d"), T0 + RETENTION + DAY)


def test_networks_are_the_asn_and_the_24_or_48_prefix() -> None:
    assert prefix_key("203.0.113.10") == prefix_key("203.0.113.200")
    assert prefix_key("203.0.113.10") != prefix_key("203.0.114.10")
    assert prefix_key("2001:db8:1:2::1") == prefix_key("2001:db8:1:ffff::9")
    assert prefix_key("2001:db8:1:2::1") != prefix_key("2001:db8:2:2::1")
    assert prefix_key("not an ip") is None and prefix_key("1.2.3") is None
    assert prefix_key("999.1.1.1") is None
    assert network_keys(None, None) == (None, None)
    assert network_keys(4_200_000_000, None)[0] is not None  # 4-byte ASNs too


def test_familiarity_survives_to_dict_and_old_stored_forms_load() -> None:
    user = history_of(*weeks_of_desk_and_phone()).users["u-alice"]
    stored = json.loads(json.dumps(user.to_dict()))
    again = UserState.from_dict(stored)
    assert again.known is not None and list(again.known) == list(user.known or [])
    # A state written before familiarity (no "known", short session and success rows).
    del stored["known"]
    stored["successes"] = [row[:10] for row in stored["successes"]]
    stored["sessions"] = {"s": [["2026-11-02T09:00:00+00:00", "e", "u", "1.2.3.4", 0, 7922,
                                 "US"]]}
    old = UserState.from_dict(stored)
    assert old.known is None and old.familiar(T0) is None
    assert old.successes[-1].asn is None
    assert old.sessions["s"][0].device is None and old.sessions["s"][0].trusted is False


def test_a_compact_state_per_user() -> None:
    user = history_of(*weeks_of_desk_and_phone()).users["u-alice"]
    assert user.known is not None
    # Two devices, two ASNs, 15 prefixes (the carrier's change daily), two places.
    assert len(user.known) == 2 + 2 + 15 + 2
    # One array of 16 bytes a key: no object or string per key.
    assert sys.getsizeof(user.known) <= 100 + 16 * len(user.known)


def test_familiar_keys_of_a_sign_in() -> None:
    event = phone(0, location=CHICAGO)
    keys = familiar_keys(event)
    assert keys[0] == device_key(PHONE.device_id)
    assert keys[-1] == place_key("US", "Chicago")
    assert familiar_keys(sign_in(device=Device(), ip_address=None, location=CHICAGO,
                                 autonomous_system_number=None))[:3] == (None, None, None)
