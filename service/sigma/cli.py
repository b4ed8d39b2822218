"""``--sigma DIR`` for ``riskwatch scan``, ``run`` and ``rules``."""

from __future__ import annotations

import json
from typing import TextIO

from detections.errors import InputError, Where
from detections.rule import Rule
from service.cli.terminal import printable
from service.sigma.loader import SigmaFolderError, SigmaRuleSet, load_folder


def load_for_cli(folder: str) -> SigmaRuleSet:
    """The folder's rules; a folder that cannot be read is an input error (exit 3)."""
    try:
        return load_folder(folder)
    except SigmaFolderError as exc:
        raise InputError(Where(folder), "not a folder of Sigma rules") from exc


def sigma_rules(folder: str | None, err: TextIO, disabled: frozenset[str]) -> list[Rule]:
    """The supported rules of ``folder`` (none without it); one summary line on ``err``."""
    if folder is None:
        return []
    loaded = load_for_cli(folder)
    err.write(loaded.summary() + "\n")
    return [r for r in loaded.rules if r.id not in disabled]


def list_sigma(folder: str, *, as_json: bool, out: TextIO) -> int:
    """Every rule of ``folder`` with its status: supported, or unsupported and why."""
    loaded = load_for_cli(folder)
    for verdict in loaded.verdicts:
        row = verdict.to_dict()
        if as_json:
            out.write(json.dumps(row, sort_keys=True) + "\n")
            continue
        text = f"{row['id'] or '-':<44} {verdict.status:<11} {verdict.level or '-':<8} " \
               f"{verdict.service or '-':<13} {verdict.file}"  # fmt: skip
        out.write(printable(text) + "\n")
        if verdict.reason:
            out.write(f"    {printable(verdict.reason)}\n")
    return 0
