"""Azure Monitor diagnostic-settings records (PT1H.json blobs, Event Hub messages).

Shape: top-level ``time``/``category``/``operationName``/``resultType``/... and a
nested ``properties`` holding the Graph object. Top-level keys are matched
case-insensitively (Panther's corpus writes ``operationname``, ``resulttype``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.model import Event, EventKind
from detections.normalize import categories
from detections.normalize.audit import looks_like_audit
from detections.normalize.fields import FieldError, brief, string
from detections.normalize.graph import BUILDERS
from detections.normalize.nested import obj
from detections.normalize.signin import Outer


def _any_case(rec: Mapping[str, Any], key: str) -> Any:
    """A top-level value by exact key, else case-insensitively (scans only on a miss)."""
    value = rec.get(key)
    if value is None:
        wanted = key.lower()
        for k, v in rec.items():
            if isinstance(k, str) and k.lower() == wanted:
                return v
    return value


def normalize_diagnostic(rec: Mapping[str, Any], kind: EventKind | None) -> Event:
    category = _any_case(rec, "category")
    entry = categories.lookup(category)
    if entry is None:
        operation = _any_case(rec, "operationName")
        if operation == categories.SIGN_IN_OPERATION:
            entry = ("signIn", None)
        elif kind is None and _audit_properties(rec):
            # An audit record under its audit category (ApplicationManagement ...) instead
            # of AuditLogs, as some re-exports write it (Panther's corpus does).
            entry = ("directoryAudit", None)
        elif kind is None:
            raise FieldError(
                "category",
                f"category {brief(category)} (operation {brief(operation)}) is not a sign-in, "
                "risk detection, risky user or directory audit record",
            )
    props = _any_case(rec, "properties")
    if type(props) is not dict:
        props = obj(props, "properties")
    if not props:
        raise FieldError("properties", "missing properties (the exported object)")
    event_kind = kind or (entry[0] if entry else "signIn")
    if event_kind == "directoryAudit":
        props = _audit_fallbacks(rec, props)
    is_sign_in = event_kind == "signIn"
    tenant = _any_case(rec, "tenantId")
    outer = Outer(
        prefix="properties.",
        category=entry[1] if entry and is_sign_in else None,
        time=_any_case(rec, "time"),
        time_field="time",
        ip=_any_case(rec, "callerIpAddress") if not props.get("ipAddress") else None,
        result=_any_case(rec, "resultType") if is_sign_in else None,
        result_field="resultType",
        tenant_id=string(tenant, "tenantId") or _tenant_from_resource(_any_case(rec, "resourceId")),
        correlation_id=_any_case(rec, "correlationId"),
    )
    return BUILDERS[event_kind](props, outer)


def _audit_fallbacks(rec: Mapping[str, Any], props: Mapping[str, Any]) -> Mapping[str, Any]:
    """The top-level operationName and result stand in for the object's own when missing."""
    missing = {}
    if not props.get("activityDisplayName") and not props.get("operationName"):
        missing["operationName"] = _any_case(rec, "operationName")
    if not props.get("result"):
        missing["result"] = _any_case(rec, "result")
    return {**props, **missing} if any(v is not None for v in missing.values()) else props


def _audit_properties(rec: Mapping[str, Any]) -> bool:
    props = _any_case(rec, "properties")
    return isinstance(props, Mapping) and looks_like_audit(props)


def _tenant_from_resource(resource_id: object) -> str | None:
    # "/tenants/<tenant id>/providers/Microsoft.aadiam"
    if not isinstance(resource_id, str):
        return None
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "tenants":
            return string(parts[i + 1], "resourceId")
    return None
