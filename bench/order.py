"""Benchmark 6: ``riskwatch scan`` of the memory benchmark's file shuffled and reversed.

A newest-first or shuffled file is sorted on disk before it is judged
(``service.cli.scan_order``). Each copy is scanned by a fresh child exactly as the
in-order file is in benchmark 3, whose run is the baseline: events/s, peak RSS and
the alerts (their SHA-256), side by side, in the same run.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from pathlib import Path

from bench.memory import Memory, scan_child

SHUFFLE_SEED = 11


@dataclass(frozen=True)
class OrderRun:
    name: str
    events: int
    seconds: float
    peak_mb: float
    alerts: int
    alerts_sha256: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds


@dataclass(frozen=True)
class Order:
    in_order: OrderRun
    shuffled: OrderRun
    reversed: OrderRun

    @property
    def others(self) -> tuple[OrderRun, OrderRun]:
        return self.shuffled, self.reversed

    @property
    def same_alerts(self) -> bool:
        return all(r.alerts_sha256 == self.in_order.alerts_sha256 for r in self.others)

    def rate_ratio(self, run: OrderRun) -> float:
        return run.rate / self.in_order.rate

    def rss_ratio(self, run: OrderRun) -> float:
        return run.peak_mb / self.in_order.peak_mb

    @property
    def met(self) -> bool:
        # Same alerts, and no more memory than in order (5 % for the allocator's noise).
        return self.same_alerts and all(self.rss_ratio(r) <= 1.05 for r in self.others)


def reordered(source: Path, work: Path) -> tuple[Path, Path]:
    """Shuffled and reversed copies of ``source``, line by line (only offsets in memory)."""
    offsets = array("q", [0])
    with source.open("rb") as handle:
        for line in handle:
            offsets.append(offsets[-1] + len(line))
    lines = list(range(len(offsets) - 1))
    backwards = lines[::-1]
    random.Random(SHUFFLE_SEED).shuffle(lines)
    copies = (work / f"shuffled-{source.name}", work / f"reversed-{source.name}")
    for target, order in zip(copies, (lines, backwards), strict=True):
        with source.open("rb") as src, target.open("wb") as dst:
            for n in order:
                src.seek(offsets[n])
                line = src.read(offsets[n + 1] - offsets[n])
                dst.write(line if line.endswith(b"\n") else line + b"\n")
    return copies


def measure(source: Path, baseline: Memory, work: Path) -> Order:
    """``baseline``: benchmark 3's run over ``source`` in order."""
    shuffled, backwards = reordered(source, work)
    runs = [
        OrderRun("in order", baseline.events, baseline.scan_seconds, baseline.scan_mb,
                 baseline.alerts, baseline.alerts_sha256),
    ]  # fmt: skip
    for name, path in (("shuffled", shuffled), ("reversed", backwards)):
        peak, seconds, alerts, digest = scan_child(path, baseline.events)
        runs.append(OrderRun(name, baseline.events, seconds, peak, alerts, digest))
        path.unlink()
    return Order(*runs)
