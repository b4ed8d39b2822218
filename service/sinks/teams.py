"""Microsoft Teams through a Workflows ("When a Teams webhook request is received") URL.

The body is a message with one Adaptive Card 1.4 attachment. The classic Office 365
connector webhooks are retired, so only Workflows URLs are supported.

Two limits shape the card. Teams drops messages over about 28 KB, and the Workflows
trigger answers 202 *before* posting, so an oversized card fails silently (only the flow's
run history shows it). The card is therefore kept under ``MAX_CARD_BYTES`` by truncating
long values, each marked "[truncated]", with a note pointing to the full alert. A 202 means
accepted by the flow, which is the most HTTP can tell us.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from detections.model import Severity
from service.sinks.escape import card_text, truncate
from service.sinks.http import Poster
from service.sinks.posting import JSON_HEADERS, PostingSink
from service.sinks.render import DEFAULT_PORTAL_URL, AlertView, Fact, view

MAX_CARD_BYTES = 20_000
# Per-value character limits tried in turn until the card fits.
_VALUE_LIMITS = (1000, 400, 150, 60, 20)
_COLOR = {"critical": "Attention", "high": "Attention", "medium": "Warning"}


def message(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def build_card(alert_view: AlertView, value_limit: int = _VALUE_LIMITS[0]) -> dict[str, Any]:
    """The Adaptive Card with every value truncated to ``value_limit`` then escaped."""
    truncated = False

    def text(value: str, limit: int = value_limit) -> str:
        nonlocal truncated
        cut = truncate(value, limit)
        truncated = truncated or cut != value
        return card_text(cut)

    def facts(items: tuple[Fact, ...]) -> list[dict[str, str]]:
        return [{"title": card_text(f.label), "value": text(f.value)} for f in items]

    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": text(alert_view.title, max(value_limit, 200)),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": _COLOR.get(alert_view.severity, "Default"),
        },
        {"type": "FactSet", "facts": facts(alert_view.headline_facts)},
    ]
    if alert_view.facts:
        body.append({"type": "FactSet", "facts": facts(alert_view.facts), "separator": True})
    if alert_view.investigation:
        steps = "\n".join(
            f"{n}. {text(step)}" for n, step in enumerate(alert_view.investigation, 1)
        )
        body.append({"type": "TextBlock", "text": "**Investigation**", "separator": True})
        body.append({"type": "TextBlock", "text": steps, "wrap": True})
    footer = f"Alert id {card_text(alert_view.alert_id)}"
    if truncated:
        footer += " · some long values were truncated to fit Teams; the full alert is in the outbox"
    body.append(
        {"type": "TextBlock", "text": footer, "isSubtle": True, "size": "Small", "wrap": True}
    )
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": link.title, "url": link.url}
            for link in alert_view.links
        ],
    }


def encode(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fitted_message(alert_view: AlertView) -> bytes:
    """The smallest-truncation message under MAX_CARD_BYTES (the last resort drops facts)."""
    for limit in _VALUE_LIMITS:
        body = encode(message(build_card(alert_view, limit)))
        if len(body) <= MAX_CARD_BYTES:
            return body
    # Pathological: hundreds of facts or steps. Keep the headline and say what is missing.
    slim = replace(
        alert_view,
        facts=(Fact("Note", "details dropped to fit Teams [truncated]"),),
        investigation=alert_view.investigation[:5],
    )
    return encode(message(build_card(slim, _VALUE_LIMITS[-1])))


class TeamsSink(PostingSink):
    """Posts an Adaptive Card to a Teams channel (a Workflows webhook)."""

    def __init__(
        self,
        url: str,
        *,
        min_severity: Severity = Severity.MEDIUM,
        name: str = "teams",
        poster: Poster | None = None,
        portal_url: str = DEFAULT_PORTAL_URL,
    ) -> None:
        super().__init__(
            url, min_severity=min_severity, name=name, poster=poster, portal_url=portal_url
        )

    def body(self, alert: Mapping[str, Any]) -> bytes:
        return fitted_message(view(alert, self._portal_url))

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        return self.body(alert), dict(JSON_HEADERS)
