"""What every HTTP sink shares: a name, a minimum severity, a secret URL and the poster.

A subclass says only how one alert becomes a request (``request``) and, where the
receiver says more than its status code, how to read the answer (``accept``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detections.model import Severity
from service.delivery.base import DeliveryOutcome
from service.delivery.http import AcceptCheck, Poster, accept_any_2xx, register_secret
from service.delivery.render import DEFAULT_PORTAL_URL
from service.delivery.severity import skipped, wants

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "riskwatch"}


class PostingSink:
    """``repr`` never shows the URL: it is a credential (Workflows ``sig=``, Slack token)."""

    accept: AcceptCheck = staticmethod(accept_any_2xx)

    def __init__(
        self,
        url: str,
        *,
        min_severity: Severity,
        name: str,
        poster: Poster | None,
        portal_url: str = DEFAULT_PORTAL_URL,
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self._url = url
        self._poster = poster or Poster(name)
        self._portal_url = portal_url
        register_secret(url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, min_severity={self.min_severity.value})"

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and headers of one delivery."""
        raise NotImplementedError

    def send(self, alert: Mapping[str, Any]) -> DeliveryOutcome:
        if not wants(self, alert):
            return skipped(self, alert)
        body, headers = self.request(alert)
        return self._poster.post(self._url, body, headers, type(self).accept)
