"""``bench.order``: the reordered copies and the side-by-side comparison (tiny sizes, no timing)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.memory import Memory, scan_child
from bench.order import measure, reordered

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "tenant"


def test_copies_hold_the_same_lines_shuffled_and_reversed(tmp_path: Path) -> None:
    source = tmp_path / "lines.jsonl"
    lines = [f'{{"n": {n}}}\n'.encode() for n in range(500)]
    source.write_bytes(b"".join(lines))
    shuffled, backwards = reordered(source, tmp_path)
    assert backwards.read_bytes().splitlines(keepends=True) == lines[::-1]
    mixed = shuffled.read_bytes().splitlines(keepends=True)
    assert sorted(mixed) == sorted(lines) and mixed != lines


def test_the_sample_tenant_reordered_gives_the_same_alerts(tmp_path: Path) -> None:
    # The sample's stories as one JSON-lines file, as a Graph export writes them (newest first).
    source = tmp_path / "sample.jsonl"
    records = [
        record
        for page in sorted(SAMPLE.glob("*.json"))
        for record in json.loads(page.read_text(encoding="utf-8-sig"))["value"]
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    events = len(records)
    peak, seconds, alerts, digest = scan_child(source, events)
    result = measure(source, Memory(events, peak, 1.0, seconds, alerts, digest), tmp_path)
    assert alerts > 20
    assert [r.alerts for r in result.others] == [alerts, alerts]
    assert result.same_alerts
    assert all(r.peak_mb > 0 and r.rate > 0 for r in result.others)
