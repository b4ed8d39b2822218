"""The timeline keeps first, last, alerted and turning-point entries and counts the rest."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from detections.incidents.evidence import evidence_of
from detections.incidents.model import Evidence
from detections.incidents.timeline import EvidenceLog, omitted_count, thin, turn_score
from detections.model import Location
from detections.testing import T0, risk_detection, sign_in

LAGOS = Location(city="Lagos", country="NG")


def quiet_day(n: int, start: int = 0) -> list[Evidence]:
    return [evidence_of(sign_in(id=f"s{start + i}", time=T0 + timedelta(minutes=start + i)))
            for i in range(n)]


def test_a_short_timeline_is_kept_whole_in_time_order() -> None:
    items = quiet_day(5)
    assert thin(reversed(items), 10) == tuple(items)


def test_a_long_timeline_keeps_first_last_and_the_turning_points() -> None:
    items = quiet_day(50)
    turn = evidence_of(sign_in(id="lagos", time=T0 + timedelta(minutes=20, seconds=30),
                               location=LAGOS, ip_address="198.51.100.9"))
    failure = evidence_of(sign_in(id="fail", time=T0 + timedelta(minutes=30, seconds=30),
                                  success=False, error_code=50126))
    detection = evidence_of(risk_detection(id="det", time=T0 + timedelta(minutes=40,
                                                                          seconds=30)))
    kept = thin([*items, turn, failure, detection], 8)
    ids = [e.event_id for e in kept if e.kind != "omitted"]
    assert ids[0] == "s0" and ids[-1] == "s49"
    assert {"lagos", "fail", "det"} <= set(ids)
    assert len(ids) == 8
    assert omitted_count(kept) == 53 - 8
    assert all(e.summary.endswith("entries left out") for e in kept if e.kind == "omitted")
    assert [e.time for e in kept] == sorted(e.time for e in kept)


def test_failures_turning_into_a_success_is_the_strongest_turn() -> None:
    failed = evidence_of(sign_in(id="f", success=False, error_code=50126))
    assert turn_score(failed, evidence_of(sign_in(id="s"))) > turn_score(
        failed, evidence_of(sign_in(id="f2", success=False, error_code=50126, location=LAGOS)))
    assert turn_score(evidence_of(sign_in(id="a")), evidence_of(sign_in(id="b"))) == 0


def test_the_log_stays_bounded_and_counts_what_it_left_out() -> None:
    log = EvidenceLog(limit=20)
    for item in quiet_day(5000):
        log.add(item)
        assert len(log.items) < 40 + 40  # entries and gap markers
    kept = log.kept()
    assert sum(1 for e in kept if e.kind != "omitted") + omitted_count(kept) == 5000


def test_seeded_evidence_is_not_counted_again_when_it_arrives_live() -> None:
    log = EvidenceLog()
    (item,) = quiet_day(1)
    assert log.seed(item) and not log.seed(item) and not log.add(item)
    assert log.add(quiet_day(1, start=1)[0])


@settings(max_examples=60)
@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from([0, 50126, 65001, 50074]),
                          st.sampled_from(["US", "NG", None]), st.booleans()),
                max_size=120),
       st.integers(2, 30))
def test_thinning_accounts_for_every_entry(
    rows: list[tuple[int, int, str | None, bool]], limit: int
) -> None:
    items = [evidence_of(sign_in(id=f"e{i}", time=T0 + timedelta(minutes=m), error_code=code,
                                 success=code == 0, location=Location(country=country)),
                         alerted=alerted)
             for i, (m, code, country, alerted) in enumerate(rows)]
    kept = thin(items, limit)
    real = [e for e in kept if e.kind != "omitted"]
    assert len(real) + omitted_count(kept) == len(items)
    assert len(real) <= max(limit, 0) or len(items) <= limit
    assert [e.time for e in kept] == sorted(e.time for e in kept)
    if items:
        ordered = sorted(items, key=lambda e: (e.time, e.event_id or ""))
        assert real[0] == ordered[0] and real[-1] == ordered[-1]
    # Thinning again keeps the accounting (a stored incident is thinned on every revision).
    again = thin(kept, limit)
    assert sum(1 for e in again if e.kind != "omitted") + omitted_count(again) == len(items)
