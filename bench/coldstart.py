"""Benchmark 4: importing ``function_app`` against importing ``azure.functions`` alone.

Each import runs in a fresh interpreter (nothing cached in ``sys.modules``), the two
alternating so that disk-cache warmth favours neither; the median of each is kept.
The import is timed inside the child, and the whole child's wall time is reported too.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.data import ROOT

PROBE = (
    "import time, json; t = time.perf_counter(); import {module}; "
    "print(json.dumps(time.perf_counter() - t))"
)


@dataclass(frozen=True)
class ColdStart:
    repeats: int
    functions_import: float
    app_import: float
    functions_process: float
    app_process: float

    @property
    def ratio(self) -> float:
        return self.app_import / self.functions_import

    @property
    def process_ratio(self) -> float:
        return self.app_process / self.functions_process


def _once(module: str) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return float(json.loads(out.stdout)), time.perf_counter() - started


def measure(repeats: int) -> ColdStart:
    functions: list[tuple[float, float]] = []
    app: list[tuple[float, float]] = []
    _once("function_app")  # compile the .pyc files once: a deployed app ships them
    for _ in range(repeats):
        functions.append(_once("azure.functions"))
        app.append(_once("function_app"))
    return ColdStart(
        repeats,
        statistics.median(t for t, _ in functions),
        statistics.median(t for t, _ in app),
        statistics.median(w for _, w in functions),
        statistics.median(w for _, w in app),
    )
