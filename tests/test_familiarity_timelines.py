"""Issue 18's familiarity cases as timelines, through ``riskwatch scan`` and through the
pipeline (``run --once`` on Azurite, its history in the packed Table store, saved between
two runs), with identical results: the benign ones stay quiet, the attacks fire."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from detections.model import Device, Location, SignIn
from detections.rules._familiar_timelines import (
    NEW_PHONE,
    OFFICE,
    PROXY,
    VPN,
    VPS,
    desk,
    phone,
    session,
    weeks_of_desk_and_phone,
    weeks_of_home_vpn_office,
    weeks_with_new_phone,
)
from detections.testing import T0
from tests.test_cli import write_lines
from tests.test_parity import cli, compared, deployed

pytestmark = pytest.mark.azurite
AMSTERDAM = Location(city="Amsterdam", country="NL", latitude=52.37, longitude=4.9)
EVIL = Device(device_id="dev-evil", os="Linux", browser="Firefox")
NO_ID = Device(os="Windows 10", browser="Chrome 131")
TRAVEL, REPLAY = "impossible_travel", "session_multiple_ips"

# name: (history, the judged day's sign-ins, rule, whether the last one must alert)
CASES: dict[str, tuple[tuple[SignIn, ...], tuple[SignIn, ...], str, bool]] = {
    "carrier phone": (weeks_of_desk_and_phone(), (desk(0), phone(0)), TRAVEL, False),
    "new phone": (weeks_with_new_phone(), (desk(0), phone(0, NEW_PHONE)), TRAVEL, False),
    "new device": (weeks_of_desk_and_phone(), (desk(0), phone(0, EVIL, **VPS)), TRAVEL, True),
    "home vpn office": (weeks_of_home_vpn_office(),
                        (session(0, 0, "home"), session(0, 20, "vpn", **VPN),
                         session(0, 50, "office", **OFFICE)), REPLAY, False),
    "vps replay": (weeks_of_home_vpn_office(),
                   (session(0, 0, "home"), session(0, 10, "vps", **VPS)), REPLAY, True),
    "proxy replay": (weeks_of_home_vpn_office(),
                     (session(0, 0, "home"), session(0, 10, "proxy", device=NO_ID,
                                                     user_agent="Mozilla/5.0 Chrome/131",
                                                     **PROXY)), REPLAY, True),
    "abroad replay": (weeks_of_home_vpn_office(),
                      (session(0, 0, "office", **OFFICE),
                       session(0, 15, "nl", location=AMSTERDAM, autonomous_system_number=1136,
                               ip_address="145.1.1.1")), REPLAY, True),
}


def as_user(event: SignIn, case: int) -> SignIn:
    """The case's own user, ids and sessions: every case in one tenant."""
    return replace(event, id=f"c{case}-{event.id}", user_id=f"u-case{case}",
                   user_principal_name=f"case{case}@contoso.com",
                   session_id=f"c{case}-{event.session_id}" if event.session_id else None)


def graph(e: SignIn) -> dict[str, Any]:
    """``e`` as the Graph signIn object it was read from (networkLocationDetails included)."""
    loc, dev = e.location, e.device
    record: dict[str, Any] = {
        "id": e.id, "createdDateTime": e.time.isoformat(), "userPrincipalName":
        e.user_principal_name, "userId": e.user_id, "appId": e.app_id,
        "appDisplayName": e.app_display_name, "ipAddress": e.ip_address,
        "autonomousSystemNumber": e.autonomous_system_number, "status": {"errorCode": 0},
        "isInteractive": True, "riskLevelDuringSignIn": "none", "riskLevelAggregated": "none",
        "riskState": "none", "riskDetail": "none", "sessionId": e.session_id,
        "userAgent": e.user_agent,
        "location": {"city": loc.city, "state": loc.state, "countryOrRegion": loc.country,
                     "geoCoordinates": {"latitude": loc.latitude, "longitude": loc.longitude}},
        "deviceDetail": {"deviceId": dev.device_id or "", "operatingSystem": dev.os,
                         "browser": dev.browser},
    }
    if e.trusted_location:
        record["networkLocationDetails"] = [{"networkType": "trustedNamedLocation",
                                             "networkNames": list(e.named_networks)}]
    return record


@pytest.fixture
def state(monkeypatch, storage_connection, table_prefix):
    monkeypatch.setenv("RISKWATCH_STORAGE", storage_connection)
    monkeypatch.setenv("RISKWATCH_TABLE_PREFIX", table_prefix)


def fired_on_last(alerts: list[dict[str, Any]]) -> dict[str, bool]:
    """Per case: whether its rule alerted with the case's last sign-in."""
    out = {}
    for i, (name, (_, judged, rule, _)) in enumerate(CASES.items()):
        last = as_user(judged[-1], i).id
        out[name] = any(a["rule_id"] == rule and last in a["event_ids"] for a in alerts)
    return out


def test_the_familiarity_cases_in_scan_and_in_the_pipeline(tmp_path: Path, capsys,
                                                           state) -> None:
    history = [as_user(e, i) for i, (h, _, _, _) in enumerate(CASES.values()) for e in h]
    judged = [as_user(e, i) for i, (_, j, _, _) in enumerate(CASES.values()) for e in j]
    before = write_lines(tmp_path / "before.jsonl", [graph(e) for e in history])
    today = write_lines(tmp_path / "today.jsonl", [graph(e) for e in judged])
    scanned = cli(capsys, "scan", str(before), str(today))
    expected = {name: fires for name, (_, _, _, fires) in CASES.items()}
    assert fired_on_last(scanned) == expected

    yesterday_end = (T0 - (T0 - T0.replace(hour=0))).isoformat()
    run = deployed(capsys, [(yesterday_end, [before]),
                            ((T0 + (T0 - T0.replace(hour=0))).isoformat(), [today])])
    assert fired_on_last(run) == expected
    ours = (TRAVEL, REPLAY)
    assert compared([a for a in run if a["rule_id"] in ours]) == \
        compared([a for a in scanned if a["rule_id"] in ours])


def test_the_alerts_name_what_was_new_and_what_changed(tmp_path: Path, capsys) -> None:
    events = [as_user(e, 0) for e in (*weeks_of_desk_and_phone(), desk(0),
                                      phone(0, EVIL, **VPS))]
    events += [as_user(e, 1) for e in (*weeks_of_home_vpn_office(), session(0, 0, "home"),
                                       session(0, 10, "vps", **VPS))]
    scanned = cli(capsys, "scan", str(write_lines(tmp_path / "s.jsonl",
                                                  [graph(e) for e in events])))
    travel = [a for a in scanned if a["rule_id"] == TRAVEL and "c0-dev-evil-0" in a["event_ids"]]
    assert travel and travel[-1]["context"]["new_signals"] == [
        "new device dev-evil", "new network AS14061"]
    replay = [a for a in scanned if a["rule_id"] == REPLAY and "c1-vps0" in a["event_ids"]]
    assert replay and replay[-1]["severity"] == "high"
    assert replay[-1]["context"]["what_changed"] == ["hosting network", "new network"]
