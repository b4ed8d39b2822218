"""Microsoft Teams through a Workflows ("When a Teams webhook request is received") URL.

The body is a message with one Adaptive Card 1.4 attachment. The classic Office 365
connector webhooks are retired, so only Workflows URLs are supported.

Attacker-chosen text (title, UPN, app, city, user agent ...) goes only into ``TextRun``
elements of a ``RichTextBlock``: renderers show a TextRun as plain text, never as
markdown, so a hostile value reads exactly as received and cannot become a link or
formatting, with no backslash escapes for the analyst to see. Markdown (``TextBlock``)
carries our own text only: a heading and the rule's investigation steps, written so
that they read the same whether or not the host processes markdown.

Two limits shape the card. Teams drops messages over about 28 KB, and the Workflows
trigger answers 202 *before* posting, so an oversized card fails silently (only the flow's
run history shows it). The card is therefore kept under ``MAX_CARD_BYTES`` of UTF-8 on the
wire by truncating long values, each marked "[truncated]", with a note pointing to the
full alert. A 202 means accepted by the flow, which is the most HTTP can tell us.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from detections.model import Severity
from service.delivery.escape import card_literal, flatten, truncate
from service.delivery.http import Poster
from service.delivery.posting import JSON_HEADERS, PostingSink
from service.delivery.render import DEFAULT_PORTAL_URL, AlertView, Fact, view
from service.state.incidents import INCIDENT_SCHEMA

MAX_CARD_BYTES = 20_000
# Per-value character limits tried in turn until the card fits.
_VALUE_LIMITS = (1000, 400, 150, 60, 20)
LABEL_CHARS = 100
ALERT_ID_CHARS = 100
TITLE_MIN_CHARS = 200
_COLOR = {"critical": "Attention", "high": "Attention", "medium": "Warning"}
_TRUNCATED_NOTE = " · some long values were truncated to fit Teams; the full alert is in the outbox"


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


def text_run(text: str, **style: Any) -> dict[str, Any]:
    """Literal text: a TextRun is never processed as markdown."""
    return {"type": "TextRun", "text": text, **style}


def rich_text(*inlines: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": list(inlines), **props}


def build_card(alert_view: AlertView, value_limit: int = _VALUE_LIMITS[0]) -> dict[str, Any]:
    """The Adaptive Card with every attacker-chosen value cut to ``value_limit``."""
    truncated = False

    def literal(value: str, limit: int = value_limit) -> str:
        nonlocal truncated
        flat = flatten(value)
        cut = truncate(flat, limit)
        truncated = truncated or cut != flat
        return card_literal(cut)

    def fact_rows(items: tuple[Fact, ...], separator: bool) -> list[dict[str, Any]]:
        rows = [
            rich_text(
                text_run(card_literal(truncate(f.label, LABEL_CHARS)) + ": ", weight="Bolder"),
                text_run(literal(f.value) or "-"),
                spacing="None",
            )
            for f in items
        ]
        if rows and separator:
            rows[0] = {**rows[0], "separator": True, "spacing": "Medium"}
        return rows

    title = literal(alert_view.title, max(value_limit, TITLE_MIN_CHARS)) or "Riskwatch alert"
    body: list[dict[str, Any]] = [
        rich_text(
            text_run(
                title,
                weight="Bolder",
                size="Medium",
                color=_COLOR.get(alert_view.severity, "Default"),
            )
        ),
        *fact_rows(alert_view.headline_facts, separator=False),
        *fact_rows(alert_view.facts, separator=True),
    ]
    if alert_view.investigation:
        # Our own text (the rule's steps): a markdown list that reads the same as plain
        # text, for hosts that show TextBlocks without processing markdown.
        steps = "\n".join(
            f"{n}. {truncate(flatten(step), value_limit)}"
            for n, step in enumerate(alert_view.investigation, 1)
        )
        body.append(
            {"type": "TextBlock", "text": "Investigation", "weight": "Bolder", "separator": True}
        )
        body.append({"type": "TextBlock", "text": steps, "wrap": True})
    footer = "Alert id " + literal(alert_view.alert_id, ALERT_ID_CHARS)
    if truncated:
        footer += _TRUNCATED_NOTE
    body.append(rich_text(text_run(footer, isSubtle=True, size="Small")))
    return adaptive_card(body, alert_view.links)


def adaptive_card(body: list[dict[str, Any]], links: Iterable[Any]) -> dict[str, Any]:
    """The card around ``body``, with our own links (title, url) as its only actions."""
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
        "actions": [
            {"type": "Action.OpenUrl", "title": link.title, "url": link.url} for link in links
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
        facts=(Fact("Details dropped to fit Teams", "see the outbox"),),
        investigation=alert_view.investigation[:5],
    )
    body = encode(message(build_card(slim, _VALUE_LIMITS[-1])))
    if len(body) <= MAX_CARD_BYTES:
        return body
    # Only an absurd portal URL setting gets here: drop the links too.
    return encode(message(build_card(replace(slim, links=(), investigation=()), 20)))


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
        if alert.get("schema") == INCIDENT_SCHEMA:
            # Imported here: teams_incident builds on this module's card helpers.
            from service.delivery.teams_incident import incident_card

            return encode(incident_card(alert.get("incident") or {}, self._portal_url))
        return fitted_message(view(alert, self._portal_url))

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        return self.body(alert), dict(JSON_HEADERS)
