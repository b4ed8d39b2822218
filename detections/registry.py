"""The rule registry and the policy every rule must meet, checked all at once.

The rules are the modules of the ``detections.rules`` package, found through the
import system (``pkgutil`` over the package path, then ``importlib``): each module
holds one ``RULE`` whose id is the module's name.
"""

from __future__ import annotations

import difflib
import importlib
import json
import pkgutil
import re
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cache
from types import ModuleType

import detections.rules
from detections.errors import RiskwatchError, RuleValidationError
from detections.model import DirectoryAudit, RiskDetection, RiskyUser, SignIn
from detections.params import ParamError
from detections.rule import Param, Rule

RULE_ID = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
MITRE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")
_EVENT_TYPES = {"signIn": SignIn, "riskDetection": RiskDetection, "riskyUser": RiskyUser,
                "directoryAudit": DirectoryAudit}
# Severity bands for the risk score, as Elastic's policy tests enforce them.
_SCORE_BANDS = {
    "informational": (0, 20),
    "low": (0, 46),
    "medium": (21, 72),
    "high": (47, 98),
    "critical": (74, 100),
}


def validate(rules: Sequence[Rule]) -> list[str]:
    """Every policy problem of ``rules``, as ``rule_id: problem`` lines."""
    problems: list[str] = []
    seen: set[str] = set()
    for rule in rules:
        problems += [f"{rule.id}: {p}" for p in _problems(rule)]
        if rule.id in seen:
            problems.append(f"{rule.id}: duplicate rule id")
        seen.add(rule.id)
    return problems


def _problems(rule: Rule) -> list[str]:
    out: list[str] = []
    if not RULE_ID.match(rule.id):
        out.append("id must be snake_case")
    if rule.version < 1:
        out.append("version must be 1 or more")
    low, high = _SCORE_BANDS[rule.severity.value]
    if not low <= rule.risk_score <= high:
        out.append(f"risk score {rule.risk_score} outside {low}-{high} for {rule.severity.value}")
    out += [f"bad MITRE id {m!r}" for m in rule.mitre if not MITRE_ID.match(m)]
    if not rule.mitre:
        out.append("no MITRE ATT&CK technique")
    if not rule.kinds:
        out.append("no event kinds")
    for kind in rule.kinds:
        names = {f.name for f in fields(_EVENT_TYPES[kind])} | {"principal", "event_id"}
        for dedup_field in rule.dedup_fields:
            if dedup_field.split(".")[0] not in names:
                out.append(f"dedup field {dedup_field!r} is not a field of {kind}")
    if rule.dedup_window.total_seconds() <= 0:
        out.append("dedup window must be positive")
    for name, value in (
        ("investigation", rule.investigation),
        ("false_positives", rule.false_positives),
        ("references", rule.references),
    ):
        if not value:
            out.append(f"{name} must not be empty")
    if not any(t.expect for t in rule.tests):
        out.append("no positive inline case")
    if not any(not t.expect for t in rule.tests):
        out.append("no negative inline case")
    case_names = [t.name for t in rule.tests]
    if len(case_names) != len(set(case_names)):
        out.append("inline case names must be unique")
    try:
        json.dumps(rule.default_params())
    except TypeError:
        out.append("params must be JSON values")
    for param in rule.params:
        out += [f"param {param.name}: {p}" for p in _param_problems(param)]
    return out


def _param_problems(param: Param) -> list[str]:
    """Every number and number list needs a documented range holding its default."""
    ranged = isinstance(param.default, int | float) or param.int_list
    if not ranged:
        return []
    if param.minimum is None or param.maximum is None:
        return ["a number needs a minimum and a maximum"]
    if param.minimum > param.maximum:
        return ["minimum above maximum"]
    try:
        param.parse(str(param.default))
    except ParamError as exc:
        return [f"default {param.default!r} is invalid: {exc}"]
    return []


class RuleModuleError(RiskwatchError):
    """A module of the rules package that is not one well-formed rule."""


def discover(package: ModuleType = detections.rules) -> tuple[Rule, ...]:
    """The ``RULE`` of every module of ``package``, in module-name order."""
    found: list[Rule] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.append(_rule_of(module, info.name))
    return tuple(found)


def _rule_of(module: ModuleType, name: str) -> Rule:
    rule = getattr(module, "RULE", None)
    where = getattr(module, "__file__", None) or module.__name__
    if not isinstance(rule, Rule):
        raise RuleModuleError(f"{where}: a rule module must define RULE = Rule(...)")
    if rule.id != name:
        raise RuleModuleError(
            f"{where}: RULE.id is {rule.id!r} but the module is {name!r}: the module name is "
            f"the rule id (rename the file to {rule.id}.py, or the id to {name!r})"
        )
    return rule


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every discovered rule, once per process (``all_rules.cache_clear()`` re-reads)."""
    return discover()


def load_rules() -> tuple[Rule, ...]:
    """All rules, after checking the whole set against the policy."""
    rules = all_rules()
    problems = validate(rules)
    if problems:
        raise RuleValidationError(problems)
    return rules


class UnknownRuleError(RiskwatchError, KeyError):
    """No rule has this id; the message suggests the nearest one."""

    def __str__(self) -> str:  # KeyError's own str() would quote the whole message
        return str(self.args[0])


def nearest_name(word: str, names: Iterable[str]) -> str | None:
    """The name ``word`` was most likely meant to be (a typo), or None."""
    matches = difflib.get_close_matches(word, list(names), n=1, cutoff=0.75)
    return matches[0] if matches else None


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """``", did you mean X?"`` for a near miss, else empty."""
    nearest = nearest_name(word, names)
    return f", did you mean {nearest}?" if nearest else ""


def rule_by_id(rule_id: str) -> Rule:
    for rule in all_rules():
        if rule.id == rule_id:
            return rule
    hint = did_you_mean(rule_id, (r.id for r in all_rules()))
    raise UnknownRuleError(f"unknown rule {rule_id[:80]!r}{hint}")
