"""An HTTP server on a free loopback port, served from a daemon thread inside ``with``:
the lifecycle every loopback Graph server of the tests shares."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Self


class LoopbackServer:
    def _listen(self, handler: type[BaseHTTPRequestHandler],
                server: type[HTTPServer] = HTTPServer) -> None:
        self._httpd = server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
