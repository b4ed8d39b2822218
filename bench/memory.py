"""Benchmark 3: peak RSS of ``riskwatch scan`` over a big file, against its imports alone.

Both sides are fresh child processes; the peak (``ru_maxrss``) comes from the kernel
through ``os.wait4`` for exactly that child, so nothing of this process is counted.
The baseline child imports what the scan imports and loads the rules, then exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.data import ROOT

IMPORTS_ONLY = (
    "import service.cli, service.scan, detections.enrich, detections.normalize;"
    "from detections.registry import load_rules; load_rules()"
)


@dataclass(frozen=True)
class Memory:
    events: int
    scan_mb: float
    imports_mb: float
    scan_seconds: float

    @property
    def difference_mb(self) -> float:
        return self.scan_mb - self.imports_mb

    @property
    def ratio(self) -> float:
        return self.scan_mb / self.imports_mb


def peak_rss_mb(argv: list[str]) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, stderr) of a child running ``argv``."""
    import time

    started = time.perf_counter()
    with subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stderr is not None  # noqa: S101 - PIPE was asked for
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        msg = f"{' '.join(argv[2:])} exited {child.returncode}: {err[-500:]}"
        raise RuntimeError(msg)
    return usage.ru_maxrss / 1024, seconds, err  # Linux reports KiB


def measure(path: Path, events: int) -> Memory:
    scan_mb, seconds, err = peak_rss_mb(
        [sys.executable, "-m", "service.cli", "scan", "--max-alerts", "1000", str(path)]
    )
    if f"scanned {events} events" not in err:
        msg = f"the scan did not read {events} events: {err[-300:]}"
        raise RuntimeError(msg)
    imports_mb, _, _ = peak_rss_mb([sys.executable, "-c", IMPORTS_ONLY])
    return Memory(events, scan_mb, imports_mb, seconds)
