"""CLI: ``python -m synth --users 60 --days 10 --seed 7 --out samples``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from synth.generate import Config, plan
from synth.writers import write


def _start(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m synth",
        description="Write a deterministic synthetic Entra ID tenant with labelled stories.",
    )
    p.add_argument("--users", type=int, default=60)
    p.add_argument("--days", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default="2026-11-02T00:00:00Z",
                   help="ISO-8601 start of the window (default a Monday, UTC)")  # fmt: skip
    p.add_argument("--per-day", type=float, default=10.0,
                   help="mean sign-ins per user per working day (interactive + non-interactive)")
    p.add_argument("--shape", choices=("graph", "diagnostic"), default="graph")
    p.add_argument("--stream", action="store_true",
                   help="one JSON-lines file per kind, written as generated (any size)")
    p.add_argument("--no-stories", dest="stories", action="store_false",
                   help="ordinary activity only (no attack stories or look-alikes)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--labels", type=Path,
                   help="where labels.json goes (default OUT/labels.json); keep it outside a "
                   "folder you scan, since it is not an input")  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config = Config(users=args.users, days=args.days, seed=args.seed,
                        start=_start(args.start), per_day=args.per_day, stories=args.stories)
        tenant = plan(config)
    except ValueError as exc:
        print(f"synth: {exc}", file=sys.stderr)
        return 2
    counts = write(tenant.records(), args.out, args.shape, args.stream)
    labels = {
        "generator": {
            "command": " ".join(["python -m synth", *(argv if argv is not None
                                                               else sys.argv[1:])]),
            "seed": args.seed, "users": args.users, "days": args.days, "start": args.start,
            "per_day": args.per_day, "shape": args.shape,
        },
        "counts": dict(sorted(counts.items())),
        "stories": tenant.labels,
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.labels or args.out / "labels.json").write_text(
        json.dumps(labels, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(json.dumps(dict(sorted(counts.items()))), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
