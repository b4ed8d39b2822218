"""Test events built from a Sigma rule's own selection: a positive and a negative case.

``cases(rule)`` walks the rule's condition tree (after the field mapping) and picks values
that satisfy it (``and``: every side, ``or``: the first, ``not``: a value that fails), then
writes them into a factory event (``detections.testing``); the negative case is the positive
one with one selected field changed. Used by tests/test_sigma_corpus.py: the Sigma files
carry no test events of their own.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaBool,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from detections.errors import RiskwatchError
from detections.model import AuditTarget, Event, ModifiedProperty
from detections.sigma.fields import KIND_OF_SERVICE, PROTOCOL_DISPLAY, Service
from detections.sigma.pipeline import pipeline_for
from detections.testing import directory_audit, risk_detection, sign_in

CHANGED = "riskwatch-changed"
Assignment = list[tuple[str, str | None]]


class CannotGenerate(RiskwatchError, ValueError):
    """The rule uses a value the generator cannot write (a regex, a CIDR ...)."""


def cases(rule: SigmaRule) -> tuple[Event, Event]:
    """(positive, negative) events for ``rule`` (which is mapped here: pass a fresh parse)."""
    service: Service = rule.logsource.service  # type: ignore[assignment]
    pipeline_for(rule, service).apply(rule)
    tree = rule.detection.parsed_condition[0].parsed
    wanted = _assign(tree, want=True)
    if not wanted:
        raise CannotGenerate("the condition selects nothing")
    positive = _event(service, wanted)
    field, selected = wanted[0]
    negative = _event(service, [*wanted, (field, _changed(field, selected))])
    return positive, negative


def _assign(node: object, *, want: bool) -> Assignment:
    if isinstance(node, ConditionNOT):
        return _assign(node.args[0], want=not want)
    if isinstance(node, ConditionAND | ConditionOR):
        every = isinstance(node, ConditionAND) == want
        if every:
            return [a for arg in node.args for a in _assign(arg, want=want)]
        return _assign(node.args[0], want=want)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        value = _text(node.value)
        value = value if want else _changed(node.field, value)
        return [(node.field, value)]
    raise CannotGenerate(f"cannot generate a value for {type(node).__name__}")


def _text(value: SigmaType) -> str | None:
    if isinstance(value, SigmaNull):
        return None
    if isinstance(value, SigmaString):
        return "".join(p if isinstance(p, str) else ("" if p == SpecialChars.WILDCARD_MULTI
                                                    else "x") for p in value.s)
    if isinstance(value, SigmaNumber):
        return str(value.number)
    if isinstance(value, SigmaBool):
        return "true" if value.boolean else "false"
    raise CannotGenerate(f"cannot write a {type(value).__name__} value")


def _changed(field: str, selected: str | None) -> str:
    """A value unlike ``selected`` that the field can hold (a flipped boolean, a number)."""
    if selected in ("true", "false"):
        return "false" if selected == "true" else "true"
    if field.endswith(("error_code", "autonomous_system_number")):
        return "2" if selected == "1" else "1"
    return CHANGED


def _event(service: Service, assignment: Assignment) -> Event:
    kind = KIND_OF_SERVICE[service]
    event: Any = {"signIn": sign_in, "riskDetection": risk_detection,
                  "directoryAudit": directory_audit}[kind]()
    joined: dict[str, str | None] = {}
    for name, value in assignment:
        previous = joined.get(name)
        if previous is None or value is None or value in (CHANGED, "1", "2", "true", "false"):
            joined[name] = value  # a changed value replaces the selected one
        else:
            joined[name] = f"{previous} {value}"  # "contains|all": one value holding each
    for name, value in joined.items():
        special = _SPECIAL.get(name)
        event = special(event, value) if special else _set(event, name.split(".", 1)[1], value)
    result: Event = event
    return result


def _set(event: Any, path: str, value: str | None) -> Any:
    head, _, rest = path.partition(".")
    if rest:
        return replace(event, **{head: _set(getattr(event, head), rest, value)})
    current = getattr(event, head)
    return replace(event, **{head: _typed(event, head, current, value)})


def _typed(obj: Any, name: str, current: object, value: str | None) -> object:
    declared = next(f.type for f in fields(obj) if f.name == name)
    text = str(declared)
    if value is None:
        return () if "tuple" in text else None
    if "bool" in text:
        return value.lower() == "true"
    if text.startswith("int"):
        return int(value)
    if "tuple" in text:
        return (value,)
    return value


def _status(event: Any, value: str | None) -> Any:
    if value is not None and value.lower() == "success":
        return replace(event, success=True)
    return replace(event, success=False, error_code=event.error_code or 50126,
                   failure_reason=value)


def _protocol(event: Any, value: str | None) -> Any:
    raw = next((k for k, v in PROTOCOL_DISPLAY.items() if value and v.lower() == value.lower()),
               value)
    return replace(event, authentication_protocol=raw)


def _with_target(event: Any, **changes: Any) -> Any:
    base = event.targets[0] if event.targets else AuditTarget()
    return replace(event, targets=(replace(base, **changes), *event.targets[1:]))


def _with_property(event: Any, name: str | None, new: str | None) -> Any:
    prop = ModifiedProperty(name=name, old_value=None, new_value=new)
    base = event.targets[0] if event.targets else AuditTarget()
    return _with_target(event, modified_properties=(*base.modified_properties, prop))


def _message(event: Any, value: str | None) -> Any:
    """The operation name, or a modified property when the value is its JSON fragment."""
    if value and value.startswith('"displayName":'):
        prop = json.loads("{" + value + "}")
        return _with_target(event, modified_properties=(ModifiedProperty(
            name=prop["displayName"], old_value=prop["oldValue"], new_value=prop["newValue"]),))
    return replace(event, activity_display_name=value or "")


_SPECIAL: dict[str, Any] = {
    "signIn.status": _status,
    "signIn.authentication_protocol": _protocol,
    "directoryAudit.activity": lambda e, v: replace(e, activity_display_name=v or ""),
    "directoryAudit.message": lambda e, v: _message(e, v),
    "directoryAudit.status": lambda e, v: replace(e, result=v, result_reason=v),
    "directoryAudit.targets": lambda e, v: _with_target(e, display_name=v),
    "directoryAudit.targets.type": lambda e, v: _with_target(e, type=v),
    "directoryAudit.targets.display_name": lambda e, v: _with_target(e, display_name=v),
    "directoryAudit.targets.upn": lambda e, v: _with_target(e, user_principal_name=v),
    "directoryAudit.targets.modified": lambda e, v: _with_property(e, "Property", v),
    "directoryAudit.targets.modified.new": lambda e, v: _with_property(e, "Property", v),
    "directoryAudit.targets.modified.name": lambda e, v: _with_property(e, v, '"x"'),
    "directoryAudit.consent_is_admin": lambda e, v: _with_property(
        e, "ConsentContext.IsAdminConsent", f'"{v}"'),
    "directoryAudit.additional_info": lambda e, v: replace(
        e, additional_details=(("additionalInfo", v or ""),)),
    "directoryAudit.initiated_by": lambda e, v: replace(
        e, initiated_by=replace(e.initiated_by, user_principal_name=v)),
}
