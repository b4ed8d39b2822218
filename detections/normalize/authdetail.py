"""The nested sign-in fields of how a user authenticated (Graph beta and the export).

``conditionalAccessAudiences`` (beta: objects with ``applicationId``; older records: plain
ids) and ``authenticationDetails`` (one object per step; the methods of the steps that
succeeded say whether a second factor was used). Log Analytics gives both as JSON text.
"""

from __future__ import annotations

from collections.abc import Mapping
from sys import intern

from detections.normalize.fields import FieldError, json_type, string
from detections.normalize.nested import parse_json_text

MAX_ITEMS = 16  # a hostile record cannot make a sign-in carry thousands of ids


def _items(value: object, field: str) -> list[object]:
    if isinstance(value, str):
        value = parse_json_text(value, field, "array") if value.strip() else []
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(field, f"expected a list, got {json_type(value)}")
    return value


def audiences(value: object, field: str) -> tuple[str, ...]:
    """Application ids of ``conditionalAccessAudiences``."""
    if not value:
        return ()
    found: list[str] = []
    for i, item in enumerate(_items(value, field)):
        raw = item.get("applicationId") if isinstance(item, Mapping) else item
        text = string(raw, f"{field}[{i}].applicationId")
        if text and text.lower() not in found:
            found.append(text.lower())
    return tuple(found[:MAX_ITEMS])


def methods(value: object, field: str) -> tuple[str, ...]:
    """The ``authenticationMethod`` of every step of ``authenticationDetails`` that did not
    fail (``succeeded`` false), in order, once each."""
    if not value:
        return ()
    found: list[str] = []
    for i, item in enumerate(_items(value, field)):
        if not isinstance(item, Mapping):
            raise FieldError(f"{field}[{i}]", f"expected an object, got {json_type(item)}")
        if item.get("succeeded") is False:
            continue
        text = string(item.get("authenticationMethod"), f"{field}[{i}].authenticationMethod")
        if text and text not in found:
            found.append(text)
    return tuple(found[:MAX_ITEMS])


def resource_app_id(value: object, field: str) -> str | None:
    """The resource's application id; an Azure resource path (the Log Analytics
    ``ResourceId`` column, ``/tenants/.../Microsoft.aadiam``) is not one."""
    text = string(value, field)
    if text is None or text.startswith("/"):
        return None
    return intern(text)  # a few resources, on every sign-in
