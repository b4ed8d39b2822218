"""Parse Event Grid inputs into work, or a clear reason to ignore them.

Plain values in, plain values out (no azure.functions import), so triggers stay thin
and this is tested directly. Nothing here raises on bad input: a trigger that raised
would make Event Grid retry a message that can never succeed (a retry storm), so every
problem becomes a ``Rejection`` the trigger logs before returning normally.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from service.ingest.export.paths import BlobRegistration, registration_for
from service.ingest.graph.cursor import parse_graph_time

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
RESCAN_REQUESTED = "riskwatch.rescan.requested"
MAX_RESCAN_WINDOW = timedelta(days=30)  # sign-in logs are kept 30 days
MAX_RESCAN_USERS = 100
_SUBJECT = re.compile(r"^/blobServices/default/containers/([^/]+)/blobs/(.+)$")
_USER = re.compile(r"^[^\s\x00-\x1f\x7f]{1,256}$")  # a UPN or object id: no spaces/controls


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why an event was ignored; ``event_id`` and ``event_type`` are for the log line."""

    event_id: str
    event_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class RescanRequest:
    event_id: str
    start: datetime
    end: datetime
    users: tuple[str, ...] = ()  # empty: every user


def parse_event_grid_event(
    event_id: str, event_type: str, subject: str, data: object, now: datetime | None = None
) -> BlobRegistration | RescanRequest | Rejection:
    """An Event Grid-schema event (func.EventGridEvent's fields) → work or rejection."""
    if event_type == BLOB_CREATED:
        return _blob_created(event_id, subject, data)
    if event_type == RESCAN_REQUESTED:  # also accepted from an Event Grid-schema topic
        return parse_rescan(event_id, data, now)
    return Rejection(event_id, _short(event_type), "unsupported event type")


def parse_cloud_event(
    event_id: str, event_type: str, data: object, now: datetime | None = None
) -> BlobRegistration | RescanRequest | Rejection:
    """A CloudEvents 1.0 event (func.CloudEvent's fields) → work or rejection."""
    if event_type == RESCAN_REQUESTED:
        return parse_rescan(event_id, data, now)
    return Rejection(event_id, _short(event_type), "unsupported CloudEvents type")


def _blob_created(event_id: str, subject: str, data: object) -> BlobRegistration | Rejection:
    def reject(reason: str) -> Rejection:
        return Rejection(event_id, BLOB_CREATED, reason)

    match = _SUBJECT.match(subject or "")
    if match is None:
        return reject(f"subject {_short(subject)!r} is not a blob path")
    container, blob_name = match.groups()
    payload = _as_dict(data)
    account = None
    if payload is not None and isinstance(payload.get("url"), str):
        account = (urlsplit(payload["url"]).hostname or "").split(".")[0] or None
    try:
        return registration_for(container, blob_name, account)
    except ValueError as exc:
        return reject(str(exc))


def parse_rescan(
    event_id: str, data: object, now: datetime | None = None
) -> RescanRequest | Rejection:
    """Validate ``{"from": ISO, "to": ISO, "users": [...]}``; every problem is named."""
    payload = _as_dict(data)
    problems: list[str] = []
    if payload is None:
        return Rejection(event_id, RESCAN_REQUESTED, "data is not a JSON object")
    unknown = sorted(set(payload) - {"from", "to", "users"})
    if unknown:
        problems.append(f"unknown field(s) {', '.join(map(_short, unknown))}")
    start, end = _time(payload, "from", problems), _time(payload, "to", problems)
    if start is not None and end is not None:
        if start >= end:
            problems.append("'from' must be before 'to'")
        elif end - start > MAX_RESCAN_WINDOW:
            problems.append(f"window longer than {MAX_RESCAN_WINDOW.days} days")
        if now is not None and start > now:
            problems.append("'from' is in the future")
    users = _users(payload.get("users"), problems)
    if problems or start is None or end is None:
        return Rejection(event_id, RESCAN_REQUESTED, "; ".join(problems))
    return RescanRequest(event_id, start, end, users)


def _time(payload: dict[str, Any], name: str, problems: list[str]) -> datetime | None:
    value = payload.get(name)
    if value is None:
        problems.append(f"field {name!r} is missing")
        return None
    # Only explicit offsets: a naive time would be read in an unknown zone.
    if not isinstance(value, str) or not re.search(r"(Z|[+-]\d\d:\d\d)$", value.strip()):
        problems.append(f"field {name!r} must be an ISO 8601 time with a zone")
        return None
    parsed = parse_graph_time(value)
    if parsed is None:
        problems.append(f"field {name!r} is not a valid ISO 8601 time")
    return parsed


def _users(value: object, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
        problems.append("field 'users' must be a list of strings")
        return ()
    if len(value) > MAX_RESCAN_USERS:
        problems.append(f"at most {MAX_RESCAN_USERS} users per rescan")
    bad = [u for u in value if not _USER.match(u)]
    if bad:
        problems.append(f"invalid user value(s): {', '.join(repr(_short(u)) for u in bad[:3])}")
    return tuple(dict.fromkeys(u.lower() for u in value))


def _as_dict(data: object) -> dict[str, Any] | None:
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def _short(text: object, limit: int = 80) -> str:
    """Attacker-controlled text for a log line: printable and bounded."""
    value = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return value if len(value) <= limit else value[:limit] + "…"
