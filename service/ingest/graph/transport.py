"""One Graph GET with pacing, retries and a deadline: the HTTP half of the client.

429 from Identity Protection carries no Retry-After, so exponential back-off with
jitter; Retry-After is honoured whenever present (429/503); 5xx, network errors and
a truncated or invalid JSON page are retried, then reported. Nothing here waits past
the run's deadline: it stops and says so, and the reader reports where to resume.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import requests

from detections.errors import RiskwatchError, Where
from detections.normalize.jsontext import loads_tolerant
from service.ingest.graph.auth import TokenProvider
from service.ingest.graph.throttle import Backoff, Clock, Sleep
from service.netutil import parse_retry_after

log = logging.getLogger("riskwatch.graph")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Never start a request with less time left than this: its answer would come too late.
MIN_REQUEST_SECONDS = 2.0


class Pacer(Protocol):
    def wait_time(self) -> float: ...
    def mark(self) -> None: ...


class FeedStopped(RiskwatchError):
    """The feed read cannot go on: deadline, forbidden or failed (message says why,
    ``where`` names the page URL)."""

    def __init__(
        self,
        status: Literal["deadline", "forbidden", "failed"],
        message: str,
        requests: int = 0,
        retries: int = 0,
        where: Where | None = None,
    ) -> None:
        super().__init__(f"{where}: {message}" if where is not None else message)
        self.where = where
        self.status: Literal["deadline", "forbidden", "failed"] = status
        self.message = message
        self.requests = requests
        self.retries = retries


@dataclass(slots=True)
class RequestStats:
    requests: int = 0
    retries: int = 0
    content: bytes = b""  # the page as received, for the evidence bundles' raw records


@dataclass(slots=True)
class Transport:
    session: requests.Session
    token_provider: TokenProvider
    clock: Clock
    sleep: Sleep
    deadline: float | None
    backoff: Backoff
    max_attempts: int
    timeout: float

    def get_page(self, url: str, pacer: Pacer) -> tuple[dict[str, Any], RequestStats]:
        """GET one page as a JSON object with a ``value`` list, or raise FeedStopped."""
        stats = RequestStats()
        problem = ""
        for attempt in range(self.max_attempts):
            self._wait(pacer.wait_time(), stats, url)
            pacer.mark()
            stats.requests += 1
            try:
                response = self.session.get(
                    url, headers=self._headers(), timeout=self._timeout(), allow_redirects=False
                )
            except requests.RequestException as exc:
                problem = f"network error: {type(exc).__name__}"
                self._retry(self.backoff.delay(attempt), stats, url, problem)
                continue
            if response.status_code == 200:
                body = _page_body(response.content)
                if body is not None:
                    stats.content = response.content
                    return body, stats
                problem = "truncated or invalid JSON page"
                self._retry(self.backoff.delay(attempt), stats, url, problem)
                continue
            if response.status_code == 403:
                error = graph_error(response)
                raise FeedStopped("forbidden", error, stats.requests, stats.retries, Where(url))
            if response.status_code not in RETRY_STATUSES:
                message = f"HTTP {response.status_code} from {url}: {graph_error(response)}"
                raise FeedStopped("failed", message, stats.requests, stats.retries, Where(url))
            problem = f"HTTP {response.status_code}"
            hinted = parse_retry_after(response.headers.get("Retry-After"))
            delay = hinted if hinted is not None else self.backoff.delay(attempt)
            self._retry(delay, stats, url, problem)
        message = f"{problem} from {url}, still failing after {self.max_attempts} attempts"
        raise FeedStopped("failed", message, stats.requests, stats.retries, Where(url))

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            # Without it Graph hides newer enum values (m365DAdminDismissedDetection ...).
            "Prefer": "include-unknown-enum-members",
        }
        token = self.token_provider()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _timeout(self) -> float:
        if self.deadline is None:
            return self.timeout
        return max(1.0, min(self.timeout, self.deadline - self.clock()))

    def _retry(self, delay: float, stats: RequestStats, url: str, problem: str) -> None:
        stats.retries += 1
        log.warning("Graph %s for %s; retrying in %.1f s", problem, url, delay)
        self._wait(delay, stats, url)

    def _wait(self, seconds: float, stats: RequestStats, url: str) -> None:
        if self.deadline is not None:
            left = self.deadline - self.clock()
            if seconds + MIN_REQUEST_SECONDS > left:
                message = f"run budget reached ({left:.1f} s left, {seconds:.1f} s wait needed)"
                raise FeedStopped("deadline", message, stats.requests, stats.retries, Where(url))
        if seconds > 0:
            self.sleep(seconds)


def _page_body(content: bytes) -> dict[str, Any] | None:
    # One poisoned record must not cost the page (it would come back every run): text that
    # is not UTF-8 is read with U+FFFD, a record nested too deeply becomes TooDeep, which
    # the normalizer skips by name. Only a page that is not JSON at all is retried.
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("utf-8", errors="replace")
    try:
        body = loads_tolerant(text)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        return None
    return body


def graph_error(response: requests.Response) -> str:
    """Graph's error code and message (``{"error": {"code", "message"}}``), shortened (never
    the token or URL); the reads and the response actions both report it."""
    try:
        error = response.json().get("error", {})
        text = f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
    except (ValueError, AttributeError):
        text = response.text
    return text[:300] or response.reason or "no details"
