"""The generic JSON webhook sink.

Request: ``POST`` with ``Content-Type: application/json; charset=utf-8`` and the body::

    {
      "schema": "riskwatch.alert.v1",   # bumps only on an incompatible change
      "id": "<alert_id>",               # same as the Idempotency-Key header
      "sent_at": 1793610000,            # unix seconds, same as X-Riskwatch-Timestamp
      "alert": { ... },                 # Alert.to_dict(), see the table below
      "links": [{"title": "Risky sign-ins", "url": "https://entra.microsoft.com/..."}]
    }

=================  ==========  ==================================================
``alert`` field     type        meaning
=================  ==========  ==================================================
alert_id            string      stable id: sha256(dedup_key, first_seen)[:32]
rule_id             string      the rule that fired
rule_version        int         bumps when the rule's logic changes
severity            string      informational | low | medium | high | critical
risk_score          int         0-100
title               string      one-line summary (contains attacker-chosen text)
principal           string      UPN or service principal the alert is about
dedup_key           string      ``rule_id|value|value``
first_seen          string      ISO 8601 with offset; ``last_seen`` likewise
count               int         matches grouped into this alert
event_ids           [string]    up to 50 source event ids
mitre, tags         [string]    ATT&CK technique ids; free tags
context             object      rule-specific facts: who, where, risk fields ...
investigation       [string]    the rule's triage steps, in order
=================  ==========  ==================================================

With ``RISKWATCH_NOTIFY=incidents`` (the default) the body is one incident revision::

    {
      "schema": "riskwatch.incident.v1",
      "id": "<incident_id>:<revision>",  # same as the Idempotency-Key header
      "sent_at": 1793610000,
      "incident": { ... },               # Incident.to_dict(), see the table below
      "links": [{"title": "Risky users", "url": "https://entra.microsoft.com/..."}]
    }

=================  ==========  ==================================================
``incident`` field  type        meaning
=================  ==========  ==================================================
incident_id         string      sha256(principal type, principal, opening alert_id)[:32]
revision            int         1 when it opens; +1 when the verdict rises or a new rule joins
principal           string      lower-cased UPN, an IP address, or ``tenant``
principal_type      string      user | ip | tenant | app
verdict             string      low | medium | high
score               int         0-100 behind the verdict (README: Incidents)
reasons             [object]    ``{text, effect: raises|lowers, rule_id, event_ids}``
alerts              [object]    ``{alert_id, rule_id, severity}`` of every alert in it
rules               [string]    the rule ids of those alerts, sorted
first_seen          string      ISO 8601 with offset; ``last_seen`` likewise
privileged          bool        the principal holds a privileged role
breakdown           object      sign-ins by result, countries, ips, devices, apps, off-hours
timeline            [object]    ``{time, kind, event_id, summary, ip, country, city, device,
                                result, risk}``, thinned (``kind: omitted`` marks a gap)
related             [object]    ``{principal_type, principal, incident_id}`` linked cases
truncated           object      only when cut to fit storage: list name -> entries left out
=================  ==========  ==================================================

Headers: ``Idempotency-Key: <alert_id>`` (or the incident's ``id``) always. With a secret
configured, ``X-Riskwatch-Timestamp: <sent_at>`` and
``X-Riskwatch-Signature: sha256=<hex HMAC-SHA256(secret, exact body bytes)>``.
Receivers verify the signature over the raw bytes before parsing, reject a ``sent_at``
older than a few minutes, and discard a repeated ``Idempotency-Key``: the one duplicate
the pipeline can produce is a crash between a 2xx and the delivered mark.

Values are plain JSON strings, never pre-escaped: the receiver escapes for its output.
The body is always strict JSON in UTF-8: a NaN or infinity (not JSON, refused by strict
parsers) is sent as the string ``"nan"``/``"inf"``, and a lone surrogate (which UTF-8
cannot encode) as its ``\\uXXXX`` escape.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from detections.model import Severity
from service.delivery.http import Poster, register_secret
from service.delivery.posting import JSON_HEADERS, PostingSink
from service.delivery.render import DEFAULT_PORTAL_URL, portal_links
from service.state.incidents import INCIDENT_SCHEMA

SCHEMA = "riskwatch.alert.v1"
SIGNATURE_HEADER = "X-Riskwatch-Signature"
TIMESTAMP_HEADER = "X-Riskwatch-Timestamp"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: constant-time comparison over the raw body."""
    return hmac.compare_digest(sign(secret, body), header)


def encode(payload: Mapping[str, Any]) -> bytes:
    """Strict-JSON UTF-8 bytes of ``payload`` (see the module docstring)."""
    finite = _finite(payload)
    try:
        text = json.dumps(finite, ensure_ascii=False, separators=(",", ":"), default=str)
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: ASCII JSON spells it as an escape
        return json.dumps(finite, separators=(",", ":"), default=str).encode("ascii")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


class WebhookSink(PostingSink):
    """Posts the alert as JSON. ``repr`` never shows the URL or the secret."""

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        min_severity: Severity = Severity.MEDIUM,
        name: str = "webhook",
        poster: Poster | None = None,
        portal_url: str = DEFAULT_PORTAL_URL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            url, min_severity=min_severity, name=name, poster=poster, portal_url=portal_url
        )
        self._secret = secret or None
        self._clock = clock
        if self._secret:
            register_secret(self._secret)

    def __repr__(self) -> str:
        signed = "signed" if self._secret else "unsigned"
        return f"WebhookSink(name={self.name!r}, min_severity={self.min_severity.value}, {signed})"

    def payload(self, alert: Mapping[str, Any], sent_at: int) -> dict[str, Any]:
        if alert.get("schema") == INCIDENT_SCHEMA:  # an incident notification: as written
            return {**alert, "sent_at": sent_at}
        context = alert.get("context")
        links = portal_links(self._portal_url, context if isinstance(context, Mapping) else {})
        return {
            "schema": SCHEMA,
            "id": str(alert.get("alert_id", "")),
            "sent_at": sent_at,
            "alert": dict(alert),
            "links": [{"title": link.title, "url": link.url} for link in links],
        }

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and headers of one delivery."""
        sent_at = int(self._clock())
        body = encode(self.payload(alert, sent_at))
        key = alert.get("id") if alert.get("schema") == INCIDENT_SCHEMA else alert.get("alert_id")
        headers = {**JSON_HEADERS, "Idempotency-Key": str(key or "")}
        if self._secret:
            headers[TIMESTAMP_HEADER] = str(sent_at)
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        return body, headers
