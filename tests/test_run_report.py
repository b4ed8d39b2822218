"""The main job's report: the summary line names failing sinks; the failures say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detections.engine import RuleFailure
from detections.model import Severity
from service.delivery.http import Poster
from service.delivery.webhook import WebhookSink
from service.run.job import JobReport, MainJob
from service.settings import load_settings
from tests.graph_server import SimulatedClock
from tests.receivers import Receiver, Reply
from tests.test_cli import graph_sign_in, write_lines

NOW = datetime(2026, 11, 2, 9, 5, tzinfo=UTC)


def test_a_clean_run_has_no_failures():
    report = JobReport()
    report.sources.count("signIns", 10)
    assert report.failures() == []
    assert "failing_sinks" not in report.summary()


def test_every_feed_sink_and_rule_failure_is_a_reason():
    report = JobReport()
    report.sources.disabled["signIns"] = "403: grant AuditLog.Read.All"
    report.sources.problems.append("riskDetections: still failing after 6 attempts")
    report.sink_failures["webhook"] = "1 to retry, 0 dead-lettered (last: HTTP 503)"
    report.failing_sinks = {"webhook": "since 2026-11-02T08:00:00+00:00: HTTP 503",
                            "teams": "since 2026-11-02T07:00:00+00:00: timeout"}
    report.run.rule_failures = 25
    report.run.failures = [
        RuleFailure(rule_id="brute_force", event_id="si-1", error="ValueError: x")]
    assert report.failures() == [
        "feed signIns disabled: 403: grant AuditLog.Read.All",
        "input: riskDetections: still failing after 6 attempts",
        "sink webhook: 1 to retry, 0 dead-lettered (last: HTTP 503)",
        "sink teams failing since 2026-11-02T07:00:00+00:00: timeout",
        "rule brute_force failed on si-1: ValueError: x",
        "... and 24 more",
    ]
    assert " failing_sinks=teams,webhook" in report.summary()


@pytest.mark.azurite
def test_a_sink_down_for_an_hour_is_named_by_the_run_summary(
    tmp_path, storage_connection, table_prefix
):
    clock = SimulatedClock()
    risky = write_lines(tmp_path / "risky.jsonl", [
        graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")])
    settings = load_settings({"RISKWATCH_STORAGE": storage_connection, "RISKWATCH_NOTIFY": "alerts",
                              "RISKWATCH_TABLE_PREFIX": table_prefix})
    with Receiver(Reply(503, b"")) as down, Receiver(Reply(200, b"")) as up:
        sinks = [WebhookSink(rx.url, name=name, min_severity=Severity.LOW,
                             poster=Poster(name, sleep=clock.sleep))
                 for rx, name in ((down, "webhook"), (up, "backup"))]
        job = MainJob(settings, sinks=sinks)
        first = job.run(NOW, files=[risky])
        assert "webhook" in first.sink_failures and first.failing_sinks == {}
        job.run(NOW + timedelta(minutes=30), files=[])
        later = job.run(NOW + timedelta(minutes=61), files=[])
    assert " failing_sinks=webhook" in later.summary()
    assert any(r.startswith("sink webhook") for r in later.failures())
    notices = [r.json()["alert"] for r in up.requests
               if r.json()["alert"]["rule_id"] == "riskwatch_sink_failing"]
    assert len(notices) == 1 and notices[0]["context"]["sink"] == "webhook"


class SteppedClock:
    """A monotonic clock that reads ``start`` until the delivery deadline is set, then
    jumps past it (a run whose reading took the whole budget)."""

    def __init__(self, reads_before_jump: int) -> None:
        self.reads = 0
        self.before = reads_before_jump

    def __call__(self) -> float:
        self.reads += 1
        return 0.0 if self.reads <= self.before else 1e9


@pytest.mark.azurite
def test_the_delivery_deadline_is_on_the_injected_clock(tmp_path, storage_connection, table_prefix):
    risky = write_lines(tmp_path / "risky.jsonl", [
        graph_sign_in(1, riskLevelDuringSignIn="high", riskState="atRisk")])
    settings = load_settings({"RISKWATCH_STORAGE": storage_connection, "RISKWATCH_NOTIFY": "alerts",
                              "RISKWATCH_TABLE_PREFIX": table_prefix})
    with Receiver(Reply(200, b"")) as up:
        sink = WebhookSink(up.url, name="webhook", min_severity=Severity.LOW)
        # Two reads: the run's start and the deadline; every later read is past it.
        late = MainJob(settings, sinks=[sink], clock=SteppedClock(2)).run(NOW, files=[risky])
        assert late.run.alerts_raised > 0 and late.run.delivered == 0
        assert late.deferred == late.run.alerts_raised
        on_time = MainJob(settings, sinks=[sink], clock=lambda: 0.0).run(NOW, files=[])
    assert on_time.run.delivered == late.run.alerts_raised == len(up.requests)
