"""Microsoft Graph JSON (v1.0 and beta): which entity a record is, then build it.

The entity comes from the record's ``@odata.type``, else the page's
``@odata.context`` (a hint from the decoder), else the fields themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from detections.model import Event, EventKind
from detections.normalize.audit import build_directory_audit, looks_like_audit
from detections.normalize.fields import FieldError, brief
from detections.normalize.risk import build_risk_detection, build_risky_user
from detections.normalize.signin import NO_OUTER, Outer, build_sign_in

Builder = Callable[[Mapping[str, Any], Outer], Event]

BUILDERS: dict[EventKind, Builder] = {
    "signIn": build_sign_in,
    "riskDetection": build_risk_detection,
    "riskyUser": build_risky_user,
    "directoryAudit": build_directory_audit,
}

_ODATA_TYPE_KIND: dict[str, EventKind] = {
    "#microsoft.graph.signIn": "signIn",
    "#microsoft.graph.riskDetection": "riskDetection",
    "#microsoft.graph.servicePrincipalRiskDetection": "riskDetection",
    "#microsoft.graph.riskyUser": "riskyUser",
    "#microsoft.graph.riskyUserHistoryItem": "riskyUser",
    "#microsoft.graph.directoryAudit": "directoryAudit",
}
UNKNOWN_RECORD = (
    "cannot tell what this record is: not a sign-in, risk detection, risky user or "
    "directory audit "
    "(no @odata.type, export category, Type column or known fields)"
)


def kind_from_context(context: object) -> EventKind | None:
    """The entity of a page from ``@odata.context`` (``...$metadata#auditLogs/signIns``)."""
    if not isinstance(context, str) or "#" not in context:
        return None
    tail = context.rsplit("#", 1)[1].lower()
    if "signins" in tail:
        return "signIn"
    if "riskdetections" in tail:
        return "riskDetection"
    if "riskyusers" in tail:
        return "riskyUser"
    if "directoryaudits" in tail:
        return "directoryAudit"
    return None


def kind_from_fields(rec: Mapping[str, Any]) -> EventKind | None:
    # A sign-in needs more than createdDateTime: a security alert has that too.
    if "riskEventType" in rec or "riskType" in rec:
        return "riskDetection"
    if "riskLastUpdatedDateTime" in rec:
        return "riskyUser"
    if "activityDateTime" in rec and looks_like_audit(rec):  # the cheap half first
        return "directoryAudit"
    if "createdDateTime" in rec and (
        "appId" in rec
        or "userPrincipalName" in rec
        or "ipAddress" in rec
        or "isInteractive" in rec
        or "servicePrincipalId" in rec
        or "riskLevelDuringSignIn" in rec
    ):
        return "signIn"
    return None


def graph_kind(rec: Mapping[str, Any], hint: EventKind | None) -> EventKind:
    odata_type = rec.get("@odata.type")
    if odata_type:
        kind = _ODATA_TYPE_KIND.get(odata_type) if isinstance(odata_type, str) else None
        if kind is None:
            raise FieldError(
                "@odata.type",
                f"{brief(odata_type)} is not a sign-in, risk detection, risky user or "
                "directory audit",
            )
        return kind
    kind = hint or kind_from_fields(rec)
    if kind is None:
        raise FieldError(None, UNKNOWN_RECORD)
    return kind


def normalize_graph(
    rec: Mapping[str, Any], kind: EventKind | None, hint: EventKind | None = None
) -> Event:
    return BUILDERS[kind or graph_kind(rec, hint)](rec, NO_OUTER)
