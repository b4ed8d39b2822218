"""``bench.run`` on tiny sizes: every benchmark runs its real code path and the report
carries each ratio and verdict. Figures are not judged here (no timed assertions)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.run import TINY, run

pytestmark = pytest.mark.azurite


def test_tiny_run_writes_a_report_with_every_ratio(
    storage_connection: str, tmp_path: Path
) -> None:
    out = tmp_path / "RESULTS.md"
    results = run(TINY, tmp_path / "work", storage_connection, out)

    assert results.throughput.events == TINY.throughput  # both sides read the whole file
    assert results.throughput.ratio > 0
    assert results.tables.sign_ins > 0
    assert results.tables.transactions > 0  # counted at the real client, not estimated
    assert results.tables.by_phase["history load"] > 0
    assert results.memory.events == TINY.memory
    assert results.memory.scan_mb > 0 and results.memory.imports_mb > 0
    assert results.coldstart.repeats == TINY.coldstart_repeats
    assert results.graph.sign_in_pages == TINY.graph_pages
    assert results.graph.pages_within(480) > TINY.graph_pages
    # Every tenant size ran in a child of its own: requests counted, phases timed, peak taken.
    assert [t.cost.users for t in results.tenants] == sorted(TINY.tenants)
    for tenant in results.tenants:
        assert tenant.cost.runs == TINY.table_windows and tenant.cost.transactions > 0
        assert tenant.peak_mb > 0
        assert tenant.cost.run_seconds("judge") > 0 and tenant.cost.run_seconds("history load") > 0
    # The export path: blobs written, BlobCreated handled, the timer's job read every line.
    assert [e.users for e in results.export] == list(TINY.export_tenants)
    for export in results.export:
        assert export.runs == TINY.export_runs and export.blobs >= 1
        assert export.sign_ins == sum(n for _, n in export.windows) > 0
        assert export.chunks >= 1 and export.requests > 0 and export.history_sign_ins > 0
        assert export.seconds["judge"] > 0 and export.seconds["history load"] > 0
        assert export.seconds["download"] > 0 and export.peak_mb > 0

    text = out.read_text(encoding="utf-8")
    assert results.machine["cpu"] in text and results.machine["python"] in text
    rows = [line for line in text.splitlines() if re.match(r"\| [1-9] \|", line)]
    assert len(rows) == 9  # one summary row per figure
    assert sum(bool(re.search(r"\d+\.\d+x", row)) for row in rows) >= 3  # ratios 1, 3, 4
    assert "per 1,000 sign-ins" in rows[1]
    assert all(("met" in row) or ("see below" in row) for row in rows)
    assert "per run" in rows[6] and "history load" in rows[7] and "MB" in rows[8]
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## 6.", "## 7.", "## 9."):
        assert heading in text
    assert "<= 3x (2x goal)" in rows[0]
    (export_row,) = [line for line in text.splitlines() if line.startswith("| 11 |")]
    assert "keeps up to about" in export_row and "met" in export_row
