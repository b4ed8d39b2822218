"""Reads a folder of Sigma rules (and its subfolders) into registry rules, one file at a time.

Every ``.yml``/``.yaml`` file gives one verdict per rule in it: supported (a registry rule),
or unsupported with the exact reason. A file that cannot be used is one unsupported verdict
naming the file and, where there is one, the line; the other files are still read. Hostile
files are refused before pySigma sees them:

- a file, or a link, that resolves outside the folder (``MAX_RULE_BYTES`` bounds the size);
- YAML with more than ``MAX_ALIASES`` aliases (a "billion laughs" bomb), and pySigma's own
  alias-expansion check after parsing;
- text that is not UTF-8, or YAML that does not parse (its line is named).

Regular expressions are compiled for RE2 (``detections.sigma.values``): no catastrophic
backtracking at match time; a pattern RE2 cannot run is refused here.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaYAMLLoader

from detections.errors import RiskwatchError
from detections.rule import Rule
from detections.sigma.compile import Verdict, compile_rule

MAX_RULE_BYTES = 256 * 1024  # SigmaHQ's largest rule is a few KB
MAX_ALIASES = 100
MAX_FILES = 10_000
SUFFIXES = (".yml", ".yaml")
# The project root: a relative RISKWATCH_SIGMA_RULES is a folder deployed with the code.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("riskwatch.sigma")


class SigmaFolderError(RiskwatchError):
    """The Sigma rules folder itself cannot be read (missing, not a folder)."""


@dataclass(frozen=True, slots=True)
class SigmaRuleSet:
    """Every verdict of a folder, in file order; ``rules`` are the supported ones."""

    folder: str
    verdicts: tuple[Verdict, ...]

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(v.rule for v in self.verdicts if v.rule is not None)

    def summary(self) -> str:
        supported = len(self.rules)
        return (f"sigma: {supported} of {len(self.verdicts)} rules in {self.folder} supported, "
                f"{len(self.verdicts) - supported} unsupported (riskwatch rules --sigma "
                f"{self.folder} says why)")


def resolve_folder(setting: str) -> Path:
    """An absolute folder as given; a relative one from the project (deployed code) root."""
    path = Path(setting)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_folder(folder: str | Path) -> SigmaRuleSet:
    root = Path(folder)
    if not root.is_dir():
        raise SigmaFolderError(f"{folder}: not a folder of Sigma rules")
    real_root = root.resolve()
    verdicts: list[Verdict] = []
    for path in _rule_files(root):
        rel = path.relative_to(root).as_posix()
        verdicts += _load_file(path, rel, real_root)
    return SigmaRuleSet(str(folder), _without_duplicates(verdicts))


def _rule_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        found += [Path(dirpath) / n for n in sorted(filenames) if n.lower().endswith(SUFFIXES)]
        if len(found) > MAX_FILES:
            raise SigmaFolderError(f"{root}: more than {MAX_FILES} rule files")
    return found


def _refused(rel: str, reason: str) -> Verdict:
    return Verdict(sigma_id=None, title=rel, status="unsupported", reason=reason, level=None,
                   service=None, file=rel)


def _load_file(path: Path, rel: str, real_root: Path) -> list[Verdict]:
    try:
        real = path.resolve(strict=True)
        if not real.is_relative_to(real_root):
            return [_refused(rel, "refused: the file resolves outside the rules folder "
                                  "(a symbolic link)")]
        size = real.stat().st_size
        if size > MAX_RULE_BYTES:
            return [_refused(rel, f"refused: {size} bytes, more than the {MAX_RULE_BYTES} a "
                                  "rule file may have")]
        data = real.read_bytes()
    except OSError as exc:
        return [_refused(rel, f"cannot read: {exc.strerror or exc}")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [_refused(rel, f"parse error at line {line}: not UTF-8")]
    try:
        documents = _parse_yaml(text)
    except _YamlRefused as exc:
        return [_refused(rel, str(exc))]
    return _verdicts(documents, text, rel)


class _YamlRefused(RiskwatchError):
    pass


def _parse_yaml(text: str) -> list[Any]:
    try:
        aliases = sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, yaml.CSafeLoader))
        if aliases > MAX_ALIASES:
            raise _YamlRefused(f"refused: {aliases} YAML aliases, more than {MAX_ALIASES} "
                               "(a YAML bomb)")
        return list(yaml.load_all(text, SigmaYAMLLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _YamlRefused(f"parse error{where}: {problem}") from exc


def _verdicts(documents: list[Any], text: str, rel: str) -> list[Verdict]:
    try:
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(Path(rel)))
    except (SigmaError, TypeError, AttributeError, ValueError) as exc:
        return [_refused(rel, f"parse error at line {_line_of(text, str(exc))}: {exc}")]
    out: list[Verdict] = [
        _refused(rel, f"parse error at line {_line_of(text, str(e))}: {_message(e)}")
        for e in collection.errors if not _belongs_to_a_rule(e, collection)
    ]
    for parsed in collection.rules:
        if isinstance(parsed, SigmaRule):
            verdict = compile_rule(parsed, rel)
        elif isinstance(parsed, SigmaCorrelationRule):
            verdict = Verdict(
                sigma_id=str(parsed.id) if parsed.id else None, title=parsed.title,
                status="unsupported", file=rel, level=None, service=None,
                reason="correlation rule: Riskwatch judges one event at a time "
                       "(its own correlation rules count across events)")
        else:
            kind = "filter" if isinstance(parsed, SigmaFilter) else type(parsed).__name__
            verdict = _refused(rel, f"{kind}: only detection rules are run")
        if verdict.status == "unsupported":
            verdict = replace(verdict, reason=f"line {_line_of(text, verdict.reason)}: "
                                              f"{verdict.reason}")
        out.append(verdict)
    return out


def _belongs_to_a_rule(error: SigmaError, collection: SigmaCollection) -> bool:
    return any(error in getattr(r, "errors", ()) for r in collection.rules)


def _message(error: SigmaError) -> str:
    return str(error.args[0]) if error.args else type(error).__name__


def _line_of(text: str, reason: str) -> int:
    """The line of the first quoted name of ``reason`` in the file (1 when none is found)."""
    for token in re.findall(r"'([^']{1,100})'", reason):
        for number, line in enumerate(text.splitlines(), start=1):
            if token in line:
                return number
    return 1


def _without_duplicates(verdicts: list[Verdict]) -> tuple[Verdict, ...]:
    """A Sigma id seen in an earlier file keeps that file's rule; the later one is refused."""
    first: dict[str, str] = {}
    out: list[Verdict] = []
    for v in verdicts:
        sigma_id = v.sigma_id
        if v.rule is not None and sigma_id is not None:
            if sigma_id in first:
                v = replace(v, status="unsupported", rule=None,
                            reason=f"duplicate id: {first[sigma_id]} has the same id")
            else:
                first[sigma_id] = v.file
        out.append(v)
    return tuple(out)


def rules_from_setting(setting: str | None) -> tuple[Rule, ...]:
    """RISKWATCH_SIGMA_RULES's supported rules, loaded once per worker (none when unset).

    A missing folder raises (the deployment is wrong, every run would miss the rules); an
    unsupported or broken rule is logged with its reason and the others still run."""
    if setting is None:
        return ()
    loaded = load_folder(resolve_folder(setting))
    log.info("%s", loaded.summary())
    for verdict in loaded.verdicts:
        if verdict.status == "unsupported":
            log.warning("sigma rule %s not run: %s", verdict.file, verdict.reason)
    return loaded.rules
