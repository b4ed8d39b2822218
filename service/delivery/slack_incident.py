"""An incident as a Slack Block Kit message, escaped and fitted as an alert is (``slack.py``).

Blocks, in order: a plain-text header with the verdict, score and principal; the summary
line; the top reasons (each marked "▲ raises" or "▼ lowers"); the breakdown as fields; a
short timeline; a context line with the portal links and the incident id. Every value
from the incident is escaped for mrkdwn (``slack_text``, ``slack_code``) and cut to its
Block Kit limit after escaping (``fit``), and lists keep whole lines only, saying how many
were left out. The finished message is checked with ``slack_limits.problems``; should it
still break a limit, a minimal message is sent instead, so an incident is never lost to a 400.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from service.delivery import slack_limits as limits
from service.delivery.escape import flatten, slack_code, slack_entities, slack_text
from service.delivery.incident_view import IncidentView, incident_view
from service.delivery.render import Fact
from service.delivery.slack import ALERT_ID_CHARS, FALLBACK_CHARS, LABEL_CHARS, fit_slack, mrkdwn

log = logging.getLogger(__name__)

LINE_CHARS = 700  # one reason or timeline entry, escaped
_LIST_NOTE_RESERVE = 60  # room for "… N more entries [truncated]" under the section limit
_EMOJI = {"high": ":red_circle:", "medium": ":large_orange_circle:", "low": ":white_circle:"}


def _header(text: str) -> dict[str, Any]:
    # plain_text is never parsed for formatting, links or mentions.
    title = fit_slack(flatten(text) or "Riskwatch incident", limits.HEADER_CHARS, flatten)
    return {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": False}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text)}


def _lines_text(heading: str, lines: Iterable[str], total: int, noun: str) -> str:
    """``heading`` and whole escaped lines within a section's text limit; the rest counted.

    ``total`` is how many lines the full list has (``lines`` may already be a selection).
    """
    out = [heading]
    budget = limits.SECTION_TEXT_CHARS - _LIST_NOTE_RESERVE - limits.length(heading)
    shown = 0
    for line in lines:
        budget -= limits.length(line) + 1
        if budget < 0:
            break
        out.append(line)
        shown += 1
    if total > shown:
        out.append(f"… {total - shown} more {noun}")
    return "\n".join(out)


def _reasons(v: IncidentView) -> str:
    lines = [f"*{r.mark}:* {fit_slack(r.text, LINE_CHARS)}" for r in v.reasons]
    return _lines_text("*Why*", lines, len(lines) + v.reasons_left_out, "reasons")


def _timeline(v: IncidentView) -> str:
    heading = f"*{v.timeline_heading}*"
    lines = [fit_slack(entry, LINE_CHARS) for entry in v.timeline]
    # Lines dropped for space are counted with the ones the view already left out.
    return _lines_text(heading, lines, len(lines), "entries")


def _field(fact: Fact) -> dict[str, Any]:
    label = fit_slack(fact.label, LABEL_CHARS) or "-"
    return mrkdwn(
        fit_slack(fact.value, limits.FIELD_CHARS, lambda t: f"*{label}*\n{slack_text(t)}")
    )


def _context(v: IncidentView) -> dict[str, Any]:
    links = " · ".join(
        f"<{slack_entities(link.url)}|{slack_text(link.title)}>" for link in v.links
    )
    emoji = _EMOJI.get(v.verdict, ":information_source:")
    incident_id = fit_slack(v.incident_id, ALERT_ID_CHARS, slack_code)
    rules = fit_slack(v.rules, 1000, lambda t: f" · rules {slack_code(t)}") if v.rules else ""
    text = f"{emoji} {links} · incident id {incident_id} (revision {slack_text(v.revision)})"
    return {"type": "context", "elements": [mrkdwn(text + rules)]}


def fallback_text(v: IncidentView) -> str:
    """The notification text: verdict, who and the top reason, escaped."""
    top = f": {v.reasons[0].text}" if v.reasons else ""
    text = f"[{v.verdict}] {v.headline}{top}"
    return fit_slack(text, FALLBACK_CHARS, marker=" [truncated]") or "Riskwatch incident"


def build_incident_message(v: IncidentView) -> dict[str, Any]:
    fields = [_field(f) for f in v.breakdown][: limits.FIELDS_PER_SECTION]
    blocks: list[dict[str, Any]] = [
        _header(v.headline),
        _section(fit_slack(v.summary, limits.SECTION_TEXT_CHARS)),
    ]
    if v.reasons:
        blocks.append(_section(_reasons(v)))
    blocks += [{"type": "divider"}, {"type": "section", "fields": fields}]
    if v.timeline:
        blocks += [{"type": "divider"}, _section(_timeline(v))]
    if v.response:
        lines = [fit_slack(line, LINE_CHARS) for line in v.response]
        blocks.append(_section(_lines_text(f"*{v.response_heading}*", lines, len(lines),
                                           "actions")))
    blocks.append(_context(v))
    return {"text": fallback_text(v), "blocks": blocks}


def minimal_incident_message(v: IncidentView) -> dict[str, Any]:
    """Fits every limit whatever the incident: header, a note, the incident id."""
    incident_id = fit_slack(v.incident_id, ALERT_ID_CHARS, slack_code)
    note = f"This incident could not be shown in full; it is in the outbox as {incident_id}."
    return {"text": fallback_text(v), "blocks": [_header(v.headline), _section(note)]}


def incident_message(incident: Mapping[str, Any], portal_url: str) -> dict[str, Any]:
    """The Block Kit message for ``Incident.to_dict()``, within every Block Kit limit."""
    v = incident_view(incident, portal_url)
    message = build_incident_message(v)
    if found := limits.problems(message):
        # The problems name block paths and sizes only, never a value.
        log.warning("incident message over Block Kit limits (%s); sent a minimal one",
                    "; ".join(found[:5]))
        message = minimal_incident_message(v)
    return message
