"""Webhook receivers on 127.0.0.1 for the tests: real HTTP servers in a thread.

A ``Receiver`` records every request (path, headers, exact body bytes) and answers from
a script of ``Reply`` objects, then with its default reply. Scripted failures speak the
wire format: any status with headers and body (429, 503 + Retry-After, Slack's
``invalid_payload``, Teams' 202), a dropped connection, a truncated body, a slow reply.

    with Receiver(default=Reply(200, "ok")) as rx:
        rx.script(Reply(503, headers={"Retry-After": "2"}))
        ... post to rx.url ...
        assert rx.requests[0].json()["id"] == alert_id

``rx.url`` carries a secret-looking path and ``sig=`` query (``rx.secret_parts``), as
Workflows URLs do, so tests can check that no log or reason ever shows it.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Action = Literal["reply", "close", "truncate"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow receiver)
    action: Action = "reply"  # close: drop the connection; truncate: cut the body short


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(200, b"")
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._released = threading.Event()  # wakes slow handlers on stop
        self.token = secrets.token_hex(8)
        self.path = f"/workflows/{self.token}/triggers/manual/paths/invoke"
        self.query = f"api-version=2016-06-01&sig=SIG{self.token}"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}{self.path}?{self.query}"

    @property
    def secret_parts(self) -> tuple[str, ...]:
        """Substrings that must never show up in a log line or a delivery reason."""
        return (self.token, f"sig=SIG{self.token}")

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._record(
                    Recorded(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                    )
                )
                reply = receiver._next_reply()
                if reply.delay:
                    receiver._released.wait(reply.delay)
                if reply.action == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                data = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.action == "truncate":
                    # Promise more bytes than are sent, then hang up mid-body.
                    self.send_header("Content-Length", str(len(data) + 100))
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean; requests are in receiver.requests

        return Handler
