"""Graph ``directoryAudit`` (v1.0 and beta) -> DirectoryAudit.

The diagnostic export's ``AuditLogs`` records carry the same object in ``properties``
(what only the wrapper knows comes in as an ``Outer``); a Log Analytics ``AuditLogs`` row
gives ``InitiatedBy``/``TargetResources`` as JSON text, which ``nested.obj`` reads.
Every text value is checked (an object where text belongs is a Skip naming the field),
and the sizes are bounded (model.MAX_AUDIT_*): a hostile record cannot grow an event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from detections.model import (
    MAX_AUDIT_PROPERTIES,
    MAX_AUDIT_TARGETS,
    MAX_AUDIT_VALUE,
    NO_ACTOR,
    AuditActor,
    AuditTarget,
    DirectoryAudit,
    ModifiedProperty,
)
from detections.normalize import fields as f
from detections.normalize import nested as n
from detections.normalize.jsontext import NESTED_TOO_DEEPLY
from detections.normalize.signin import NO_OUTER, Outer, event_id, own_or_outer_time

# A directory audit has these and a sign-in or risk record never has all of them.
AUDIT_FIELDS = ("activityDisplayName", "activityDateTime")
AUDIT_MARKERS = ("initiatedBy", "targetResources", "loggedByService")


def looks_like_audit(rec: Mapping[str, Any]) -> bool:
    """Whether a record's own fields say it is a directory audit."""
    return all(k in rec for k in AUDIT_FIELDS) and any(k in rec for k in AUDIT_MARKERS)


def build_directory_audit(p: Mapping[str, Any], outer: Outer = NO_OUTER) -> DirectoryAudit:
    g = p.get
    pre = outer.prefix
    s = f.string
    when = own_or_outer_time(g("activityDateTime"), "activityDateTime", outer,
                             "missing activityDateTime")
    activity = s(g("activityDisplayName"), "activityDisplayName", pre) or s(
        g("operationName"), "operationName", pre)
    if not activity:
        raise f.FieldError(pre + "activityDisplayName", "missing activityDisplayName")
    result = s(g("result"), "result", pre)
    return DirectoryAudit(
        id=event_id(p, outer, when),
        time=when,
        activity_display_name=activity[:MAX_AUDIT_VALUE],
        category=s(g("category"), "category", pre),
        operation_type=s(g("operationType"), "operationType", pre)
        or s(g("aADOperationType"), "AADOperationType", pre),
        result=result.lower() if result else None,
        result_reason=_bounded(s(g("resultReason"), "resultReason", pre)),
        logged_by_service=s(g("loggedByService"), "loggedByService", pre),
        initiated_by=_actor(g("initiatedBy"), pre + "initiatedBy"),
        targets=_targets(g("targetResources"), pre + "targetResources"),
        additional_details=_details(g("additionalDetails"), pre + "additionalDetails"),
        correlation_id=s(g("correlationId"), "correlationId", pre)
        or s(outer.correlation_id, "correlationId"),
        tenant_id=outer.tenant_id or s(g("tenantId"), "tenantId", pre),
    )


def _actor(value: object, field: str) -> AuditActor:
    """``initiatedBy``: ``{"user": {...}}`` or ``{"app": {...}}`` (either may be null)."""
    whole = n.obj(value, field)
    if not whole:
        return NO_ACTOR
    user = n.obj(whole.get("user"), field + ".user") or {}
    app = n.obj(whole.get("app"), field + ".app") or {}
    s = f.string
    u, a = field + ".user.", field + ".app."
    return AuditActor(
        user_principal_name=s(user.get("userPrincipalName"), "userPrincipalName", u),
        user_id=s(user.get("id"), "id", u),
        user_display_name=s(user.get("displayName"), "displayName", u),
        ip_address=s(user.get("ipAddress"), "ipAddress", u),
        app_id=s(app.get("appId"), "appId", a),
        app_display_name=s(app.get("displayName"), "displayName", a),
        service_principal_id=s(app.get("servicePrincipalId"), "servicePrincipalId", a),
        service_principal_name=s(app.get("servicePrincipalName"), "servicePrincipalName", a),
    )


def _list(value: object, field: str) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = n.parse_json_text(value, field, "array")
    if not isinstance(value, list):
        raise f.FieldError(field, f"expected a list, got {f.json_type(value)}")
    return value


def _targets(value: object, field: str) -> tuple[AuditTarget, ...]:
    targets = []
    for i, raw in enumerate(_list(value, field)[:MAX_AUDIT_TARGETS]):
        where = f"{field}[{i}]"
        t = n.obj(raw, where)
        if not t:
            continue
        s = f.string
        targets.append(AuditTarget(
            type=s(t.get("type"), "type", where + "."),
            id=s(t.get("id"), "id", where + "."),
            user_principal_name=s(t.get("userPrincipalName"), "userPrincipalName", where + "."),
            display_name=_bounded(s(t.get("displayName"), "displayName", where + ".")),
            modified_properties=_properties(t.get("modifiedProperties"),
                                            where + ".modifiedProperties"),
        ))
    return tuple(targets)


def _properties(value: object, field: str) -> tuple[ModifiedProperty, ...]:
    found = []
    for i, raw in enumerate(_list(value, field)[:MAX_AUDIT_PROPERTIES]):
        where = f"{field}[{i}]"
        prop = n.obj(raw, where)
        if not prop:
            continue
        old, old_cut = _value(prop.get("oldValue"), where + ".oldValue")
        new, new_cut = _value(prop.get("newValue"), where + ".newValue")
        found.append(ModifiedProperty(
            name=_bounded(f.string(prop.get("displayName"), "displayName", where + ".")),
            old_value=old, new_value=new, truncated=old_cut or new_cut))
    return tuple(found)


def _value(value: object, field: str) -> tuple[str | None, bool]:
    """A logged old/new value as text (JSON text as Graph writes it), cut at the bound."""
    if isinstance(value, dict | list):
        try:  # a re-serialized export may hold the parsed value: keep it as JSON text
            value = json.dumps(value, separators=(",", ":"))
        except RecursionError:
            raise f.FieldError(field, NESTED_TOO_DEEPLY) from None
    text = f.string(value, field)
    if text is None or len(text) <= MAX_AUDIT_VALUE:
        return text, False
    return text[:MAX_AUDIT_VALUE], True


def _details(value: object, field: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for i, raw in enumerate(_list(value, field)[:MAX_AUDIT_PROPERTIES]):
        item = n.obj(raw, f"{field}[{i}]")
        if not item:
            continue
        key = f.string(item.get("key"), "key", f"{field}[{i}].")
        if key:
            text = f.string(item.get("value"), "value", f"{field}[{i}].") or ""
            pairs.append((_bounded(key) or key, _bounded(text) or ""))
    return tuple(pairs)


def _bounded(text: str | None) -> str | None:
    return text if text is None or len(text) <= MAX_AUDIT_VALUE else text[:MAX_AUDIT_VALUE]
