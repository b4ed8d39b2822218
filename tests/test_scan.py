"""``service.cli.scan``: the same alerts whatever order the input comes in.

The window that puts input in order is lowered to 64 events, so the sample tenant
(about 2,300 records) spans dozens of windows, as a million-line export spans the
default 10,000.
"""

from __future__ import annotations

import gc
import io
import json
import os
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from detections.correlation_history import History
from detections.enrich import Enricher
from detections.normalize import Skip, decode
from detections.order import OrderKey, order_key
from detections.registry import load_rules
from service.cli.scan import SCAN_GC_THRESHOLDS, ScanOptions, ScanReport, scan

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "tenant"
SMALL_WINDOW = 64
Record = dict[str, Any]


def sample_records() -> list[Record]:
    """Every record of the sample tenant (Graph pages, newest first)."""
    records: list[Record] = []
    for path in sorted(SAMPLE.glob("*.json")):
        records += json.loads(path.read_text(encoding="utf-8-sig"))["value"]
    return records


def with_ties(records: list[Record]) -> list[Record]:
    """The sample plus events that tie on time: a same-second spray and same-id variants."""
    failed = next(r for r in records if r.get("status", {}).get("errorCode", 0) not in (0, None))
    burst = [
        {**failed, "id": f"tie-{n}", "userPrincipalName": f"user{n}@contoso.com",
         "userId": f"u-tie-{n}"}
        for n in range(8)
    ]  # fmt: skip
    success = next(
        r for r in records if r.get("isInteractive") and r.get("status", {}).get("errorCode") == 0
    )
    # Same id, same time, other content: only the content can order these two.
    variant = {**success, "ipAddress": "198.51.100.77",
               "status": {"errorCode": 50126, "failureReason": "Invalid password"}}  # fmt: skip
    return [*records, *burst, variant]


def key_of(record: Record) -> OrderKey:
    (event,) = decode("record", io.StringIO(json.dumps(record) + "\n"))
    assert not isinstance(event, Skip), event
    return order_key(event)


def ascending(records: list[Record]) -> list[Record]:
    return sorted(records, key=key_of)


def write_lines(path: Path, records: list[Record], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + extra, encoding="utf-8")
    return path


def run_scan(paths: list[Path], **options: Any) -> ScanReport:
    chosen = ScanOptions(chunk_events=SMALL_WINDOW, **options)
    return scan(paths, load_rules(), chosen, enricher=Enricher())


def alerts_of(report: ScanReport) -> list[dict[str, Any]]:
    return [alert.to_dict() for alert in report.alerts]


def summary_of(report: ScanReport) -> tuple[int, int, dict[str, int], int]:
    return report.events, report.skipped_count, report.by_kind, len(report.failures)


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return ascending(with_ties(sample_records()))


@pytest.fixture(scope="module")
def in_order(records: list[Record], tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    path = write_lines(tmp_path_factory.mktemp("sorted") / "all.jsonl", records)
    return run_scan([path])


def test_the_sample_in_time_order_is_judged_as_read(in_order: ScanReport) -> None:
    assert not in_order.sorted_on_disk
    assert in_order.events > 30 * SMALL_WINDOW
    assert len(in_order.alerts) >= 20  # the sample's stories: travel, spray, fatigue ...
    assert {"password_spray", "impossible_travel", "mfa_fatigue"} <= {
        a.rule_id for a in in_order.alerts
    }


def test_reversed_input_gives_the_same_alerts(
    records: list[Record], in_order: ScanReport, tmp_path: Path
) -> None:
    # Newest first, as Graph returns it: the chunked sort judged it backwards.
    report = run_scan([write_lines(tmp_path / "newest-first.jsonl", records[::-1])])
    assert report.sorted_on_disk
    assert alerts_of(report) == alerts_of(in_order)
    assert summary_of(report) == summary_of(in_order)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_input_gives_the_same_alerts(
    records: list[Record], in_order: ScanReport, tmp_path: Path, seed: int
) -> None:
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - a fixed, reproducible order
    report = run_scan([write_lines(tmp_path / "shuffled.jsonl", shuffled)])
    assert report.sorted_on_disk
    assert alerts_of(report) == alerts_of(in_order)
    assert summary_of(report) == summary_of(in_order)


def test_several_files_with_overlapping_times_give_the_same_alerts(
    records: list[Record], in_order: ScanReport, tmp_path: Path
) -> None:
    shuffled = list(records)
    random.Random(9).shuffle(shuffled)  # noqa: S311 - a fixed, reproducible order
    # Each file in order on its own, but their time ranges overlap.
    paths = [
        write_lines(tmp_path / f"part-{n}.jsonl", ascending(shuffled[n::3])) for n in range(3)
    ]
    report = run_scan(paths)
    assert report.sorted_on_disk
    assert alerts_of(report) == alerts_of(in_order)
    assert summary_of(report) == summary_of(in_order)


def test_the_sample_tenant_pages_as_graph_wrote_them(tmp_path: Path) -> None:
    # Newest-first Graph pages of five files: one window cannot hold them in order.
    pages = sorted(SAMPLE.glob("*.json"))
    lines = write_lines(tmp_path / "all.jsonl", ascending(sample_records()))
    assert alerts_of(run_scan(pages)) == alerts_of(run_scan([lines]))


def test_files_that_follow_each_other_in_time_are_judged_as_read(
    records: list[Record], in_order: ScanReport, tmp_path: Path
) -> None:
    thirds = len(records) // 3
    parts = [records[:thirds], records[thirds : 2 * thirds], records[2 * thirds :]]
    paths = [write_lines(tmp_path / f"day-{n}.jsonl", part) for n, part in enumerate(parts)]
    report = run_scan(paths)
    assert not report.sorted_on_disk
    assert alerts_of(report) == alerts_of(in_order)


def test_skips_and_now_are_counted_once_when_the_input_is_sorted_again(
    records: list[Record], tmp_path: Path
) -> None:
    keys = [key_of(r) for r in records]
    cutoff = keys[len(keys) * 3 // 4][0]
    late = sum(1 for key in keys if key[0] > cutoff)
    bad = "not json\n" + json.dumps({"id": "x", "createdDateTime": "yesterday"}) + "\n"
    forward = run_scan([write_lines(tmp_path / "f.jsonl", records, bad)], now=cutoff)
    backward = run_scan([write_lines(tmp_path / "b.jsonl", records[::-1], bad)], now=cutoff)
    assert backward.sorted_on_disk and not forward.sorted_on_disk
    assert forward.skipped_count == backward.skipped_count == late + 2
    assert forward.events == backward.events == len(records) - late
    assert summary_of(forward) == summary_of(backward)
    assert alerts_of(forward) == alerts_of(backward)
    assert all(a.last_seen <= cutoff for a in backward.alerts)


def test_a_callers_history_is_never_judged_twice(records: list[Record], tmp_path: Path) -> None:
    # A given history cannot be dropped and started again: such a scan sorts first.
    history = History()
    report = scan(
        [write_lines(tmp_path / "sorted.jsonl", records)],
        load_rules(),
        ScanOptions(chunk_events=SMALL_WINDOW),
        history=history,
    )
    assert report.sorted_on_disk
    assert history.users  # the caller sees what was observed


class Recorded:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int, int]] = []
        self.done_calls = 0

    def update(self, *, events: int, skipped: int, alerts: int) -> None:
        self.updates.append((events, skipped, alerts))

    def done(self) -> None:
        self.done_calls += 1


def test_progress_reports_running_totals_and_ends(
    records: list[Record], tmp_path: Path
) -> None:
    progress = Recorded()
    path = write_lines(tmp_path / "sorted.jsonl", records, "not json\n")
    report = scan([path], load_rules(), ScanOptions(chunk_events=SMALL_WINDOW),
                  enricher=Enricher(), progress=progress)  # fmt: skip
    assert progress.done_calls == 1
    assert len(progress.updates) >= report.events // SMALL_WINDOW
    events = [u[0] for u in progress.updates]
    assert events == sorted(events)
    assert progress.updates[-1] == (report.events, 1, len(report.alerts))


def test_progress_ends_on_a_sorted_scan_too(records: list[Record], tmp_path: Path) -> None:
    progress = Recorded()
    path = write_lines(tmp_path / "newest-first.jsonl", records[::-1])
    report = scan([path], load_rules(), ScanOptions(chunk_events=SMALL_WINDOW),
                  progress=progress)  # fmt: skip
    assert report.sorted_on_disk
    assert progress.done_calls == 1
    assert progress.updates[-1] == (report.events, 0, len(report.alerts))


def test_a_pipe_is_sorted_on_disk_from_the_start(
    records: list[Record], in_order: ScanReport, tmp_path: Path
) -> None:
    # A pipe cannot be read twice, so the scan never starts judging it as it streams.
    pipe = tmp_path / "export.jsonl"
    os.mkfifo(pipe)
    text = "".join(json.dumps(r) + "\n" for r in records[::-1])
    writer = threading.Thread(target=pipe.write_text, args=(text,), kwargs={"encoding": "utf-8"})
    writer.start()
    try:
        report = run_scan([pipe])
    finally:
        writer.join(timeout=10)
    assert report.sorted_on_disk
    assert alerts_of(report) == alerts_of(in_order)


class Thresholds(Recorded):
    """Progress that notes the garbage collector's thresholds while the scan runs."""

    def __init__(self) -> None:
        super().__init__()
        self.during: list[tuple[int, int, int]] = []

    def update(self, *, events: int, skipped: int, alerts: int) -> None:
        self.during.append(gc.get_threshold())


def test_a_scan_collects_garbage_rarely_and_restores_the_thresholds(
    records: list[Record], tmp_path: Path
) -> None:
    before = gc.get_threshold()
    progress = Thresholds()
    path = write_lines(tmp_path / "sorted.jsonl", records)
    scan([path], load_rules(), ScanOptions(chunk_events=SMALL_WINDOW), progress=progress)
    assert gc.get_threshold() == before
    assert progress.during
    assert all(t[0] >= SCAN_GC_THRESHOLDS[0] for t in progress.during)
