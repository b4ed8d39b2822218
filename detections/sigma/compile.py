"""A parsed Sigma rule (pySigma's ``SigmaRule``) → a registry ``Rule``, or the reason it cannot be.

The condition tree pySigma builds (``and``, ``or``, ``not``, ``1 of``/``all of`` already
expanded, value lists linked with OR or, with ``|all``, AND) becomes a tree of closures over
the canonical event: the fields through ``fields.GETTERS``, the values through
``values.value_test``. Nothing of pySigma runs when an event is judged.

The rule: id ``sigma:<uuid>``, severity from ``level`` (medium when absent), MITRE
techniques from ``attack.tNNNN`` tags, ``falsepositives`` as false positives and known
gaps, one alert per principal and rule per ``DEDUP_WINDOW``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeAlias

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import SigmaExpansion, SigmaFieldReference, SigmaString, SigmaType

from detections.audit import actor_context
from detections.model import DirectoryAudit, Event, Severity
from detections.rule import Context, Finding, JsonValue, Rule
from detections.sigma.fields import GETTERS, KIND_OF_SERVICE, SIGMA_NAMES, Getter, Service
from detections.sigma.pipeline import pipeline_for, rule_fields, unmapped_fields
from detections.sigma.values import (
    UnsupportedSigma,
    ValueTest,
    equals_any,
    plain_text,
    texts,
    value_test,
)

Predicate: TypeAlias = Callable[[Event], bool]
Status: TypeAlias = Literal["supported", "unsupported"]
DEDUP_WINDOW = timedelta(hours=24)  # a day: SigmaHQ rules are per event, some fire often
# Inside each severity's band of the registry's policy (Elastic's default risk scores).
RISK_SCORES = {Severity.INFORMATIONAL: 10, Severity.LOW: 21, Severity.MEDIUM: 47,
               Severity.HIGH: 73, Severity.CRITICAL: 99}
# SigmaHQ writes the literal 'UPN' where a tenant must put its own user: the rule is a
# template, and matching the literal would never fire.
PLACEHOLDER_VALUES = frozenset({"upn"})
TECHNIQUE = re.compile(r"^t\d{4}(\.\d{3})?$")
MAX_CONTEXT_VALUE = 256
MAX_CONTEXT_VALUES = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """What became of one Sigma rule: a registry rule, or the exact reason there is none."""

    sigma_id: str | None
    title: str
    status: Status
    reason: str
    level: str | None
    service: str | None
    file: str
    rule: Rule | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"id": f"sigma:{self.sigma_id}" if self.sigma_id else None, "title": self.title,
                "status": self.status, "reason": self.reason, "level": self.level,
                "service": self.service, "file": self.file}


def compile_rule(rule: SigmaRule, file: str) -> Verdict:
    """``rule`` as a registry rule; mutates ``rule`` (its fields are renamed by the pipeline)."""
    level = rule.level.name.lower() if rule.level else None
    service = rule.logsource.service
    sigma_id = str(rule.id) if rule.id else None
    title = rule.title or "(untitled)"
    try:
        built = _build(rule, file)
    except (UnsupportedSigma, SigmaError) as exc:
        return Verdict(sigma_id=sigma_id, title=title, status="unsupported", reason=str(exc),
                       level=level, service=service, file=file)
    return Verdict(sigma_id=sigma_id, title=title, status="supported", reason="", level=level,
                   service=service, file=file, rule=built)


def _build(rule: SigmaRule, file: str) -> Rule:
    if rule.errors:
        raise UnsupportedSigma(f"invalid rule: {rule.errors[0]}")
    service = _service(rule)
    if rule.id is None:
        raise UnsupportedSigma("the rule has no id (Riskwatch names its alerts sigma:<id>)")
    problems = unmapped_fields(rule, service)
    if problems:
        raise UnsupportedSigma("; ".join(problems))
    # canonical name → the rule's own name for it (the alert's context uses the rule's)
    names = {SIGMA_NAMES[service][f.lower()]: f for f in rule_fields(rule)}
    pipeline_for(rule, service).apply(rule)
    trees = [condition.parsed for condition in rule.detection.parsed_condition]
    predicates = [_node(tree) for tree in trees if tree is not None]
    if not predicates:
        raise UnsupportedSigma("the condition selects nothing")
    predicate = predicates[0] if len(predicates) == 1 else _any(predicates)
    severity = Severity.parse(rule.level.name) if rule.level else Severity.MEDIUM
    return _rule(rule, file, service, predicate, severity, names)


def _service(rule: SigmaRule) -> Service:
    source = rule.logsource
    if (source.product or "").lower() != "azure" or source.service not in KIND_OF_SERVICE:
        raise UnsupportedSigma(
            f"logsource product {source.product!r} service {source.service!r} is not an Entra "
            "log Riskwatch reads (azure: riskdetection, signinlogs, auditlogs)")
    service: Service = source.service  # type: ignore[assignment]  # checked just above
    return service


def _any(predicates: Sequence[Predicate]) -> Predicate:
    return lambda e: any(p(e) for p in predicates)


def _node(node: object) -> Predicate:
    if isinstance(node, ConditionAND | ConditionOR):
        parts = [_node(arg) for arg in node.args]  # compiled first: unsupported parts raise
        if isinstance(node, ConditionOR) and _one_field(node.args):
            return _field_any(node.args)  # a value list: the field read once
        if isinstance(node, ConditionAND):
            if len(parts) == 2:
                a, b = parts
                return lambda e: a(e) and b(e)
            return lambda e: all(p(e) for p in parts)
        return _any(parts)
    if isinstance(node, ConditionNOT):
        inner = _node(node.args[0])
        return lambda e: not inner(e)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _leaf(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        raise UnsupportedSigma("keyword (field-less) detections are not supported: "
                               "Entra events have no single text to search")
    if isinstance(node, ConditionItem):
        raise UnsupportedSigma(f"condition {type(node).__name__} is not supported")
    raise UnsupportedSigma(f"condition element {type(node).__name__} is not supported")


def _one_field(args: Sequence[object]) -> bool:
    fields = {a.field for a in args if isinstance(a, ConditionFieldEqualsValueExpression)}
    return len(fields) == 1 and all(
        isinstance(a, ConditionFieldEqualsValueExpression)
        and not isinstance(a.value, SigmaFieldReference | SigmaExpansion) for a in args)


def _field_any(args: Sequence[object]) -> Predicate:
    leaves = [a for a in args if isinstance(a, ConditionFieldEqualsValueExpression)]
    get = _getter(leaves[0].field)
    plain = [plain_text(a.value) for a in leaves]
    if all(p is not None for p in plain):
        return equals_any(get, frozenset(p for p in plain if p is not None))
    tests = [value_test(a.value) for a in leaves]
    return lambda e: any(t(v) for v in (get(e),) for t in tests)


def _getter(field: str) -> Getter:
    get = GETTERS.get(field)
    if get is None:
        raise UnsupportedSigma(f"field {field!r} is not mapped")
    return get


def _leaf(field: str, value: SigmaType) -> Predicate:
    get = _getter(field)
    if isinstance(value, SigmaString) and value.original.strip().lower() in PLACEHOLDER_VALUES:
        raise UnsupportedSigma(
            f"value {value.original!r} is a placeholder to fill in (the rule is a template)")
    if isinstance(value, SigmaFieldReference):
        return _field_reference(get, value)
    plain = plain_text(value)
    if plain is not None:
        return equals_any(get, frozenset({plain}))
    tests: list[ValueTest] = (
        [value_test(v) for v in value.values] if isinstance(value, SigmaExpansion)
        else [value_test(value)]
    )
    if len(tests) == 1:
        test = tests[0]
        return lambda e: test(get(e))
    return lambda e: any(t(get(e)) for t in tests)


def _field_reference(get: Getter, ref: SigmaFieldReference) -> Predicate:
    other = _getter(ref.field)

    def test(e: Event) -> bool:
        mine = [v.lower() for v in texts(get(e))]
        for o in (v.lower() for v in texts(other(e))):
            for m in mine:
                if (m.startswith(o) if ref.starts_with else m.endswith(o) if ref.ends_with
                        else m == o):
                    return True
        return False

    return test


def _rule(rule: SigmaRule, file: str, service: Service, predicate: Predicate,
          severity: Severity, names: Mapping[str, str]) -> Rule:
    rule_id = f"sigma:{rule.id}"
    title = (rule.title or rule_id)[:200]
    getters = [(names[c], GETTERS[c]) for c in names]
    meta: dict[str, JsonValue] = {
        "sigma_id": str(rule.id), "sigma_file": file, "sigma_status":
            rule.status.name.lower() if rule.status else None,
        "sigma_level": rule.level.name.lower() if rule.level else None,
    }

    def match(event: Event, ctx: Context) -> Finding | None:
        if not predicate(event):
            return None
        fields: dict[str, JsonValue] = {
            name: [v[:MAX_CONTEXT_VALUE] for v in texts(get(event))[:MAX_CONTEXT_VALUES]]
            for name, get in getters
        }
        # An audit names its initiator, so an app's change is grouped under that app.
        actor = actor_context(event) if isinstance(event, DirectoryAudit) else {}
        return Finding(title=f"Sigma: {title} ({event.principal})",
                       context={**meta, "fields": fields, **actor})

    gaps = tuple(str(fp) for fp in rule.falsepositives)
    return Rule(
        id=rule_id, version=1, title=title,
        description=(rule.description or title).strip(),
        severity=severity, risk_score=RISK_SCORES[severity], mitre=_techniques(rule),
        kinds=(KIND_OF_SERVICE[service],), dedup_fields=("principal",),
        dedup_window=DEDUP_WINDOW,
        investigation=(
            "Read the matched fields in the alert's context (fields) and the event behind it.",
            f"Read the Sigma rule ({file}): its description, references and false positives.",
        ),
        false_positives=gaps or ("none listed by the rule",),
        references=tuple(str(r) for r in rule.references) or (file,),
        match=match, tests=(), known_gaps=gaps,
    )


def _techniques(rule: SigmaRule) -> tuple[str, ...]:
    return tuple(dict.fromkeys(
        tag.name.upper() for tag in rule.tags
        if tag.namespace == "attack" and TECHNIQUE.match(tag.name.lower())
    ))
