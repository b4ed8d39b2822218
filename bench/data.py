"""Benchmark inputs: synthetic tenants written by ``synth`` before any timing.

The generator streams JSON lines in time order; a benchmark that needs exactly N
sign-ins takes the first N lines of a one-day tenant big enough to hold them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGN_INS_PER_USER_DAY = 10.7  # the generator's weekday mean, measured (per_day 10)
START = "2026-11-02T00:00:00Z"  # a Monday: a working day


def tenant_day(out: Path, users: int, seed: int = 7) -> Path:
    """One working day of ``users`` users (no attack stories): ``out/signIns.jsonl``."""
    path = out / "signIns.jsonl"
    if path.exists():
        return path
    subprocess.run(
        [sys.executable, "-m", "synth", "--users", str(users), "--days", "1",
         "--seed", str(seed), "--start", START, "--stream", "--no-stories",
         "--out", str(out), "--labels", str(out.parent / f"{out.name}-labels.json")],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return path


def first_lines(source: Path, count: int, target: Path) -> int:
    """Copy the first ``count`` lines of ``source`` to ``target``; returns how many."""
    written = 0
    with source.open("rb") as src, target.open("wb") as dst:
        for line in src:
            if written >= count:
                break
            dst.write(line)
            written += 1
    return written


def sign_ins(work: Path, count: int) -> Path:
    """A JSON-lines file of exactly ``count`` sign-ins (fewer only if the day is short)."""
    users = max(50, int(count / SIGN_INS_PER_USER_DAY * 1.05) + 1)
    day = tenant_day(work / f"tenant-{users}", users)
    target = work / f"signins-{count}.jsonl"
    if not target.exists():
        first_lines(day, count, target)
    return target
