"""The breakdown: sign-ins by result class, places, addresses, devices, apps, off hours."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detections.incidents.breakdown import MAX_KEYS, OTHER, BreakdownTally, breakdown_of
from detections.incidents.evidence import evidence_of
from detections.model import Device, Location
from detections.testing import T0, risk_detection, sign_in

CODES = {0: "success", 50126: "credential_failure", 500121: "mfa_failure", 50074: "interrupt",
         65001: "consent", 53003: "policy_block", 99999: "other"}


def test_sign_ins_count_by_the_one_error_code_table() -> None:
    items = [evidence_of(sign_in(id=str(code), error_code=code, success=code == 0))
             for code in CODES]
    counts = breakdown_of(items).to_dict()["signins"]
    assert counts == {name: 1 for name in CODES.values()}


def test_places_addresses_devices_and_apps() -> None:
    items = [
        evidence_of(sign_in(id="a", ip_address="192.0.2.1", autonomous_system_number=64500)),
        evidence_of(sign_in(id="b", ip_address="192.0.2.1", autonomous_system_number=64500,
                            location=Location(city="Portland", country="US"))),
        evidence_of(sign_in(id="c", ip_address="198.51.100.7", app_display_name="<b>x</b>",
                            device=Device(os="Android", browser="Chrome"),
                            location=Location(city="Lagos", country="NG"))),
        evidence_of(risk_detection(id="d")),  # a detection is timeline, not a sign-in count
    ]
    b = breakdown_of(items).to_dict()
    assert b["countries"] == [{"country": "US", "cities": ["Portland", "Seattle"], "count": 2},
                              {"country": "NG", "cities": ["Lagos"], "count": 1}]
    assert b["ips"] == [{"ip": "192.0.2.1", "asn": 64500, "count": 2},
                        {"ip": "198.51.100.7", "asn": None, "count": 1}]
    assert b["devices"] == [
        {"device": "dev-1", "os": "Windows 11", "browser": "Edge 130", "count": 2},
        {"device": "Android/Chrome", "os": "Android", "browser": "Chrome", "count": 1}]
    assert b["apps"] == [{"app": "Office 365", "count": 2}, {"app": "<b>x</b>", "count": 1}]


def test_off_hours_and_weekend_follow_business_hours() -> None:
    monday_9, monday_22 = T0, T0 + timedelta(hours=13)
    saturday = T0 + timedelta(days=5)
    items = [evidence_of(sign_in(id=str(i), time=t))
             for i, t in enumerate((monday_9, monday_22, saturday))]
    b = breakdown_of(items)
    assert (b.off_hours, b.weekend) == (2, 1)


def test_distinct_keys_are_bounded_and_counts_stay_exact() -> None:
    items = [evidence_of(sign_in(id=str(i), ip_address=f"10.0.{i // 250}.{i % 250}"))
             for i in range(MAX_KEYS + 30)]
    ips = breakdown_of(items).ips
    assert len(ips) == MAX_KEYS + 1
    assert dict((ip, n) for ip, _, n in ips)[OTHER] == 30
    assert sum(n for *_, n in ips) == MAX_KEYS + 30


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(list(CODES)), st.sampled_from(["US", "NG", "DE"]),
                          st.integers(0, 3)), max_size=40), st.integers(0, 40))
def test_a_tally_continued_from_a_breakdown_equals_counting_at_once(
    rows: list[tuple[int, str, int]], split: int
) -> None:
    items = [evidence_of(sign_in(id=f"e{i}", error_code=c, success=c == 0,
                                 time=T0 + timedelta(hours=7 * h),
                                 location=Location(country=country, city=f"city{h}")))
             for i, (c, country, h) in enumerate(rows)]
    whole = breakdown_of(items)
    first = breakdown_of(items[:split])
    continued = BreakdownTally.of(first).add_all(items[split:]).freeze()
    assert continued == whole
