"""Benchmark inputs: synthetic tenants written by ``synth`` before any timing.

The generator streams JSON lines in time order; a benchmark that needs exactly N
sign-ins takes the first N lines of a one-day tenant big enough to hold them.
"""

from __future__ import annotations

import heapq
import re
import subprocess
import sys
from datetime import datetime
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


SHARD_USERS = 100_000  # planning more users at once is slower than linear in synth


def tenant_window(out: Path, users: int, start: datetime, minutes: int, seed: int = 7) -> Path:
    """``minutes`` of sign-ins of a ``users``-user tenant from ``start`` (JSON lines, time order).

    The generator's activity is a Poisson process per user, so a window generated on its own
    has the per-user rate of the same minutes of a whole day, without writing the day (a
    1,000,000-user day is about 10 million sign-ins). A tenant of more than ``SHARD_USERS``
    is planned in shards of that many users (each its own seed: own users, ids, offices and
    networks) merged in time order. Written in child processes, untimed.
    """
    path = out / f"window-{users}-{start:%H%M}-{minutes}m.jsonl"
    if path.exists():
        return path
    out.mkdir(parents=True, exist_ok=True)
    sizes = [min(SHARD_USERS, users - at) for at in range(0, users, SHARD_USERS)]
    parts = [path.with_name(f"{path.stem}.shard{n}.jsonl") for n in range(len(sizes))]
    for n, (part, size) in enumerate(zip(parts, sizes, strict=True)):
        subprocess.run(
            [sys.executable, "-m", "bench.data", str(part), str(size),
             str(start.timestamp()), str(minutes * 60), str(seed + 1000 * n)],
            cwd=ROOT, check=True,
        )  # fmt: skip
    if len(parts) == 1:
        parts[0].replace(path)
        return path
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as merged:
        handles = [p.open(encoding="utf-8") for p in parts]
        try:
            merged.writelines(heapq.merge(*handles, key=_created))
        finally:
            for handle in handles:
                handle.close()
    partial.replace(path)
    for part in parts:
        part.unlink()
    return path


_CREATED = re.compile(r'"createdDateTime":"([^"]+)"')


def _created(line: str) -> str:
    found = _CREATED.search(line)
    return found.group(1) if found else ""


def _write_window(path: Path, users: int, start: float, seconds: float, seed: int) -> None:
    import random

    from synth.activity import Ambient
    from synth.generate import Config, plan
    from synth.shapes import dumps

    day = start - start % 86400  # the tenant is planned from its day's midnight, as synth does
    tenant = plan(Config(users=users, days=1, seed=seed, start=day, stories=False))
    ambient = Ambient(random.Random(f"{seed}:activity"), tenant.users, start, start + seconds,
                      tenant.config.per_day)  # fmt: skip
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as handle:
        for _, kind, record in ambient:
            if kind == "signIn":
                handle.write(dumps(record) + "\n")
    partial.replace(path)


if __name__ == "__main__":
    _write_window(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]),
                  int(sys.argv[5]))
