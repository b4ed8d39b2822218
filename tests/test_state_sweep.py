"""Sweep: expired claims, old ledger rows and finished outbox rows go; the rest stays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection
from service.run.pipeline import Pipeline
from tests.support_sinks import LoopbackSink, make_tables, receiver

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE


def test_sweep_deletes_expired_rows_in_batches(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    # 250 events of one key: the ledger rows share one partition, so deletes need 3 batches.
    events = [risk_detection(id=f"rd-{i}", time=T0 + timedelta(seconds=i)) for i in range(250)]
    fresh = risk_detection(id="fresh", correlation_id="corr-new", time=T0 + timedelta(days=9))
    with receiver() as rx:
        pipe = Pipeline(
            tables,
            [LoopbackSink("webhook", rx.url)],
            rules=[RULE],
            lookback=timedelta(hours=48),
            outbox_retention=timedelta(days=7),
        )
        pipe.process(events, T0)
        nothing = pipe.sweep(T0 + timedelta(hours=1))
        assert (nothing.claims, nothing.ledger, nothing.outbox) == (0, 0, 0)
        pipe.process([fresh], fresh.time)
    report = pipe.sweep(T0 + timedelta(days=9, hours=1))
    assert (report.claims, report.ledger, report.outbox) == (1, 250, 1)
    dedup = tables.table("dedup")
    left = sorted(row["kind"] for row in dedup.list_entities())
    assert left == ["claim", "event"]  # the fresh alert's claim and ledger row
    assert [row["RowKey"] for row in pipe.outbox.all_rows()] == [rx.bodies()[1]["alert_id"]]


def test_sweep_keeps_claims_not_yet_in_the_outbox(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)

    class Crash(BaseException):
        pass

    def crash(point):
        if point == "after_claim":
            raise Crash

    with pytest.raises(Crash):
        Pipeline(tables, [], rules=[RULE], hook=crash).process([risk_detection()], T0)
    report = Pipeline(tables, [], rules=[RULE]).sweep(T0 + timedelta(days=3))
    assert report.claims == 0
    claims = list(tables.table("dedup").query_entities("kind eq 'claim'"))
    assert [c["outboxed"] for c in claims] == [False]
