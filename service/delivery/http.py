"""One POST with bounded retries, shared by every sink.

Retryable: transport errors (refused, reset, truncated body, timeout), 408, 429, 500, 502,
503 and 504, with exponential backoff and full jitter, honouring ``Retry-After`` (seconds or
an HTTP-date). Any other 4xx (and 3xx: a webhook that redirects is misconfigured, and
following it would replay the signed body elsewhere) is permanent: DEAD with the reason.
When attempts or the wait budget run out the outcome is RETRY: the outbox tries again on
the next run, so nothing is lost while a receiver is down.

The URL is a secret (Workflows and Slack URLs carry their credential in the path or
query), so reasons are built from status codes and exception class names, never from
``str(exc)``: requests exceptions embed the URL. urllib3 logs request lines at DEBUG level,
so every URL a poster uses is also redacted from urllib3's log records.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from service.delivery.base import DeliveryOutcome, DeliveryStatus
from service.netutil import parse_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_BODY_READ = 64 * 1024  # a receiver's reply is only read for a short reason
REASON_BODY_CHARS = 200

# Given a 2xx response's status and body text: None to accept, or why it is not a success.
AcceptCheck = Callable[[int, str], str | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard one send tries before leaving the alert to the next run."""

    max_attempts: int = 4
    base_delay: float = 1.0  # seconds; attempt n waits up to base * 2**(n-1)
    max_delay: float = 30.0  # cap of one backoff step
    max_total_wait: float = 60.0  # cap of all sleeping in one send
    connect_timeout: float = 5.0
    read_timeout: float = 10.0  # per socket read: a silent receiver fails the attempt


def accept_any_2xx(status: int, body: str) -> str | None:
    return None


class _RedactFilter(logging.Filter):
    """Replaces registered secrets in log records of the HTTP stack."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactFilter()
for _name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_REDACT)


def secret_parts(url: str) -> set[str]:
    """The URL and the pieces of it that libraries print on their own (path, query)."""
    parts = urlsplit(url)
    found = {url}
    if parts.query:
        found.add(parts.query)
    if len(parts.path) > 1:
        found.add(parts.path)
    return found


def register_secret(value: str) -> None:
    """Keep ``value`` (a URL or key) out of the HTTP stack's log records."""
    if value:
        _REDACT.secrets.update(secret_parts(value) if "://" in value else {value})


def redact(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


@dataclass(frozen=True, slots=True)
class _Attempt:
    status: DeliveryStatus
    reason: str
    retry_after: float | None = None


class Poster:
    """POSTs bodies for one sink. ``sleep``, ``rng`` and ``now`` are injectable for tests."""

    def __init__(
        self,
        sink_name: str,
        policy: RetryPolicy | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sink_name = sink_name
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.sleep = sleep
        self.rng = rng
        self.now = now

    def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        accept: AcceptCheck = accept_any_2xx,
    ) -> DeliveryOutcome:
        register_secret(url)
        policy = self.policy
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            result = self._attempt(url, body, headers, accept)
            if result.status is not DeliveryStatus.RETRY:
                log.info("%s: %s after %d attempt(s)", self.sink_name, result.status, attempt)
                return DeliveryOutcome(result.status, result.reason, attempts=attempt)
            if attempt >= policy.max_attempts:
                return self._give_up(result, attempt, "attempts exhausted")
            delay = self._backoff(attempt, result.retry_after)
            if waited + delay > policy.max_total_wait:
                return self._give_up(result, attempt, "wait budget exhausted")
            log.warning(
                "%s: attempt %d failed (%s), retrying in %.1fs",
                self.sink_name,
                attempt,
                result.reason,
                delay,
            )
            self.sleep(delay)
            waited += delay

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after  # the receiver said when; jitter would only add to it
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2.0 ** (attempt - 1))
        return self.rng() * ceiling  # full jitter

    def _give_up(self, result: _Attempt, attempts: int, why: str) -> DeliveryOutcome:
        # The reason is stored with the alert, and may end as its dead-letter reason: what
        # failed, not what happens next (the outbox decides that, by its retry budget).
        reason = f"{result.reason} ({why})"
        log.warning("%s: %s, left for the next run", self.sink_name, reason)
        return DeliveryOutcome(DeliveryStatus.RETRY, reason, result.retry_after, attempts)

    def _attempt(
        self, url: str, body: bytes, headers: Mapping[str, str], accept: AcceptCheck
    ) -> _Attempt:
        policy = self.policy
        try:
            response = self.session.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=(policy.connect_timeout, policy.read_timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                text = _read_text(response)
            finally:
                response.close()
        except requests.Timeout as exc:
            return _Attempt(DeliveryStatus.RETRY, f"timeout ({type(exc).__name__})")
        except requests.RequestException as exc:
            return _Attempt(DeliveryStatus.RETRY, f"transport error ({_exc_names(exc)})")
        status = response.status_code
        snippet = redact(text[:REASON_BODY_CHARS], secret_parts(url)).strip()
        if 200 <= status < 300:
            problem = accept(status, text)
            if problem is None:
                return _Attempt(DeliveryStatus.DELIVERED, f"HTTP {status}")
            return _Attempt(DeliveryStatus.DEAD, f"HTTP {status}: {problem}")
        reason = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        if status in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.now())
            return _Attempt(DeliveryStatus.RETRY, reason, retry_after)
        if 300 <= status < 400:
            return _Attempt(DeliveryStatus.DEAD, f"HTTP {status}: redirect not followed")
        return _Attempt(DeliveryStatus.DEAD, reason)


def _read_text(response: requests.Response) -> str:
    """Up to MAX_BODY_READ bytes of the body; a truncated body raises (retryable)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_READ:
            break
    return b"".join(chunks)[:MAX_BODY_READ].decode("utf-8", errors="replace")


def _exc_names(exc: BaseException) -> str:
    """``ConnectionError <- ProtocolError``: the chain of class names, no messages."""
    names = [type(exc).__name__]
    seen: set[int] = {id(exc)}
    current: BaseException | None = exc.__cause__ or exc.__context__
    while current is not None and id(current) not in seen and len(names) < 4:
        seen.add(id(current))
        names.append(type(current).__name__)
        current = current.__cause__ or current.__context__
    return " <- ".join(names)
