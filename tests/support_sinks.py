"""A real HTTP receiver on loopback and a minimal webhook sink for the pipeline tests.

The receiver records every POST (body and Idempotency-Key) and answers what the
test tells it to: 200, 503 with Retry-After (down), or a permanent 4xx.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from azure.data.tables import TableServiceClient

from detections.model import Severity
from service.delivery.base import DeliveryOutcome, DeliveryStatus
from service.state.tables import Tables

RETRYABLE = {408, 429, 500, 502, 503, 504}


@dataclass
class Receiver:
    url: str = ""
    status: int = 200
    retry_after: str | None = None
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> Counter[str]:
        with self.lock:
            return Counter(key for key, _ in self.posts)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for _, body in self.posts]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            with state.lock:
                status, retry_after = state.status, state.retry_after
                if 200 <= status < 300:  # only accepted posts count as received
                    state.posts.append((self.headers.get("Idempotency-Key", ""), body))
            self.send_response(status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class LoopbackSink:
    """The smallest honest webhook sink: one POST, status mapped to an outcome."""

    def __init__(self, name: str, url: str, min_severity: Severity = Severity.LOW) -> None:
        self.name = name
        self.min_severity = min_severity
        self._url = url

    def send(self, alert: Mapping[str, Any]) -> DeliveryOutcome:
        try:
            response = requests.post(
                self._url,
                json=alert,
                headers={"Idempotency-Key": str(alert["alert_id"])},
                timeout=10,
            )
        except requests.RequestException as exc:
            return DeliveryOutcome(DeliveryStatus.RETRY, reason=type(exc).__name__)
        if 200 <= response.status_code < 300:
            return DeliveryOutcome(DeliveryStatus.DELIVERED)
        reason = f"HTTP {response.status_code}"
        if response.status_code in RETRYABLE:
            after = response.headers.get("Retry-After")
            seconds = float(after) if after and after.isdigit() else None
            return DeliveryOutcome(DeliveryStatus.RETRY, reason=reason, retry_after=seconds)
        return DeliveryOutcome(DeliveryStatus.DEAD, reason=reason)


def make_tables(connection: str, prefix: str) -> Tables:
    return Tables(TableServiceClient.from_connection_string(connection), prefix)
