"""Two to eight workers over overlapping input: one alert per key, counts that add up."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.run.pipeline import Pipeline, RunReport
from tests.support_sinks import LoopbackSink, make_tables, receiver

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE
KEYS, PER_KEY = 6, 30


def all_events() -> list:
    return [
        risk_detection(id=f"rd-{k}-{i}", correlation_id=f"corr-{k}", time=T0 + timedelta(minutes=i))
        for k in range(KEYS)
        for i in range(PER_KEY)
    ]


def run_workers(
    workers: int, connection: str, prefix: str, url: str
) -> tuple[list[RunReport], set[str]]:
    events = all_events()
    # Overlapping slices: worker w reads 60% of the events starting at its own offset.
    size = len(events) * 3 // 5
    slices = [
        [events[(w * len(events) // workers + j) % len(events)] for j in range(size)]
        for w in range(workers)
    ]
    barrier = threading.Barrier(workers)
    reports: list[RunReport] = []
    errors: list[BaseException] = []

    def work(batch: list) -> None:
        sinks = [LoopbackSink("webhook", url)]
        pipe = Pipeline(make_tables(connection, prefix), sinks, rules=[RULE])
        barrier.wait()
        try:
            reports.append(pipe.process(batch, T0 + timedelta(hours=1)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in slices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return reports, {e.event_id for batch in slices for e in batch}


@pytest.mark.parametrize("workers", [2, 5, 8])
def test_concurrent_workers_raise_and_deliver_each_alert_once(
    workers, storage_connection, table_prefix
):
    with receiver() as rx:
        reports, covered = run_workers(workers, storage_connection, table_prefix, rx.url)
        # A final pass finishes deliveries a worker found leased by a peer mid-run.
        tables = make_tables(storage_connection, table_prefix)
        final = Pipeline(tables, [LoopbackSink("webhook", rx.url)], rules=[RULE]).deliver(
            T0 + timedelta(hours=2)
        )
    assert sum(r.delivered for r in reports) + final.delivered == KEYS
    assert sum(r.alerts_raised for r in reports) == KEYS
    assert sum(r.matches for r in reports) == sum(r.events for r in reports)
    counted = sum(r.matches - r.duplicates_skipped for r in reports)
    assert counted == len(covered) == KEYS * PER_KEY
    posted = rx.keys()  # Idempotency-Key -> times received
    assert len(posted) == KEYS
    assert set(posted.values()) == {1}
    claims = list(tables.table("dedup").query_entities("kind eq 'claim'"))
    assert sorted(c["count"] for c in claims) == [PER_KEY] * KEYS
    assert all(c["outboxed"] for c in claims)
    ledger = list(tables.table("dedup").query_entities("kind eq 'event'"))
    assert len(ledger) == KEYS * PER_KEY
