"""``scan --incidents``: incidents from a scan, and the cautions of seed 002 at incident level."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from detections.directory import PrivilegedMap
from detections.incidents.model import Incident
from detections.incidents.timeline import MAX_KEPT, omitted_count
from detections.model import Device, Event, Location
from detections.registry import load_rules
from detections.testing import T0, risk_detection, risky_user, series, sign_in
from service.cli import incident_recorder
from service.cli import scan as scan_mod
from service.cli.commands import main
from service.cli.scan_incidents import scan_incidents
from tests.incident_support import by_principal, incidents_of

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
NEW_YORK = Location(city="New York", country="US", latitude=40.71, longitude=-74.01)
LONDON = Location(city="London", country="GB", latitude=51.51, longitude=-0.13)
TEL_AVIV = Location(city="Tel Aviv", country="IL", latitude=32.08, longitude=34.78)
LAS_VEGAS = Location(city="Las Vegas", country="US", latitude=36.17, longitude=-115.14)
PHONE = Device(device_id="dev-phone", os="iOS 18", browser="Safari")
ADMIN = PrivilegedMap(by_id={"u-alice": ("Global Administrator",)})


def risky_success(user: str = "alice", at: timedelta = timedelta(0)) -> list[Event]:
    """One high-risk sign-in nobody challenged, its detection and the user's risk."""
    who = {"user_principal_name": f"{user}@contoso.com"}
    return [
        sign_in(id=f"risky-{user}", time=T0 + at, user_id=f"u-{user}", **who,
                risk_level_during_sign_in="high", risk_level_aggregated="high",
                risk_state="atRisk", risk_detail="none",
                authentication_requirement="singleFactorAuthentication"),
        risk_detection(id=f"det-{user}", time=T0 + at, user_id=f"u-{user}", **who,
                       risk_level="high"),
        risky_user(id=f"u-{user}", time=T0 + at + timedelta(minutes=10), **who),
    ]


def test_the_four_alerts_of_one_risky_sign_in_are_one_incident() -> None:
    (incident,) = incidents_of(risky_success())
    assert incident.rules == ("high_risk_signin_succeeded", "risk_level_passthrough",
                              "signin_risk_detection", "user_risk_detection")
    assert (incident.principal_type, incident.verdict) == ("user", "high")
    assert incident.reasons[0].effect == "raises"


def test_a_benign_principal_that_raises_no_alert_has_no_incident() -> None:
    bob = series(20, prefix="bob", user_id="u-bob", user_principal_name="bob@contoso.com",
                 start=T0 - timedelta(hours=2))
    incidents = incidents_of([*bob, *risky_success()])
    assert set(by_principal(incidents)) == {"alice@contoso.com"}
    assert incidents_of(bob) == []


def test_cities_of_one_country_lower_the_verdict_as_carrier_routing() -> None:
    def travel(place: Location) -> Incident:
        (incident,) = incidents_of([
            sign_in(id="home"),
            sign_in(id="away", time=T0 + timedelta(minutes=30), location=place, device=PHONE)])
        return incident

    routed, abroad = travel(NEW_YORK), travel(LONDON)
    assert "impossible_travel" in routed.rules
    assert any("carrier routing" in r.text and r.effect == "lowers" for r in routed.reasons)
    assert not any("carrier routing" in r.text for r in abroad.reasons)
    assert routed.score < abroad.score and routed.verdict == "low"


def test_a_65001_storm_is_counted_as_consent_never_as_a_credential_attack() -> None:
    storm = series(14, prefix="c", error_code=65001, success=False,
                   start=T0 + timedelta(minutes=1))
    others = series(16, prefix="u", per_user=True, error_code=65001, success=False,
                    start=T0 + timedelta(minutes=1))
    assert incidents_of([*storm, *others]) == []  # the storm alone is no case at all
    risky = sign_in(id="r", error_code=65001, success=False, risk_level_during_sign_in="high",
                    risk_state="atRisk")
    (incident,) = incidents_of([risky, *storm, *others])
    assert incident.rules == ("risk_level_passthrough",)
    signins = incident.to_dict()["breakdown"]["signins"]
    assert (signins["consent"], signins["credential_failure"]) == (15, 0)
    assert not any("credential attack" in r.text for r in incident.reasons)
    assert any("consent errors" in r.text and r.effect == "lowers" for r in incident.reasons)


def test_aggregated_locations_are_read_against_the_timeline() -> None:
    """Israel last month and Las Vegas now: both in the list, weeks apart in the timeline."""
    israel = [sign_in(id=f"il{i}", time=T0 - timedelta(days=30 - i), location=TEL_AVIV)
              for i in range(5)]
    (incident,) = incidents_of([*israel, sign_in(id="lv", location=LAS_VEGAS)])
    assert incident.rules == ("unfamiliar_country",)
    assert {c for c, _, _ in incident.breakdown.countries} == {"IL", "US"}
    assert not any("travel" in r.text for r in incident.reasons)
    times = [(e.country, e.time) for e in incident.timeline]
    assert times == sorted(times, key=lambda t: t[1])
    assert times[-1][0] == "US" and times[-1][1] - times[-2][1] >= timedelta(days=20)
    assert incident.verdict == "low"


def test_a_privileged_account_is_high_even_on_thin_evidence() -> None:
    thin = [*(sign_in(id=f"il{i}", time=T0 - timedelta(days=30 - i), location=TEL_AVIV)
              for i in range(5)), sign_in(id="lv", location=LAS_VEGAS)]
    (plain,) = incidents_of(thin)
    (admin,) = incidents_of(thin, privileged=ADMIN)
    assert (plain.verdict, plain.privileged) == ("low", False)
    assert (admin.verdict, admin.privileged) == ("high", True)
    assert any("Global Administrator" in r.text for r in admin.reasons)


def test_counts_stay_exact_while_the_kept_evidence_is_bounded() -> None:
    later = series(1500, prefix="n", start=T0 + timedelta(minutes=1), step=timedelta(minutes=1))
    (incident,) = incidents_of([*risky_success(), *later])
    assert incident.breakdown.signin_count("success") == 1501
    real = [e for e in incident.evidence if e.kind != "omitted"]
    assert len(real) <= MAX_KEPT
    assert len(real) + omitted_count(incident.evidence) == 1503  # sign-ins, detection, user


def test_a_spray_from_one_address_is_an_ip_incident_linked_to_its_users() -> None:
    spray = series(12, prefix="v", per_user=True, error_code=50126, success=False,
                   ip_address="192.0.2.66")
    victim = [replace(e, id=f"w{i}", time=e.time + timedelta(minutes=20), success=False,
                      error_code=50126, user_id="u-v0", user_principal_name="v0@contoso.com")
              for i, e in enumerate(spray[:11])]
    found = by_principal(incidents_of([*spray, *victim]))
    (ip,) = found["192.0.2.66"]
    (user,) = found["v0@contoso.com"]
    assert ip.principal_type == "ip"
    linked = {r.principal: r.incident_id for r in ip.related}
    assert linked["v0@contoso.com"] == user.incident_id
    assert [r.incident_id for r in user.related] == [ip.incident_id]


def test_the_sample_tenant_gives_one_incident_per_attacked_user_or_attacking_ip() -> None:
    paths = scan_mod.expand_paths([str(SAMPLES / "tenant")])
    report, incidents = scan_incidents(paths, load_rules(), scan_mod.ScanOptions())
    assert (len(report.alerts), len(incidents)) == (44, 28)
    found = by_principal(incidents)
    assert all(len(v) == 1 for v in found.values())
    labels = json.loads((SAMPLES / "labels.json").read_text(encoding="utf-8"))["stories"]
    # A look-alike's user has no case, unless another story of theirs alerts (the
    # developer's first VS Code use has no baseline); its own events never alert.
    alerting = {s["user"] for s in labels if s["expect"] == "alert"}
    quiet = [s for s in labels if s["expect"] == "quiet"]
    assert not ({s["user"] for s in quiet} - alerting) & set(found)
    alerted = {(a.rule_id, e) for a in report.alerts for e in a.event_ids}
    assert not {(s["rule_id"], e) for s in quiet for e in s["event_ids"]} & alerted
    (arjun,) = found["arjun.lim@contoso.com"]
    assert len(arjun.alerts) == 4 and arjun.verdict == "high"
    assert found["192.0.2.168"][0].principal_type == "ip"
    # The low-and-slow spray and the disabled-account probe are their addresses' cases,
    # never a "user" named by a count.
    assert [(i.principal_type, i.rules) for i in found["203.0.113.223"]] == [
        ("ip", ("password_spray",))]
    assert [(i.principal_type, i.rules) for i in found["198.51.100.20"]] == [
        ("ip", ("disabled_account_probing",))]
    assert not [p for p in found if p.endswith(("users", "accounts"))]
    assert found["tenant"][0].rules == ("account_lockouts", "password_spray")
    # The same input gives the same ids (scan and the app agree on them).
    _, again = scan_incidents(paths, load_rules(), scan_mod.ScanOptions())
    assert [i.to_dict() for i in again] == [i.to_dict() for i in incidents]
    hostile = json.dumps([i.to_dict() for i in incidents])
    assert "<!here>" in hostile  # attacker text is data here; each sink escapes it


def test_past_the_cap_of_followed_principals_an_incident_has_no_evidence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(incident_recorder, "MAX_SEGMENTS", 1)
    bob = risky_success("bob", at=timedelta(hours=1))
    found = by_principal(incidents_of([*risky_success(), *bob]))
    (alice,), (bob_case,) = found["alice@contoso.com"], found["bob@contoso.com"]
    assert alice.breakdown.signin_count("success") == 1
    assert bob_case.timeline == () and bob_case.breakdown.signin_count("success") == 0
    assert len(bob_case.alerts) == 4  # still one case with all its alerts


def test_scan_incidents_writes_one_incident_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--incidents", str(SAMPLES / "tenant")]) == 0
    lines = capsys.readouterr().out.splitlines()
    incidents = [json.loads(line) for line in lines]
    assert len(incidents) == 28
    assert all(set(i) == {"incident_id", "revision", "principal", "principal_type", "verdict",
                          "score", "reasons", "alerts", "rules", "first_seen", "last_seen",
                          "privileged", "breakdown", "timeline", "related"} for i in incidents)
    entry = incidents[0]["timeline"][0]
    assert set(entry) == {"time", "kind", "event_id", "summary", "ip", "country", "city",
                          "device", "result", "risk"}
    assert set(incidents[0]["alerts"][0]) == {"alert_id", "rule_id", "severity"}
    assert set(incidents[0]["reasons"][0]) == {"text", "effect", "rule_id", "event_ids"}
    assert main(["scan", str(SAMPLES / "tenant")]) == 0  # without the flag: alerts, as before
    assert len(capsys.readouterr().out.splitlines()) == 44


def _risky_sign_ins_days_apart(tmp_path: Path, days: int) -> Path:
    """One sample user's high-risk sign-in, and the same again ``days`` later."""
    document = json.loads((SAMPLES / "tenant" / "signIns-003.json").read_text(encoding="utf-8"))
    risky = next(r for p in sorted((SAMPLES / "tenant").glob("signIns-*.json"))
                 for r in json.loads(p.read_text(encoding="utf-8"))["value"]
                 if r.get("riskLevelDuringSignIn") == "high" and r.get("riskState") == "atRisk")
    first = dict(risky, id="quiet-first", createdDateTime="2026-11-01T10:00:00Z")
    later = dict(risky, id="quiet-later", createdDateTime=f"2026-11-{1 + days:02d}T10:00:00Z")
    path = tmp_path / "signIns-quiet.json"
    path.write_text(json.dumps({"@odata.context": document["@odata.context"],
                                "value": [first, later]}), encoding="utf-8")
    return path


@pytest.mark.parametrize(("quiet_days", "cases"), [("7", 1), ("2", 2)])
def test_scan_reads_the_incident_quiet_days_like_the_app(
    quiet_days: str, cases: int, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKWATCH_INCIDENT_QUIET_DAYS", quiet_days)
    path = _risky_sign_ins_days_apart(tmp_path, days=3)
    assert main(["scan", "--incidents", "--now", "2026-11-10T00:00:00Z", str(path)]) == 0
    incidents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len({i["principal"] for i in incidents}) == 1
    assert len(incidents) == cases  # 3 days apart: past a 2-day quiet, within 7 days


def test_scan_names_a_quiet_days_setting_out_of_range(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKWATCH_INCIDENT_QUIET_DAYS", "91")
    assert main(["scan", "--incidents", str(SAMPLES / "tenant")]) != 0
    assert "RISKWATCH_INCIDENT_QUIET_DAYS" in capsys.readouterr().err
