"""A loopback Microsoft Graph that speaks the response endpoints, written for the tests.

Endpoints (v1.0) with their documented answers: ``POST /users/{id|upn}/revokeSignInSessions``
(200 ``{"@odata.context": ...$metadata#Edm.Boolean, "value": true}``),
``POST /identityProtection/riskyUsers/confirmCompromised`` and ``/dismiss`` with
``{"userIds": [...]}`` (204; 400 for a body without userIds or over 60 ids), ``PATCH
/users/{id|upn}`` with ``{"accountEnabled": bool}`` (204), and the reads the recovery
uses: ``GET /users/{id}?$select=accountEnabled`` and ``GET /identityProtection/riskyUsers/{id}``.
An unknown user is 404 ``Request_ResourceNotFound``; ``forbid(path_part)`` makes calls 403
``Authorization_RequestDenied``; ``script(...)`` serves canned answers first (429 with or
without Retry-After, 503 ...). Every answer carries a ``request-id`` header; every request
is recorded (method, path, body, time on the injected clock, status, request id).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.loopback import LoopbackServer

Answer = tuple[int, dict[str, str], bytes]
MAX_RISKY_IDS = 60  # dismiss accepts at most 60 users per call (Graph beta doc)


@dataclass(frozen=True)
class Asked:
    method: str
    path: str
    query: str
    body: Any
    time: float
    status: int
    request_id: str


@dataclass(frozen=True)
class Canned:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class User:
    id: str
    upn: str
    enabled: bool = True
    risk_state: str = "atRisk"
    revoked: int = 0  # revokeSignInSessions calls that reached it


def error_body(code: str, message: str, request_id: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "innerError": {
        "date": "2026-11-05T10:00:00", "request-id": request_id,
        "client-request-id": request_id}}}).encode()


class GraphActionsServer(LoopbackServer):
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.users: dict[str, User] = {}
        self.asked: list[Asked] = []
        self.scripts: deque[tuple[str, Canned]] = deque()  # (path part, answer)
        self.forbidden: set[str] = set()  # path parts answered 403
        self._lock = threading.Lock()
        self._listen(_handler(self), ThreadingHTTPServer)

    def add_user(self, user_id: str, upn: str, **fields: Any) -> User:
        user = User(user_id, upn, **fields)
        self.users[user_id] = user
        return user

    def script(self, path_part: str, *answers: Canned) -> None:
        self.scripts.extend((path_part, a) for a in answers)

    def forbid(self, path_part: str) -> None:
        self.forbidden.add(path_part)

    def calls(self, method: str | None = None) -> list[Asked]:
        """The state-changing requests (POST and PATCH), or every request of ``method``."""
        with self._lock:
            if method is None:
                return [a for a in self.asked if a.method in ("POST", "PATCH")]
            return [a for a in self.asked if a.method == method]

    def find(self, key: str) -> User | None:
        lowered = key.lower()
        return self.users.get(key) or next(
            (u for u in self.users.values() if u.upn.lower() == lowered), None)

    def answer(self, method: str, raw_path: str, body: bytes) -> Answer:
        request_id = str(uuid.uuid4())
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        try:
            data: Any = json.loads(body) if body else None
        except ValueError:
            data = "<not JSON>"
        with self._lock:
            status, headers, out = self._answer(method, path, data, request_id, parts.path)
            self.asked.append(Asked(method, path, parts.query, data, self.clock(), status,
                                    request_id))
        return status, {"request-id": request_id, **headers}, out

    def _canned(self, path: str) -> Canned | None:
        for i, (part, canned) in enumerate(self.scripts):
            if part in path:
                del self.scripts[i]
                return canned
        return None

    def _answer(self, method: str, path: str, data: Any, rid: str, raw: str) -> Answer:
        if any(part in path for part in self.forbidden):
            return 403, {}, error_body("Authorization_RequestDenied",
                                       "Insufficient privileges to complete the operation.", rid)
        canned = self._canned(path)
        if canned is not None:
            code = "TooManyRequests" if canned.status == 429 else "serviceNotAvailable"
            return canned.status, canned.headers, error_body(code, "Please retry later.", rid)
        risky = "/v1.0/identityProtection/riskyUsers/"
        if method == "POST" and path in (risky + "confirmCompromised", risky + "dismiss"):
            return self._risky_action(path.rsplit("/", 1)[1], data, rid)
        if method == "GET" and path.startswith(risky):
            user = self.users.get(path[len(risky):])
            if user is None:
                return self._gone(path, rid)
            return 200, {}, json.dumps({"id": user.id, "userPrincipalName": user.upn,
                                        "riskState": user.risk_state}).encode()
        if raw.startswith("/v1.0/users/"):  # split before decoding: %2F stays in the key
            return self._user_action(method, raw[len("/v1.0/users/"):], data, rid)
        return 404, {}, error_body("Request_ResourceNotFound", f"Resource {path} not found", rid)

    def _gone(self, key: str, rid: str) -> Answer:
        return 404, {}, error_body("Request_ResourceNotFound",
                                   f"Resource '{key}' does not exist or one of its queried "
                                   "reference-property objects are not present.", rid)

    def _risky_action(self, verb: str, data: Any, rid: str) -> Answer:
        ids = data.get("userIds") if isinstance(data, dict) else None
        if not isinstance(ids, list) or not ids or len(ids) > MAX_RISKY_IDS:
            return 400, {}, error_body("badRequest", "userIds must list 1 to 60 ids", rid)
        for user_id in ids:
            user = self.users.get(str(user_id))
            if user is None:
                return self._gone(str(user_id), rid)
            user.risk_state = "confirmedCompromised" if verb == "confirmCompromised" \
                else "dismissed"  # fmt: skip
        return 204, {}, b""

    def _user_action(self, method: str, rest: str, data: Any, rid: str) -> Answer:
        quoted, _, verb = rest.partition("/")
        key = unquote(quoted)
        user = self.find(key)
        if user is None:
            return self._gone(key, rid)
        if method == "POST" and verb == "revokeSignInSessions":
            user.revoked += 1
            return 200, {}, json.dumps({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
                "value": True}).encode()
        if method == "PATCH" and not verb:
            if not isinstance(data, dict) or not isinstance(data.get("accountEnabled"), bool):
                return 400, {}, error_body("Request_BadRequest",
                                           "Invalid value specified for property", rid)
            user.enabled = data["accountEnabled"]
            return 204, {}, b""
        if method == "GET" and not verb:
            return 200, {}, json.dumps({"id": user.id, "accountEnabled": user.enabled}).encode()
        return 405, {}, error_body("Request_BadRequest", "method not allowed", rid)


def _handler(server: GraphActionsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, out = server.answer(self.command, self.path, body)
            self.send_response(status)
            if out:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
