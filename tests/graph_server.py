"""A Microsoft Graph-compatible HTTP server on loopback, written for the tests.

Serves the documented list shapes (``{"@odata.context", "@odata.nextLink", "value"}``)
for the feeds Riskwatch reads, with ``$filter=<time> ge <ISO>``, ``$top`` (and Graph's
maximum page sizes), paging by a whole-URL nextLink carrying the original query, the
beta ``signInEventTypes/any(...)`` filter, and scripted failures: 429 without
Retry-After, 503 with Retry-After, a truncated page, a nextLink loop, 403 per feed.
Every request is recorded (path, query, headers, time on the injected clock).
Records are built from the msgraph_docs examples in the peer corpus.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer

# path -> (time field, default page size, maximum $top, newest first?)
ROUTES: dict[str, tuple[str | None, int, int, bool]] = {
    "/v1.0/identityProtection/riskDetections": ("detectedDateTime", 20, 500, False),
    "/v1.0/identityProtection/riskyUsers": ("riskLastUpdatedDateTime", 20, 500, False),
    "/v1.0/identityProtection/servicePrincipalRiskDetections": ("detectedDateTime", 20, 500, False),
    "/v1.0/auditLogs/signIns": ("createdDateTime", 1000, 1000, True),
    "/beta/auditLogs/signIns": ("createdDateTime", 1000, 1000, True),
    "/v1.0/auditLogs/directoryAudits": ("activityDateTime", 1000, 1000, True),
    "/v1.0/roleManagement/directory/roleAssignments": (None, 100, 999, False),
}
Answer = tuple[int, dict[str, str], bytes]  # status, extra headers, body
_GE = re.compile(r"(\w+) ge (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)")
_EVENT_TYPE = re.compile(r"signInEventTypes/any\(t: t eq '(\w+)'\)")


class SimulatedClock:
    """A thread-safe clock whose sleep advances time instantly; shared by client and server."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(0.0, seconds)


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    raw_query: str
    headers: dict[str, str]
    time: float
    status: int


@dataclass(frozen=True)
class Scripted:
    """A canned answer served instead of the real page (in order, once each)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    truncated: bool = False  # serve the real page cut half-way (status 200)


def graph_time(value: str) -> datetime:
    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".")
        text = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")  # Graph's 7 digits


class GraphServer(LoopbackServer):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.data: dict[str, list[dict[str, Any]]] = {path: [] for path in ROUTES}
        self.scripts: dict[str, deque[Scripted]] = {path: deque() for path in ROUTES}
        self.forbidden: set[str] = set()
        self.loops: set[str] = set()
        self.next_base: str | None = None  # set to hand out nextLinks to another host
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._listen(_handler(self))

    def script(self, path: str, *answers: Scripted) -> None:
        self.scripts[path].extend(answers)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, path: str, raw_query: str, headers: dict[str, str]) -> Answer:
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        status, extra, body = self._answer(path, raw_query, query)
        with self._lock:
            self.requests.append(Recorded(path, query, raw_query, headers, self.clock(), status))
        return status, extra, body

    def _answer(self, path: str, raw_query: str, query: dict[str, str]) -> Answer:
        if path not in ROUTES:
            return 404, {}, _error("Request_ResourceNotFound", f"Resource {path} does not exist")
        if path in self.forbidden:
            return 403, {}, _error(
                "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        scripted = self.scripts[path].popleft() if self.scripts[path] else None
        if scripted is not None and not scripted.truncated:
            return scripted.status, scripted.headers, _error("TooManyRequests", "Throttled")
        status, body = self._page(path, raw_query, query)
        if scripted is not None and status == 200:
            body = body[: len(body) // 2]  # the connection dropped half-way through the page
        return status, {}, body

    def _page(self, path: str, raw_query: str, query: dict[str, str]) -> tuple[int, bytes]:
        time_field, default_top, max_top, newest_first = ROUTES[path]
        top = int(query.get("$top", default_top))
        if not 1 <= top <= max_top:
            return 400, _error("Request_UnsupportedQuery", f"Invalid page size {top}")
        records = list(self.data[path])
        text = query.get("$filter", "")
        for name, value in _GE.findall(text):
            since = graph_time(value)
            # Like OData, a record without the field (null) never matches ``ge``.
            records = [r for r in records if r.get(name) and graph_time(r[name]) >= since]
        for kind in _EVENT_TYPE.findall(text):
            records = [r for r in records if kind in r.get("signInEventTypes", [])]
        if time_field is not None and newest_first:
            records.sort(key=lambda r: graph_time(r[time_field]), reverse=True)
        skip = int(query.get("$skiptoken", "0"))
        base_query = "&".join(p for p in raw_query.split("&") if not p.startswith("$skiptoken="))
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/{path.split('/')[1]}/$metadata"}
        following = top if path in self.loops else skip + top
        if following < len(records):
            host = self.next_base or self.base_url
            body["@odata.nextLink"] = f"{host}{path}?{base_query}&$skiptoken={following}"
        body["value"] = records[skip : skip + top]
        return 200, json.dumps(body).encode()


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _handler(server: GraphServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            status, extra, body = server.answer(parts.path, parts.query, dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


DETECTIONS_EXAMPLE = "riskdetection-list.v1.0.example-response.json"


class GraphRecords:
    """Record factories built on the msgraph_docs examples (peer corpus)."""

    def __init__(self, peer_corpus: Path) -> None:
        docs = peer_corpus / "msgraph_docs"
        detections = json.loads((docs / DETECTIONS_EXAMPLE).read_bytes())
        sign_ins = json.loads(
            (docs / "signin-list.v1.0.example1-response.FIXED-trailing-comma.json").read_text()
        )
        self.detection_template: dict[str, Any] = detections["value"][0]
        self.sign_in_template: dict[str, Any] = sign_ins["value"][0]

    def risk_detection(self, n: int, detected: datetime, **overrides: Any) -> dict[str, Any]:
        record = copy.deepcopy(self.detection_template)
        record.update(
            id=f"det-{n:05d}", detectedDateTime=iso(detected), activityDateTime=iso(detected),
            lastUpdatedDateTime=iso(detected), riskState="atRisk",
        )
        record.update(overrides)
        return record

    def sign_in(
        self, n: int, created: datetime, kind: str = "interactiveUser", **overrides: Any
    ) -> dict[str, Any]:
        record = copy.deepcopy(self.sign_in_template)
        record.update(
            id=f"si-{kind}-{n:05d}", createdDateTime=iso(created), signInEventTypes=[kind],
            isInteractive=kind == "interactiveUser",
        )
        record.update(overrides)
        return record


def risky_user(n: int, updated: datetime, **overrides: Any) -> dict[str, Any]:
    """riskyUser (the doc example only has type placeholders, so fields per the resource)."""
    record: dict[str, Any] = {
        "id": f"user-{n:05d}", "isDeleted": False, "isProcessing": False,
        "riskLastUpdatedDateTime": iso(updated), "riskLevel": "high", "riskState": "atRisk",
        "riskDetail": "none", "userDisplayName": f"User {n}",
        "userPrincipalName": f"user{n}@contoso.com",
    }
    record.update(overrides)
    return record


def directory_audit(
    n: int, when: datetime, activity: str = "User registered security info",
    upn: str = "user1@contoso.com", **overrides: Any,
) -> dict[str, Any]:
    """directoryAudit (fields per the resource: a user acting on their own account)."""
    user = {"id": f"user-{n:05d}", "displayName": None, "userPrincipalName": upn,
            "ipAddress": "198.51.100.7"}
    record: dict[str, Any] = {
        "id": f"Directory_{n:05d}", "category": "UserManagement",
        "correlationId": f"corr-audit-{n:05d}", "result": "success",
        "resultReason": "User registered Authenticator App with Notification and Code",
        "activityDisplayName": activity, "activityDateTime": iso(when),
        "loggedByService": "Authentication Methods", "operationType": "Add",
        "initiatedBy": {"app": None, "user": user},
        "targetResources": [{"id": user["id"], "displayName": None, "type": "User",
                             "userPrincipalName": upn, "modifiedProperties": []}],
        "additionalDetails": [],
    }
    record.update(overrides)
    return record


def role_assignment(n: int, role: str = "Global Administrator") -> dict[str, Any]:
    principal = f"user-{n:05d}"
    return {
        "id": f"ra-{n:05d}", "principalId": principal, "directoryScopeId": "/",
        "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10",
        "principal": {"@odata.type": "#microsoft.graph.user", "id": principal,
                      "userPrincipalName": f"user{n}@contoso.com"},
        "roleDefinition": {"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": role},
    }


def simulated_client(server: GraphServer, clock: SimulatedClock, **kw: Any) -> Any:
    """The real GraphClient on the server's simulated clock, with seeded jitter."""
    import random

    from service.ingest.graph.auth import make_token_provider
    from service.ingest.graph.client import GraphClient
    from service.ingest.graph.throttle import Backoff

    return GraphClient(
        server.base_url,
        make_token_provider("none", server.base_url),
        clock=clock.time,
        sleep=clock.sleep,
        backoff=Backoff(rng=random.Random(7)),  # noqa: S311 - seeded jitter, not crypto
        **kw,
    )
