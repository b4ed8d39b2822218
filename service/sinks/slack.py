"""Slack through an incoming webhook: Block Kit blocks plus a plain ``text`` fallback.

Success is HTTP 200 with the body ``ok``. 400 ``invalid_payload``, 403, 404 and 410
(``channel_is_archived``) are permanent; 429 carries ``Retry-After`` (the shared poster
honours it). Every mrkdwn text object sets ``verbatim: true`` so Slack does not turn
bare URLs, channel names or ``@here`` into links or mentions; values are escaped on top
of that (service/sinks/escape.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from detections.model import Severity
from service.sinks.escape import flatten, slack_code, slack_entities, slack_text, truncate
from service.sinks.http import Poster
from service.sinks.posting import JSON_HEADERS, PostingSink
from service.sinks.render import DEFAULT_PORTAL_URL, AlertView, Fact, view

HEADER_CHARS = 150  # Block Kit limit of a header's plain_text
FIELD_CHARS = 1900  # a section field allows 2000; leave room for the label
SECTION_CHARS = 2900  # a section text allows 3000
FIELDS_PER_SECTION = 10
FALLBACK_CHARS = 3000
STEP_CHARS = 400
_EMOJI = {"critical": ":rotating_light:", "high": ":red_circle:", "medium": ":large_orange_circle:"}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _fields_sections(facts: tuple[Fact, ...]) -> list[dict[str, Any]]:
    fields = [
        _mrkdwn(f"*{slack_text(f.label)}*\n{slack_code(truncate(f.value, FIELD_CHARS))}")
        for f in facts
    ]
    return [
        {"type": "section", "fields": fields[i : i + FIELDS_PER_SECTION]}
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def fallback_text(alert_view: AlertView) -> str:
    """The notification text: severity and title, escaped, no formatting of our own."""
    return truncate(
        slack_text(f"[{alert_view.severity}] {alert_view.title}"), FALLBACK_CHARS, " [truncated]"
    )


def build_message(alert_view: AlertView) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            # plain_text is never parsed for formatting, links or mentions.
            "text": {
                "type": "plain_text",
                "text": truncate(flatten(alert_view.title) or "Riskwatch alert", HEADER_CHARS),
                "emoji": False,
            },
        },
        *_fields_sections(alert_view.headline_facts),
        *_fields_sections(alert_view.facts),
    ]
    if alert_view.investigation:
        steps = "\n".join(
            f"{n}. {slack_text(truncate(step, STEP_CHARS))}"
            for n, step in enumerate(alert_view.investigation, 1)
        )
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(truncate(f"*Investigation*\n{steps}", SECTION_CHARS)),
            }
        )
    links = " · ".join(
        f"<{slack_entities(link.url)}|{slack_text(link.title)}>" for link in alert_view.links
    )
    emoji = _EMOJI.get(alert_view.severity, ":information_source:")
    blocks.append(
        {
            "type": "context",
            "elements": [_mrkdwn(f"{emoji} {links} · alert id {slack_code(alert_view.alert_id)}")],
        }
    )
    return {"text": fallback_text(alert_view), "blocks": blocks[:50]}


def accept_ok_body(status: int, body: str) -> str | None:
    """Slack's success is 200 with ``ok``; anything else on a 2xx is not a delivery."""
    if status == 200 and body.strip() == "ok":
        return None
    return f"unexpected Slack response body {body.strip()[:100]!r}"


class SlackSink(PostingSink):
    """Posts to a Slack incoming webhook."""

    accept = staticmethod(accept_ok_body)

    def __init__(
        self,
        url: str,
        *,
        min_severity: Severity = Severity.MEDIUM,
        name: str = "slack",
        poster: Poster | None = None,
        portal_url: str = DEFAULT_PORTAL_URL,
    ) -> None:
        super().__init__(
            url, min_severity=min_severity, name=name, poster=poster, portal_url=portal_url
        )

    def payload(self, alert: Mapping[str, Any]) -> dict[str, Any]:
        return build_message(view(alert, self._portal_url))

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode("utf-8")
        return body, dict(JSON_HEADERS)
