"""Benchmark 1: normalize + every rule (``riskwatch scan``'s path) against ``json.loads`` alone.

Each side runs in its own child process over the same JSON-lines file, with its
imports and rule loading done before the clock starts, so neither pays for the
other's warm-up and the benchmark's own bookkeeping stays out of the figures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.data import ROOT


@dataclass(frozen=True)
class Throughput:
    events: int
    parse_seconds: float
    scan_seconds: float
    alerts: int

    @property
    def ratio(self) -> float:
        return self.scan_seconds / self.parse_seconds

    @property
    def parse_rate(self) -> float:
        return self.events / self.parse_seconds

    @property
    def scan_rate(self) -> float:
        return self.events / self.scan_seconds


def _parse_only(path: Path) -> dict[str, float]:
    started = time.perf_counter()
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line in handle:
            if line.strip():
                json.loads(line)
                count += 1
    return {"seconds": time.perf_counter() - started, "events": count, "alerts": 0}


def _full_scan(path: Path) -> dict[str, float]:
    from detections.enrich import Enricher
    from detections.registry import load_rules
    from service.cli import scan

    rules = load_rules()
    options = scan.ScanOptions()
    started = time.perf_counter()
    report = scan.scan([path], rules, options, enricher=Enricher())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "events": report.events, "alerts": len(report.alerts)}


def _child(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.throughput", mode, str(path)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    return result


def measure(path: Path, repeats: int = 1) -> Throughput:
    """Fastest of ``repeats`` child runs of each side (parse and scan interleaved)."""
    parses, scans = [], []
    for _ in range(repeats):
        parses.append(_child("parse", path))
        scans.append(_child("scan", path))
    parse = min(parses, key=lambda r: r["seconds"])
    full = min(scans, key=lambda r: r["seconds"])
    if parse["events"] != full["events"]:
        msg = f"parse saw {parse['events']} records but scan {full['events']} events"
        raise RuntimeError(msg)
    return Throughput(int(full["events"]), parse["seconds"], full["seconds"], int(full["alerts"]))


if __name__ == "__main__":
    mode, name = sys.argv[1], Path(sys.argv[2])
    print(json.dumps(_parse_only(name) if mode == "parse" else _full_scan(name)))
