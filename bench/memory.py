"""Benchmark 3: peak RSS of ``riskwatch scan`` over a big file, against its imports alone.

Both sides are fresh child processes; the peak (``ru_maxrss``) comes from the kernel
through ``os.wait4`` for exactly that child, so nothing of this process is counted.
The baseline child imports what the scan imports and loads the rules, then exits.
Each child reports its own ``VmHWM`` (peak RSS of its address space, reset at exec)
on its last stderr line: ``ru_maxrss`` would also count the parent's pages when the
child is spawned with vfork.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bench.data import ROOT

HWM = (
    "import sys; sys.stderr.write('\\nVmHWM ' + next(line.split()[1] for line in "
    "open('/proc/self/status') if line.startswith('VmHWM')) + '\\n')"
)
IMPORTS_ONLY = (
    "import service.cli.commands, service.cli.scan, detections.enrich, detections.normalize;"
    "from detections.registry import load_rules; load_rules();" + HWM
)
SCAN = (
    "import sys; from service.cli.commands import main; code = main(sys.argv[1:]);"
    + HWM + "; sys.exit(code)"
)


@dataclass(frozen=True)
class Memory:
    events: int
    scan_mb: float
    imports_mb: float
    scan_seconds: float
    alerts: int = 0
    alerts_sha256: str = ""  # of the scan's stdout, so other runs can be compared with it

    @property
    def difference_mb(self) -> float:
        return self.scan_mb - self.imports_mb

    @property
    def ratio(self) -> float:
        return self.scan_mb / self.imports_mb


def peak_rss_mb(argv: list[str], stdout: IO[bytes] | None = None) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, stderr) of a child running ``argv``; its stdout to ``stdout``."""
    import time

    started = time.perf_counter()
    with subprocess.Popen(
        argv, cwd=ROOT, stdout=stdout or subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stderr is not None  # noqa: S101 - PIPE was asked for
        err = child.stderr.read()
        child.wait()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        msg = f"{' '.join(argv[2:])} exited {child.returncode}: {err[-500:]}"
        raise RuntimeError(msg)
    peak = err.rstrip().rsplit("\n", 1)[-1]
    if not peak.startswith("VmHWM "):
        msg = f"no VmHWM line from {' '.join(argv[2:])}"
        raise RuntimeError(msg)
    return int(peak.split()[1]) / 1024, seconds, err  # kB


def scan_child(path: Path, events: int) -> tuple[float, float, int, str]:
    """Peak RSS (MB), seconds, alerts and the SHA-256 of the alerts of ``riskwatch scan PATH``."""
    with tempfile.TemporaryFile() as out:
        scan_mb, seconds, err = peak_rss_mb(
            [sys.executable, "-c", SCAN, "scan", "--max-alerts", "1000", str(path)], out
        )
        out.seek(0)
        digest, alerts = hashlib.sha256(), 0
        for line in out:
            digest.update(line)
            alerts += 1
    if f"scanned {events} events" not in err:
        msg = f"the scan did not read {events} events: {err[-300:]}"
        raise RuntimeError(msg)
    return scan_mb, seconds, alerts, digest.hexdigest()


def measure(path: Path, events: int) -> Memory:
    scan_mb, seconds, alerts, digest = scan_child(path, events)
    imports_mb, _, _ = peak_rss_mb([sys.executable, "-c", IMPORTS_ONLY])
    return Memory(events, scan_mb, imports_mb, seconds, alerts, digest)
