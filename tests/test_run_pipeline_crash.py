"""Crashes injected after each step: a rerun delivers every alert, duplicates only
after a 2xx that was not yet marked, and those carry the same Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from detections.registry import rule_by_id
from detections.rules import signin_risk_detection
from detections.testing import T0, risk_detection, sign_in
from service.run.pipeline import Pipeline
from service.state.history_store import TableHistoryStore
from tests.support_sinks import LoopbackSink, make_tables, receiver

pytestmark = pytest.mark.azurite
RULE = signin_risk_detection.RULE
LEASE = timedelta(minutes=5)


class InjectedCrash(BaseException):
    """A process dying: BaseException, so no ``except Exception`` in the code catches it."""


class CrashAt:
    def __init__(self, point: str, nth: int = 1) -> None:
        self.point, self.nth, self.seen = point, nth, 0

    def __call__(self, point: str) -> None:
        if point == self.point:
            self.seen += 1
            if self.seen == self.nth:
                raise InjectedCrash(point)


EVENTS = [
    risk_detection(id=f"rd-{k}-{i}", correlation_id=f"corr-{k}", time=T0 + timedelta(minutes=i))
    for k in range(3)
    for i in range(2)
]


@pytest.mark.parametrize("point", ["after_claim", "after_outbox", "after_send"])
@pytest.mark.parametrize("nth", [1, 2])
def test_rerun_after_crash_delivers_every_alert(point, nth, storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        sinks = [LoopbackSink("webhook", rx.url)]
        crashing = Pipeline(tables, sinks, rules=[RULE], hook=CrashAt(point, nth))
        with pytest.raises(InjectedCrash):
            crashing.process(EVENTS, T0)
        # The next scheduled run, after any lease the dead worker held has expired.
        rerun = Pipeline(tables, sinks, rules=[RULE])
        later = T0 + LEASE + timedelta(minutes=1)
        report = rerun.process(EVENTS, later)
        assert rerun.process(EVENTS, later + timedelta(minutes=5)).delivered == 0
    keys = rx.keys()
    assert len(keys) == 3, "every alert is delivered"
    duplicates = {key: n for key, n in keys.items() if n > 1}
    if point == "after_send":
        # Exactly the alert posted before the crash went out twice, with the same key.
        assert list(duplicates.values()) == [2]
        (dup_key,) = duplicates
        assert [b["alert_id"] for b in rx.bodies()].count(dup_key) == 2
    else:
        assert duplicates == {}
    # The crashed run committed ``nth`` claims (all three when it died while delivering).
    assert report.alerts_raised == (0 if point == "after_send" else 3 - nth)
    claims = list(tables.table("dedup").query_entities("kind eq 'claim'"))
    assert sorted(c["count"] for c in claims) == [2, 2, 2]
    assert all(c["outboxed"] for c in claims)
    assert all(r["done"] for r in rerun.outbox.all_rows())


def test_crash_before_delivery_mark_is_not_reposted_while_leased(storage_connection, table_prefix):
    tables = make_tables(storage_connection, table_prefix)
    with receiver() as rx:
        sinks = [LoopbackSink("webhook", rx.url)]
        with pytest.raises(InjectedCrash):
            Pipeline(tables, sinks, rules=[RULE], hook=CrashAt("after_send")).process(EVENTS, T0)
        inside_lease = Pipeline(tables, sinks, rules=[RULE]).deliver(T0 + timedelta(minutes=1))
        assert inside_lease.busy == 1  # the dead worker's lease still holds that alert
        assert inside_lease.delivered == 2
        assert max(rx.keys().values()) == 1


def brute_force_burst(user: str) -> list:
    return [
        sign_in(id=f"{user}-{n}", user_principal_name=f"{user}@contoso.com", user_id=user,
                time=T0 + timedelta(seconds=20 * n), success=False, error_code=50126)
        for n in range(12)
    ]


@pytest.mark.parametrize("point", ["after_claim", "after_outbox"])
def test_a_crash_loses_no_correlation_alert(point, storage_connection, table_prefix):
    """History is saved only once the alerts are in the outbox: a crash before that
    leaves the events unseen, so the rerun judges them again (and the ledger drops repeats)."""
    tables = make_tables(storage_connection, table_prefix)
    events = brute_force_burst("alice") + brute_force_burst("bob")
    rule = rule_by_id("brute_force")
    with receiver() as rx:
        sinks = [LoopbackSink("webhook", rx.url)]
        crashing = Pipeline(tables, sinks, rules=[rule], hook=CrashAt(point),
                            history_store=TableHistoryStore(tables))
        with pytest.raises(InjectedCrash):
            crashing.process(events, T0)
        rerun = Pipeline(tables, sinks, rules=[rule], history_store=TableHistoryStore(tables))
        rerun.process(events, T0 + LEASE + timedelta(minutes=1))
        assert rerun.process(events, T0 + LEASE + timedelta(minutes=9)).alerts_raised == 0
    principals = sorted(b["principal"] for b in rx.bodies())
    assert principals == ["alice@contoso.com", "bob@contoso.com"]
