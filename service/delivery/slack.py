"""Slack through an incoming webhook: Block Kit blocks plus a plain ``text`` fallback.

Success is HTTP 200 with the body ``ok``. 400 ``invalid_payload``, 403, 404 and 410
(``channel_is_archived``) are permanent; 429 carries ``Retry-After`` (the shared poster
honours it). Every mrkdwn text object sets ``verbatim: true`` so Slack does not turn
bare URLs, channel names or ``@here`` into links or mentions; values are escaped on top
of that (service/delivery/escape.py).

Slack refuses a whole message over any Block Kit limit (service/delivery/slack_limits.py),
so every text is cut to its limit *after* escaping (``fit``): escaping can make a value
five times longer (``&`` is ``&amp;``). The finished message is checked once more and,
should it still break a limit, replaced by a minimal one: an alert is never lost to 400.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from detections.model import Severity
from service.delivery import slack_limits as limits
from service.delivery.escape import fit, flatten, slack_code, slack_entities, slack_text
from service.delivery.http import Poster
from service.delivery.posting import JSON_HEADERS, PostingSink
from service.delivery.render import DEFAULT_PORTAL_URL, AlertView, Fact, view
from service.state.incidents import INCIDENT_SCHEMA

log = logging.getLogger(__name__)

LABEL_CHARS = 100
STEP_CHARS = 400
ALERT_ID_CHARS = 100
FALLBACK_CHARS = 3000
_STEPS_NOTE_RESERVE = 60  # room for "… N more steps [truncated]" under the section limit
_EMOJI = {"critical": ":rotating_light:", "high": ":red_circle:", "medium": ":large_orange_circle:"}


def mrkdwn(text: str) -> dict[str, Any]:
    """A text object shown as written: ``verbatim`` stops Slack linking names and URLs."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def fit_slack(
    value: str,
    limit: int,
    render: Callable[[str], str] = slack_text,
    marker: str = " … [truncated]",
) -> str:
    """``value`` rendered (escaped by default) and cut to ``limit`` as Slack counts length."""
    return fit(value, limit, render, size=limits.length, marker=marker)


def _field(fact: Fact) -> dict[str, Any]:
    label = fit_slack(fact.label, LABEL_CHARS) or "-"
    return mrkdwn(
        fit_slack(fact.value, limits.FIELD_CHARS, lambda v: f"*{label}*\n{slack_code(v)}")
    )


def _fields_sections(facts: tuple[Fact, ...]) -> list[dict[str, Any]]:
    fields = [_field(f) for f in facts]
    step = limits.FIELDS_PER_SECTION
    return [
        {"type": "section", "fields": fields[i : i + step]} for i in range(0, len(fields), step)
    ]


def _steps_text(steps: tuple[str, ...]) -> str:
    """Numbered steps under a heading, whole steps only, within a section's text limit."""
    lines = ["*Investigation*"]
    budget = limits.SECTION_TEXT_CHARS - _STEPS_NOTE_RESERVE - limits.length(lines[0])
    for n, step in enumerate(steps, 1):
        line = f"{n}. {fit_slack(step, STEP_CHARS)}"
        budget -= limits.length(line) + 1
        if budget < 0:
            lines.append(f"… {len(steps) - n + 1} more steps [truncated]")
            break
        lines.append(line)
    return "\n".join(lines)


def _header(alert_view: AlertView) -> dict[str, Any]:
    # plain_text is never parsed for formatting, links or mentions.
    title = fit_slack(flatten(alert_view.title) or "Riskwatch alert", limits.HEADER_CHARS, flatten)
    return {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": False}}


def _context(alert_view: AlertView) -> dict[str, Any]:
    links = " · ".join(
        f"<{slack_entities(link.url)}|{slack_text(link.title)}>" for link in alert_view.links
    )
    emoji = _EMOJI.get(alert_view.severity, ":information_source:")
    alert_id = fit_slack(alert_view.alert_id, ALERT_ID_CHARS, slack_code)
    return {"type": "context", "elements": [mrkdwn(f"{emoji} {links} · alert id {alert_id}")]}


def fallback_text(alert_view: AlertView) -> str:
    """The notification text: severity and title, escaped, no formatting of our own."""
    text = f"[{alert_view.severity}] {alert_view.title}"
    return fit_slack(text, FALLBACK_CHARS, marker=" [truncated]") or "Riskwatch alert"


def build_message(alert_view: AlertView) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        _header(alert_view),
        *_fields_sections(alert_view.headline_facts),
        *_fields_sections(alert_view.facts),
    ]
    if alert_view.investigation:
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": mrkdwn(_steps_text(alert_view.investigation))})
    context = _context(alert_view)
    # Keep the links (the last block) whatever is dropped to stay within the block limit.
    blocks = [*blocks[: limits.MAX_BLOCKS - 1], context]
    return {"text": fallback_text(alert_view), "blocks": blocks}


def minimal_message(alert_view: AlertView) -> dict[str, Any]:
    """A message that fits every limit whatever the alert: header, a note, the alert id."""
    alert_id = fit_slack(alert_view.alert_id, ALERT_ID_CHARS, slack_code)
    note = f"This alert could not be shown in full; it is in the outbox as {alert_id}."
    return {
        "text": fallback_text(alert_view),
        "blocks": [_header(alert_view), {"type": "section", "text": mrkdwn(note)}],
    }


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
        if alert.get("schema") == INCIDENT_SCHEMA:
            # Imported here: slack_incident builds on this module's helpers.
            from service.delivery.slack_incident import incident_message

            return incident_message(alert.get("incident") or {}, self._portal_url)
        alert_view = view(alert, self._portal_url)
        message = build_message(alert_view)
        if found := limits.problems(message):
            # The problems name block paths and sizes only, never a value.
            log.warning(
                "%s: message over Block Kit limits (%s); sent a minimal one",
                self.name,
                "; ".join(found[:5]),
            )
            message = minimal_message(alert_view)
        return message

    def request(self, alert: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(self.payload(alert), ensure_ascii=False).encode("utf-8")
        return body, dict(JSON_HEADERS)
