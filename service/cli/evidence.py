"""``riskwatch evidence``: fetch an incident's evidence bundle and verify every hash."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from service.cli.terminal import EXIT_FAILED, EXIT_OK, printable


def add_evidence_parser(sub: Any, command: Any) -> None:
    evidence = command(
        sub, "evidence",
        "fetch an incident's evidence bundle (raw records as received, normalized events, the "
        "incident, the manifest) into a folder and verify every sha256; a changed part is "
        "named and the exit status is 1",
        "  riskwatch evidence 1f3c9a0e5b7d4c21a8e6f0b2d4c6e8a0 --out ./case-1f3c\n"
        "  riskwatch evidence 1f3c9a0e5b7d4c21a8e6f0b2d4c6e8a0 --revision 2 --out ./case-r2",
    )
    evidence.add_argument("incident_id", metavar="INCIDENT_ID",
                          help="the incident's id (in each notification and the review)")
    evidence.add_argument("--revision", type=_revision, metavar="N",
                          help="the bundle of this revision (default: the latest)")
    evidence.add_argument("--out", required=True, type=Path, metavar="DIR",
                          help="folder the bundle's files are written to (made if missing)")


def _revision(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a revision number (1, 2, ...): {text!r}")
    return value


def run_evidence(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from service.response.bundles import evidence_store
    from service.settings import load_settings

    store = evidence_store(load_settings())
    ref, problems = store.fetch(args.incident_id, args.revision, args.out)
    where = printable(str(args.out))
    if problems:
        for problem in problems:
            err.write(f"riskwatch: TAMPERED {printable(problem)}\n")
        err.write(f"riskwatch: evidence of {ref.incident_id} revision {ref.revision} is NOT "
                  f"intact ({len(problems)} problems); files written to {where} for "
                  "inspection\n")
        return EXIT_FAILED
    out.write(f"evidence of {ref.incident_id} revision {ref.revision} ({ref.prefix}) verified: "
              f"every sha256 matches; manifest sha256 {ref.manifest_sha256}, written "
              f"{ref.written_at.isoformat()}; files in {where}\n")
    return EXIT_OK
