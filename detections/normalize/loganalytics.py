"""Log Analytics / Microsoft Sentinel rows (JSON or the portal's CSV export).

Columns are the Graph fields in PascalCase (``UserPrincipalName``, ``RiskLevelDuringSignIn``),
nested ones as objects or JSON strings (``LocationDetails``, ``DeviceDetail``, ``Status``,
``RiskEventTypes_V2``); ``Type`` names the table. A row is renamed to the Graph spelling
and built by the same code as a Graph object.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from detections.model import Event, EventKind
from detections.normalize import categories
from detections.normalize.fields import FieldError, brief, string
from detections.normalize.graph import BUILDERS, UNKNOWN_RECORD, kind_from_fields
from detections.normalize.signin import Outer

# Columns whose Graph name is not just the first letter lower-cased.
_RENAMES = {
    "Id": "id",
    "IPAddress": "ipAddress",
    "IpAddress": "ipAddress",
    "LocationDetails": "location",
    "RiskEventTypes_V2": "riskEventTypes_v2",
}
# Columns a Log Analytics row has and a Graph object (camelCase) never does.
MARKERS = frozenset(
    {
        "TimeGenerated",
        "Type",
        "TenantId",
        "Id",
        "CreatedDateTime",
        "ResultType",
        "UserPrincipalName",
        "RiskEventType",
        "RiskLastUpdatedDateTime",
    }
)


@lru_cache(maxsize=1024)
def _graph_name(column: str) -> str:
    renamed = _RENAMES.get(column)
    if renamed:
        return renamed
    return column[:1].lower() + column[1:]


def normalize_loganalytics(row: Mapping[str, Any], kind: EventKind | None) -> Event:
    obj: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for column, value in row.items():
        if column == "Location" and not _is_object(value):
            continue  # SigninLogs' Location is only the country code; LocationDetails has all
        name = _graph_name(column)
        obj[name] = value
        columns[name] = column
    if "location" not in obj and _is_text(row.get("Location")):
        obj["location"] = {"countryOrRegion": row["Location"]}

    table = row.get("Type")
    entry = categories.lookup(table)
    event_kind = kind or (entry[0] if entry else kind_from_fields(obj))
    if event_kind is None:
        if table:
            reason = f"table {brief(table)} is not a sign-in, risk, risky user or audit table"
            raise FieldError("Type", reason)
        raise FieldError(None, UNKNOWN_RECORD)
    outer = Outer(
        category=entry[1] if entry and event_kind == "signIn" else None,
        time=row.get("TimeGenerated"),
        time_field="TimeGenerated",
        result=row.get("ResultType"),
        result_field="ResultType",
        tenant_id=string(row.get("TenantId"), "TenantId"),
    )
    try:
        return BUILDERS[event_kind](obj, outer)
    except FieldError as exc:
        # Name the column as the user sees it: "Status.errorCode", not "status.errorCode".
        if exc.field:
            head, dot, rest = exc.field.partition(".")
            exc.field = columns.get(head, head) + dot + rest
        raise


def _is_object(value: object) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, str) and value.startswith("{"))


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith("{")
